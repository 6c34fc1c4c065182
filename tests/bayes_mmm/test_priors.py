"""Cold start from a population posterior: the moment matching, and a real short-history tenant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_mmm.core.priors import MediaPriors
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.population import population_prior_from_posteriors
from bayes_mmm.runs.population import population_prior


def _posterior(mu: np.ndarray, sigma: np.ndarray) -> xr.Dataset:
    """A fake posterior with log_roas_mu/sigma of shape (chain, draw, channel)."""
    dims = ("chain", "draw", "channel")
    return xr.Dataset({"log_roas_mu": (dims, mu), "log_roas_sigma": (dims, sigma)}, coords={"channel": ["meta", "google"]})


def test_new_tenant_prior_is_the_population_predictive() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal([[[1.0, 0.0]]], 0.1, size=(2, 4000, 2))
    p = population_prior_from_posteriors([_posterior(mu, np.full_like(mu, 0.2))], ModelSpec(), {})
    np.testing.assert_allclose(p.loc["log_roas"], [1.0, 0.0], atol=0.01)
    np.testing.assert_allclose(p.scale["log_roas"], [np.hypot(0.1, 0.2)] * 2, rtol=0.03)
    # Two groups' posteriors pool as a mixture: the spread between them widens the prior.
    q = population_prior_from_posteriors([_posterior(mu, np.full_like(mu, 0.2)), _posterior(mu + 1, np.full_like(mu, 0.2))],
                                         ModelSpec(), {})
    np.testing.assert_allclose(q.loc["log_roas"], [1.5, 0.5], atol=0.01)
    np.testing.assert_allclose(q.scale["log_roas"], [np.sqrt(0.01 + 0.25 + 0.04)] * 2, rtol=0.03)
    assert q.for_channels(["google", "meta"]).loc["log_roas"][0] == pytest.approx(q.loc["log_roas"][1])
    with pytest.raises(ValueError, match=r"no channel \['tv'\]"):
        q.for_channels(["tv"])


def test_a_prior_from_a_run_with_the_hill_ceiling_is_on_the_shape_before_it() -> None:
    from bayes_mmm.model.levers import soft_ceiling
    from bayes_mmm.model.population import tenant_prior_from_posterior

    rng = np.random.default_rng(1)
    raw = rng.normal(np.log([[[2.95, 1.3]]]), 0.05, size=(2, 4000, 2))  # a shape at the ceiling, one far below
    dims = ("chain", "draw", "channel")
    post = _posterior(np.zeros_like(raw), np.full_like(raw, 0.2)).assign(
        log_hill_shape_raw=(dims, raw), hill_shape=(dims, np.exp(soft_ceiling(raw, np.log(3.0)))))
    cold = population_prior_from_posteriors([post], ModelSpec(), {})
    np.testing.assert_allclose(cold.hill_shape[0], np.log([2.95, 1.3]), atol=0.01)  # not log 2.50, the capped centre
    np.testing.assert_allclose(cold.hill_shape[1], [0.05, 0.05], rtol=0.05)
    roas = np.exp(rng.normal(size=(2, 4000, 1, 2)))
    warm = tenant_prior_from_posterior(post.assign(roas=(("chain", "draw", "tenant", "channel"), roas)), ModelSpec(), {})
    np.testing.assert_allclose(warm.hill_shape[0], np.log([2.95, 1.3]), atol=0.01)
    # A run from before the ceiling has its shape only.
    old = population_prior_from_posteriors([post.drop_vars("log_hill_shape_raw")], ModelSpec(), {})
    assert old.hill_shape[0][0] == pytest.approx(np.log(2.5), abs=0.03)


def test_unpooled_source_run_is_refused() -> None:
    post = xr.Dataset({"log_roas": (("chain", "draw", "tenant", "channel"), np.zeros((1, 2, 1, 1)))})
    with pytest.raises(ValueError, match="no population-level parameters"):
        population_prior_from_posteriors([post], ModelSpec(pooled=False), {})


@pytest.mark.slow  # heavy real fit; run with --run-slow (kept out of the 15-minute default suite)
def test_short_tenant_gets_narrower_intervals_that_cover_the_truth(tmp_path: Path) -> None:
    """Eight tenants × 365 days fitted jointly; a ninth with only 90 days is fitted alone, with and without them."""
    from bayes_mmm.api import fit_lake
    from synthetic import simulate_universe, write_lake

    universe = simulate_universe(n_tenants=9, n_days=365, seed=5)
    write_lake(universe, tmp_path / "lake")
    new = universe[8].tenant_id
    population = [t.tenant_id for t in universe[:8]]
    fit_lake(tmp_path / "lake", population, tmp_path / "pop", sampler_kwargs={"chains": 2, "draws": 300, "tune": 300, "progress": False})

    short = tmp_path / "short" / new
    short.mkdir(parents=True)
    daily = pd.read_csv(tmp_path / "lake" / new / "daily.csv").iloc[-90:]
    daily.to_csv(short / "daily.csv", index=False)
    shutil.copy(tmp_path / "lake" / new / "tenant.json", short)
    truth = pd.read_parquet(tmp_path / "lake" / new / "truth_daily.parquet").iloc[-90:]
    channels = ("meta", "google", "email")
    true_roas = {c: truth[f"media_{c}"].sum() / daily[f"spend_{c}"].sum() for c in channels}

    sampler = {"chains": 2, "draws": 500, "tune": 500, "progress": False}
    # The comparison fit needs the history gate opened by hand (a cold start opens it itself).
    default = fit_lake(short.parent, "all", None, sampler_kwargs=sampler, allow_gates=("history",))["tenants"][new]["roas"]
    out = tmp_path / "cold"
    cold = fit_lake(short.parent, "all", out, sampler_kwargs=sampler, prior_from=tmp_path / "pop")
    roas = cold["tenants"][new]["roas"]

    def width(r: dict) -> float:
        return r["q95"] - r["q05"]

    ratios = [width(roas[c]) / width(default[c]) for c in channels]
    assert max(ratios) < 0.9 and np.mean(ratios) < 0.8, ratios
    # Three 90 % intervals all cover the truth only 73 % of the time: ask two of three, and the third close by
    # (within a quarter of its width; a cold start centred on the population's mean, far from this tenant, is not).
    inside = [roas[c]["q05"] <= true_roas[c] <= roas[c]["q95"] for c in channels]
    assert sum(inside) >= 2, (roas, true_roas)
    for c in channels:
        pad = 0.25 * width(roas[c])
        assert roas[c]["q05"] - pad <= true_roas[c] <= roas[c]["q95"] + pad, (c, roas[c], true_roas[c])
    assert cold["convergence"]["divergences"] == 0
    # The run records where its priors came from, and they are the population's.
    recorded = json.loads((out / "summary.json").read_text())["config"]["population_prior"]
    assert recorded["source"]["tenants"] == 8
    pop = population_prior(tmp_path / "pop")
    np.testing.assert_allclose(recorded["scale"]["log_roas"], pop.scale["log_roas"], atol=1e-4)
    assert all(s < np.hypot(MediaPriors().roas_params("*")[1], 0.3) for s in pop.scale["log_roas"])  # tighter than the default prior


def test_a_cold_start_refuses_a_run_of_another_cadence(stored_run: Path, tmp_path: Path) -> None:
    """A daily run's per-day carry-over would become a per-week prior: refused before any sampling."""
    from bayes_mmm.api import fit_lake
    from bayes_mmm.core.errors import DataError
    from tests.bayes_mmm.test_data import good_frame

    df = good_frame(60)
    df["date"] = pd.date_range("2024-01-01", periods=60, freq="7D").strftime("%Y-%m-%d")
    (tmp_path / "lake" / "w").mkdir(parents=True)
    df.to_csv(tmp_path / "lake" / "w" / "weekly.csv", index=False)
    with pytest.raises(DataError, match="the run was fitted on daily data and this lake is weekly: its carry-over"):
        fit_lake(tmp_path / "lake", "all", tmp_path / "run", prior_from=stored_run)
    assert not (tmp_path / "run").exists()
