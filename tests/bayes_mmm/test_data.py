"""Loading a lake: round trips and one clear error per kind of bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lake import load_lake, read_daily, unreadable_tenants


def good_frame(days: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "revenue": rng.uniform(800, 1200, days).round(2),
            "spend_meta": rng.uniform(50, 500, days).round(2),
            "spend_google": rng.uniform(50, 500, days).round(2),
            "temp_c": rng.normal(12, 6, days).round(1),
            "precip_mm": rng.gamma(0.5, 4, days).round(1),
        }
    )


def write_tenant(lake: Path, tid: str, df: pd.DataFrame | str) -> Path:
    d = lake / tid
    d.mkdir(parents=True, exist_ok=True)
    path = d / "daily.csv"
    if isinstance(df, str):
        path.write_text(df)
    else:
        df.to_csv(path, index=False)
    return path


def test_csv_and_parquet_load_the_same(tiny_lake: Path, tmp_path: Path) -> None:
    ds_csv = load_lake(tiny_lake)
    pq = tmp_path / "pq"
    for tid in ds_csv.tenant.values:
        (pq / tid).mkdir(parents=True)
        df = pd.read_csv(tiny_lake / tid / "daily.csv")
        df.to_parquet(pq / tid / "daily.parquet", index=False)
    ds_pq = load_lake(pq)
    assert ds_csv.sizes == ds_pq.sizes == {"tenant": 3, "date": 240, "channel": 3}
    np.testing.assert_allclose(ds_csv["revenue"].values, ds_pq["revenue"].values)
    np.testing.assert_allclose(ds_csv["spend"].values, ds_pq["spend"].values)
    assert list(ds_csv.channel.values) == ["meta", "google", "email"]


def test_union_of_channels_and_dates(tmp_path: Path) -> None:
    a = good_frame(150)
    b = good_frame(130).drop(columns="spend_google")
    b["spend_email"] = 60.0
    b["date"] = pd.date_range("2024-02-01", periods=130).strftime("%Y-%m-%d")
    write_tenant(tmp_path, "a", a)
    write_tenant(tmp_path, "b", b)
    ds = load_lake(tmp_path)
    assert list(ds.channel.values) == ["meta", "google", "email"]
    assert ds.sizes["date"] == (pd.Timestamp("2024-02-01") + pd.Timedelta(days=129) - pd.Timestamp("2024-01-01")).days + 1
    # b lacks google: zero spend; outside its range: not observed.
    assert float(ds["spend"].sel(tenant="b", channel="google").sum()) == 0.0
    assert int(ds["observed"].sel(tenant="b").sum()) == 130
    assert not bool(ds["observed"].sel(tenant="b", date="2024-01-15"))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda df: df.drop(columns="revenue"), "column 'revenue': required column is missing"),
        (lambda df: df.rename(columns={"temp_c": "temp_C"}), "found 'temp_C': rename it to 'temp_c'"),
        (lambda df: df.rename(columns={"precip_mm": "precipitation_sum (mm)"}),
         "found 'precipitation_sum (mm)': rename it to 'precip_mm'"),
        (lambda df: df.drop(columns=["spend_meta", "spend_google"]), "no spend_<channel> column"),
        (lambda df: df.assign(spend_meta=df["spend_meta"].astype(object).where(df.index != 4, "abc")),
         "column 'spend_meta', row 5 (date 2024-01-05): non-numeric value 'abc'"),
        (lambda df: df.assign(date=df["date"].where(df.index != 2, "2024-13-45")),
         "column 'date', row 3: unparseable date '2024-13-45'"),
        (lambda df: df.assign(spend_google=df["spend_google"].where(~df.index.isin([6, 9]), -5.0)),
         "column 'spend_google', rows 7, 10 (dates 2024-01-07, 2024-01-10): negative values"),
        (lambda df: df.assign(revenue=df["revenue"].where(df.index != 0, -1.0)), "column 'revenue', row 1"),
        (lambda df: pd.concat([df, df.iloc[[3]]]), "column 'date', rows 4, 151 (dates 2024-01-04, 2024-01-04): duplicated dates"),
        (lambda df: df.drop(index=[10, 11]), "column 'date': 2 missing day(s) in the dates: 2024-01-11, 2024-01-12"),
        (lambda df: df.rename(columns={"spend_meta": "Spend_Meta"}),
         "column 'Spend_Meta': looks like a spend column but is not named spend_<channel> (lower-case 'spend_') — "
         "rename it to 'spend_meta'"),
        (lambda df: df.rename(columns={"spend_google": "spend google"}), "column 'spend google': looks like a spend column"),
    ],
    ids=["missing", "misspelled", "open-meteo", "no-spend", "non-numeric", "bad-date", "negative-spend", "negative-revenue",
         "duplicates", "gaps", "spend-case", "spend-space"],
)
def test_bad_input_names_file_column_rows(tmp_path: Path, mutate, expected: str) -> None:
    path = write_tenant(tmp_path, "t1", mutate(good_frame()))
    with pytest.raises(DataError) as info:
        read_daily(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file is empty"):
        read_daily(write_tenant(tmp_path, "e1", ""))
    with pytest.raises(DataError, match="header but no rows"):
        read_daily(write_tenant(tmp_path, "e2", "date,revenue,spend_meta,temp_c,precip_mm\n"))


@pytest.mark.parametrize("name", ["dialy.csv", "Daily.CSV", "daily.csv.gz", "weekly.xlsx"])
def test_a_tenant_whose_data_file_is_misnamed_is_not_dropped(tmp_path: Path, name: str) -> None:
    """A folder holding a near-miss of a data file name is a tenant the user meant: "all" refuses, naming the file."""
    write_tenant(tmp_path, "shop_a", good_frame())
    (tmp_path / "shop_b").mkdir()
    (tmp_path / "shop_b" / name).write_text("date,revenue\n")
    with pytest.raises(DataError, match=rf"shop_b: tenant folder has no readable data file \(found {re.escape(name)}\)"):
        load_lake(tmp_path)
    assert list(load_lake(tmp_path, "shop_a")["tenant"].values) == ["shop_a"]  # naming the others still works
    (tmp_path / "shop_a" / "daily.csv").unlink()  # alone in its lake: the same line, not "no tenants"
    with pytest.raises(DataError, match=r"shop_b: tenant folder has no readable data file \(found"):
        load_lake(tmp_path)
    (tmp_path / "notes").mkdir()
    for other in ("readme.csv", "week.csv", "weekday.csv"):  # other words: not a tenant's data file
        (tmp_path / "notes" / other).write_text("x\n")
    assert "notes" not in [p.name for p in unreadable_tenants(tmp_path, [])]


def test_unknown_tenant_and_empty_lake(tmp_path: Path) -> None:
    write_tenant(tmp_path, "shop_a", good_frame())
    with pytest.raises(DataError, match=r"unknown tenant id 'shop_b'.*did you mean 'shop_a'"):
        load_lake(tmp_path, "shop_b")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="lake has no tenants"):
        load_lake(empty)
    with pytest.raises(DataError, match="lake folder does not exist"):
        load_lake(tmp_path / "nowhere")
    a_file = tmp_path / "shop_a" / "daily.csv"
    with pytest.raises(DataError, match=r"daily.csv: is a file, but a lake folder is needed here: one sub-folder per tenant"):
        load_lake(a_file)


def test_holiday_column_of_one_tenant_does_not_erase_the_others(tmp_path: Path) -> None:
    from bayes_mmm.model.design import build_design

    a = good_frame(200)
    a["holiday"] = 0.0
    a.loc[[10, 50], "holiday"] = 1.0
    b = good_frame(200)
    b["date"] = pd.date_range("2024-05-01", periods=200).strftime("%Y-%m-%d")  # covers July 4th and Labor Day
    write_tenant(tmp_path, "a", a)
    write_tenant(tmp_path, "b", b)
    design = build_design(load_lake(tmp_path))
    assert "holiday" in design.feature_names[0]
    assert {"july_4th", "labor_day"} <= set(design.feature_names[1])  # b keeps the built-in calendar
    b["holiday"] = np.nan  # an export's empty holiday column is no holiday column: it kept b's calendar off
    write_tenant(tmp_path, "b", b)
    design = build_design(load_lake(tmp_path))
    assert {"july_4th", "labor_day"} <= set(design.feature_names[1]) and "holiday" not in design.feature_names[1]


def test_too_short_training_window_is_a_clear_error(tmp_path: Path) -> None:
    from bayes_mmm.model.design import build_design

    write_tenant(tmp_path, "short", good_frame(40))
    with pytest.raises(ValueError, match="tenant 'short' has 40 training days, too few"):
        build_design(load_lake(tmp_path))


def test_a_column_that_only_begins_like_spend_is_not_a_misnamed_channel(tmp_path: Path) -> None:
    """'Spendings' (say, a survey index) is no spend column under another spelling; 'Spend_Meta' is (refused above)."""
    from bayes_mmm.data.lake import read_daily

    df = good_frame(150).assign(Spendings=1.0)
    got = read_daily(write_tenant(tmp_path, "t", df))
    assert [c for c in got.columns if c.startswith("spend_")] == ["spend_meta", "spend_google"]


def test_an_unknown_text_column_is_left_out_and_a_known_one_still_refused(tmp_path: Path) -> None:
    df = good_frame()
    df["notes"] = ["closed for inventory" if i == 3 else "" for i in range(len(df))]  # a merchant's remarks
    df["sessions"] = np.arange(len(df), dtype=float)
    path = write_tenant(tmp_path, "t", df)
    got = read_daily(path)
    assert "notes" not in got.columns and got["sessions"].iloc[-1] == len(df) - 1
    np.testing.assert_allclose(got["revenue"].to_numpy(), df["revenue"].to_numpy())
    df["spend_meta"] = df["spend_meta"].astype(object)
    df.loc[5, "spend_meta"] = "n/a?"
    write_tenant(tmp_path, "t", df)
    with pytest.raises(DataError, match=r"column 'spend_meta', row 6 \(date 2024-01-06\): non-numeric value 'n/a\?'"):
        read_daily(path)


def test_a_parquet_file_with_the_date_as_its_index_reads(tmp_path: Path) -> None:
    """pandas' to_parquet of a frame indexed by date keeps the date as the index, not a column."""
    df = good_frame()
    (tmp_path / "t").mkdir()
    df.assign(date=pd.to_datetime(df["date"])).set_index("date").to_parquet(tmp_path / "t" / "daily.parquet")
    got = read_daily(tmp_path / "t" / "daily.parquet")
    assert got.index[0] == pd.Timestamp("2024-01-01") and len(got) == len(df)
    np.testing.assert_allclose(got["spend_meta"].to_numpy(), df["spend_meta"].to_numpy())
