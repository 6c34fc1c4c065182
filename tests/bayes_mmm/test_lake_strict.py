"""The lake reader on real merchants' data: weekly files, optional weather, absent channels, and strictness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lake import load_lake, read_daily
from bayes_mmm.data.sensitivity import dataset_sensitivity
from bayes_mmm.data.validate import validate_lake
from tests.bayes_mmm.test_data import good_frame, write_tenant


def weekly_frame(weeks: int = 30, start: str = "2024-01-01") -> pd.DataFrame:
    df = good_frame(weeks)
    df["date"] = pd.date_range(start, periods=weeks, freq="7D").strftime("%Y-%m-%d")
    return df


def write_file(lake: Path, tid: str, name: str, text: str) -> Path:
    (lake / tid).mkdir(parents=True, exist_ok=True)
    (lake / tid / name).write_text(text)
    return lake / tid / name


def test_weekly_lake_loads_with_cadence_weekly(tmp_path: Path) -> None:
    for tid in ("a", "b"):
        write_file(tmp_path, tid, "weekly.csv", weekly_frame(30).to_csv(index=False))
    ds = load_lake(tmp_path)
    assert ds.attrs["cadence"] == "weekly"
    assert ds.sizes["date"] == 30
    assert (np.diff(ds.date.values).astype("timedelta64[D]").astype(int) == 7).all()
    np.testing.assert_allclose(ds["revenue"].sel(tenant="a").values, weekly_frame(30)["revenue"].values)


def test_daily_lake_keeps_its_layout_and_gains_flags(tiny_lake: Path) -> None:
    ds = load_lake(tiny_lake)
    assert ds.attrs["cadence"] == "daily"
    assert ds["has_weather"].values.all() and ds["has_channel"].values.all()
    assert not np.isnan(ds["temp_c"].where(ds["in_range"]).values[ds["in_range"].values]).any()


def test_weatherless_tenant_and_absent_channel_are_flagged(tmp_path: Path) -> None:
    write_tenant(tmp_path, "a", good_frame(150))
    write_tenant(tmp_path, "b", good_frame(150).drop(columns=["temp_c", "precip_mm", "spend_google"]))
    ds = load_lake(tmp_path)
    assert ds["has_weather"].sel(tenant="a").item() is True
    assert ds["has_weather"].sel(tenant="b").item() is False
    assert np.isnan(ds["temp_c"].sel(tenant="b").values).all()
    assert ds["has_channel"].sel(tenant="b").values.tolist() == [True, False]
    # Absent channel: spend 0 in the array, told apart by has_channel (a tenant spending 0 has it True).
    assert float(ds["spend"].sel(tenant="b", channel="google").sum()) == 0.0


def test_near_constant_weather_counts_as_absent(tmp_path: Path) -> None:
    df = good_frame(150)
    df["temp_c"] = 20.0 + np.r_[0.1, np.zeros(149)]
    write_tenant(tmp_path, "flat", df)
    assert load_lake(tmp_path)["has_weather"].item() is False


def test_event_column_is_loaded(tmp_path: Path) -> None:
    df = good_frame(150)
    df["event"] = 0
    df.loc[[3, 90], "event"] = 1
    write_tenant(tmp_path, "a", df)
    write_tenant(tmp_path, "b", good_frame(150))
    ds = load_lake(tmp_path)
    assert np.flatnonzero(ds["event"].sel(tenant="a").values).tolist() == [3, 90]
    assert ds["event"].sel(tenant="b").values.sum() == 0


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"daily.csv": good_frame(), "daily.parquet": good_frame()}, "holds daily.parquet and daily.csv"),
        ({"daily.csv": good_frame(), "weekly.csv": weekly_frame()}, "holds daily.csv and weekly.csv"),
        ({"weekly.csv": good_frame()}, "dates are daily but the file is named weekly.csv — rename it to daily.csv"),
        ({"daily.csv": weekly_frame()}, "dates are weekly but the file is named daily.csv — rename it to weekly.csv"),
    ],
    ids=["csv-and-parquet", "daily-and-weekly", "weekly-named-daily-data", "daily-named-weekly-data"],
)
def test_one_file_per_tenant_matching_its_cadence(tmp_path: Path, files: dict, expected: str) -> None:
    (tmp_path / "t").mkdir()
    for name, df in files.items():
        df.to_parquet(tmp_path / "t" / name) if name.endswith("parquet") else df.to_csv(tmp_path / "t" / name, index=False)
    with pytest.raises(DataError, match=expected):
        load_lake(tmp_path)


def test_weeks_must_start_on_one_weekday(tmp_path: Path) -> None:
    df = weekly_frame(30)
    df.loc[5:, "date"] = pd.date_range("2024-02-06", periods=25, freq="7D").strftime("%Y-%m-%d")  # Tuesday from row 6
    path = write_file(tmp_path, "t", "weekly.csv", df.to_csv(index=False))
    with pytest.raises(DataError) as info:
        read_daily(path)
    assert "column 'date', rows 6, 7, 8, 9, 10 and 20 more" in str(info.value)
    assert "weeks start on different weekdays (Monday in row 1, Tuesday here)" in str(info.value)


def test_lake_mixing_cadences_names_the_tenants(tmp_path: Path) -> None:
    write_tenant(tmp_path, "d1", good_frame())
    write_file(tmp_path, "w1", "weekly.csv", weekly_frame().to_csv(index=False))
    with pytest.raises(DataError, match="mixes cadences: weekly w1; daily d1"):
        load_lake(tmp_path)


def test_far_apart_tenants_do_not_balloon_the_date_axis(tmp_path: Path) -> None:
    old = good_frame(150)
    old["date"] = pd.date_range("1900-01-01", periods=150).strftime("%Y-%m-%d")
    write_tenant(tmp_path, "old", old)
    write_tenant(tmp_path, "new", good_frame(150))
    with pytest.raises(DataError) as info:
        load_lake(tmp_path)
    msg = str(info.value)
    span = (pd.Timestamp("2024-05-29") - pd.Timestamp("1900-01-01")).days + 1
    assert f"tenants' dates span {span:,} days, more than 3× the longest tenant (150)" in msg
    assert "old (1900-01-01 to 1900-05-30) and new (2024-01-01 to 2024-05-29)" in msg


def csv_with(column: str, row: int, value: str) -> str:
    df = good_frame(150).astype(str)
    df.loc[row - 1, column] = value
    return df.to_csv(index=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (csv_with("spend_meta", 3, "inf"), "column 'spend_meta', row 3 (date 2024-01-03): non-finite value 'inf'"),
        (csv_with("revenue", 4, "-inf"), "column 'revenue', row 4 (date 2024-01-04): non-finite value '-inf'"),
        (csv_with("revenue", 5, "Infinity"), "column 'revenue', row 5 (date 2024-01-05): non-finite value 'Infinity'"),
        (csv_with("spend_google", 6, "1e300"),
         "column 'spend_google', row 6 (date 2024-01-06): impossible values above 1e+12 (e.g. 1e+300)"),
        (csv_with("temp_c", 7, "80"), "column 'temp_c', row 7 (date 2024-01-07): impossible values above 60 °C (e.g. 80)"),
        (csv_with("temp_c", 8, "-75"), "column 'temp_c', row 8 (date 2024-01-08): values below -60 °C"),
        (csv_with("precip_mm", 9, "2500"), "column 'precip_mm', row 9 (date 2024-01-09): impossible values above 2000 mm"),
        (good_frame(150).to_csv(index=False, sep=";"), "the header is split by ';', not ',' — wrong separator?"),
        (good_frame(150).to_csv(index=False, sep="\t"), "the header is split by '\\t', not ',' — wrong separator?"),
        (good_frame(150).to_csv(index=False, sep=";", decimal=","), "wrong separator?"),
        ("date,revenue,spend_meta,temp_c,precip_mm\n2024-01-01,1000,5,0,12,3\n", "row 1: 6 fields where the header has 5"),
        (good_frame(150).to_csv(index=False).replace("spend_google", "spend_meta", 1),
         "column 'spend_meta': column appears 2 times in the header"),
        (good_frame(150).to_csv(index=False).replace("spend_google", "spend_", 1), "column 'spend_': empty channel name"),
        (good_frame(150).to_csv(index=False).replace("spend_google", "", 1), "column 4 has no name"),
        (good_frame(150).to_csv(index=False).replace("spend_google", "spend_date", 1),
         "column 'spend_date': channel name 'date' is reserved: plan tables have a column of that name — name the channel otherwise, e.g. 'date_ads'"),
        (good_frame(150).to_csv(index=False).replace("spend_google", "spend_tenant_id", 1), "channel name 'tenant_id' is reserved"),
        (good_frame(150).assign(holiday=[0, 2] + [0] * 148).to_csv(index=False),
         "column 'holiday', row 2 (date 2024-01-02): value 2 where 0 or 1 belongs"),
        (good_frame(150).assign(event=[0.5] + [0] * 149).to_csv(index=False), "column 'event', row 1 (date 2024-01-01): value 0.5"),
        (csv_with("date", 2, "01/02/2024"), "column 'date', row 2: not an ISO date: '01/02/2024'"),
        (csv_with("date", 2, "9999-01-02"), "column 'date', row 2: date '9999-01-02' lies outside 1900–2200"),
        (csv_with("date", 2, "2024-01-02T00:00:00+01:00"),
         "column 'date', row 2: a time or time zone where a plain date belongs: '2024-01-02T00:00:00+01:00'"),
    ],
    ids=["inf", "-inf", "Infinity", "1e300", "temp80", "temp-75", "precip", "semicolon", "tab", "decimal-comma",
         "extra-field", "dup-header", "empty-channel", "empty-name", "channel-date", "channel-tenant_id", "holiday-2", "event-half", "us-date", "year-9999", "tz"],
)
def test_strict_reader_one_line_per_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = write_tenant(tmp_path, "t", text)
    with pytest.raises(DataError) as info:
        read_daily(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    assert expected in msg


def test_parquet_timezone_dates_are_refused(tmp_path: Path) -> None:
    df = good_frame(150)
    df["date"] = pd.to_datetime(df["date"]).dt.tz_localize("UTC")
    (tmp_path / "t").mkdir()
    df.to_parquet(tmp_path / "t" / "daily.parquet")
    with pytest.raises(DataError, match="column 'date', row 1: dates carry a time zone"):
        read_daily(tmp_path / "t" / "daily.parquet")


def test_nullable_parquet_blanks_read_as_missing_like_csv_blanks(tmp_path: Path) -> None:
    """pd.NA in a nullable Float64 / Int64 parquet column is a blank cell (was 'non-numeric value <NA>')."""
    df = good_frame(150)
    df["revenue"] = df["revenue"].astype("Float64")
    df.loc[3, "revenue"] = pd.NA
    df["spend_meta"] = df["spend_meta"].round().astype("Int64")
    df.loc[[5, 6], "spend_meta"] = pd.NA
    (tmp_path / "t").mkdir()
    df.to_parquet(tmp_path / "t" / "daily.parquet")
    got = read_daily(tmp_path / "t" / "daily.parquet")
    assert np.flatnonzero(got["revenue"].isna()).tolist() == [3]
    assert np.flatnonzero(got["spend_meta"].isna()).tolist() == [5, 6]
    np.testing.assert_allclose(got["revenue"].dropna(), df["revenue"].drop(index=3).astype(float))


CELLS = st.one_of(
    st.sampled_from(["", "nan", "inf", "-inf", "Infinity", "1e300", "-1", "0", "1", "abc", "1,5", "2024-01-01", '"x"']),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.text(max_size=6),
)
HEADERS = st.lists(st.sampled_from(["date", "revenue", "spend_meta", "spend_", "spend_tv", "temp_c", "precip_mm",
                                    "holiday", "event", "control_x", "", "notes", "spend_meta"]), min_size=1, max_size=7)


@st.composite
def csv_texts(draw) -> str:
    header = draw(HEADERS)
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    n = draw(st.integers(0, 12))
    start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=draw(st.integers(-3, 3)))
    lines = [sep.join(header)]
    for i in range(n):
        cells = []
        for col in header:
            if col == "date" and draw(st.booleans()):
                step = draw(st.sampled_from([1, 1, 7, 2]))
                cells.append(f"{start + pd.Timedelta(days=i * step):%Y-%m-%d}")
            else:
                cells.append(draw(CELLS))
        lines.append(sep.join(cells))
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_texts(), name=st.sampled_from(["daily.csv", "weekly.csv"]))
def test_any_csv_text_loads_or_raises_data_error(tmp_path_factory: pytest.TempPathFactory, text: str, name: str) -> None:
    lake = tmp_path_factory.mktemp("prop")
    write_file(lake, "t", name, text)
    try:
        ds = load_lake(lake)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert ds.attrs["cadence"] == name.split(".")[0]
    assert np.isfinite(ds["spend"].values).all()


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ('{"city": ["Paris"]}', "'city' must be text, found a list"),
        ('{"category": 7}', "'category' must be text, found a number"),
        ('{"latitude": "north"}', "'latitude' must be a number in [-90, 90], found 'north'"),
        ('{"longitude": 200.5}', "'longitude' must be a number in [-180, 180], found 200.5"),
        ('{"latitude": true}', "'latitude' must be a number in [-90, 90], found True"),
    ],
    ids=["list-city", "number-category", "text-latitude", "longitude-out-of-range", "boolean-latitude"],
)
def test_tenant_json_values_of_the_wrong_type_are_refused(tmp_path: Path, meta: str, expected: str) -> None:
    write_tenant(tmp_path, "t", good_frame(150))
    path = write_file(tmp_path, "t", "tenant.json", meta)
    with pytest.raises(DataError) as info:
        load_lake(tmp_path)
    assert str(info.value).startswith(f"{path}: {expected}")


def test_tenant_json_null_and_unknown_keys_are_accepted(tmp_path: Path) -> None:
    write_tenant(tmp_path, "t", good_frame(150))
    write_file(tmp_path, "t", "tenant.json",
               '{"city": null, "sensitivity": null, "latitude": -33.9, "longitude": 151.2, "owner": [1, 2]}')
    ds = load_lake(tmp_path)
    assert ds["city"].values.tolist() == [""]  # null is as good as absent, not the text "None"
    validate_lake(tmp_path)  # a null sensitivity is estimated from the data, not refused as "None"
    assert dataset_sensitivity(ds)["t"]["source"] == "estimated"


def test_rows_of_blank_cells_below_the_data_are_dropped(tmp_path: Path) -> None:
    """A spreadsheet's leftover ",,,,," rows carry nothing: read as the same table, not refused as a date ''."""
    df = good_frame(150)
    path = write_tenant(tmp_path, "t", df)
    clean = read_daily(path)
    path.write_text(path.read_text() + ",,,,,\n , , ,,,\n")
    pd.testing.assert_frame_equal(read_daily(path), clean)


@pytest.mark.parametrize(("cell", "hint"), [
    ("1,234.50", "thousands separator? write 1234.50, not 1,234.50"),
    ("12,5", "decimal comma? write 1234.5, not 1234,5"),
])
def test_a_quoted_number_with_a_comma_gets_the_right_hint(tmp_path: Path, cell: str, hint: str) -> None:
    df = good_frame(150).astype({"revenue": object})
    df.loc[9, "revenue"] = cell
    path = write_tenant(tmp_path, "t", df)
    with pytest.raises(DataError) as e:
        read_daily(path)
    assert "column 'revenue', row 10" in str(e.value) and f"non-numeric value '{cell}'" in str(e.value)
    assert str(e.value).endswith(f"— {hint}" if "thousands" not in hint else f"— {hint} (a decimal comma: 1234.5, not 1234,5)")


@pytest.mark.parametrize(("column", "message"), [
    ("Holiday", "column 'holiday': column not found — found 'Holiday': rename it to 'holiday'"),
    ("Snow_cm", "column 'snow_cm': column not found — found 'Snow_cm': rename it to 'snow_cm'"),
    ("Control_promo", "column 'Control_promo': looks like a control column but is not named control_<name> (lower-case "
                      "'control_') — rename it to 'control_promo'"),
])
def test_an_optional_column_spelt_another_way_is_refused_not_left_out(tmp_path: Path, column: str, message: str) -> None:
    df = good_frame(150)
    df[column] = (np.arange(150) % 30 == 0).astype(float)
    path = write_tenant(tmp_path, "t", df)
    with pytest.raises(DataError) as e:
        read_daily(path)
    assert message in str(e.value)
    df[column] = np.where(df[column] > 0, "Christmas", "")  # text of that name is a merchant's note: left out
    write_tenant(tmp_path, "t", df)
    assert column not in read_daily(path).columns
    for other in ("controller_id", "control group", "control-panel visits"):  # other words, read as unknown columns
        write_tenant(tmp_path, "t", good_frame(150).assign(**{other: 1.0}))
        assert other in read_daily(path).columns


def test_a_tenant_folder_linked_to_a_missing_share_is_named_not_skipped(tmp_path: Path) -> None:
    from bayes_mmm.data.lake import resolve_tenants

    write_tenant(tmp_path, "here", good_frame(150))
    (tmp_path / "ghost").symlink_to(tmp_path / "unmounted" / "ghost")
    with pytest.raises(DataError) as e:
        resolve_tenants(tmp_path, "all")
    assert str(e.value).startswith(f"{tmp_path / 'ghost'}: is a link to {tmp_path / 'unmounted' / 'ghost'}, which does not "
                                   "exist (a share not mounted?)")
    assert resolve_tenants(tmp_path, "here") == ["here"]  # naming the other tenants leaves it alone
