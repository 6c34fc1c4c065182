"""Identification levers: the transforms bound what they claim, default models are unchanged, options are recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bayes_mmm.core.priors import MediaPriors
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.model.levers import bounded_gamma, half_sat_floor, soft_ceiling, soft_floor, weather_span
from bayes_mmm.runs.summary import config_hash

#: The model as pinned: no levers, and the ROAS prior of then (1–5; 0.5–10 since 2026-11-29).
LEVERS_OFF = {"half_sat_floor": None, "media_weather_bound": None, "hill_shape_max": None,
              "priors": MediaPriors(roas={"*": (1.0, 5.0)})}

raw_values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(raw=raw_values, log_floor=st.floats(-8, 3))
def test_soft_floor_never_below_the_floor_and_identity_above_it(raw: float, log_floor: float) -> None:
    out = float(soft_floor(np.float64(raw), np.float64(log_floor)))
    assert out >= log_floor
    assert out >= raw - 1e-12  # it only ever lifts
    if raw >= log_floor + 1.2:  # well above the floor the map is (almost) the identity
        assert out == pytest.approx(raw, abs=0.01)


@given(a=raw_values, b=raw_values)
def test_soft_floor_is_increasing(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert float(soft_floor(np.float64(lo), np.float64(0.0))) <= float(soft_floor(np.float64(hi), np.float64(0.0)))


@given(raw=raw_values, log_ceiling=st.floats(0.1, 3))
def test_soft_ceiling_never_above_the_ceiling_and_identity_below_it(raw: float, log_ceiling: float) -> None:
    out = float(soft_ceiling(np.float64(raw), np.float64(log_ceiling)))
    assert out <= log_ceiling and out <= raw + 1e-12  # it only ever lowers
    if raw <= log_ceiling - 1.2:
        assert out == pytest.approx(raw, abs=0.01)


def test_the_hill_shape_ceiling_bounds_the_shared_shape_and_leaves_the_priors_centre(logp_lake: Path) -> None:
    design = build_design(load_lake(logp_lake), ModelSpec())
    model = build_model(design)
    assert "log_hill_shape_raw" in model.named_vars and model["hill_shape"] not in model.free_RVs
    point = model.initial_point()
    (shape,) = model.replace_rvs_by_values([model["hill_shape"]])
    at = model.compile_fn(shape, inputs=model.value_vars, on_unused_input="ignore")
    steep = np.log([1.3, 7.0, 40.0])[: len(design.channels)]
    got = at({**point, "log_hill_shape_raw": steep})
    # 3 − softplus(4·(log 3 − log s))/4 on the log scale, by hand: 1.3 → 1.289, 7 → 2.975, 40 → 3.0.
    expected = 3 * np.exp(-np.logaddexp(0, 4 * (np.log(3) - steep)) / 4)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert got[0] == pytest.approx(1.289, abs=1e-3) and np.all(got < 3)
    # Runs written before the ceiling rebuild with the unbounded log-normal shape.
    old = build_model(build_design(load_lake(logp_lake), ModelSpec.from_dict({**ModelSpec().to_dict(), "hill_shape_max": None})))
    assert old["hill_shape"] in old.free_RVs and "log_hill_shape_raw" not in old.named_vars
    assert "hill_shape_max" not in ModelSpec.from_dict({k: v for k, v in ModelSpec().to_dict().items() if k != "hill_shape_max"}).to_dict()


def test_a_hill_prior_the_ceiling_would_bend_is_refused(tiny_lake: Path, tmp_path: Path) -> None:
    for top in (3.5, 2.9):
        with pytest.raises(ValueError, match=rf"the Hill shape prior \(--hill-prior\) reaches {top} at its 95 % point, "
                                             r"too close to hill_shape_max 3, which would bend it: keep the prior below 2\.5"):
            ModelSpec(priors=MediaPriors.from_ranges(hill=(1, top)))
    assert ModelSpec(priors=MediaPriors.from_ranges(hill=(1, 2.9)), hill_shape_max=None).hill_shape_max is None
    assert ModelSpec(priors=MediaPriors.from_ranges(hill=(1, 2.9)), hill_shape_max=3.5).hill_shape_max == 3.5
    assert ModelSpec(priors=MediaPriors.from_ranges(hill=(1, 3.5)), hill_shape="fixed").hill_shape == "fixed"  # no shape to bound
    for bad in (0.8, float("inf")):
        with pytest.raises(ValueError, match=r"must be > 1 .* and finite"):
            ModelSpec(hill_shape_max=bad)
    from typer.testing import CliRunner

    from bayes_mmm.surfaces.cli import app

    res = CliRunner().invoke(app, ["fit", "--data", str(tiny_lake), "--out", str(tmp_path / "run"), "--hill-prior", "1:3"])
    assert res.exit_code == 2 and not (tmp_path / "run").exists()
    assert "the Hill shape prior (--hill-prior) reaches 3 at its 95 % point, too close to --hill-shape-max 3" in res.output


@settings(max_examples=200)
@given(
    raw=arrays(np.float64, (3, 2), elements=raw_values),
    span=arrays(np.float64, (2,), elements=st.floats(0.1, 6)),
    frac=arrays(np.float64, (2,), elements=st.floats(-1, 1)),
    bound=st.floats(0.05, 2),
)
def test_bounded_gamma_keeps_the_log_multiplier_within_the_bound(raw, span, frac, bound) -> None:
    gamma = bounded_gamma(raw[None], span[None], bound)[0]  # (channel, weather)
    z = frac * span  # any weather inside the observed range
    assert np.all(np.abs(gamma @ z) <= bound * (1 + 1e-12))
    # …and at the edge of the range the bound is reached only in the limit of huge γ.
    assert np.all(np.abs(gamma) * span <= bound / 2 * (1 + 1e-12))


def test_bounded_gamma_is_the_identity_near_zero_and_matches_pytensor() -> None:
    raw = np.array([[[0.002, -0.003], [0.5, -4.0]]])
    span = np.array([[2.0, 3.0]])
    out = bounded_gamma(raw, span, np.log(2))
    assert out[0, 0] == pytest.approx(raw[0, 0], rel=1e-3)  # tanh(x) = x(1 − x²/3 + …), x = γ/c ≈ 0.03
    cap = np.log(2) / (2 * span[0])
    np.testing.assert_allclose(out[0, 1], cap * np.tanh(raw[0, 1] / cap))
    sym = bounded_gamma(pt.as_tensor(raw), span, np.log(2)).eval()
    np.testing.assert_allclose(sym, out)
    np.testing.assert_allclose(soft_floor(pt.as_tensor(raw), -1.0).eval(), soft_floor(raw, -1.0))


def test_half_sat_floor_and_weather_span_from_the_data() -> None:
    spend = np.array([[[0.0, 10, 20, 30, 40, 1000], [0, 0, 0, 0, 0, 0]]])
    train = np.array([[True, True, True, True, True, False]])  # the last day is holdout
    scale = np.array([[25.0, 1.0]])
    floor = half_sat_floor(spend, scale, train, 0.1)
    assert floor[0, 0] == pytest.approx(np.quantile([10, 20, 30, 40], 0.1) / 25.0)
    assert floor[0, 1] == 1e-6  # never spends: nothing to floor
    zw = np.array([[[0.5, -2.0], [-1.5, 1.0], [9.0, 9.0]]])
    np.testing.assert_allclose(weather_span(zw, np.array([[True, True, False]])), [[1.5, 2.0]])
    np.testing.assert_allclose(weather_span(np.zeros((1, 3, 2)), np.ones((1, 3), bool)), [[1.0, 1.0]])


# -------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def logp_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("levers") / "lake"
    write_lake(simulate_universe(n_tenants=2, n_days=120, seed=5), out)
    return out


def _point(model) -> dict:
    ip = model.initial_point()
    return {k: 0.3 * np.sin(np.arange(v.size).reshape(v.shape) + 1.7 * i) for i, (k, v) in enumerate(sorted(ip.items()))}


@pytest.mark.parametrize(
    ("spec", "expected"),
    # Pinned from the model as it was before the levers existed (commit eef1012).
    # Two tenants: every pooling scale learnt, as it was then (pool_min_tenants 0).
    [(ModelSpec(centered=("roas", "half_sat"), pool_min_tenants=0, **LEVERS_OFF), -614.0177184257532),
     (ModelSpec(pooled=False, centered=(), **LEVERS_OFF), -316.5855579217194)],
)
def test_the_model_without_levers_is_built_as_before(logp_lake: Path, spec: ModelSpec, expected: float, monkeypatch) -> None:
    # This lake has 120 days: since session 21 the yearly terms' prior shrinks under a year; without that
    # shrink the model is exactly the pinned one.
    from bayes_mmm.model import design as design_module

    monkeypatch.setattr(design_module, "_years", lambda *a: 1.0)
    model = build_model(build_design(load_lake(logp_lake), spec))
    assert float(model.compile_logp()(_point(model))) == pytest.approx(expected, rel=1e-10)


def test_levers_bound_the_model_parameters(logp_lake: Path) -> None:
    spec = ModelSpec(half_sat_floor=0.2, media_weather_bound=float(np.log(2)))
    design = build_design(load_lake(logp_lake), spec)
    model = build_model(design)
    point = {k: v * 40 - 20 for k, v in _point(model).items()}  # far out: half-sat collapsing, γ huge
    # At the point's values (a graph of the variables themselves would be evaluated at random draws).
    outs = model.replace_rvs_by_values([model["half_sat"], model["weather_gamma"]])
    half_sat, gamma = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point)
    floor = half_sat_floor(design.spend, design.spend_scale, design.train, 0.2)
    assert np.all(half_sat >= floor * (1 - 1e-9))
    assert np.isclose(half_sat, floor, rtol=0.05).any()  # the collapsing ones sit on the floor
    log_mult = np.einsum("ncw,ntw->nct", gamma, design.zw)
    for i in range(len(design.tenants)):
        assert np.abs(log_mult[i][:, design.train[i]]).max() <= np.log(2) * (1 + 1e-9)
    assert np.abs(gamma).max() > 0.05  # the bound is not met by squashing γ to nothing
    assert np.isfinite(model.compile_logp()(point))


def test_lever_options_are_validated_and_recorded() -> None:
    spec = ModelSpec(half_sat_floor=0.1, media_weather_bound=0.7)
    d = json.loads(json.dumps(spec.to_dict()))
    assert (d["half_sat_floor"], d["media_weather_bound"]) == (0.1, 0.7)
    assert ModelSpec.from_dict(d) == spec
    old_run = {k: v for k, v in d.items() if k not in ("half_sat_floor", "media_weather_bound")}
    assert (ModelSpec.from_dict(old_run).half_sat_floor, ModelSpec.from_dict(old_run).media_weather_bound) == (None, None)
    assert (ModelSpec().half_sat_floor, ModelSpec().media_weather_bound) == (0.1, 0.693)  # on by default (§22)
    base = config_hash({"spec": ModelSpec(**LEVERS_OFF).to_dict()})
    assert config_hash({"spec": ModelSpec(**{**LEVERS_OFF, "half_sat_floor": 0.1}).to_dict()}) != base
    assert config_hash({"spec": ModelSpec(**{**LEVERS_OFF, "media_weather_bound": 0.7}).to_dict()}) != base
    with pytest.raises(ValueError, match=r"half_sat_floor is a quantile of positive spend: it must be in \(0, 1\), got 10"):
        ModelSpec(half_sat_floor=10)
    with pytest.raises(ValueError, match=r"media_weather_bound must be > 0 \(e.g. 0.693 = log 2\), got -1"):
        ModelSpec(media_weather_bound=-1)


def test_regime_change_is_off_by_default_recorded_when_on_and_rescales_only_the_past(logp_lake: Path) -> None:
    from bayes_mmm.model.response import regime_scaled

    assert "regime_start" not in ModelSpec().to_dict()  # old runs' config hashes stay as they were
    spec = ModelSpec(regime_start="2024-03-01", regime_sd=0.3)
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="regime_start must be an ISO date, got 'soon'"):
        ModelSpec(regime_start="soon")
    eff = np.ones((2, 3, 4))
    out = regime_scaled(eff, np.log([[2.0, 1.0, 0.5], [1.0, 1.0, 1.0]]), np.array([1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(out[0], [[0.5, 0.5, 1, 1], [1, 1, 1, 1], [2, 2, 1, 1]])
    # No change sampled (z = 0): the likelihood is the default model's at the same media parameters.
    ds = load_lake(logp_lake)
    plain, regime = (build_model(build_design(ds, s)) for s in (ModelSpec(), spec))
    point = _point(plain)
    assert build_design(ds, spec).before_regime.sum() == (build_design(ds, spec).dates < "2024-03-01").sum() > 0
    at = {**point, "roas_change_z": np.zeros((2, 3)), "roas_change_sigma_log__": np.zeros(3)}
    ll = [float(m.compile_logp(vars=[m["loglik"]])(pt_)) for m, pt_ in ((plain, point), (regime, at))]
    assert ll[1] == pytest.approx(ll[0], rel=1e-12)
    at["roas_change_z"] = np.ones((2, 3))  # a change: the past no longer fits as well as the present
    assert float(regime.compile_logp(vars=[regime["loglik"]])(at)) != pytest.approx(ll[0], rel=1e-6)


def test_cli_passes_the_levers_to_the_spec(tiny_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bayes_mmm.surfaces.cli import app

    seen = {}

    def fake_fit(ds, spec, sampler, prior=None):  # plumbing only: stop before sampling
        seen["spec"] = spec
        raise ValueError("stopped before sampling")

    monkeypatch.setattr("bayes_mmm.inference.fit.fit", fake_fit)  # api imports it when it fits
    args = ["fit", "--data", str(tiny_lake), "--out", str(tmp_path / "run")]
    res = CliRunner().invoke(app, [*args, "--half-sat-floor", "0.1", "--media-weather-bound", "0.693", "--media-weather-clip", "2"])
    assert res.exit_code == 2 and "stopped before sampling" in res.output
    assert (seen["spec"].half_sat_floor, seen["spec"].media_weather_bound, seen["spec"].media_weather_clip) == (0.1, 0.693, 2.0)
    res = CliRunner().invoke(app, [*args, "--half-sat-floor", "none", "--media-weather-bound", "off"])
    assert res.exit_code == 2 and "stopped before sampling" in res.output
    assert (seen["spec"].half_sat_floor, seen["spec"].media_weather_bound) == (None, None)
    res = CliRunner().invoke(app, args)  # no lever options: the API's defaults
    assert res.exit_code == 2 and "stopped before sampling" in res.output
    assert (seen["spec"].half_sat_floor, seen["spec"].media_weather_bound, seen["spec"].pool_min_tenants) == (0.1, 0.693, 5)
    assert seen["spec"].hill_shape_max == 3.0
    res = CliRunner().invoke(app, [*args, "--hill-shape-max", "none"])
    assert res.exit_code == 2 and seen["spec"].hill_shape_max is None
    res = CliRunner().invoke(app, [*args, "--hill-shape-max", "0.5"])
    assert res.exit_code == 2 and "--hill-shape-max is the largest Hill shape: it must be > 1" in res.output
    assert seen["spec"].hill_shape == "channel"
    res = CliRunner().invoke(app, [*args, "--hill-shape", "fixed"])
    assert res.exit_code == 2 and seen["spec"].hill_shape == "fixed"
    res = CliRunner().invoke(app, [*args, "--hill-shape", "tenant"])
    assert res.exit_code == 2 and "--hill-shape must be one of ('channel', 'fixed'), got 'tenant'" in res.output
    res = CliRunner().invoke(app, [*args, "--pool-min-tenants", "0"])
    assert res.exit_code == 2 and seen["spec"].pool_min_tenants == 0
    res = CliRunner().invoke(app, [*args, "--media-weather-bound", "log2"])
    assert res.exit_code == 2 and "--media-weather-bound: 'log2' is not a number" in res.output
    res = CliRunner().invoke(app, [*args, "--half-sat-floor", "5"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "error: --half-sat-floor is a quantile of positive spend: it must be in (0, 1), got 5.0" in " ".join(res.output.split())
    res = CliRunner().invoke(app, [*args, "--adstock", "weird"])
    assert res.exit_code == 2 and "--adstock must be one of geometric, delayed, screen, auto, got 'weird'" in res.output


def test_media_weather_clip_bounds_the_weather_that_multiplies_media(logp_lake: Path) -> None:
    """c·tanh(z / c) in the design's media weather, against the unclipped design; off: unchanged and same hash."""
    ds = load_lake(logp_lake)
    plain, clipped = build_design(ds, ModelSpec()), build_design(ds, ModelSpec(media_weather_clip=1.5))
    assert clipped.zw == pytest.approx(1.5 * np.tanh(plain.zw / 1.5), rel=1e-12)
    assert np.abs(clipped.zw).max() < 1.5 < np.abs(plain.zw).max()
    assert clipped.X == pytest.approx(plain.X)  # the baseline's weather terms are not clipped
    assert "media_weather_clip" not in ModelSpec().to_dict()
    assert ModelSpec.from_dict(ModelSpec(media_weather_clip=2.0).to_dict()).media_weather_clip == 2.0
    with pytest.raises(ValueError, match=r"media_weather_clip must be > 0 \(in sd of weather, e.g. 2\), got 0"):
        ModelSpec(media_weather_clip=0)


def test_forecast_weather_is_clipped_like_the_fit() -> None:
    """A forecast's media weather goes through the same clip the fit's did (decide.weather.forecast_z)."""
    import pandas as pd

    from bayes_mmm.decide.weather import forecast_z
    from bayes_mmm.model.design import WeatherStats

    dates = pd.date_range("2025-01-01", periods=3)
    fc = pd.DataFrame({"date": dates, "temp_c": [10.0, 40.0, -30.0], "precip_mm": [0.0, 80.0, 1.0]})
    stats = WeatherStats(10.0, 5.0, 0.5, 0.8, clip=2.0)
    z, known = forecast_z(fc, dates, ["a"], [stats])
    raw = np.stack([(fc["temp_c"] - 10.0) / 5.0, (np.log1p(fc["precip_mm"]) - 0.5) / 0.8], axis=1)
    assert known.all() and z[0] == pytest.approx(2.0 * np.tanh(raw / 2.0))


def test_the_model_card_says_which_levers_a_run_had() -> None:
    from bayes_mmm.analysis.card import lever_lines

    every = lever_lines(ModelSpec().to_dict())
    assert every == ["- Identification levers: each half-saturation softly above the 10 % quantile of its channel's "
                     "positive spend; weather multiplies a channel's effect by 0.50–2.00 at most over the observed weather; "
                     "each channel's Hill shape softly below 3."]
    assert lever_lines({**ModelSpec().to_dict(), "half_sat_floor": None, "media_weather_bound": 1.0, "hill_shape_max": None})[0].endswith(
        "by 0.37–2.72 at most over the observed weather.")  # e^-1, e^1
    assert lever_lines(ModelSpec(**LEVERS_OFF).to_dict()) == []
    assert lever_lines({}) == []  # a summary from before the levers
