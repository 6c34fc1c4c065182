"""A tenant's own country's public holidays (tenant.json ``country``) instead of the US retail calendar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.calendar import cyber_week, holiday_table, us_holidays
from bayes_mmm.data.lake import load_lake
from bayes_mmm.data.validate import OK, WARN, validate_lake
from bayes_mmm.model.design import build_design, calendar_features
from tests.bayes_mmm.test_data import good_frame, write_tenant

DAYS = pd.date_range("2022-01-01", "2024-12-31", freq="D")


def flagged(table: pd.DataFrame, column: str) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in table.index[table[column] == 1]]


def test_australia_gets_its_own_public_holidays_and_not_the_us_ones() -> None:
    au = holiday_table(DAYS, "AU")
    assert flagged(au, "hol_boxing_day") == ["2022-12-26", "2023-12-26", "2024-12-26"]
    assert "2024-01-26" in flagged(au, "hol_australia_day")
    assert flagged(au, "hol_anzac_day")[-1] == "2024-04-25"
    assert "2024-03-29" in flagged(au, "hol_good_friday")  # Easter moves: Good Friday 2024 was 29 March
    assert not {"july_4th", "memorial_day", "labor_day", "valentines"} & set(au.columns)
    # Online retail events go on everywhere: Black Friday 2024 was 29 November.
    assert flagged(au, "black_friday") == flagged(us_holidays(DAYS), "black_friday") == ["2022-11-25", "2023-11-24", "2024-11-29"]


def test_an_observed_day_is_the_holidays_and_a_subdivision_adds_its_own() -> None:
    gb = holiday_table(DAYS, "gb")  # any case
    # Christmas 2022 fell on a Sunday: the 27th was its day off (26th: Boxing Day).
    assert flagged(gb, "hol_christmas_day")[:2] == ["2022-12-25", "2022-12-27"]
    assert "hol_easter_monday" not in gb.columns  # not a holiday in Scotland, so not a UK-wide one
    assert flagged(holiday_table(DAYS, "GB-ENG"), "hol_easter_monday")[0] == "2022-04-18"


def test_in_lieu_and_alternative_days_are_the_holidays_and_absent_holidays_add_no_column() -> None:
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    kr, th = holiday_table(days, "KR"), holiday_table(days, "TH")
    assert flagged(kr, "hol_children_s_day") == ["2024-05-05", "2024-05-06"]  # "Alternative holiday for Children's Day"
    assert flagged(th, "hol_songkran_festival") == ["2024-04-13", "2024-04-14", "2024-04-15", "2024-04-16"]  # "(in lieu)"
    assert not [c for c in (*kr.columns, *th.columns) if "lieu" in c or "alternative" in c]
    spring = holiday_table(days[:120], "AU")  # January to April: no Boxing Day column, and no empty one
    assert "hol_boxing_day" not in spring.columns and (spring.drop(columns=["black_friday", "cyber_monday"]).sum() > 0).all()


def test_weekly_data_get_one_count_of_public_holidays() -> None:
    """A year of weeks cannot tell Thailand's 22 holidays apart: one column counts each week's public holidays."""
    weeks = pd.date_range("2023-01-02", periods=104, freq="7D")
    x, names = calendar_features(weeks, ModelSpec(), None, "weekly", "TH")
    assert [n for n in names if n.startswith("hol_")] == ["hol_public"]
    days = pd.date_range(weeks[0], periods=104 * 7, freq="D")
    daily = holiday_table(days, "TH").drop(columns=["black_friday", "cyber_monday"]).to_numpy().max(axis=1)
    np.testing.assert_array_equal(x[:, names.index("hol_public")], daily.reshape(104, 7).sum(axis=1))  # independent count
    assert x[:, names.index("hol_public")].max() >= 3  # Songkran's week: several holidays in one


def test_the_us_any_state_an_unknown_country_or_none_keep_the_built_in_calendar() -> None:
    built_in = us_holidays(DAYS)
    for country in (None, "", "US", "us-ca", "Germany", "XX"):
        pd.testing.assert_frame_equal(holiday_table(DAYS, country), built_in)


def test_a_country_holiday_spike_is_absorbed_by_its_own_column() -> None:
    """Revenue with a Boxing Day spike: least squares on the AU calendar recovers the spike; on the US one it cannot."""
    days = pd.date_range("2022-01-03", "2024-12-29", freq="D")
    boxing = days.strftime("%m-%d") == "12-26"
    y = 1000.0 + 600.0 * boxing + np.random.default_rng(0).normal(0, 20, len(days))
    for country, recovered in (("AU", True), ("", False)):
        x, names = calendar_features(days, ModelSpec(), None, "daily", country)
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(days)), x]), y, rcond=None)
        resid = y - np.column_stack([np.ones(len(days)), x]) @ coef
        if recovered:
            assert abs(coef[1 + names.index("hol_boxing_day")] - 600.0) < 40.0
            assert np.abs(resid[boxing]).max() < 80.0
        else:
            assert "hol_boxing_day" not in names
            assert np.abs(resid[boxing]).min() > 300.0  # the spike stays in the residual


def test_each_tenant_of_a_lake_gets_its_country_and_validate_warns_of_an_unknown_one(tmp_path: Path) -> None:
    for tid, country in (("sydney", "AU"), ("denver", None), ("berlin", "Germany")):
        write_tenant(tmp_path, tid, good_frame(200))
        meta = {"tenant_id": tid} | ({"country": country} if country else {})
        (tmp_path / tid / "tenant.json").write_text(json.dumps(meta))
    table = validate_lake(tmp_path)
    rows = table[table.check == "country"].set_index("tenant")
    assert rows.status.to_dict() == {"berlin": WARN, "denver": OK, "sydney": OK}
    assert rows.detail["berlin"].startswith("tenant.json says country 'Germany', which has no holiday calendar: the built-in US "
                                            "calendar is used; write an ISO 3166 code such as \"DE\"")
    design = build_design(load_lake(tmp_path), ModelSpec())
    names = dict(zip(["berlin", "denver", "sydney"], design.feature_names, strict=True))
    assert "hol_anzac_day" in names["sydney"] and "july_4th" not in names["sydney"]
    assert "july_4th" in names["denver"] and "july_4th" in names["berlin"]
    assert design.holidays == ["US retail events (built-in)"] * 2 + ["AU public holidays"]  # January to July: no cyber week


def test_the_model_card_names_each_tenants_calendar() -> None:
    from bayes_mmm.analysis.card import holiday_lines

    tenants = {"sydney": {"holidays": "AU public holidays"}, "denver": {"holidays": "US retail events (built-in)"},
               "promo": {"holidays": "its own holiday column"}, "sydney2": {"holidays": "AU public holidays"}}
    assert holiday_lines({"tenants": tenants}) == [
        "- Holidays: AU public holidays for sydney, sydney2; US retail events (built-in) for denver; its own holiday column for promo."]
    assert holiday_lines({"tenants": {"a": {"holidays": "US retail events (built-in)"}}}) == [
        "- Holidays: US retail events (built-in) for every tenant."]
    assert holiday_lines({"tenants": {"old_run": {"weather": True}}}) == []



def test_the_cyber_week_runs_from_the_saturday_before_thanksgiving_week_to_the_tuesday_after_cyber_monday() -> None:
    flags = pd.Series(cyber_week(DAYS), index=DAYS)
    week = flags.index[flags == 1].strftime("%Y-%m-%d").tolist()
    # Thanksgiving 2022, 2023, 2024: 24, 23 and 28 November (the fourth Thursday).
    expected = [d.strftime("%Y-%m-%d") for start, end in (("2022-11-19", "2022-11-29"), ("2023-11-18", "2023-11-28"),
                                                          ("2024-11-23", "2024-12-03")) for d in pd.date_range(start, end)]
    assert week == expected


def test_the_cyber_week_is_a_baseline_column_beside_any_calendar_but_a_tenants_own(tmp_path: Path) -> None:
    write_tenant(tmp_path, "denver", good_frame(400))  # 2024-01-01 to 2025-02-03: Black Friday 2024 inside
    assert build_design(load_lake(tmp_path), ModelSpec()).holidays == ["US retail events (built-in) and the cyber week"]
    days = pd.date_range("2024-06-01", "2025-05-31", freq="D")
    for country in ("", "AU"):
        x, names = calendar_features(days, ModelSpec(), None, "daily", country)
        assert x[:, names.index("cyber_week")].sum() == 11
    assert "cyber_week" not in calendar_features(days, ModelSpec(cyber_week=False), None, "daily")[1]
    assert "cyber_week" not in calendar_features(days, ModelSpec(), np.zeros(len(days)), "daily")[1]
    weeks = pd.date_range("2024-06-03", periods=52, freq="7D")
    xw, wnames = calendar_features(weeks, ModelSpec(), None, "weekly")
    assert sorted(xw[:, wnames.index("cyber_week")][xw[:, wnames.index("cyber_week")] > 0]) == [2.0, 2.0, 7.0]  # Sat 23 Nov – Tue 3 Dec over Monday weeks


def test_a_channel_pushed_in_the_cyber_week_is_not_credited_with_the_weeks_demand() -> None:
    """Least squares: demand +40 % and spend × 2.2 over a shopping week that starts a day before the column's and ends a
    day before its end (the truth's own dates, not the column's); the column takes most of the week's demand off the channel."""
    days = pd.date_range("2023-01-02", "2024-12-29", freq="D")
    rng = np.random.default_rng(1)
    week = days.isin(pd.date_range("2023-11-17", "2023-11-27").append(pd.date_range("2024-11-22", "2024-12-02"))).astype(float)
    spend = 100.0 * rng.lognormal(0.0, 0.2, len(days)) * np.where(week > 0, 2.2, 1.0)
    y = 1000.0 * (1 + 0.4 * week) + 2.0 * spend + rng.normal(0, 20, len(days))
    bias = {}
    for on in (True, False):
        x, _ = calendar_features(days, ModelSpec(cyber_week=on), None, "daily")
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(days)), spend, x]), y, rcond=None)
        bias[on] = coef[1] - 2.0
    assert bias[False] > 1.0  # without it the week's demand goes to the channel
    assert 0 <= bias[True] < 0.6 * bias[False]
