"""Synthetic universe: constraints, exact truth, reproducibility, weather sanity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthetic.media import CHANNELS, SHARE_RANGES
from synthetic.universe import SimulatedTenant, simulate_universe

DAILY_COLUMNS = ["date", "revenue", "spend_meta", "spend_google", "spend_email",
                 "temp_c", "temp_max_c", "temp_min_c", "precip_mm", "snow_cm"]
MEDIA = [f"media_{c}" for c in CHANNELS]


def test_ids_and_columns(small_universe: list[SimulatedTenant]) -> None:
    ids = [t.tenant_id for t in small_universe]
    assert ids == ["extreme_rain_gear", "medium_clothing", "none_books",
                   "extreme_heating", "medium_accessories", "none_electronics"]
    for t in small_universe:
        assert list(t.daily.columns) == DAILY_COLUMNS
        assert len(t.daily) == 400 and t.daily["date"].is_monotonic_increasing
        assert (t.daily["date"].diff().dropna() == pd.Timedelta(days=1)).all()
        assert t.meta == {"tenant_id": t.tenant_id, "name": t.meta["name"], "city": t.truth["city"],
                          "category": t.truth["category"], "currency": "USD"}
        assert list(t.truth_daily.columns) == ["date", "base", "weather", *MEDIA,
                                               "expected_revenue", "noise", "shock"]


def test_spend_shares_and_domain(small_universe: list[SimulatedTenant]) -> None:
    for t in small_universe:
        spend = {c: t.daily[f"spend_{c}"].to_numpy() for c in CHANNELS}
        total = sum(s.sum() for s in spend.values())
        for c, s in spend.items():
            lo, hi = SHARE_RANGES[c]
            assert lo <= s.sum() / total <= hi, (t.tenant_id, c)
            assert np.all((s == 0) | ((s >= 50) & (s <= 500)))
            assert s.std() / s.mean() > 0.4
            np.testing.assert_array_equal(s, np.round(s, 2))


def test_true_roas_is_exact(small_universe: list[SimulatedTenant]) -> None:
    for t in small_universe:
        for c in CHANNELS:
            ch = t.truth["channels"][c]
            contrib = t.truth_daily[f"media_{c}"].sum()
            spend = t.daily[f"spend_{c}"].sum()
            assert 1.5 <= ch["roas"] <= 4.0
            assert ch["roas"] == pytest.approx(t.truth["signal"]["roas_target"][c], rel=1e-10)
            assert ch["roas"] == pytest.approx(contrib / spend, rel=1e-10)
            assert ch["total_spend"] == pytest.approx(spend, rel=1e-12)
            assert 0 < ch["mroas"] < 2 * ch["roas"]
            assert ch["contribution_share"] == pytest.approx(
                contrib / t.truth_daily["expected_revenue"].sum())


def test_media_recomputed_from_truth_json(small_universe: list[SimulatedTenant]) -> None:
    for t in small_universe:
        d, z = t.daily, t.truth["signal"]["z"]
        zt = (d["temp_c"] - z["temp_mean"]) / z["temp_std"]
        zr = (np.log1p(d["precip_mm"]) - z["rain_mean"]) / z["rain_std"]
        for c in CHANNELS:
            ch = t.truth["channels"][c]
            x = d[f"spend_{c}"].to_numpy()
            w = ch["adstock_alpha"] ** np.arange(ch["l_max"])
            ad = np.convolve(x, w / w.sum())[: len(x)] / ch["spend_scale"]
            sat = ad ** ch["hill_shape"] / (ad ** ch["hill_shape"] + ch["half_sat"] ** ch["hill_shape"])
            amp = np.exp(ch["gamma"]["temp_c"] * zt + ch["gamma"]["precip_mm"] * zr)
            np.testing.assert_allclose(ch["beta"] * sat * amp, t.truth_daily[f"media_{c}"], rtol=1e-9)
            assert ch["spend_scale"] == pytest.approx(x[x > 0].mean())


def test_components_add_up(small_universe: list[SimulatedTenant]) -> None:
    for t in small_universe:
        td = t.truth_daily
        total = td["base"] + td["weather"] + td[MEDIA].sum(axis=1)
        np.testing.assert_allclose(total, td["expected_revenue"], rtol=1e-12)
        rev = t.daily["revenue"].to_numpy()
        np.testing.assert_allclose(rev, np.maximum(td["expected_revenue"] + td["noise"], 0), rtol=1e-12)
        assert rev.min() >= 0
        assert (td["base"] + td["weather"]).min() > 0.2 * t.truth["level"]
        media_share = td[MEDIA].to_numpy().sum() / td["expected_revenue"].sum()
        assert 0.08 < media_share < 0.4
        if t.truth["sensitivity"] == "none":
            assert np.all(td["weather"] == 0)
            assert all(abs(g) < 0.03 for ch in t.truth["channels"].values() for g in ch["gamma"].values())


def test_weather_truth_signs(small_universe: list[SimulatedTenant]) -> None:
    by_id = {t.tenant_id: t.truth for t in small_universe}
    rain, heat = by_id["extreme_rain_gear"], by_id["extreme_heating"]
    assert rain["weather_elasticity"]["precip_mm"] > 0.01
    assert heat["weather_elasticity"]["temp_c"] < -0.005
    assert rain["channels"]["meta"]["gamma"]["precip_mm"] >= 0.15
    assert heat["channels"]["meta"]["gamma"]["temp_c"] <= -0.15
    assert abs(by_id["none_books"]["weather_elasticity"]["temp_c"]) < 0.002


def _frames(t: SimulatedTenant) -> list[pd.DataFrame]:
    return [t.daily, t.truth_daily]


def test_reproducible_and_seed_dependent(small_universe: list[SimulatedTenant]) -> None:
    again = simulate_universe(n_tenants=6, n_days=400, seed=0)
    other = simulate_universe(n_tenants=6, n_days=400, seed=1)
    for a, b, c in zip(small_universe, again, other, strict=False):
        for fa, fb in zip(_frames(a), _frames(b), strict=False):
            pd.testing.assert_frame_equal(fa, fb)
        assert a.truth == b.truth
        assert not np.allclose(a.daily["revenue"], c.daily["revenue"])


def test_tenant_k_independent_of_universe_size(small_universe: list[SimulatedTenant]) -> None:
    three = simulate_universe(n_tenants=3, n_days=400, seed=0)
    for a, b in zip(three, small_universe[:3], strict=False):
        assert a.tenant_id == b.tenant_id
        for fa, fb in zip(_frames(a), _frames(b), strict=False):
            pd.testing.assert_frame_equal(fa, fb)
        assert a.truth == b.truth


def test_cycling_beyond_twenty() -> None:
    ids = [t.tenant_id for t in simulate_universe(n_tenants=22, n_days=60, seed=3)]
    assert len(set(ids)) == 22
    assert ids[20:] == ["extreme_rain_gear_2", "medium_clothing_2"]
    with pytest.raises(ValueError):
        simulate_universe(n_tenants=2, n_days=59)


def test_weather_sanity(full_universe: list[SimulatedTenant]) -> None:
    city = {t.truth["city"]: t.daily for t in full_universe}
    assert set(city) == {"Phoenix", "Seattle", "Chicago", "Miami", "Denver"}

    def summer_mean(d: pd.DataFrame) -> float:
        return float(d.loc[d["date"].dt.month.isin([6, 7, 8]), "temp_c"].mean())

    assert summer_mean(city["Phoenix"]) > summer_mean(city["Seattle"]) + 8
    assert (city["Seattle"]["precip_mm"] > 0).mean() > 2 * (city["Phoenix"]["precip_mm"] > 0).mean()
    assert city["Chicago"]["snow_cm"].sum() > 0 and city["Miami"]["snow_cm"].sum() == 0
    for t in full_universe:
        d = t.daily
        assert (d.loc[d["snow_cm"] > 0, "temp_c"] < 1.0).all()
        assert (d["precip_mm"] >= 0).all() and (d["temp_max_c"] >= d["temp_min_c"]).all()
    # tenants of one city share the weather
    seattle = [t.daily for t in full_universe if t.truth["city"] == "Seattle"]
    pd.testing.assert_frame_equal(seattle[0][["temp_c", "precip_mm"]], seattle[1][["temp_c", "precip_mm"]])


def test_shocks_present(full_universe: list[SimulatedTenant]) -> None:
    shocks = pd.concat([t.truth_daily.assign(t=t.tenant_id, city=t.truth["city"]) for t in full_universe])
    kinds = set(shocks["shock"]) - {""}
    assert kinds == {"heatwave", "cold_snap", "heavy_rain", "snowstorm", "atmospheric_river"}
    daily = pd.concat([t.daily.assign(shock=t.truth_daily["shock"]) for t in full_universe])
    assert daily.loc[daily["shock"] == "heavy_rain", "precip_mm"].between(50, 100).all()
    assert (daily.loc[daily["shock"] == "snowstorm", "snow_cm"] >= 15).all()


def test_oracle_r2_targets(full_universe: list[SimulatedTenant]) -> None:
    floor = {"extreme": 0.8, "high": 0.8, "medium": 0.6, "none": 0.3}
    for t in full_universe:
        tr = t.truth
        td, d = t.truth_daily, t.daily
        hold = slice(len(d) - round(0.2 * len(d)), len(d))
        rev = d["revenue"].to_numpy()[hold]
        r2 = 1 - np.sum(td["noise"].to_numpy()[hold] ** 2) / np.sum((rev - rev.mean()) ** 2)
        assert tr["oracle_r2_holdout"] == pytest.approx(r2)
        assert r2 >= floor[tr["sensitivity"]], (t.tenant_id, r2)
    media = [t.truth["signal"]["media_share"] for t in full_universe]
    assert 0.15 <= float(np.mean(media)) <= 0.35
