"""Lift tests, weekly tables, lakes without weather, and the simulate command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bayes_mmm.surfaces.cli import app
from synthetic.cadence import weekly_table
from synthetic.lift import LIFT_COLUMNS, true_lift
from synthetic.media import CHANNELS
from synthetic.simulated import SimulatedTenant
from synthetic.universe import simulate_universe
from tests.synthetic.test_scenarios import recompute_response


def test_true_lift_counts_carry_in_not_carry_out() -> None:
    # revenue_t = 0.5 x_t + 0.5 x_{t-1}; holdout on days 4-5 of constant spend 1:
    # day 4 loses 0.5, day 5 loses 1.0, day 6 (after end, not counted) would lose 0.5
    def fwd(s: dict[str, np.ndarray]) -> np.ndarray:
        return np.convolve(s["a"], [0.5, 0.5])[:10]

    assert true_lift(fwd, {"a": np.ones(10)}, "a", 4, 5, 0.0) == pytest.approx(1.5)
    assert true_lift(fwd, {"a": np.ones(10)}, "a", 4, 5, 1.5) == pytest.approx(-0.75)


def _default_media(t: SimulatedTenant, c: str, x: np.ndarray) -> np.ndarray:
    """Default-universe media of channel ``c`` for spend ``x``, from truth.json alone."""
    d, z, ch = t.daily, t.truth["signal"]["z"], t.truth["channels"][c]
    zt = (d["temp_c"] - z["temp_mean"]) / z["temp_std"]
    zr = (np.log1p(d["precip_mm"]) - z["rain_mean"]) / z["rain_std"]
    w = ch["adstock_alpha"] ** np.arange(ch["l_max"])
    ad = np.convolve(x, w / w.sum())[: len(x)] / ch["spend_scale"]
    sat = ad ** ch["hill_shape"] / (ad ** ch["hill_shape"] + ch["half_sat"] ** ch["hill_shape"])
    return ch["beta"] * sat * np.exp(ch["gamma"]["temp_c"] * zt + ch["gamma"]["precip_mm"] * zr)


def test_default_lift_tests_equal_resimulation() -> None:
    (t,) = simulate_universe(n_tenants=1, n_days=365, seed=2, lift_tests=4)
    assert list(t.lift_tests.columns) == list(LIFT_COLUMNS) and len(t.lift_tests) == 4
    dates = pd.DatetimeIndex(t.daily["date"])
    for row, written in zip(t.truth["lift_tests"], t.lift_tests.itertuples(), strict=True):
        c = row["channel"]
        s, e = dates.get_loc(pd.Timestamp(row["start"])), dates.get_loc(pd.Timestamp(row["end"]))
        assert 14 <= e - s + 1 <= 28 and (e - s + 1) % 7 == 0 and s % 7 == 0
        x = t.daily[f"spend_{c}"].to_numpy()
        cf = x.copy()
        cf[s:e + 1] *= row["spend_multiplier"]
        # additive: base, weather and the other channels cancel
        effect = (_default_media(t, c, x) - _default_media(t, c, cf))[s:e + 1].sum()
        assert row["true_incremental_revenue"] == pytest.approx(effect, rel=1e-9)
        assert row["spend_multiplier"] in (0.0, 1.5) and np.sign(effect) == (1 if row["spend_multiplier"] == 0 else -1)
        assert 0.15 <= row["se"] / abs(effect) <= 0.40 + 1e-6
        assert written.incremental_revenue == row["incremental_revenue"] != pytest.approx(effect, abs=0.01)


def test_scenario_lift_tests_equal_independent_resimulation() -> None:
    (t,) = simulate_universe(n_tenants=1, n_days=200, seed=4, scenario="weibull_adstock", lift_tests=3)
    dates = pd.DatetimeIndex(t.daily["date"])
    for row in t.truth["lift_tests"]:
        c = row["channel"]
        s, e = dates.get_loc(pd.Timestamp(row["start"])), dates.get_loc(pd.Timestamp(row["end"]))
        x = t.daily[f"spend_{c}"].to_numpy()
        cf = x.copy()
        cf[s:e + 1] *= row["spend_multiplier"]
        effect = (recompute_response(t, c, x) - recompute_response(t, c, cf))[s:e + 1].sum()
        assert row["true_incremental_revenue"] == pytest.approx(effect, rel=1e-8)
        assert 0.15 <= row["se"] / abs(effect) <= 0.40 + 1e-6
    # holdouts remove revenue: measured effects of multiplier 0 are positive on average
    assert set(t.lift_tests["spend_multiplier"]) <= {0.0, 1.5}


@pytest.mark.parametrize("scenario", ["default", "heavy_tails"])
def test_weekly_totals_equal_daily_sums(scenario: str) -> None:
    daily = simulate_universe(n_tenants=2, n_days=371, seed=1, scenario=scenario)
    weekly = simulate_universe(n_tenants=2, n_days=375, seed=1, scenario=scenario, cadence="weekly")
    for d, w in zip(daily, weekly, strict=True):
        assert w.cadence == "weekly" and len(w.daily) == 53 and list(w.daily.columns) == list(d.daily.columns)
        assert (w.daily["date"].diff().dropna() == pd.Timedelta(days=7)).all()
        for col in ["revenue", *(f"spend_{c}" for c in CHANNELS), "precip_mm"]:
            np.testing.assert_allclose(w.daily[col], d.daily[col].to_numpy().reshape(53, 7).sum(axis=1), atol=0.006)
        np.testing.assert_allclose(w.daily["temp_c"], d.daily["temp_c"].to_numpy().reshape(53, 7).mean(axis=1),
                                   atol=0.006)
        assert w.truth["channels"]["meta"]["roas"] == d.truth["channels"]["meta"]["roas"]
        assert len(w.truth_daily) == 371


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=7, max_size=70).map(lambda v: v[: len(v) - len(v) % 7]))
def test_weekly_table_preserves_totals(values: list[float]) -> None:
    n = len(values)
    daily = pd.DataFrame({"date": pd.date_range("2024-01-03", periods=n), "revenue": values,
                          "spend_x": values[::-1], "temp_c": values})
    w = weekly_table(daily)
    assert w["revenue"].sum() == pytest.approx(sum(values), abs=0.005 * len(w) + 1e-6)
    assert w["spend_x"].sum() == pytest.approx(sum(values), abs=0.005 * len(w) + 1e-6)
    assert list(w["date"]) == list(daily["date"][::7])


def test_weekly_needs_whole_weeks() -> None:
    with pytest.raises(ValueError, match="a weekly table needs whole weeks, got 8 days"):
        weekly_table(pd.DataFrame({"date": pd.date_range("2024-01-01", periods=8), "revenue": np.ones(8)}))


def test_no_weather_and_mixed() -> None:
    full = simulate_universe(n_tenants=4, n_days=120, seed=0, scenario="weather_demand_only")
    none = simulate_universe(n_tenants=4, n_days=120, seed=0, scenario="weather_demand_only", weather="none")
    mixed = simulate_universe(n_tenants=4, n_days=120, seed=0, scenario="weather_demand_only", weather="mixed")
    assert all("temp_c" in t.daily for t in full)
    assert all(not {"temp_c", "precip_mm", "snow_cm"} & set(t.daily) for t in none)
    assert sorted("temp_c" in t.daily for t in mixed) == [False, False, True, True]
    for a, b in zip(full, none, strict=True):
        pd.testing.assert_frame_equal(a.daily[["date", "revenue"]], b.daily[["date", "revenue"]])
        assert b.truth["weather_observed"] is False and a.truth["weather_elasticity"] == b.truth["weather_elasticity"]


def test_simulate_command_writes_scenario_lake(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    res = CliRunner().invoke(app, ["simulate", "--out", str(lake), "--tenants", "2", "--days", "365",
                                   "--scenario", "mixed", "--cadence", "weekly", "--no-weather", "--lift-tests", "2"])
    assert res.exit_code == 0, res.output
    for d in sorted(lake.iterdir()):
        assert sorted(p.name for p in d.iterdir()) == ["lift_tests.csv", "tenant.json", "truth.json",
                                                       "truth_daily.parquet", "weekly.csv"]
        table = pd.read_csv(d / "weekly.csv")
        assert len(table) == 52 and "temp_c" not in table
        assert json.loads((d / "truth.json").read_text())["scenario"] == "mixed"
        assert list(pd.read_csv(d / "lift_tests.csv").columns) == list(LIFT_COLUMNS)
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--scenario", "nope"])
    assert bad.exit_code == 2 and "unknown scenario 'nope'" in bad.output
