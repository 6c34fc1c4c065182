"""Lift tests: both layouts into one tidy table; every bad case is one DataError naming file, column and rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lift_tests import COLUMNS, load_lift_tests, parse_lift_tests, read_lift_tests

CHANNELS = ["meta", "google"]
DATES = pd.date_range("2024-01-01", "2024-06-30", freq="D")
HEADER = "channel,start,end,spend_multiplier,incremental_revenue,se\n"


def test_window_tests_tidy_with_default_multiplier(tmp_path: Path) -> None:
    f = tmp_path / "shop" / "lift_tests.csv"
    f.parent.mkdir()
    f.write_text("channel,start,end,incremental_revenue,se\nmeta,2024-03-01,2024-03-14,5200.5,800\n"
                 "google,2024-03-01,2024-03-14,1500,400\nmeta,2024-03-15,2024-03-20,100,50\n")
    t = read_lift_tests(f, CHANNELS, DATES)
    assert list(t.columns) == list(COLUMNS)
    assert t["tenant"].tolist() == ["shop"] * 3
    assert t["kind"].tolist() == ["window"] * 3
    assert t.loc[0, ["channel", "start", "end", "spend_multiplier", "incremental_revenue", "se"]].tolist() == [
        "meta", pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-14"), 0.0, 5200.5, 800.0]
    assert t["row"].tolist() == [1, 2, 3]
    assert t[["x", "delta_x"]].isna().all().all()


def test_pymc_marketing_table_is_a_point_test() -> None:
    t = parse_lift_tests("channel,x,delta_x,delta_y,sigma,geo\nmeta,200,-100,-350.5,60,US\n", CHANNELS, DATES)
    row = t.iloc[0]
    assert (row["kind"], row["x"], row["delta_x"], row["incremental_revenue"], row["se"]) == ("point", 200.0, -100.0, -350.5, 60.0)
    assert pd.isna(row["start"]) and pd.isna(row["end"]) and np.isnan(row["spend_multiplier"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("tiktok,2024-03-01,2024-03-14,0,100,10\n", "column 'channel', row 1: unknown channel 'tiktok' — channels of this tenant: meta, google"),
        ("spend_meta,2024-03-01,2024-03-14,0,100,10\n", "unknown channel 'spend_meta' — did you mean 'meta'?"),
        ("meta,2023-12-20,2024-01-05,0,100,10\n", "column 'start', row 1: window starts before the data — the data cover 2024-01-01 to 2024-06-30"),
        ("meta,2024-06-20,2024-07-05,0,100,10\n", "column 'end', row 1: window ends after the data"),
        ("meta,2024-03-14,2024-03-01,0,100,10\n", "column 'end', row 1: end before start"),
        ("meta,2024-03-01,2024-03-14,0,100,0\n", "column 'se', row 1: se must be > 0"),
        ("meta,2024-03-01,2024-03-14,0,100,-3\n", "column 'se', row 1: se must be > 0"),
        ("meta,2024-03-01,2024-03-14,0,inf,10\n", "column 'incremental_revenue', row 1: not a finite number: 'inf'"),
        ("meta,2024-03-01,2024-03-14,0,nan,10\n", "column 'incremental_revenue', row 1: not a finite number: 'nan'"),
        ("meta,2024-03-01,2024-03-14,0,1e999,10\n", "column 'incremental_revenue', row 1: non-finite value"),
        ("meta,2024-03-01,2024-03-14,0,,10\n", "column 'incremental_revenue', row 1: empty value"),
        ("meta,2024-03-01,2024-03-14,-1,100,10\n", "column 'spend_multiplier', row 1: negative spend_multiplier"),
        ("meta,2024-03-01,2024-03-14,1,100,10\n", "spend_multiplier 1 is no change"),
        ("meta,03/01/2024,2024-03-14,0,100,10\n", "column 'start', row 1: unparseable date '03/01/2024' — use ISO dates"),
        ("meta,2024-03-01,2024-03-14,0,1e300,1e-300\n", "column 'incremental_revenue', row 1: impossible values beyond ±1e+12"),
        ("meta,2024-03-01,2024-03-14,0,-1e15,1\n", "column 'incremental_revenue', row 1: impossible values beyond ±1e+12"),
        ("meta,2024-03-01,2024-03-14,0,5000,0.001\n", "column 'se', row 1: se below 0.1% of the measured lift"),
        ("meta,2024-03-01,2024-03-14,1e300,100,10\n", "column 'spend_multiplier', row 1: spend_multiplier above 100"),
        ("google,2024-02-01,2024-02-10,0,1,1\nmeta,2024-03-01,2024-03-14,0,100,10\nmeta,2024-03-10,2024-03-20,0,100,10\n",
         "column 'start', rows 2, 3: overlapping tests on channel 'meta'"),
    ],
)
def test_bad_window_tests(body: str, fragment: str) -> None:
    with pytest.raises(DataError) as e:
        parse_lift_tests(HEADER + body, CHANNELS, DATES, name="shop/lift_tests.csv")
    assert str(e.value).startswith("shop/lift_tests.csv")
    assert fragment in str(e.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("channel,start,end,incremental_revenue\nmeta,2024-03-01,2024-03-14,100\n", "column 'se': required column is missing"),
        ("channel,x,delta_x,delta_y\nmeta,1,1,1\n", "column 'sigma': required column is missing"),
        ("channel,x,delta_x,delta_y,sigma\nmeta,100,0,5,1\n", "column 'delta_x', row 1: delta_x 0 is no test"),
        ("channel,x,delta_x,delta_y,sigma\nmeta,100,-150,5,1\n", "x + delta_x is negative spend"),
        ("channel,x,delta_x,delta_y,sigma\nmeta,-1,5,5,1\n", "column 'x', row 1: negative spend level"),
        ("channel,x,delta_x,delta_y,sigma\nmeta,1,5,5,0\n", "column 'sigma', row 1: sigma must be > 0"),
        ("channel,x,delta_x,delta_y,sigma\nmeta,1e300,1e300,500,100\n", "column 'x', row 1: impossible values beyond ±1e+12"),
        ("channel,start,end,x,delta_x,delta_y,sigma,incremental_revenue,se\n", "mixes the window layout"),
        ("", "file is empty"),
    ],
)
def test_bad_layouts_and_point_tests(text: str, fragment: str) -> None:
    with pytest.raises(DataError) as e:
        parse_lift_tests(text, CHANNELS, DATES, name="lt.csv")
    assert fragment in str(e.value)


def test_load_lift_tests_over_a_lake(tmp_path: Path) -> None:
    for tid in ("a", "b", "c"):
        (tmp_path / tid).mkdir()
    (tmp_path / "a" / "lift_tests.csv").write_text(HEADER + "meta,2024-03-01,2024-03-14,0.5,100,10\n")
    (tmp_path / "c" / "lift_tests.csv").write_text("channel,x,delta_x,delta_y,sigma\ngoogle,50,10,20,5\n")
    t = load_lift_tests(tmp_path, ["a", "b", "c"], {"a": ["meta"], "b": [], "c": ["google"]}, DATES)
    assert t[["tenant", "channel", "kind"]].to_dict("list") == {
        "tenant": ["a", "c"], "channel": ["meta", "google"], "kind": ["window", "point"]}
    np.testing.assert_array_equal(t["spend_multiplier"], [0.5, np.nan])
    none = load_lift_tests(tmp_path, ["b"], CHANNELS, DATES)
    assert none.empty and list(none.columns) == list(COLUMNS)
    with pytest.raises(DataError, match=r"a/lift_tests\.csv, column 'channel', row 1: unknown channel 'meta'"):
        load_lift_tests(tmp_path, ["a"], {"a": ["google"]}, DATES)


CELLS = st.sampled_from(["meta", "google", "x", "2024-03-01", "2024-03-14", "2023-01-01", "0", "1", "-1", "0.5", "", "nan", "1e999", "100"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=6, max_size=6), max_size=4), st.booleans())
def test_any_table_is_tidy_or_data_error(rows: list[list[str]], point: bool) -> None:
    header = "channel,x,delta_x,delta_y,sigma,extra\n" if point else HEADER
    text = header + "".join(",".join(r) + "\n" for r in rows)
    try:
        t = parse_lift_tests(text, CHANNELS, DATES)
    except DataError as e:
        assert str(e).startswith("lift_tests.csv")
        return
    assert list(t.columns) == list(COLUMNS) and len(t) == len(rows)
    assert (t["se"] > 0).all() and np.isfinite(t["incremental_revenue"]).all()
    windows = t[t["kind"] == "window"]
    assert (windows["start"] >= DATES[0]).all() and (windows["end"] <= DATES[-1]).all() and (windows["end"] >= windows["start"]).all()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_tidy_or_data_error(text: str) -> None:
    try:
        t = parse_lift_tests(text, CHANNELS, DATES)
    except DataError:
        return
    assert list(t.columns) == list(COLUMNS)


def test_weekly_windows_may_end_inside_the_last_week_but_must_hold_a_week_start() -> None:
    weeks = pd.date_range("2024-01-01", periods=52, freq="7D")  # Mondays; the last week runs to 2024-12-29
    head = "channel,start,end,incremental_revenue,se\n"
    ok = parse_lift_tests(head + "meta,2024-12-09,2024-12-29,5000,1000\n", ["meta"], weeks, "w.csv", "t")
    assert ok["end"].iloc[0] == pd.Timestamp("2024-12-29")
    with pytest.raises(DataError, match=r"column 'end', row 1: window ends after the data .* to 2024-12-29"):
        parse_lift_tests(head + "meta,2024-12-09,2024-12-30,5000,1000\n", ["meta"], weeks, "w.csv", "t")
    with pytest.raises(DataError, match="column 'start', row 1: window holds no period of the data"):
        parse_lift_tests(head + "meta,2024-03-05,2024-03-07,50,10\n", ["meta"], weeks, "w.csv", "t")


def test_a_lift_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "shop" / "lift_tests.csv"
    path.parent.mkdir()
    path.write_bytes((HEADER + "meta,2024-03-01,2024-03-14,0,100,10\n").encode()[:-1] + b",caf\xe9\n")
    with pytest.raises(DataError) as e:
        read_lift_tests(path, CHANNELS, DATES)
    assert str(e.value).startswith(f"{path}: is not UTF-8 text")


def test_a_window_test_where_the_channel_spent_nothing_is_refused(tmp_path: Path) -> None:
    """Actual and counterfactual spend both 0: the test says nothing (it entered the fit as a lift of exactly 0)."""
    from bayes_mmm.data.lift_tests import refuse_unspent

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "lift_tests.csv").write_text(HEADER + "meta,2024-03-01,2024-03-14,0,100,10\nmeta,2024-05-01,2024-05-14,0,100,10\n")
    tests = load_lift_tests(tmp_path, ["a"], {"a": ["meta"]}, DATES)
    spend = pd.Series(np.where(DATES < "2024-04-01", 0.0, 50.0), index=DATES)  # meta starts in April
    with pytest.raises(DataError, match=r"a/lift_tests\.csv, row 1: channel 'meta' spent nothing from 2024-03-01 to 2024-03-14"):
        refuse_unspent(tests, lambda t, c: spend, tmp_path)
    assert len(refuse_unspent(tests.iloc[1:], lambda t, c: spend, tmp_path)) == 1
    # Weekly: a week belongs to the window by its first day, as the model counts it (model.lift.window_periods).
    weeks = spend.resample("W-MON", label="left", closed="left").sum()
    weeks.loc["2024-02-26"] = 5.0  # the week holding 03-01 starts before the window: it does not count
    with pytest.raises(DataError, match="spent nothing from 2024-03-01 to 2024-03-14"):
        refuse_unspent(tests, lambda t, c: weeks, tmp_path)
    weeks.loc["2024-03-11"] = 5.0  # starts inside it
    assert len(refuse_unspent(tests, lambda t, c: weeks, tmp_path)) == 2


def test_a_semicolon_lift_file_is_named_for_its_separator() -> None:
    with pytest.raises(DataError, match=r"the header is split by ';', not ','"):
        parse_lift_tests("channel;start;end;incremental_revenue;se\nmeta;2024-03-01;2024-03-10;100;10\n", CHANNELS, DATES)
