"""Data-quality gates: each fails on the data it is meant to catch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.validate import (
    FAIL,
    GATES,
    OK,
    ROBUST_Z,
    WARN,
    check_frame,
    check_lake,
    failed,
    revenue_outliers,
    revenue_z,
    robust_z,
    validate_lake,
)
from tests.bayes_mmm.test_data import good_frame, write_tenant


def status(table, check: str, tenant: str = "t") -> str:
    return table[(table.tenant == tenant) & (table.check == check)].status.item()


def test_synthetic_lake_passes_every_gate(tiny_lake: Path) -> None:
    table = validate_lake(tiny_lake)
    assert set(table.status) == {OK}
    assert table.tenant.nunique() == 3


def test_gates_fail_on_bad_data(tmp_path: Path) -> None:
    df = good_frame(100)  # < 120 days
    df.loc[:9, "revenue"] = np.nan  # 10 % missing
    df.loc[20:25, "spend_meta"] = 50_000.0  # ~180× the median: a unit slip, reported but not an error
    df.loc[40:45, "revenue"] = 100_000.0  # 6 % of days a hundredfold: a data error
    df["spend_google"] = 0.0  # channel without spend
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "history") == FAIL
    assert status(table, "missing") == FAIL
    assert "column 'revenue' 10.0% missing, rows 1, 2, 3, 4, 5 and 5 more" in table[table.check == "missing"].detail.item()
    assert status(table, "revenue_outliers") == FAIL
    assert "column 'revenue' 6.0% of periods beyond robust z 10, rows 41, 42, 43, 44, 45 and 1 more — a shop closed: leave " \
           "its revenue blank; a promotion: mark `event` 1; real: --allow-gate revenue_outliers" in table[
        table.check == "revenue_outliers"].detail.item()
    assert status(table, "spend_scale") == WARN
    assert "column 'spend_meta' above 50× its median" in table[table.check == "spend_scale"].detail.item()
    assert status(table, "zero_spend_channels") == WARN
    assert set(table[table.status == FAIL].level) == {"error"}
    assert set(table[table.status == WARN].level) == {"warning"}


def test_constant_revenue_fails(tmp_path: Path) -> None:
    df = good_frame(150)
    df["revenue"] = 1000.0
    path = write_tenant(tmp_path, "t", df)
    from bayes_mmm.data.lake import read_daily

    checks = {c.check: c for c in check_frame("t", read_daily(path))}
    assert checks["constant_revenue"].status == FAIL
    assert checks["history"].status == OK


def test_robust_z_flags_only_the_outlier() -> None:
    x = np.r_[np.linspace(90, 110, 99), 1000.0]
    z = robust_z(x)
    assert np.flatnonzero(np.abs(z) > 3.5).tolist() == [99]


def noisy_tenant(days: int = 365, seed: int = 0) -> pd.DataFrame:
    """An ordinary merchant: Student-t(3) noise, spend flat for months then a 3× push, weather shocks."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days)
    t = np.arange(days)
    shock = np.where(rng.random(days) < 0.03, rng.uniform(-0.6, 0.5, days), 0.0)
    revenue = (1000 + 200 * np.sin(2 * np.pi * t / 365) + 100 * (dates.day_of_week >= 5)) * (1 + shock)
    spend = np.where(t < 320, 200.0, 600.0)  # MAD 0 for 320 days, then a Black-Friday push
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"),
        "revenue": (revenue + 60 * rng.standard_t(3, days)).clip(0).round(2),
        "spend_meta": spend,
        "spend_google": np.where(t % 30 < 20, 150.0, 0.0),
        "temp_c": (15 + 10 * np.sin(2 * np.pi * t / 365) + rng.normal(0, 3, days) + 15 * (shock < -0.3)).round(1),
        "precip_mm": (rng.gamma(0.4, 5, days) + 80 * (shock < -0.3)).round(1),
    })


@pytest.mark.parametrize("seed", range(5))
def test_ordinary_noisy_tenant_passes(tmp_path: Path, seed: int) -> None:
    write_tenant(tmp_path, "t", noisy_tenant(seed=seed))
    table = validate_lake(tmp_path)
    assert failed(table).empty, failed(table).detail.tolist()
    assert set(table.status) == {OK}


def test_events_are_exempt_from_the_outlier_gate(tmp_path: Path) -> None:
    df = noisy_tenant()
    df.loc[100:109, "revenue"] *= 40  # a ten-day sale beyond any noise
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "revenue_outliers") == FAIL
    df["event"] = 0
    df.loc[100:109, "event"] = 1
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "revenue_outliers") == OK


def test_revenue_z_against_weekday_level_independently() -> None:
    # Weekends at 3× weekdays are a pattern, not outliers; one weekday at 30× is.
    y = np.tile([100.0, 100, 100, 100, 100, 300, 300], 10) + np.tile(np.arange(7.0), 10)
    y[30] *= 30
    z = revenue_z(y, np.zeros(70, dtype=bool))
    assert np.flatnonzero(np.abs(z) > ROBUST_Z).tolist() == [30]


def test_weatherless_tenant_warns_and_does_not_fail(tmp_path: Path) -> None:
    write_tenant(tmp_path, "t", noisy_tenant().drop(columns=["temp_c", "precip_mm"]))
    table = validate_lake(tmp_path)
    assert status(table, "weather") == WARN
    assert table[table.check == "weather"].detail.item() == "no temp_c or precip_mm: modelled without weather"
    assert failed(table).empty


@pytest.mark.parametrize(("weeks", "verdict"), [(16, FAIL), (20, FAIL), (39, FAIL), (40, OK)])
def test_weekly_history_counts_weeks(tmp_path: Path, weeks: int, verdict: str) -> None:
    """20 weeks are 140 days but too few for a weekly baseline's ~24 features: the gate says so before fit does."""
    df = good_frame(weeks)
    df["date"] = pd.date_range("2024-01-01", periods=weeks, freq="7D").strftime("%Y-%m-%d")
    (tmp_path / "w").mkdir()
    df.to_csv(tmp_path / "w" / "weekly.csv", index=False)
    table = validate_lake(tmp_path)
    last = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=weeks - 1)
    assert table[table.check == "history"].detail.item() == f"{weeks} weeks (2024-01-01 to {last:%Y-%m-%d}); need ≥ 40 weeks"
    assert status(table, "history", "w") == verdict


def test_check_lake_stops_on_errors_unless_allowed(tmp_path: Path) -> None:
    write_tenant(tmp_path, "short", noisy_tenant(90))
    with pytest.raises(DataError) as info:
        check_lake(tmp_path)
    assert "gate 'history' fails for tenant short: 90 days" in str(info.value)
    assert "pass --allow-gate history" in str(info.value)
    table = check_lake(tmp_path, allow=["history"])
    assert status(table, "history", "short") == WARN
    assert table[table.check == "history"].detail.item().startswith("allowed: 90 days")
    with pytest.raises(DataError, match="unknown gate 'histroy' — gates are: history, missing"):
        check_lake(tmp_path, allow=["histroy"])


def test_every_gate_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for gate in GATES.values():
        assert f"| `{gate.name}` | {gate.level} |" in readme


@pytest.mark.parametrize(("name", "content", "message"), [
    ("tenant.json", "{bad", "tenant.json"),
    ("tenant.json", '{"tenant_id": "t", "sensitivity": "bogus"}', "sensitivity 'bogus' is not one of"),
    ("lift_tests.csv", "channel,start,end,incremental_revenue,se\nnope,2024-01-10,2024-01-20,50,10\n",
     "unknown channel"),
    ("lift_tests.csv", "channel,start,end,incremental_revenue,se\nmeta,2024-01-10,2024-01-20,50,-1\n", "column 'se', row 1: se must be > 0"),
])
def test_validate_reads_the_side_files_fit_reads(tmp_path: Path, name: str, content: str, message: str) -> None:
    """A lake that passes validate must not be refused by fit for its tenant.json or lift tests."""
    write_tenant(tmp_path, "t", good_frame(150))
    assert set(validate_lake(tmp_path).status) <= {OK, WARN}
    (tmp_path / "t" / name).write_text(content)
    with pytest.raises(DataError, match=message) as exc:
        validate_lake(tmp_path)
    assert name in str(exc.value)


def test_revenue_in_other_units_than_spend_is_reported(tmp_path: Path) -> None:
    """Spend 30× revenue: a warning naming both totals, not a silent fit; 100× and more: refused (units)."""
    df = good_frame(150)
    df["revenue"] = (df["revenue"] / df["revenue"].mean() * 550 / 30).round(6)  # spend ~550 a day
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "spend_vs_revenue") == WARN and status(table, "spend_units") == OK
    spend, revenue = df[["spend_meta", "spend_google"]].to_numpy().sum(), df["revenue"].sum()
    detail = table[table.check == "spend_vs_revenue"].detail.item()
    assert f"total spend {spend:,.2f} is {spend / revenue:,.0f}× total revenue {revenue:,.2f}" in detail
    assert 25 < spend / revenue < 35 and failed(table).empty  # a warning: the work goes on
    df["revenue"] = (df["revenue"] / 1000).round(6)  # now ~30,000×: cents against units, or worse
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    revenue = df["revenue"].sum()
    assert failed(table).check.tolist() == ["spend_units"] and status(table, "spend_vs_revenue") == OK  # said once
    assert table[table.check == "spend_units"].detail.item() == (
        f"{tmp_path / 't' / 'daily.csv'}: total spend {spend:,.2f} is {spend / revenue:,.0f}× total revenue {revenue:,.2f} — "
        "spend and revenue in different units (cents, thousands)? Export both in the shop's currency units")
    df = good_frame(150)  # revenue ~1,000 a day against ~550 of spend
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "spend_vs_revenue") == OK
    df["revenue"] = df["revenue"] * 1000  # revenue in cents: spend is now ~0.06 % of it
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    spend, revenue = df[["spend_meta", "spend_google"]].to_numpy().sum(), df["revenue"].sum()
    detail = table[table.check == "spend_vs_revenue"].detail.item()
    assert status(table, "spend_vs_revenue") == WARN
    assert f"total spend {spend:,.2f} is only {spend / revenue:.2%} of total revenue" in detail
    df["revenue"] = 0.0  # it said "is inf× total revenue 0.00"
    write_tenant(tmp_path, "t", df)
    detail = validate_lake(tmp_path).set_index("check").loc["spend_units", "detail"]
    assert f"total spend {spend:,.2f} is spent against a total revenue of 0.00 — spend and revenue in different units" in detail


def test_one_period_a_hundred_times_its_level_fails_the_outlier_gate_alone(tmp_path: Path) -> None:
    """Three days of 1e9 are under the 2 % share that fails the gate; at 100× their level they fail it anyway."""
    df = noisy_tenant()
    df.loc[[40, 90, 150], "revenue"] = 1e9
    write_tenant(tmp_path, "t", df)
    detail = validate_lake(tmp_path).set_index("check").loc["revenue_outliers"]
    assert detail.status == FAIL
    assert "column 'revenue' rows 41, 91, 151 at 100× the local level or more (a decimal slip, a test order?), 0.8% of periods" in detail.detail
    df.loc[[40, 90, 150], "revenue"] *= 1e-9 * 30_000  # ~30× the level: beyond robust z, yet a plausible day, and 0.8 %
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "revenue_outliers") == OK


def test_a_tenant_json_naming_another_tenant_warns(tmp_path: Path) -> None:
    import json

    for tid, named in (("copy", "original"), ("same", "same"), ("blank", None)):
        write_tenant(tmp_path, tid, good_frame(200))
        (tmp_path / tid / "tenant.json").write_text(json.dumps({"tenant_id": named, "city": "Denver"}))
    table = validate_lake(tmp_path)
    rows = table[table.check == "tenant_id"].set_index("tenant")
    assert rows.status.to_dict() == {"blank": OK, "copy": WARN, "same": OK}
    assert rows.detail["copy"].startswith("tenant.json says tenant_id 'original': was the folder copied from another tenant?")
    assert set(table[table.check != "tenant_id"].status) == {OK}  # the data themselves are fine: nothing else moves


def test_a_spend_column_that_totals_the_others_fails(tmp_path: Path) -> None:
    df = good_frame()
    df["spend_total"] = (df["spend_meta"] + df["spend_google"]).round(2)
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "channel_is_total") == FAIL
    assert "column 'spend_total' is the sum of the other spend columns in every period" in table[
        table.check == "channel_is_total"].detail.item()
    df["spend_total"] = df["spend_meta"] + 0.9 * df["spend_google"]  # a channel that moves with them, not their sum
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "channel_is_total") == OK


def test_channels_spelled_in_another_case_warn_naming_both(tmp_path: Path) -> None:
    write_tenant(tmp_path, "a", good_frame().rename(columns={"spend_meta": "spend_TikTok"}))
    write_tenant(tmp_path, "b", good_frame().rename(columns={"spend_meta": "spend_tiktok"}))
    write_tenant(tmp_path, "c", good_frame())
    table = validate_lake(tmp_path)
    assert [status(table, "channel_names", t) for t in "abc"] == [WARN, WARN, OK]
    detail = table[(table.check == "channel_names") & (table.tenant == "a")].detail.item()
    assert detail.startswith("channels spelled in another case by other tenants: 'TikTok' (a) vs 'tiktok' (b)")


def test_a_control_given_only_where_it_is_non_zero_warns(tmp_path: Path) -> None:
    df = good_frame()
    df["control_promo"] = np.where(np.arange(len(df)) % 10 == 0, 1.0, np.nan)  # 1 on promo days, blank elsewhere
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "missing_controls") == WARN
    assert "column 'control_promo' 90.0% missing" in (d := table[table.check == "missing_controls"].detail.item())
    assert d.endswith("write 0 where 0 is meant (a promotion day belongs in `event`)")
    df["control_promo"] = df["control_promo"].fillna(0.0)
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "missing_controls") == OK


def test_spend_invoiced_once_a_month_warns_and_weekly_bookings_do_not(tmp_path: Path) -> None:
    df = good_frame(240)
    dates = pd.to_datetime(df["date"])
    monthly = df["spend_google"].groupby(dates.dt.to_period("M")).transform("sum")
    df["spend_google"] = np.where(dates.dt.day == 1, monthly, 0.0)  # the month's spend on its first day
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "spend_lumps") == WARN
    gaps = np.diff(np.flatnonzero(df["spend_google"].to_numpy() > 0))  # 31, 29, 31, 30, 31, 30, 31: median 31
    assert f"column 'spend_google' puts 100% of its spend on 8 days, a median {np.median(gaps):.0f} days apart" in table[
        table.check == "spend_lumps"].detail.item()
    df["spend_google"] = np.where(dates.dt.day == 1, monthly, 2.0)  # the invoices beside a fee of 2 a day
    write_tenant(tmp_path, "t", df)
    share = monthly[dates.dt.day == 1].sum() / (monthly[dates.dt.day == 1].sum() + 2.0 * (dates.dt.day != 1).sum())
    assert f"column 'spend_google' puts {share:.0%} of its spend on 8 days" in validate_lake(tmp_path).set_index(
        "check").loc["spend_lumps", "detail"]
    df["spend_google"] = np.where(dates.dt.day == 1, 20 * df["spend_meta"], df["spend_meta"])  # bursts, most spend daily
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "spend_lumps") == OK
    df["spend_google"] = np.where(dates.dt.dayofweek == 0, df["spend_meta"] * 7, 0.0)  # every Monday: a week's gap
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "spend_lumps") == OK


def test_a_channel_launched_when_revenue_doubles_warns_unless_a_control_steps_there(tmp_path: Path) -> None:
    df = good_frame(240)
    df.loc[120:, "revenue"] *= 2  # a relaunch on day 121 …
    df.loc[:119, "spend_google"] = 0.0  # … the day google starts, at about 27 a day: a step of 1,000 would be ROAS 37
    df.loc[120:, "spend_google"] *= 0.1
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "launch_shift") == WARN
    detail = table[table.check == "launch_shift"].detail.item()
    assert "column 'spend_google' starts on 2024-04-30 (row 121)" in detail and "0 before 2024-04-30 and 1 from it" in detail
    step = df["revenue"][120:176].median() - df["revenue"][64:120].median()
    assert f"moves by {step:+,.0f} a period" in detail
    df["control_relaunch"] = (np.arange(len(df)) >= 120).astype(float)  # the merchant says what changed
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "launch_shift") == OK
    df = good_frame(240)
    df.loc[120:, "revenue"] *= 2
    df.loc[:119, "spend_google"] = 0.0  # a launch at 275 a day: the same step is ROAS 3.6, which spend can explain
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "launch_shift") == OK
    df = good_frame(240)
    df.loc[:119, "spend_google"] = 0.0  # a small launch into steady revenue
    df.loc[120:, "spend_google"] *= 0.1
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "launch_shift") == OK


def test_a_launch_into_the_season_it_moved_with_a_year_before_does_not_warn_and_a_noisy_control_does_not_silence() -> None:
    from bayes_mmm.data.spend_timing import launch_shift

    rng = np.random.default_rng(4)
    days = np.arange(800)
    revenue = 1000 + rng.normal(0, 30, 800)
    spend = np.zeros(800)
    spend[700:760] = 20.0  # a holiday channel: started on day 700, at 20 a day
    revenue[700:760] += 900  # the holiday season …
    assert launch_shift(revenue, spend) == ("launch", 700, pytest.approx(900, abs=40), 20.0)  # no year before: warn
    spend[650] = 1.0  # a test of 1 before the launch does not hide it
    assert launch_shift(revenue, spend)[:2] == ("launch", 700)
    spend[650] = 0.0
    revenue[335:395] += 900  # … which lifted revenue as much a year earlier, without the channel
    assert launch_shift(revenue, spend) is None
    revenue[335:395] -= 900
    three = np.concatenate([1000 + rng.normal(0, 30, 400), revenue])  # 1,200 days: the launch on day 1,100
    late = np.concatenate([np.zeros(400), spend])
    three[735:795] += 300  # a muted season last year (a third of the move) …
    assert launch_shift(three, late)[:2] == ("launch", 1100)
    three[370:430] -= 900  # a fall two years before does not explain a rise
    assert launch_shift(three, late)[:2] == ("launch", 1100)
    three[370:430] += 1800  # … the full rise two years before: still the season
    assert launch_shift(three, late) is None
    price = 100 + rng.normal(0, 1, (1, 800))  # a price index's noise is not a step
    assert launch_shift(revenue, spend, controls=price) is not None
    step = (days >= 700).astype(float)[None]
    assert launch_shift(revenue, spend, controls=step) is None


def test_a_shop_closed_on_weekends_warns_that_its_noise_is_not_normal(tmp_path: Path) -> None:
    df = good_frame(150)
    weekend = pd.to_datetime(df["date"]).dt.dayofweek >= 5
    df.loc[weekend, "revenue"] = 0.0
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "zero_revenue") == WARN
    share = f"{weekend.mean():.0%}"  # 43 of 150 days
    assert f"column 'revenue' is 0 in {share} of periods" in table[table.check == "zero_revenue"].detail.item()
    df.loc[weekend & (np.arange(150) > 60), "revenue"] = 900.0  # closed on weekends only for two months: 18 %
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "zero_revenue") == OK


def test_smooth_weekly_totals_keep_holiday_and_weather_weeks_but_not_a_decimal_slip() -> None:
    # 104 weeks of smooth totals (±1 %), four holiday or cold weeks at 1.7–1.9× their neighbours (robust z ≈ 11–15
    # on the 5 %-of-median floor: the gate failed an independent weekly lake on three such weeks), a ×10 slip and a
    # closed week.
    rng = np.random.default_rng(0)
    y = 30_000 * (1 + 0.2 * np.sin(2 * np.pi * np.arange(104) / 52)) * (1 + 0.01 * rng.standard_normal(104))
    y[[5, 48, 58, 100]] *= [1.7, 1.88, 1.77, 1.9]
    none = np.zeros(104, dtype=bool)
    assert (np.abs(revenue_z(y, none, 7)) > ROBUST_Z).sum() == 4  # z alone called all four outliers
    assert not revenue_outliers(y, none, 7).any()
    y[20] *= 10
    y[70] = 0.0
    assert np.flatnonzero(revenue_outliers(y, none, 7)).tolist() == [20, 70]
    # Daily data keep the z rule alone: a day exported twice (exactly 2×) is still an outlier.
    d = np.tile([100.0, 100, 100, 100, 100, 150, 150], 20) * (1 + 0.01 * rng.standard_normal(140))
    d[[30, 31]] *= 2
    assert np.flatnonzero(revenue_outliers(d, np.zeros(140, dtype=bool), 1)).tolist() == [30, 31]


def test_a_few_blank_spend_cells_are_named_not_read_as_zero_in_silence(tmp_path: Path) -> None:
    df = noisy_tenant()
    df.loc[[40, 41, 200], "spend_google"] = np.nan  # under 1 %: the missing gate passes
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "missing") == OK and status(table, "blank_spend") == WARN
    assert ("column 'spend_google' is blank in rows 41, 42, 201: each is read as no spend; write 0 where nothing was "
            "spent, or the amount") in table[table.check == "blank_spend"].detail.item()
    assert failed(table).empty


def test_a_change_of_unit_mid_history_is_named_and_a_budget_step_is_not(tmp_path: Path) -> None:
    df = noisy_tenant()
    rng = np.random.default_rng(5)
    df["spend_meta"] = rng.uniform(40, 60, len(df))
    df.loc[80:, "spend_meta"] *= 5  # a budget step: ordinary
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "spend_scale") == OK
    # From day 151 on the export is in cents: most of the history, so no day stands out from the median.
    df.loc[150:, "spend_meta"] *= 100
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    detail = table[table.check == "spend_scale"].detail.item()
    assert status(table, "spend_scale") == WARN
    assert "column 'spend_meta' moves from a median" in detail and f"at row 151 ({df.date[150]}) — a change of unit" in detail
    before, after = df.spend_meta[122:150].median(), df.spend_meta[150:178].median()  # 28 spend days each side
    assert f"{before:,.2f} to {after:,.2f}" in detail


def test_a_channel_paid_as_a_share_of_revenue_warns_and_a_budget_does_not(tmp_path: Path) -> None:
    df = good_frame(200)
    rng = np.random.default_rng(3)
    df["spend_affiliate"] = 0.08 * df["revenue"] * np.exp(rng.normal(0, 0.04, len(df)))  # a commission on sales
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "spend_follows_revenue") == WARN
    share = np.median(df["spend_affiliate"] / df["revenue"])
    r = np.corrcoef(np.log(df["spend_affiliate"]), np.log(df["revenue"]))[0, 1]
    assert (f"column 'spend_affiliate' is {share:.1%} of revenue period by period (correlation {r:+.2f})"
            in table[table.check == "spend_follows_revenue"].detail.item())
    df["spend_affiliate"] = rng.gamma(4.0, 0.02 * df["revenue"].mean() / 4.0, len(df))  # a budget of the same size, set apart
    write_tenant(tmp_path, "t", df)
    assert status(validate_lake(tmp_path), "spend_follows_revenue") == OK


def _holiday_days(dates: pd.DatetimeIndex) -> np.ndarray:
    """Black Friday, Cyber Monday and 18–25 December of each year, written out by hand (the US retail calendar's)."""
    days = ["2024-11-29", "2024-12-02", "2025-11-28", "2025-12-01"]
    days += [f"{y}-12-{d}" for y in (2024, 2025) for d in range(18, 26)]
    return dates.isin(pd.DatetimeIndex(days))


def test_holidays_the_fit_models_are_not_outliers_but_their_decimal_slips_are(tmp_path: Path) -> None:
    """A seasonal shop tripling on Black Friday and before Christmas (2.7 % of days) passes; the same days elsewhere fail."""
    df = noisy_tenant(days=730)
    dates = pd.DatetimeIndex(df["date"])
    holiday = _holiday_days(dates)
    df.loc[holiday, "revenue"] *= 3
    write_tenant(tmp_path, "t", df)
    assert z_beyond(df) >= 0.02  # the premise: beyond the gate's share without the exemption
    assert status(validate_lake(tmp_path), "revenue_outliers") == OK
    ordinary = df.copy()
    ordinary["revenue"] = noisy_tenant(days=730)["revenue"]
    ordinary.loc[np.roll(holiday, -200), "revenue"] *= 3  # the same number of days, in June
    write_tenant(tmp_path, "t", ordinary)
    assert status(validate_lake(tmp_path), "revenue_outliers") == FAIL
    ordinary["holiday"] = np.roll(holiday, -200).astype(int)  # the shop's own holiday column says they are its holidays
    write_tenant(tmp_path, "t", ordinary)
    assert status(validate_lake(tmp_path), "revenue_outliers") == OK
    detail = validate_lake(tmp_path).set_index("check").loc["revenue_outliers", "detail"]
    assert "(not counted: 20 holiday periods the model fits, within 10× of their level)" in detail
    slipped = df.copy()
    slipped.loc[holiday, "revenue"] *= 10  # a decimal slip on the holidays (30× their level), or shops closed there
    for wrong in (slipped, df.assign(revenue=np.where(holiday, df["revenue"] / 100, df["revenue"]))):
        write_tenant(tmp_path, "t", wrong)
        detail = validate_lake(tmp_path).set_index("check").loc["revenue_outliers"]
        rows = ", ".join(str(r) for r in np.flatnonzero(holiday)[1:5] + 1)  # 337, 353, 354, 355: holidays, counted
        assert detail.status == FAIL and rows in detail.detail


def z_beyond(df: pd.DataFrame) -> float:
    y = df["revenue"].to_numpy(dtype=float)
    return float(revenue_outliers(y, np.zeros(len(y), dtype=bool)).mean())


def test_modelled_holidays_follow_the_tenants_country_and_cadence() -> None:
    from bayes_mmm.data.calendar import modelled_holidays

    dates = pd.date_range("2024-11-20", "2024-12-31")
    at = lambda flags, day: bool(flags[dates.get_loc(pd.Timestamp(day))])  # noqa: E731
    us, de = modelled_holidays(dates), modelled_holidays(dates, country="DE")
    assert at(us, "2024-11-29") and at(de, "2024-11-29")  # Black Friday in both
    assert at(us, "2024-12-20") and not at(de, "2024-12-20")  # the US Christmas rush, not a German holiday
    assert at(de, "2024-12-26") and not at(us, "2024-12-26")  # Second Day of Christmas
    assert not at(us, "2024-12-10") and not at(de, "2024-12-10")
    weeks = pd.date_range("2024-11-04", periods=4, freq="7D")  # Mondays: the 4th week holds Black Friday
    assert modelled_holidays(weeks, 7).tolist() == [False, False, True, True]  # cyber week starts on 22 Nov


def test_the_outlier_gate_reads_the_holidays_of_the_tenants_country(tmp_path: Path) -> None:
    """German public holidays (not in the US calendar) at 3 × a shop's level pass with country DE, not without."""
    import json

    df = noisy_tenant(days=730)
    # Good Friday, Easter Monday, 1 May, Ascension, Whit Monday, 3 October and 26 December of both years,
    # and four ordinary days (counted either way)
    days = ["2024-03-29", "2024-04-01", "2024-05-01", "2024-05-09", "2024-05-20", "2024-10-03", "2024-12-26",
            "2025-04-18", "2025-04-21", "2025-05-01", "2025-05-29", "2025-06-09", "2025-10-03", "2025-12-26",
            "2024-07-10", "2024-08-14", "2025-07-09", "2025-08-13"]
    df.loc[pd.DatetimeIndex(df["date"]).isin(pd.DatetimeIndex(days)), "revenue"] *= 3
    write_tenant(tmp_path, "t", df)
    assert z_beyond(df) >= 0.02
    assert status(validate_lake(tmp_path), "revenue_outliers") == FAIL
    (tmp_path / "t" / "tenant.json").write_text(json.dumps({"tenant_id": "t", "country": "DE"}))
    assert status(validate_lake(tmp_path), "revenue_outliers") == OK
