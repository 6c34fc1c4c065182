"""The adstock screen: least-squares evidence for a delayed peak, checked against brute force and on scenario lakes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.analysis.card import screen_line
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.adstock_screen import (
    _judged,
    candidate_weights,
    combine_screens,
    delay_evidence,
    null_shifts,
    pooled,
    resolve_adstock,
    screen_adstock,
    written,
)
from bayes_mmm.model.response import delayed_weights, geometric_weights, lag_matrix

L = 14


def lagged_spend(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, L)`` lagged spend of a channel flighted on and off, as merchants do."""
    on = rng.random(n + L) < 0.4
    return lag_matrix(on * rng.uniform(0.5, 1.5, n + L), L)[L:]


def tenant(rng: np.random.Generator, weights: np.ndarray, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, base, lagged)``: a trend and weekday baseline plus the channel's spend carried over by ``weights``."""
    t = np.arange(n)
    base = np.column_stack([np.ones(n), t / n, np.sin(2 * np.pi * t / 7), np.cos(2 * np.pi * t / 7)])
    lagged = lagged_spend(rng, n)
    y = base @ np.array([3.0, 0.5, 0.2, -0.1]) + 0.8 * lagged @ weights + rng.normal(0, 0.3, n)
    return y, base, lagged


def test_the_projection_gives_least_squares_own_answer() -> None:
    """Gain and best shape equal a brute-force refit of every candidate with np.linalg.lstsq."""
    rng = np.random.default_rng(0)
    weights, delayed, peaks = candidate_weights(L)
    for truth in (delayed_weights(np.float64(0.7), np.float64(3.0), L), geometric_weights(np.float64(0.5), L)):
        y, base, lagged = tenant(rng, truth)
        sse = []
        for w in weights:
            A = np.column_stack([base, lagged @ w])
            r = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
            sse.append(r @ r)
        sse = np.array(sse)
        ev = delay_evidence(y, base, lagged, weights, delayed, peaks, null_shifts(np.random.default_rng(0), len(y), L))
        assert ev.gain == pytest.approx(0.5 * len(y) * np.log(sse[~delayed].min() / sse[delayed].min()), rel=1e-8)
        assert ev.best == int(np.flatnonzero(delayed)[np.argmin(sse[delayed])])
        at_peak = [sse[peaks == q].min() for q in np.unique(peaks[delayed])]  # α free at each shared peak
        np.testing.assert_allclose(ev.by_peak, 0.5 * len(y) * np.log(sse[~delayed].min() / np.array(at_peak)), rtol=1e-8)


def test_a_late_peak_is_found_and_a_geometric_decay_is_not_mistaken_for_one() -> None:
    rng = np.random.default_rng(1)
    weights, delayed, peaks = candidate_weights(L)
    y, base, lagged = tenant(rng, delayed_weights(np.float64(0.6), np.float64(4.0), L))
    ev = delay_evidence(y, base, lagged, weights, delayed, peaks, null_shifts(rng, len(y), L))
    assert ev.gain > 50 and peaks[ev.best] == 4.0 and ev.gain > ev.null_mean + 10 * np.sqrt(ev.null_var)
    for seed in range(10):  # geometric truth: the best geometric shape always fits better
        y, base, lagged = tenant(np.random.default_rng(100 + seed), geometric_weights(np.float64(0.5), L))
        assert delay_evidence(y, base, lagged, weights, delayed, peaks, null_shifts(rng, len(y), L)).gain < 0


def lake(rng: np.random.Generator, n_tenants: int, weights: np.ndarray, coef: float) -> tuple[np.ndarray, ...]:
    """``(y, X, lagged)`` of ``n_tenants`` tenants of 365 days whose one channel carries over by ``weights``."""
    parts = [tenant(rng, weights * coef / 0.8, n=365) for _ in range(n_tenants)]
    return np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts]), np.stack([p[2][None] for p in parts])


def test_the_bar_holds_its_level_where_the_delayed_family_wins_on_noise() -> None:
    """The delayed family is larger, so its gain is positive with no effect at all (+0.9 a tenant): summed over
    50 tenants that beat a χ² bar in most such lakes. The null of shifted residuals gives the same mean
    as the observed gains (independently: the average over 200 null tenants) and keeps every null lake geometric."""
    g = geometric_weights(np.float64(0.5), L)
    weights, delayed, peaks = candidate_weights(L)
    rng = np.random.default_rng(3)
    observed, null_means = [], []
    for _ in range(4):
        y, X, lagged = lake(rng, 50, g, 0.0)
        for i in range(50):
            ev = delay_evidence(y[i], X[i], lagged[i, 0], weights, delayed, peaks, null_shifts(rng, 365, L))
            observed.append(ev.gain)
            null_means.append(ev.null_mean)
    assert np.mean(observed) > 0.5  # the bias a plain likelihood-ratio bar would miss
    assert np.mean(null_means) == pytest.approx(np.mean(observed), abs=0.15)
    chosen = [screen_adstock(*lake(np.random.default_rng(10 + k), 50, g, c), np.ones((50, 365), bool), ["tv"])["chosen"]
              for k in range(5) for c in (0.0, 0.05)]
    assert chosen == ["geometric"] * 10
    late = delayed_weights(np.float64(0.6), np.float64(3.0), L)
    assert screen_adstock(*lake(np.random.default_rng(30), 50, late, 0.1), np.ones((50, 365), bool), ["tv"])["chosen"] == "delayed"


def test_screen_pools_tenants_against_the_null_and_a_flat_channel_gives_none() -> None:
    rng = np.random.default_rng(2)
    late = [tenant(rng, delayed_weights(np.float64(0.6), np.float64(3.0), L), n=300) for _ in range(2)]
    y = np.stack([t[0] for t in late])
    X = np.stack([t[1] for t in late])
    flat = np.ones_like(late[0][2])
    lagged = np.stack([np.stack([t[2], flat]) for t in late])  # (tenant, channel, date, lag)
    out = screen_adstock(y, X, lagged, np.ones(y.shape, bool), ["tv", "email"])
    tv = out["channels"]["tv"]
    assert out["chosen"] == "delayed" and tv["tenants"] == 2 and tv["peak"] == 3.0
    assert tv["bar"] == pytest.approx(tv["null_mean"] + 2.3263 * np.sqrt(tv["null_var"]), abs=0.02) and tv["gain"] > tv["bar"]
    assert out["channels"]["email"] == {"gain": 0.0, "bar": 0.0, "null_mean": 0.0, "null_var": 0.0, "tenants": 0, "peak": None}
    short = screen_adstock(y, X, lagged[..., :2], np.ones(y.shape, bool), ["tv", "email"])  # the model's peak stays below 1
    assert short["chosen"] == "geometric" and "leaves no room for a later peak" in short["reason"]


def test_tenants_add_up_at_the_peak_they_share_and_groups_add_up_before_the_bar() -> None:
    """The model's delayed adstock has one peak per channel: evidence adds up at a shared peak, not across disagreeing ones."""
    peaks = np.array([1.0, 2.0, 3.0])
    rng = np.random.default_rng(5)
    nulls = [rng.normal(1.0, 1.0, (99, 3)) for _ in range(3)]
    late2, late2b, late1 = np.array([0.0, 9.0, 0.0]), np.array([1.0, 9.0, 0.0]), np.array([9.0, 0.0, 0.0])
    agree = pooled(peaks, [late2, late2b], nulls[:2])
    null = (nulls[0] + nulls[1]).max(axis=1)  # independently: the draws summed draw by draw, then the best peak
    assert agree["gain"] == 18.0 and agree["peak"] == 2.0 and agree["tenants"] == 2
    assert agree["null_mean"] == pytest.approx(null.mean()) and agree["null_var"] == pytest.approx(null.var())
    split = pooled(peaks, [late2, late1], nulls[:2])  # 9 at peak 2 and 9 at peak 1: one shared peak serves only one (not 18)
    assert split["gain"] == 9.0 and split["null_mean"] == pytest.approx(null.mean())

    def group(by_peak: np.ndarray, null_draws: np.ndarray) -> dict:
        return _judged({"chosen": "geometric", "channels": {"tv": pooled(peaks, [by_peak], [null_draws])}})

    both = combine_screens([group(late2, nulls[0]), group(late2b, nulls[1])])
    bar = null.mean() + 2.3263 * null.std()
    assert both["chosen"] == ("delayed" if 18.0 > bar else "geometric") == "delayed"
    assert both["channels"]["tv"]["gain"] == 18.0 and both["channels"]["tv"]["tenants"] == 2
    assert both["channels"]["tv"]["bar"] == pytest.approx(bar, abs=0.01)
    assert combine_screens([group(late2, nulls[0]), group(late1, nulls[1])])["channels"]["tv"]["gain"] == 9.0  # [9, 9, 0]
    assert "_by_peak" not in written(both)["channels"]["tv"] and written(both)["channels"]["tv"]["gain"] == 18.0
    # One adstock serves every channel: a channel that fits worse with a delay counts against the others' gain.
    worse = pooled(peaks, [np.array([-30.0, -25.0, -40.0])], [nulls[2]])
    mixed = _judged({"chosen": "geometric", "channels": {"tv": pooled(peaks, [late2, late2b], nulls[:2]), "email": worse}})
    assert mixed["chosen"] == "geometric" and mixed["total"]["gain"] == pytest.approx(18.0 - 25.0)
    together = (nulls[0] + nulls[1]).max(axis=1) + nulls[2].max(axis=1)  # the channels' nulls added draw by draw
    assert mixed["total"]["bar"] == pytest.approx(together.mean() + 2.3263 * together.std(), abs=0.01)
    assert mixed["channels"]["tv"]["gain"] > mixed["channels"]["tv"]["bar"]  # alone, tv would have passed its own bar


def test_spec_resolution_and_what_the_run_says() -> None:
    spec = ModelSpec()
    assert spec.adstock == "screen"
    with pytest.raises(ValueError, match=r"adstock must be one of \('geometric', 'delayed', 'screen'\), got 'weibull'"):
        ModelSpec(adstock="weibull")
    empty = np.zeros((1, 30)), np.zeros((1, 30, 2)), np.zeros((1, 1, 30, L)), np.ones((1, 30), bool), ["tv"]
    assert resolve_adstock(ModelSpec(adstock="delayed"), *empty) == (ModelSpec(adstock="delayed"), None)
    assert resolve_adstock(ModelSpec(media=False), *empty) == (ModelSpec(media=False, adstock="geometric"), None)
    summary = {"config": {"spec": {"adstock": "delayed"}},
               "adstock_screen": {"chosen": "delayed", "channels": {"tv": {"gain": 40.2, "bar": 4.63, "tenants": 2, "peak": 3.0},
                                                                    "email": {"gain": 0.0, "bar": 0.0, "tenants": 0, "peak": None}}}}
    assert screen_line(summary) == ("adstock delayed, chosen from the data before sampling: spend acts days after it is spent "
                                    "(least-squares log-likelihood of the best delayed shape, at a peak shared by the tenants, "
                                    "over the best geometric one: tv +40.2 (bar 4.6, peak 3))")
    summary["adstock_screen"]["total"] = {"gain": 40.2, "bar": 4.63}  # recorded since the choice weighs every channel
    assert screen_line(summary).endswith("tv +40.2 (bar 4.6, peak 3); over all channels +40.2 (bar 4.6))")
    weekly = {"config": {"spec": {"adstock": "geometric"}},
              "adstock_screen": {"chosen": "geometric", "channels": {}, "reason": "an adstock window of 2 period(s) leaves no room for a later peak"}}
    assert screen_line(weekly).endswith("(an adstock window of 2 period(s) leaves no room for a later peak)")
    assert screen_line({"config": {"spec": {"adstock": "geometric"}}}) is None  # set by hand: nothing to say


@pytest.mark.parametrize(("scenario", "seed", "chosen"), [("weibull_adstock", 0, "delayed"), ("weibull_adstock", 1, "delayed"),
                                                           ("default", 0, "geometric"), ("heavy_tails", 0, "geometric")])
def test_scenario_lakes_get_the_shape_their_generator_used(tmp_path: Path, scenario: str, seed: int, chosen: str) -> None:
    """Three tenants × 365 days, no sampling: the design of the default spec names the generator's kind of carry-over."""
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.model.design import build_design, screen_design
    from synthetic import simulate_universe, write_lake

    lake = write_lake(simulate_universe(n_tenants=3, n_days=365, seed=seed, scenario=scenario), tmp_path / "lake")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = build_design(load_lake(lake))
        alone = screen_design(load_lake(lake), ModelSpec())  # what a grouped fit's client runs
    assert design.spec.adstock == chosen and design.adstock_screen["chosen"] == chosen
    assert alone[0] == design.spec and alone[1]["total"] == design.adstock_screen["total"]
    peaks = [v["peak"] for v in design.adstock_screen["channels"].values()]
    assert all(p >= 2 for p in peaks) if chosen == "delayed" else True  # Weibull modes of 2–6 days: a late shared peak
