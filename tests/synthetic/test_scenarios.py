"""Scenario simulators: exact counterfactual truth, recomputed independently, and each scenario's promise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthetic.media import CHANNELS
from synthetic.scenarios import SCENARIOS, get_scenario
from synthetic.simulated import SimulatedTenant
from synthetic.universe import simulate_universe

NEW = [name for name, sc in SCENARIOS.items() if not sc.legacy]
MEDIA = [f"media_{c}" for c in CHANNELS]
_CACHE: dict[str, list[SimulatedTenant]] = {}


def universe(name: str) -> list[SimulatedTenant]:
    """4 tenants x 365 days, seed 3, built once per scenario."""
    if name not in _CACHE:
        _CACHE[name] = simulate_universe(n_tenants=4, n_days=365, seed=3, scenario=name)
    return _CACHE[name]


# -- an independent implementation of the documented mechanism (docs/scenarios.md), from truth.json only --

def _kernel(a: dict) -> np.ndarray:
    lags = np.arange(a["l_max"], dtype=float)
    if a["kind"] == "geometric":
        w = a["alpha"] ** lags
    elif a["kind"] == "weibull":
        x = (lags + 0.5) / a["scale"]
        w = a["shape"] / a["scale"] * x ** (a["shape"] - 1) * np.exp(-(x ** a["shape"]))
    else:
        w = a["alpha"] ** ((lags - a["theta"]) ** 2)
    return w / w.sum()


def _sat(s: dict, x: np.ndarray) -> np.ndarray:
    if s["kind"] == "hill":
        return x ** s["shape"] / (x ** s["shape"] + s["half_sat"] ** s["shape"])
    if s["kind"] == "exponential":
        return 1 - np.exp(-x / s["k"])
    if s["kind"] == "michaelis_menten":
        return x / (s["k"] + x)
    lo = 1 / (1 + math.exp(s["mid"] / s["width"]))
    return (1 / (1 + np.exp((s["mid"] - x) / s["width"])) - lo) / (1 - lo)


def _link(link: dict, daily: pd.DataFrame) -> np.ndarray:
    if link["kind"] == "threshold":
        return np.where(daily["temp_c"] > link["temp_c"], 1 + link["kappa"], 1.0)
    if link["kind"] == "linear":
        return np.maximum(1 + link["kappa"] * daily["precip_mm"].clip(upper=30) / 30, 0.1)
    return np.ones(len(daily))


def recompute_response(t: SimulatedTenant, c: str, spend: np.ndarray | None = None) -> np.ndarray:
    """``beta_c r_c`` from truth.json and the daily table (own convolution loop)."""
    ch = t.truth["channels"][c]
    x = t.daily[f"spend_{c}"].to_numpy() if spend is None else spend
    w = _kernel(ch["adstock"])
    ad = np.array([sum(w[j] * x[i - j] for j in range(len(w)) if i - j >= 0) for i in range(len(x))])
    return ch["beta"] * _sat(ch["saturation"], ad / ch["spend_scale"]) * _link(ch["weather_link"], t.daily)


@pytest.mark.parametrize("name", NEW)
def test_truth_roas_from_truth_daily_and_components(name: str) -> None:
    for t in universe(name):
        td, d = t.truth_daily, t.daily
        for c in CHANNELS:
            ch = t.truth["channels"][c]
            assert ch["roas"] == pytest.approx(td[f"media_{c}"].sum() / d[f"spend_{c}"].sum(), rel=1e-10)
            assert ch["total_spend"] == pytest.approx(d[f"spend_{c}"].sum(), rel=1e-12)
        parts = td[["base", "weather", "promotion", *MEDIA, "interaction"]].sum(axis=1)
        np.testing.assert_allclose(parts, td["expected_revenue"], rtol=1e-10)
        np.testing.assert_allclose(d["revenue"], np.maximum(td["expected_revenue"] + td["noise"], 0), rtol=1e-12)
        assert t.tenant_id.startswith("shop_") and t.truth["scenario"] == name


@pytest.mark.parametrize("name", ["weibull_adstock", "exponential_saturation", "logistic_saturation",
                                  "michaelis_menten", "weather_media_link", "low_signal", "capped_spend"])
def test_additive_contribution_recomputed_independently(name: str) -> None:
    for t in universe(name):
        for c in CHANNELS:
            np.testing.assert_allclose(t.truth_daily[f"media_{c}"], recompute_response(t, c), rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(t.truth_daily["interaction"], 0.0, atol=1e-6)


def test_multiplicative_counterfactual_recomputed_independently() -> None:
    for t in universe("multiplicative"):
        exp_rev = t.truth_daily["expected_revenue"].to_numpy()
        for c in CHANNELS:
            r = recompute_response(t, c)
            # revenue without channel c = revenue / (1 + beta_c r_c)
            np.testing.assert_allclose(t.truth_daily[f"media_{c}"], exp_rev * r / (1 + r), rtol=1e-8, atol=1e-6)
        assert t.truth_daily["interaction"].abs().sum() > 0
        assert t.truth["noise"] == "lognormal"


def test_weibull_peaks_after_several_days() -> None:
    for t in universe("weibull_adstock"):
        for ch in t.truth["channels"].values():
            assert ch["adstock"]["kind"] == "weibull"
            assert int(np.argmax(_kernel(ch["adstock"]))) >= 1


def test_correlated_spend() -> None:
    for t in universe("correlated_spend"):
        d = t.daily
        corr = np.corrcoef(d["spend_meta"], d["spend_google"])[0, 1]
        assert corr >= 0.7
        assert t.truth["signal"]["spend_correlation"]["meta~google"] == pytest.approx(corr)
    # the default pattern keeps channels apart: the scenario is what makes them move together
    assert all(abs(t.truth["signal"]["spend_correlation"]["meta~google"]) < 0.6 for t in universe("low_signal"))


def test_capped_spend_at_cap_most_days() -> None:
    for t in universe("capped_spend"):
        meta = t.daily["spend_meta"].to_numpy()
        assert np.mean(meta == meta.max()) >= 0.6


def test_low_signal_media_share_below_ten_percent() -> None:
    for t in universe("low_signal"):
        td = t.truth_daily
        share = td[MEDIA].to_numpy().sum() / td["expected_revenue"].sum()
        assert share < 0.10
        assert share == pytest.approx(t.truth["signal"]["media_share"])


def test_flat_channel_and_short_history() -> None:
    for t in universe("flat_channel"):
        email = t.daily["spend_email"]
        assert email.std() / email.mean() < 0.05 and (email > 0).all()
    lengths = {len(t.daily) for t in universe("short_history")}
    assert len(lengths) == 1 and 120 <= lengths.pop() <= 200


def test_heavy_tails_events_and_noise() -> None:
    noise = []
    for t in universe("heavy_tails"):
        promo = t.truth_daily["promotion"].to_numpy()
        np.testing.assert_array_equal(t.daily["event"], (promo > 0).astype(int))
        assert t.daily["event"].sum() >= 3
        noise.append(t.truth_daily["noise"] / t.truth["level"])
    z = pd.concat(noise)
    assert ((z - z.mean()) ** 4).mean() / z.var() ** 2 > 4.5  # Gaussian: 3


def test_weather_scenarios_and_sensitivity_only_where_known() -> None:
    for t in universe("weather_demand_only"):
        assert t.truth_daily["weather"].abs().mean() > 0.02 * t.truth["level"]
        assert {ch["weather_link"]["kind"] for ch in t.truth["channels"].values()} == {"none"}
        assert "sensitivity" not in t.meta
    for t in universe("weather_media_link"):
        np.testing.assert_allclose(t.truth_daily["weather"], 0.0, atol=1e-9)
        assert {ch["weather_link"]["kind"] for ch in t.truth["channels"].values()} <= {"threshold", "linear"}
        assert "sensitivity" not in t.meta
    for t in universe("exponential_saturation"):
        assert t.meta["sensitivity"] == "none" and t.truth["weather_elasticity"] == {"temp_c": 0.0, "precip_mm": 0.0}


def test_mixed_draws_different_mechanisms_per_tenant() -> None:
    u = simulate_universe(n_tenants=8, n_days=120, seed=5, scenario="mixed")
    kinds = {(ch["adstock"]["kind"], ch["saturation"]["kind"]) for t in u for ch in t.truth["channels"].values()}
    assert len(kinds) >= 5
    assert len({t.truth["noise"] for t in u}) >= 2 and len({t.truth["signal"]["combine"] for t in u}) == 2


def test_reproducible_and_tenant_k_independent_of_size() -> None:
    a = simulate_universe(n_tenants=2, n_days=120, seed=1, scenario="mixed")
    b = simulate_universe(n_tenants=3, n_days=120, seed=1, scenario="mixed")
    for x, y in zip(a, b[:2], strict=True):
        pd.testing.assert_frame_equal(x.daily, y.daily)
        assert x.truth == y.truth


def test_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'nope'; choose one of default, weibull_adstock"):
        get_scenario("nope")
