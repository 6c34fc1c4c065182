"""The convergence checks judge the cells the data reach: a channel a tenant never spent on is not judged."""

from __future__ import annotations

import arviz as az
import numpy as np
import xarray as xr

from bayes_mmm.analysis.diagnostics import convergence_table, parameter_diagnostics
from bayes_mmm.inference.fit import convergence
from bayes_mmm.inference.judged import run_unlearnt, sampled_names

TENANTS, CHANNELS = ["north", "south"], ["meta", "tv"]


def _idata() -> az.InferenceData:
    """4 chains × 300 well-mixed draws, except south's tv, whose chains sit at four different levels; south never spent on tv."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 300, 2, 2))
    z[:, :, 1, 1] += np.arange(4)[:, None] * 3.0  # R-hat far above 1.01 for that cell alone
    post = xr.Dataset({"log_roas_z": (("chain", "draw", "tenant", "channel"), z),
                       "sigma": (("chain", "draw"), rng.normal(size=(4, 300)))},
                      coords={"chain": range(4), "draw": range(300), "tenant": TENANTS, "channel": CHANNELS})
    spend = np.ones((2, 2, 10))
    spend[1, 1] = 0.0
    const = xr.Dataset({"spend": (("tenant", "channel", "date"), spend), "train": (("tenant", "date"), np.ones((2, 10), bool))},
                       coords={"tenant": TENANTS, "channel": CHANNELS})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 300), bool))}, coords={"chain": range(4), "draw": range(300)})
    return az.InferenceData(posterior=post, constant_data=const, sample_stats=stats)


def test_a_channel_the_tenant_never_spent_on_is_not_judged() -> None:
    idata = _idata()
    unlearnt = run_unlearnt(idata)
    assert unlearnt["unspent"].values.tolist() == [[False, False], [False, True]]
    plain = convergence(idata)
    assert plain["ok"] is False and next(iter(plain["worst_rhat"])) == "log_roas_z[south, tv]"
    judged = convergence(idata, unlearnt=unlearnt)
    # What is left, computed by arviz directly on the three learnt cells and sigma.
    z = idata.posterior["log_roas_z"].values
    ref = max(float(az.rhat(z[..., i, j])) for i, j in [(0, 0), (0, 1), (1, 0)])
    ref = max(ref, float(az.rhat(idata.posterior["sigma"].values)))
    assert judged["rhat_max"] == round(ref, 4) and judged["rhat_max"] < 1.01 and judged["ok"] is True
    assert "log_roas_z[south, tv]" not in judged["worst_rhat"] and judged["n_parameters"] == 4
    # diagnose's tables read the run's own record of spend.
    labels = set(parameter_diagnostics(idata)["label"])
    assert labels == {"log_roas_z[north, meta]", "log_roas_z[north, tv]", "log_roas_z[south, meta]", "sigma"}
    assert "tv" not in convergence_table(idata, "south").index.str.cat()


def test_the_media_weather_of_a_tenant_without_weather_is_not_judged() -> None:
    """south has no weather (its media weather is 0 on every training day): its γ draws are the prior's, however
    its chains wander; north's are judged, and a γ of north's that wanders still fails the gate."""
    idata = _idata()
    rng = np.random.default_rng(2)
    g = rng.normal(size=(4, 300, 2, 2, 2))
    g[:, :, 1] += np.arange(4)[:, None, None, None] * 3.0  # every γ cell of south: chains apart
    idata.posterior["gamma_z"] = (("chain", "draw", "tenant", "channel", "weather"), g)
    idata.posterior = idata.posterior.assign_coords(weather=["temp_c", "precip_mm"])
    zw = rng.normal(size=(2, 10, 2))
    zw[1] = 0.0
    idata.constant_data["media_weather"] = (("tenant", "date", "weather"), zw)
    unlearnt = run_unlearnt(idata)
    assert unlearnt["still_weather"].values.tolist() == [[False, False], [True, True]]
    assert convergence(idata, unlearnt=unlearnt)["ok"] is True
    labels = set(parameter_diagnostics(idata)["label"])
    assert {lab for lab in labels if lab.startswith("gamma_z")} == {f"gamma_z[north, {c}, {w}]" for c in CHANNELS
                                                                     for w in ("temp_c", "precip_mm")}
    g[:, :, 0, 0, 0] += np.arange(4)[:, None] * 3.0
    idata.posterior["gamma_z"] = (("chain", "draw", "tenant", "channel", "weather"), g)
    worst = convergence(idata, unlearnt=unlearnt)
    assert worst["ok"] is False and next(iter(worst["worst_rhat"])) == "gamma_z[north, meta, temp_c]"


def test_a_fit_judges_only_the_channels_each_tenant_has(tmp_path) -> None:
    """A real (small) fit of a lake where one tenant has no email: its email parameters are not judged."""
    import pandas as pd

    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference.fit import SamplerConfig, fit
    from synthetic import simulate_universe, write_lake

    lake = write_lake(simulate_universe(n_tenants=2, n_days=150, seed=3), tmp_path / "lake")
    first = sorted(p for p in lake.iterdir() if p.is_dir())[0]
    pd.read_csv(first / "daily.csv").drop(columns=["spend_email"]).to_csv(first / "daily.csv", index=False)
    result = fit(load_lake(lake), ModelSpec(), SamplerConfig(chains=2, draws=100, tune=100, progress=False))
    unlearnt = run_unlearnt(result.idata)
    assert unlearnt["unspent"].sel(tenant=first.name).values.tolist() == [c == "email" for c in unlearnt["channel"].values]
    everything = convergence(result.idata)
    # Every sampled (tenant, channel[, …]) variable loses exactly its email cell of that tenant: count them independently.
    post = result.idata.posterior
    cells = sum(int(np.prod([post.sizes[d] for d in post[v].dims if d not in ("chain", "draw", "tenant", "channel")]))
                for v in post.data_vars if {"tenant", "channel"} <= set(post[v].dims) and v in sampled_names(post))
    assert result.convergence["n_parameters"] == everything["n_parameters"] - cells
    assert not any(f"{first.name}, email" in k for k in result.convergence["worst_rhat"])


def test_a_pooling_scale_is_judged_once_where_some_channels_hold_it() -> None:
    # log_roas_sigma (channel) holds the learnt entries and the held ones' constant; _sigma_free repeats the first.
    rng = np.random.default_rng(1)
    post = xr.Dataset({name: (("chain", "draw", "channel"), rng.normal(size=(4, 100, 2)))
                       for name in ("log_roas_sigma_free", "log_roas_sigma", "roas", "mroas", "log_roas_sigma_free_log__")},
                      coords={"chain": range(4), "draw": range(100), "channel": CHANNELS})
    assert sampled_names(post) == ["log_roas_sigma", "roas"]


def test_diagnose_tables_say_nothing_of_the_cells_they_blank(capfd) -> None:
    """The blanked cells are NaN on purpose: `report` printed ArviZ's "Array contains NaN-value" for them."""
    labels = set(parameter_diagnostics(_idata())["label"])
    assert "log_roas_z[south, tv]" not in labels and "NaN-value" not in capfd.readouterr().err
