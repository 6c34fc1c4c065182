"""The baseline design per cadence and for tenants without weather."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.calendar import us_holidays
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design, calendar_features, periods, seasonal_stand_in


def test_periods_round_a_span_up_to_whole_periods() -> None:
    assert [periods(14, "daily"), periods(14, "weekly"), periods(15, "weekly"), periods(3, "weekly")] == [14, 2, 3, 1]


def test_weekly_calendar_counts_holidays_per_week_and_has_no_weekday() -> None:
    weeks = pd.date_range("2023-01-02", periods=104, freq="7D")
    x, names = calendar_features(weeks, ModelSpec(), None, "weekly")
    assert not [n for n in names if n.startswith("dow_")]
    days = pd.date_range(weeks[0], periods=104 * 7, freq="D")
    daily = us_holidays(days).to_numpy().reshape(104, 7, -1).sum(axis=1)  # independent weekly totals
    hol = [names.index(c) for c in us_holidays(days[:1]).columns]
    np.testing.assert_array_equal(x[:, hol], daily)
    # Black Friday 2023 (24 Nov) falls in the week starting Monday 20 Nov.
    bf = names.index("black_friday")
    assert weeks[np.flatnonzero(x[:, bf])[0]] == pd.Timestamp("2023-11-20")


def test_weekly_trend_and_season_follow_the_date_not_the_row() -> None:
    """A week's trend and Fourier terms equal the daily terms at the week's middle day."""
    weeks = pd.date_range("2023-01-02", periods=52, freq="7D")
    days = pd.date_range(weeks[0], periods=52 * 7, freq="D")
    xw, names = calendar_features(weeks, ModelSpec(), None, "weekly")
    xd, _ = calendar_features(days, ModelSpec(), None, "daily")
    mid = np.arange(52) * 7 + 3
    for col in ("sin_1", "cos_2"):
        j = names.index(col)
        np.testing.assert_allclose(xw[:, j], xd[mid, j], atol=1e-12)
    j = names.index("trend")
    np.testing.assert_allclose(np.diff(xw[:, j]), 7 / 365.25)


def test_daily_calendar_is_unchanged_by_the_cadence_argument() -> None:
    days = pd.date_range("2024-01-01", periods=400, freq="D")
    x, names = calendar_features(days, ModelSpec(), None)
    t = (np.arange(400) - 399 / 2) / 365.25  # the original row-based trend
    np.testing.assert_allclose(x[:, names.index("trend")], t)
    assert sum(n.startswith("dow_") for n in names) == 6


def test_a_tenant_without_weather_gets_no_weather_terms(tiny_lake) -> None:
    ds = load_lake(tiny_lake)
    ds["has_weather"] = ("tenant", np.array([True, False, True]))
    design = build_design(ds, ModelSpec(seasonal_media=True))
    names = design.feature_names
    assert any(n.startswith("temp_l") for n in names[0])
    assert not [n for n in names[1] if n.split("_l")[0] in ("temp", "cold", "heat", "rain", "snow", "rain_cold")]
    # With the lever, the media multiplier of the tenant without weather follows the yearly season.
    doy = np.array([d.timetuple().tm_yday for d in design.dates], dtype=float)
    np.testing.assert_allclose(design.zw[1, :, 0], np.sqrt(2) * np.cos(2 * np.pi * (doy - 200) / 365.25), atol=1e-12)
    np.testing.assert_array_equal(design.zw[1, :, 1], 0.0)  # no stand-in for rain
    assert np.abs(design.zw[0]).max() > 0.5
    off = build_design(ds, ModelSpec())
    np.testing.assert_array_equal(off.zw[1], 0.0)  # off by default: media multiplier exp(γ·0) = 1
    np.testing.assert_array_equal(off.zw[0], design.zw[0])  # tenants with weather are unaffected


def test_the_weekly_stand_in_is_the_middle_day_of_each_week() -> None:
    weeks = pd.date_range("2024-01-01", periods=60, freq="7D")
    mid = (weeks + pd.Timedelta(days=3)).day_of_year.to_numpy(dtype=float)
    np.testing.assert_allclose(seasonal_stand_in(weeks, "weekly")[:, 0], np.sqrt(2) * np.cos(2 * np.pi * (mid - 200) / 365.25))
    year = seasonal_stand_in(pd.date_range("2023-01-01", periods=365, freq="D"))[:, 0]
    assert abs(year.mean()) < 0.01 and year.std() == pytest.approx(1.0, abs=0.01)  # like standardised temperature


def _unexplained_share(design, i: int, signal: np.ndarray) -> float:
    """Share of a signal's variance over the training days that the baseline basis Q cannot represent."""
    rows = design.train[i]
    q = design.Q[i][rows][:, design.prior_var[i] > 0]
    x = signal[rows] - signal[rows].mean()
    return float(np.sum((x - q @ (q.T @ x)) ** 2) / np.sum(x**2))


def test_a_tenant_without_weather_gets_a_local_level_that_spans_slow_swings(tiny_lake) -> None:
    ds = load_lake(tiny_lake)
    ds["has_weather"] = ("tenant", np.array([True, False, True]))
    design = build_design(ds, ModelSpec(local_level_days=28))
    names = design.feature_names
    assert not any(n.startswith("level_") for n in names[0] + names[2])
    levels = [n for n in names[1] if n.startswith("level_")]
    days = int(design.train[1].sum())
    # one bump every 28 days from the first training day to the first at or past the last one
    assert len(levels) == int(np.ceil((days - 1) / 28)) + 1, levels
    # A 70-day swing is neither seasonal nor weekly: the calendar cannot represent it, the local level can.
    swing = np.sin(2 * np.pi * np.arange(len(design.dates)) / 70.0)
    assert _unexplained_share(design, 1, swing) < 0.05
    off = build_design(ds, ModelSpec())  # off by default
    assert not any(n.startswith("level_") for n in off.feature_names[1])
    assert _unexplained_share(off, 1, swing) > 0.6  # the yearly terms catch a quarter of it over 240 days


def test_runs_written_before_the_local_level_rebuild_without_it() -> None:
    d = ModelSpec(local_level_days=28).to_dict()
    del d["local_level_days"], d["local_level_scale"]
    assert ModelSpec.from_dict(d).local_level_days == 0


def test_runs_written_before_the_cyber_week_rebuild_without_it_and_keep_their_config() -> None:
    new = ModelSpec().to_dict()
    assert new["cyber_week"] is True
    old = {k: v for k, v in new.items() if k != "cyber_week"}  # a summary.json written before the column existed
    spec = ModelSpec.from_dict(old)
    assert spec.cyber_week is False
    assert spec.to_dict() == old  # the same config, so the same hash


def test_a_weekly_lake_builds_a_weekly_design(tmp_path) -> None:
    from synthetic import simulate_universe, write_lake

    write_lake(simulate_universe(n_tenants=2, n_days=364, seed=5, cadence="weekly"), tmp_path / "lake")
    ds = load_lake(tmp_path / "lake")
    design = build_design(ds, ModelSpec(l_max=14))
    assert design.cadence == "weekly" and len(design.dates) == 52
    assert design.n_lags == 2 and design.lagged.shape[-1] == 2
    assert not [n for n in design.feature_names[0] if n.startswith("dow_")]
    # Unset, the window follows the cadence (8 weeks), also for a notebook user's ModelSpec();
    # 10 days of weekly data are 2 whole weeks, and the design records those 14 days.
    default, ten = build_design(ds, ModelSpec()), build_design(ds, ModelSpec(l_max=10))
    assert (default.n_lags, default.lagged.shape[-1], default.spec.l_max) == (8, 8, 56)
    assert (ten.n_lags, ten.spec.l_max) == (2, 14)


def test_an_unset_window_is_two_weeks_of_daily_data_and_a_set_one_is_kept() -> None:
    assert ModelSpec().l_max is None
    assert [ModelSpec().windowed("daily").l_max, ModelSpec(l_max=10).windowed("daily").l_max] == [14, 10]
    assert [ModelSpec(l_max=k).windowed("weekly").l_max for k in (1, 7, 8, 56)] == [7, 7, 14, 56]


def test_event_periods_enter_the_baseline(tiny_lake) -> None:
    ds = load_lake(tiny_lake)
    event = np.zeros((3, ds.sizes["date"]))
    event[0, 100:103] = 1.0
    ds["event"] = (("tenant", "date"), event)
    design = build_design(ds, ModelSpec())
    assert "event" in design.feature_names[0] and "event" not in design.feature_names[1]
    j = design.feature_names[0].index("event")
    np.testing.assert_array_equal(design.X[0][:, design.keep[0][j]], event[0])


def test_weather_beyond_the_training_range_is_held_at_its_edge(tiny_lake) -> None:
    """Holdout days colder or warmer than any training day get the training edge's temperature term, not a further slope."""
    ds = load_lake(tiny_lake)
    i, n = 0, ds.sizes["date"]
    train = np.zeros((ds.sizes["tenant"], n), dtype=bool)
    train[:, : n // 2] = True
    temp = ds["temp_c"].values[i]
    seen = temp[: n // 2]
    design = build_design(ds, ModelSpec(weather_lags=0), train)
    x = design.X[i][:, design.keep[i]]
    z = x[:, design.feature_names[i].index("temp_l0")]
    # Independently: the training days' standardisation of temperature clipped to their range.
    expected = (np.clip(temp, seen.min(), seen.max()) - seen.mean()) / seen.std()
    np.testing.assert_allclose(z, expected, atol=1e-9)
    beyond = (temp[n // 2 :] < seen.min()) | (temp[n // 2 :] > seen.max())
    assert beyond.sum() >= 10  # the holdout does leave the training range: the clip is exercised
    assert np.abs(z).max() <= max(abs(expected[: n // 2]).max(), 1e-9) + 1e-9


def test_under_a_year_of_history_shrinks_the_yearly_cycle_s_prior(tiny_lake) -> None:
    """Prior sd of the Fourier terms = baseline scale × share of a year seen (240 days here); a year or more: unchanged."""
    ds = load_lake(tiny_lake)
    spec = ModelSpec()
    design = build_design(ds, spec)
    cov = design.Rinv[0] @ np.diag(design.prior_var[0]) @ design.Rinv[0].T  # prior covariance of the coefficients
    names = design.feature_names[0]
    share = 240 / 365.25  # 240 days, the last one included
    np.testing.assert_allclose(cov[names.index("sin_1"), names.index("sin_1")], (spec.baseline_scale * share) ** 2, rtol=1e-6)
    np.testing.assert_allclose(cov[names.index("dow_1"), names.index("dow_1")], spec.baseline_scale**2, rtol=1e-6)


def test_a_control_column_enters_the_baseline_standardised(tiny_lake, tmp_path) -> None:
    """``control_<name>`` (contract §1) is a baseline feature: its training mean 0 and sd 1, the values kept."""
    import shutil

    lake = tmp_path / "lake"
    shutil.copytree(tiny_lake, lake)
    first = sorted(p for p in lake.iterdir() if p.is_dir())[0]
    csv = next(first.glob("*.csv"))
    df = pd.read_csv(csv)
    price = 10.0 + np.sin(np.arange(len(df)) / 9.0)
    df["control_price"] = price
    df.to_csv(csv, index=False)
    ds = load_lake(lake)
    assert ds["control"].values.tolist() == ["price"]
    design = build_design(ds)
    names = design.feature_names[0]
    x = design.X[0][:, design.keep[0]][:, names.index("control_price")]
    np.testing.assert_allclose(x, (price - price.mean()) / price.std(), atol=1e-9)


def test_a_blank_revenue_day_stays_blank_not_zero(tmp_path) -> None:
    """observed_data (from y_raw) showed a blank week as revenue 0 in the report's dots and histogram."""
    from tests.bayes_mmm.test_data import good_frame, write_tenant

    df = good_frame(200)
    df.loc[30, "revenue"] = None
    write_tenant(tmp_path, "t", df)
    design = build_design(load_lake(tmp_path), ModelSpec())
    assert np.isnan(design.y_raw[0, 30]) and design.y[0, 30] == 0.0 and not design.train[0, 30]
    keep = np.arange(200) != 30
    np.testing.assert_allclose(design.y_raw[0, keep], df["revenue"].to_numpy()[keep])
    assert design.y_scale[0] == pytest.approx(df["revenue"].to_numpy()[keep].mean())
