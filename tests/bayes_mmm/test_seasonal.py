"""Tenants without weather: the yearly cycle stands in for temperature in the media multiplier, in the fit and in plans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.decide.allocate import allocate_run, prepare
from tests.bayes_mmm.test_allocate import L_MAX, const_beta, make_run


def seasonal_run(tmp_path: Path, seasonal: bool) -> tuple[Path, Path]:
    """south has no weather; both tenants' meta works better when warm (γ_temp 0.5); a hot forecast for both."""
    gamma = np.zeros((2, 3, 2))
    gamma[:, 0, 0] = 0.5
    run = make_run(tmp_path / f"run{seasonal}", const_beta([[200.0, 100.0, 100.0], [200.0, 100.0, 100.0]]), gamma=gamma,
                   has_weather=[True, False], spec=ModelSpec(l_max=L_MAX, seasonal_media=seasonal, adstock="geometric"))
    fc = tmp_path / "forecast.csv"
    pd.DataFrame({"date": pd.date_range("2024-03-01", periods=7).strftime("%Y-%m-%d"), "temp_c": 25.0,
                  "precip_mm": 0.0}).to_csv(fc, index=False)
    return run, fc


def test_a_weatherless_tenants_horizon_is_the_seasonal_cycle_and_ignores_the_forecast(tmp_path: Path) -> None:
    run, fc = seasonal_run(tmp_path, seasonal=True)
    inp = prepare(run, days=7, forecast=fc).inp
    horizon = pd.date_range("2024-03-01", periods=7 + L_MAX - 1)
    doy = horizon.day_of_year.to_numpy(dtype=float)
    np.testing.assert_allclose(inp.z[1, :, 0], np.sqrt(2) * np.cos(2 * np.pi * (doy - 200) / 365.25), atol=1e-12)
    np.testing.assert_array_equal(inp.z[1, :, 1], 0.0)
    np.testing.assert_allclose(inp.z[0, :7, 0], (25.0 - 10.0) / 5.0)  # north: its forecast, standardised
    plan = allocate_run(run, 1000.0, days=7, forecast=fc)
    reasons = plan["tenants"]["south"]["reasons"]
    mult = np.exp(0.5 * np.sqrt(2) * np.cos(2 * np.pi * (doy[0] - 200) / 365.25)) - 1  # early March: well below average
    assert reasons[0] == f"season (no weather data): meta {mult * 100:+.0f} % effective"
    assert plan["tenants"]["north"]["reasons"][0].startswith("warm forecast: meta")


def test_without_the_stand_in_a_weatherless_tenant_ignores_weather_entirely(tmp_path: Path) -> None:
    run, fc = seasonal_run(tmp_path, seasonal=False)
    inp = prepare(run, days=7, forecast=fc).inp
    np.testing.assert_array_equal(inp.z[1], 0.0)  # its γ never met data: a forecast must not move it
    assert inp.z[0, 0, 0] == pytest.approx(3.0)


def test_a_forecast_need_not_cover_a_weatherless_tenant_nor_is_it_warned_about(tmp_path: Path) -> None:
    import warnings

    run, _ = seasonal_run(tmp_path, seasonal=False)
    fc = tmp_path / "north_only.csv"  # rows for north alone, and 40 °C: 6 sd above both tenants' recorded mean
    pd.DataFrame({"date": pd.date_range("2024-03-01", periods=7).strftime("%Y-%m-%d"), "tenant_id": "north",
                  "temp_c": 40.0, "precip_mm": 0.0}).to_csv(fc, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inp = prepare(run, days=7, forecast=fc).inp
    said = [str(w.message) for w in caught if "sd from its history" in str(w.message)]
    assert len(said) == 1 and said[0].startswith("forecast 40 °C on 2024-03-01 for north is 6.0 sd")
    assert inp.z[0, 0, 0] == pytest.approx(6.0) and not inp.z[1].any()


def test_a_run_without_weather_reads_no_forecast_at_all(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[200.0, 100.0, 100.0], [200.0, 100.0, 100.0]]), has_weather=[False, False])
    fc = tmp_path / "short.csv"  # one day for a seven-day plan, no tenant_id, no precip_mm: not even read
    pd.DataFrame({"date": ["2024-03-01"], "temp_c": [25.0]}).to_csv(fc, index=False)
    inp = prepare(run, days=7, forecast=fc).inp
    assert not inp.z.any() and not inp.known.any()


def test_a_forecast_outside_the_recorded_range_is_flagged_even_within_four_sd() -> None:
    import warnings

    from bayes_mmm.decide.weather import warn_extrapolation
    from bayes_mmm.model.design import WeatherStats

    # History: mean 24 °C, sd 6, seen from 12 to 36 °C. 45 °C is 3.5 sd from the mean (the old 4-sd bar let it
    # pass) but 9 °C hotter than any day the model saw; 36.8 °C is within the 1 °C margin.
    st = WeatherStats(24.0, 6.0, 0.5, 1.0, temp_range=(12.0, 36.0))
    fc = pd.DataFrame({"date": pd.date_range("2024-07-01", periods=3), "temp_c": [30.0, 45.0, 36.8], "precip_mm": 0.0})

    def said(frame: pd.DataFrame, stats: WeatherStats) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_extrapolation(frame, ["shop"], [stats])
        return [str(w.message) for w in caught]

    assert said(fc, st) == ["forecast 45 °C on 2024-07-02 for shop is outside its history (12.0 to 36.0 °C; 3.5 sd from "
                            "its mean): the plan extrapolates the weather effect"]
    assert said(fc.iloc[[0, 2]], st) == []
    # A run that did not record the range keeps the 4-sd rule: 45 °C passes, 50 °C (4.3 sd) does not.
    assert said(fc, replace(st, temp_range=None)) == []
    assert said(fc.assign(temp_c=50.0).iloc[:1], replace(st, temp_range=None))[0].startswith("forecast 50 °C on 2024-07-01 "
                                                                                               "for shop is 4.3 sd from its history")
    # 95 and 88 °F are 35.0 and 31.1 °C, inside the range: the forecast was written in °F.
    assert said(fc.assign(temp_c=[95.0, 88.0, 88.0]), st)[0].endswith("— in °F? temperatures are °C here: (°F − 32) × 5/9")
