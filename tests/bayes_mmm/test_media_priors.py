"""Media priors as data: validation, the model's prior draws against analytic quantiles, recording, CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pymc as pm
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit
from typer.testing import CliRunner

from bayes_mmm.core.priors import MediaPriors, normal_from_range, priors_from_options, range_of_normal
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.runs.summary import config_hash

Q = [0.05, 0.5, 0.95]
#: Tolerance on prior-draw quantiles, in units of the distribution's sd: 8,000 draws put the
#: 5 % quantile's standard error near 0.024 sd, so 0.08 sd is > 3 standard errors.
TOL = 0.08


@pytest.fixture(scope="module")
def ds(tiny_lake):
    return load_lake(tiny_lake)


def _prior(ds, spec: ModelSpec, names: list[str]) -> dict[str, np.ndarray]:
    model = build_model(build_design(ds, spec))
    # The likelihood is a Potential; prior draws ignore it by design, which PyMC warns about.
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        idata = pm.sample_prior_predictive(draws=8000, var_names=names, random_seed=1)
    return {n: idata.prior[n].values[0] for n in names}


def _normal_q(loc: float, scale: float) -> np.ndarray:
    return stats.norm(loc, scale).ppf(Q)


def test_default_roas_prior_is_the_lognormal_of_its_range(ds) -> None:
    """Population log-ROAS is N(mu, sd) with exp(5 %, 95 %) = (0.5, 10); pool sd 0.3 as before.

    The pooling scale is HalfNormal(0.3) where it is learnt, and 0.3 itself on these two tenants by default.
    """
    mu, sd = (np.log(0.5) + np.log(10)) / 2, np.log(20) / (2 * stats.norm.ppf(0.95))
    assert np.all(_prior(ds, ModelSpec(), ["log_roas_sigma"])["log_roas_sigma"] == 0.3)
    draws = _prior(ds, ModelSpec(pool_min_tenants=0), ["log_roas_mu", "log_roas_sigma"])
    for j in range(len(ds["channel"])):
        got = np.quantile(draws["log_roas_mu"][:, j], Q)
        np.testing.assert_allclose(got, _normal_q(mu, sd), atol=TOL * sd)
    np.testing.assert_allclose(np.quantile(draws["log_roas_sigma"], 0.5), stats.halfnorm(scale=0.3).ppf(0.5), rtol=0.04)
    assert np.exp(_normal_q(mu, sd)[[0, 2]]) == pytest.approx([0.5, 10.0])


def test_per_channel_roas_prior_moves_that_channel_only(ds) -> None:
    channels = [str(c) for c in ds["channel"].values]
    target = channels[-1]
    spec = ModelSpec(pooled=False, priors=MediaPriors(roas={target: (3, 12), "*": (1, 5)}))
    roas = _prior(ds, spec, ["roas"])["roas"]  # (draw, tenant, channel)
    for j, ch in enumerate(channels):
        mu, sd = normal_from_range(*((3, 12) if ch == target else (1, 5)))
        scale = np.hypot(sd, 0.3)  # unpooled: the variance a new tenant has under pooling
        for i in range(roas.shape[1]):
            got = np.quantile(np.log(roas[:, i, j]), Q)
            np.testing.assert_allclose(got, _normal_q(mu, scale), atol=TOL * scale, err_msg=f"{ch}, tenant {i}")
    # Pooled: the channel's population mean gets its own prior, the others keep the default.
    pooled = _prior(ds, ModelSpec(priors=MediaPriors(roas={target: (3, 12), "*": (1, 5)})), ["log_roas_mu"])["log_roas_mu"]
    lo_hi = np.exp(np.quantile(pooled, [0.05, 0.95], axis=0)).T
    np.testing.assert_allclose(lo_hi[-1], [3, 12], rtol=0.06)
    np.testing.assert_allclose(lo_hi[:-1], [[1, 5]] * (len(channels) - 1), rtol=0.06)


def test_other_priors_reach_the_model(ds) -> None:
    priors = MediaPriors.from_ranges(adstock=(0.2, 0.6), half_sat=(0.5, 4), weather=(-0.1, 0.5), adstock_pool=0.2)
    # The identification levers off: their floor and bound reshape exactly these priors (tests/bayes_mmm/test_levers.py).
    spec = ModelSpec(pooled=False, priors=priors, half_sat_floor=None, media_weather_bound=None)
    draws = _prior(ds, spec, ["adstock_alpha", "half_sat", "weather_gamma"])
    loc, sd = normal_from_range(0.2, 0.6, "logit")
    scale = np.hypot(sd, 0.2)
    np.testing.assert_allclose(np.quantile(draws["adstock_alpha"][:, 0, 0], Q), expit(_normal_q(loc, scale)), atol=0.01)
    loc, sd = normal_from_range(0.5, 4, "log")
    scale = np.hypot(sd, 0.3)
    np.testing.assert_allclose(np.quantile(np.log(draws["half_sat"][:, 1, 2]), Q), _normal_q(loc, scale), atol=TOL * scale)
    scale = np.hypot((0.5 + 0.1) / (2 * stats.norm.ppf(0.95)), 0.1)
    np.testing.assert_allclose(np.quantile(draws["weather_gamma"][:, 2, 1, 0], Q), _normal_q(0.2, scale), atol=TOL * scale)


def test_unknown_channel_in_roas_prior_is_an_error(ds) -> None:
    spec = ModelSpec(priors=MediaPriors(roas={"tv": (1, 2), "*": (1, 5)}))
    with pytest.raises(ValueError, match=r"the ROAS prior names channel \['tv'\], which the data do not have"):
        build_model(build_design(ds, spec))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"roas": {"email": (3, 12)}}, "roas needs a '*' entry for the channels not named, got keys ['email']"),
    ({"roas": {"*": (5, 1)}}, "roas prior of '*' must be finite with low < high, got (5, 1)"),
    ({"roas": {"*": (0, 1)}}, "roas prior of '*' must have 0 < low < high, got (0, 1)"),
    ({"roas": {"*": (1, float("inf"))}}, "roas prior of '*' must be finite with low < high, got (1, inf)"),
    ({"adstock": (0.0, -1.0)}, "adstock prior must have a finite loc and a finite scale > 0, got (0, -1)"),
    ({"roas_pool": -0.1}, "roas_pool must be finite and ≥ 0 (0: not pooled), got -0.1"),
    ({"noise": 0.0}, "noise must be finite and > 0, got 0"),
])
def test_media_priors_validate(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        MediaPriors(**kwargs)
    assert str(err.value) == message


def test_a_pool_scale_of_zero_leaves_that_parameter_unpooled(tiny_lake) -> None:
    model = build_model(build_design(load_lake(tiny_lake), ModelSpec(priors=MediaPriors(half_sat_pool=0.0))))
    assert "log_half_sat_sigma" not in model.named_vars and "log_half_sat_mu" not in model.named_vars
    assert "log_roas_sigma" in model.named_vars  # the others stay pooled
    rv = model["log_half_sat"]  # tenants independent, with the prior's own (loc, scale)
    draws = pm.draw(rv, 4000, random_seed=1)
    assert draws.mean() == pytest.approx(0.0, abs=0.03) and draws.std() == pytest.approx(0.5, abs=0.02)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown media prior \['adstok'\]"):
        MediaPriors.from_dict({"adstok": [0, 1]})
    with pytest.raises(ValueError, match=r"unknown prior \['hil'\]"):
        MediaPriors.from_ranges(hil=(1, 2))


def test_spec_round_trip_and_config_hash() -> None:
    spec = ModelSpec(priors=MediaPriors.from_ranges(roas={"email": (3, 12), "*": (1, 5)}, hill=(1, 2.4)), adstock="delayed")
    back = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec and hash(back) == hash(spec)
    assert spec.to_dict()["priors"]["roas"] == {"*": [1.0, 5.0], "email": [3.0, 12.0]}
    base = config_hash({"spec": ModelSpec().to_dict()})
    assert config_hash({"spec": ModelSpec.from_dict(ModelSpec().to_dict()).to_dict()}) == base
    for changed in (MediaPriors(roas={"email": (3, 12), "*": (1, 5)}), MediaPriors(weather_pool=0.2), MediaPriors(noise=0.4)):
        assert config_hash({"spec": ModelSpec(priors=changed).to_dict()}) != base


def test_old_summary_spec_still_loads() -> None:
    """A summary.json ``config.spec`` from before priors were data: ``roas_prior`` and no ``priors``."""
    old = {"l_max": 14, "adstock": "geometric", "media": True, "weather_media": True, "pooled": True, "hill_shape": "channel",
           "roas_prior": [2.0, 6.0], "centered": ["roas", "half_sat"], "fourier_order": 3, "weather_lags": 3,
           "baseline_scale": 0.5, "intercept_scale": 2.0, "trend_scale": 0.15}
    spec = ModelSpec.from_dict(old)
    assert spec.priors == MediaPriors(roas={"*": (2.0, 6.0)})
    # The old keyword still works; an old run keeps the parameterisation and the i.i.d. noise it was fitted with
    # (and a weather-less tenant's media multiplier of 1: no seasonal stand-in; no identification levers; one-day holidays;
    # every pooling scale learnt; had it held some, by the tenants that spend).
    as_fitted = {"l_max": 14, "residual_ar": "none", "seasonal_media": False, "adstock": "geometric", "half_sat_floor": None,
                 "media_weather_bound": None, "hill_shape_max": None, "cyber_week": False, "pool_min_tenants": 0,
                 "pool_informed": False}
    assert spec == ModelSpec(roas_prior=(2, 6), centered=("roas", "half_sat"), **as_fitted)
    assert ModelSpec.from_dict({**old, "roas_prior": [1.0, 5.0]}) == ModelSpec(roas_prior=(1, 5), centered=("roas", "half_sat"), **as_fitted)
    # the oldest record no ROAS prior at all: fitted with 1–5, the default then, not today's
    assert ModelSpec.from_dict({k: v for k, v in old.items() if k != "roas_prior"}).priors.roas == (("*", (1.0, 5.0)),)
    assert ModelSpec.from_dict(ModelSpec(seasonal_media=True).to_dict()).seasonal_media is True
    assert "seasonal_media" not in ModelSpec().to_dict()  # off (the default): the old hash


@given(st.sampled_from(["log", "logit", "identity"]), st.floats(0.01, 0.9), st.floats(0.01, 0.09), st.floats(0.5, 0.99))
def test_range_and_normal_are_inverse(kind: str, low: float, width: float, mass: float) -> None:
    high = low + width
    loc, scale = normal_from_range(low, high, kind, mass)
    assert range_of_normal(loc, scale, kind, mass) == pytest.approx((low, high), rel=1e-9)


def test_interval_of_defaults() -> None:
    p = MediaPriors()
    assert p.interval("roas", "email") == pytest.approx((0.5, 10.0))
    assert p.interval("adstock") == pytest.approx(tuple(expit(-0.5 + np.array([-1, 1]) * stats.norm.ppf(0.95))))
    assert p.interval("hill") == pytest.approx((1.3 * np.exp(-0.3 * stats.norm.ppf(0.95)), 1.3 * np.exp(0.3 * stats.norm.ppf(0.95))))


def test_priors_from_options_texts() -> None:
    p = priors_from_options("email=3:12, *=2:6", adstock="0.2:0.6")
    assert p.roas_range("email") == (3, 12) and p.roas_range("meta") == (2, 6)
    assert p.interval("adstock") == pytest.approx((0.2, 0.6))
    assert priors_from_options(None, (2, 4)).roas == (("*", (2.0, 4.0)),)


@pytest.mark.parametrize(("args", "message"), [
    (["--roas-prior", "email=3"], "error: --roas-prior email: '3' is not LOW:HIGH (two numbers, e.g. 1:5)"),
    (["--roas-prior", "email"], "error: --roas-prior: 'email' is not CHANNEL=LOW:HIGH (e.g. 'email=3:12,*=1:5')"),
    (["--roas-prior", "email=3:1,*=1:5"], "error: --roas-prior: roas prior of 'email' must be finite with low < high, got (3, 1)"),
    (["--roas-prior", "a=1:2,a=1:3"], "error: --roas-prior: channel 'a' is given twice"),
    (["--roas-prior", "*=1:4", "--roas-low", "2"], "error: --roas-prior: '*=' and --roas-low/--roas-high both set the default range; give one"),
    (["--roas-low", "0"], "error: --roas-prior: roas prior of '*' must have 0 < low < high, got (0, 10)"),
    (["--adstock-prior", "0.2:1.5"], "error: --adstock-prior: adstock prior is a fraction: it needs 0 < low < high < 1, got (0.2, 1.5)"),
    (["--half-sat-prior", "x:2"], "error: --half-sat-prior: 'x:2' is not LOW:HIGH (two numbers, e.g. 1:5)"),
    (["--hill-prior", "2:1"], "error: --hill-prior: hill prior must be finite with low < high, got (2, 1)"),
    (["--weather-prior", "0.1"], "error: --weather-prior: '0.1' is not LOW:HIGH (two numbers, e.g. 1:5)"),
])
def test_cli_prior_errors(tmp_path, args: list[str], message: str) -> None:
    from bayes_mmm.surfaces.cli import app

    res = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), *args])
    assert res.exit_code == 2
    assert res.output.strip() == message
    assert not (tmp_path / "run").exists()


class _Stop(Exception):
    pass


def test_cli_options_reach_the_spec(monkeypatch, tmp_path) -> None:
    """Plumbing only: capture what fit hands to the API instead of fitting."""
    from bayes_mmm import api
    from bayes_mmm.surfaces.cli import app

    seen = {}

    def fake_fit_lake(data, tenant, out, spec_kwargs, **kwargs):
        seen["spec"] = ModelSpec(**spec_kwargs)
        raise _Stop

    monkeypatch.setattr(api, "fit_lake", fake_fit_lake)
    args = ["fit", "--out", str(tmp_path / "r"), "--roas-prior", "email=3:12", "--roas-high", "4",
            "--hill-prior", "1:3", "--hill-shape-max", "4", "--weather-prior", "-0.2:0.4", "--adstock-days", "56"]
    res = CliRunner().invoke(app, args)
    assert isinstance(res.exception, _Stop), res.output
    p = seen["spec"].priors
    assert dict(p.roas) == {"email": (3.0, 12.0), "*": (0.5, 4.0)}
    assert p.interval("hill") == pytest.approx((1, 3)) and p.interval("weather") == pytest.approx((-0.2, 0.4))
    assert p.adstock == MediaPriors().adstock and p.half_sat == MediaPriors().half_sat
    assert seen["spec"].l_max == 56  # eight weeks of carry-over on weekly data


def test_population_prior_still_overrides_the_spec(ds) -> None:
    """Cold start: log ROAS is the population's normal, whatever the spec's ROAS prior says (even a channel not in the data)."""
    from bayes_mmm.model.population import PopulationPrior

    channels = [str(c) for c in ds["channel"].values]
    spec = ModelSpec(pooled=False, weather_media=False, priors=MediaPriors(roas={"tv": (5, 9), "*": (1, 5)}))
    pop = PopulationPrior(channels, {"log_roas": np.array([0.0, 1.0, 2.0])}, {"log_roas": np.array([0.1, 0.2, 0.3])}, spec)
    model = build_model(build_design(ds, spec), pop)
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        log_roas = pm.sample_prior_predictive(draws=8000, var_names=["log_roas"], random_seed=2).prior["log_roas"].values[0]
    for j, (loc, scale) in enumerate([(0.0, 0.1), (1.0, 0.2), (2.0, 0.3)]):
        np.testing.assert_allclose(np.quantile(log_roas[:, 0, j], Q), _normal_q(loc, scale), atol=TOL * scale)


def test_model_card_states_the_recorded_roas_ranges() -> None:
    from bayes_mmm.analysis.card import _roas_ranges

    assert _roas_ranges(ModelSpec(priors=MediaPriors(roas={"email": (3, 12), "*": (1, 5)})).to_dict()) == "email 3–12, others 1–5"
    assert _roas_ranges({"roas_prior": [2, 6]}) == "2–6"  # a run from before priors were data


def test_the_adstock_window_follows_the_cadence_unless_given(monkeypatch, tmp_path, tiny_lake) -> None:
    """Plumbing: fit_lake's spec has 8 weeks of carry-over on weekly data, 14 days on daily data, or what was asked."""
    from bayes_mmm import api
    from synthetic import simulate_universe, write_lake

    seen = []

    def fake_fit(ds, spec, sampler, prior=None):
        seen.append((ds.attrs["cadence"], spec.l_max))
        raise _Stop

    monkeypatch.setattr("bayes_mmm.inference.fit.fit", fake_fit)  # api imports it when it fits
    write_lake(simulate_universe(n_tenants=2, n_days=364, seed=5, cadence="weekly"), tmp_path / "weekly")
    for lake, kwargs in ((tmp_path / "weekly", {"l_max": None}), (tiny_lake, {}), (tmp_path / "weekly", {"l_max": 21})):
        with pytest.raises(_Stop):
            api.fit_lake(lake, "all", None, spec_kwargs=kwargs, sampler_kwargs={"chains": 2})
    assert seen == [("weekly", 56), ("daily", 14), ("weekly", 21)]
