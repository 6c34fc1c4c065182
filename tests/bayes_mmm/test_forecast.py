"""The strict forecast reader (data contract §2) and its coverage check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.forecast import cities_of, forecast_covers, read_forecast

GOOD = "date,temp_c,precip_mm\n2025-01-06,3.5,0\n2025-01-07,-2.0,4.2\n2025-01-08,1.0,0.5\n"
PLAN = pd.date_range("2025-01-06", periods=3)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "forecast.csv"
    path.write_text(text)
    return path


def test_reads_a_tidy_frame(tmp_path: Path) -> None:
    df = read_forecast(write(tmp_path, GOOD))
    assert list(df.columns) == ["date", "temp_c", "precip_mm"]
    assert df["date"].tolist() == list(PLAN)
    np.testing.assert_allclose(df["temp_c"], [3.5, -2.0, 1.0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file is empty"),
        ("date,temp_c,precip_mm\n", "file has a header but no rows"),
        (GOOD.replace("2025-01-07", "01/07/2025"), "column 'date', row 2: not an ISO date: '01/07/2025'"),
        (GOOD.replace("2025-01-07", "2025-01-07T00:00:00Z"), "column 'date', row 2: a time or time zone where a plain date"),
        (GOOD.replace("3.5", "80"), "column 'temp_c', row 1 (date 2025-01-06): impossible values above 60 °C (e.g. 80) — in °F? "
                                    "temperatures are °C here: (°F − 32) × 5/9"),
        (GOOD.replace("4.2", "1e300"), "column 'precip_mm', row 2 (date 2025-01-07): impossible values above 2000 mm"),
        (GOOD.replace("4.2", "inf"), "column 'precip_mm', row 2 (date 2025-01-07): non-finite value 'inf'"),
        (GOOD.replace("4.2", ""), "column 'precip_mm', row 2 (date 2025-01-07): missing values"),
        (GOOD.replace("2025-01-08", "2025-01-07"), "column 'date', rows 2, 3 (dates 2025-01-07, 2025-01-07): duplicate"),
        ("date,tenant_id,temp_c,precip_mm\n2025-01-06,a,1,0\n2025-01-06,,1,0\n2025-01-07, ,2,0\n",
         "column 'tenant_id', rows 2, 3 (dates 2025-01-06, 2025-01-07): blank tenant id"),
        ("date,tenant_id,temp_c,precip_mm\n2025-01-06,a,1,0\n2025-01-06,a,2,0\n",
         "column 'date', rows 1, 2 (dates 2025-01-06, 2025-01-06): duplicate forecast dates for one tenant"),
        ("date,temp_c\n2025-01-06,1\n", "column 'precip_mm': required forecast column is missing"),
        (GOOD.replace(",", ";"), "wrong separator?"),
    ],
    ids=["empty", "header-only", "us-date", "tz", "temp80", "precip1e300", "inf", "blank", "dup", "blank-tenant",
         "dup-tenant", "missing-col", "semicolon"],
)
def test_bad_forecasts_are_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_forecast(path)
    assert str(info.value).startswith(str(path)) and expected in str(info.value)


def test_timezone_aware_dataframe_is_refused() -> None:
    df = pd.DataFrame({"date": pd.date_range("2025-01-06", periods=2, tz="UTC"), "temp_c": [1.0, 2], "precip_mm": [0.0, 0]})
    with pytest.raises(DataError, match="forecast, column 'date', row 1: dates carry a time zone"):
        read_forecast(df)


def test_coverage_names_missing_dates_and_tenants(tmp_path: Path) -> None:
    fc = read_forecast(write(tmp_path, GOOD))
    forecast_covers(fc, PLAN, ["a"])  # covers: no error
    with pytest.raises(DataError, match="forecast lacks 2 of the plan's dates: 2025-01-09, 2025-01-10"):
        forecast_covers(fc, pd.date_range("2025-01-06", periods=5), ["a"])
    per_tenant = read_forecast(write(tmp_path, "date,tenant_id,temp_c,precip_mm\n2025-01-06,a,1,0\n2025-01-07,a,1,0\n"
                                              "2025-01-08,a,1,0\n2025-01-06,b,1,0\n"))
    forecast_covers(per_tenant, PLAN, ["a"])
    with pytest.raises(DataError, match="lacks 2 of the plan's dates for tenant b: 2025-01-07, 2025-01-08"):
        forecast_covers(per_tenant, PLAN, ["a", "b"])
    # a tenant the forecast never names: said so, with the id it probably meant
    with pytest.raises(DataError, match="forecast has no rows for tenant shop_b — did you mean 'Shop_B'"):
        forecast_covers(read_forecast(write(tmp_path, "date,tenant_id,temp_c,precip_mm\n2025-01-06,Shop_B,1,0\n")), PLAN, ["shop_b"])
    with pytest.raises(DataError, match="no rows for tenant c — its tenant_id values are a, b; add rows for c"):
        forecast_covers(per_tenant, PLAN, ["a", "c"])


def test_one_forecast_for_two_cities_is_refused(tmp_path: Path) -> None:
    for tid, city in (("a", "Seattle"), ("b", "Miami"), ("c", "Seattle"), ("d", None)):
        (tmp_path / tid).mkdir()
        meta = {"tenant_id": tid} | ({"city": city} if city else {})
        (tmp_path / tid / "tenant.json").write_text(json.dumps(meta))
    cities = cities_of(tmp_path, ["a", "b", "c", "d"])
    assert cities == {"a": "Seattle", "b": "Miami", "c": "Seattle", "d": ""}
    fc = read_forecast(write(tmp_path, GOOD))
    forecast_covers(fc, PLAN, ["a", "c", "d"], cities)  # one known city
    with pytest.raises(DataError, match=r"one forecast for tenants in 2 cities \(Miami, Seattle\).*add a tenant_id column"):
        forecast_covers(fc, PLAN, ["a", "b"], cities)


CELL = st.one_of(st.sampled_from(["", "nan", "inf", "1e300", "80", "-3", "2025-01-06", "01/02/2025", "a", "2025-01-06T00:00Z"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=5))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["date", "temp_c", "precip_mm", "snow_cm", "tenant_id", "x", ""]), min_size=1,
                       max_size=6),
       rows=st.lists(st.lists(CELL, min_size=6, max_size=6), max_size=6))
def test_any_forecast_text_reads_or_raises_data_error(tmp_path_factory: pytest.TempPathFactory, header, rows) -> None:
    path = tmp_path_factory.mktemp("fc") / "forecast.csv"
    text = ",".join(header) + "\n" + "\n".join(",".join(r[: len(header)]) for r in rows)
    path.write_text(text)
    try:
        df = read_forecast(path)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert np.isfinite(df[["temp_c", "precip_mm"]].to_numpy()).all()
    assert (df["temp_c"].abs() <= 60).all() and (df["precip_mm"] >= 0).all()


def test_a_raw_open_meteo_download_and_a_workbook_are_named_for_what_they_are(tmp_path: Path) -> None:
    raw = write(tmp_path, "latitude,longitude\n47.6,-122.3\n\ntime,temperature_2m_mean (°C),precipitation_sum (mm)\n2025-01-06,5.0,1.0\n")
    with pytest.raises(DataError, match=r"is a raw Open-Meteo download, not a forecast table — convert it with `bayes-mmm import"):
        read_forecast(raw)
    resaved = write(tmp_path, "latitude;longitude\n47,6;-122,3\n\ntime;temperature_2m_mean (°C);precipitation_sum (mm)\n2025-01-06;5,0;1,0\n")
    with pytest.raises(DataError, match=r"is a raw Open-Meteo download"):
        read_forecast(resaved)
    import zipfile

    for name in ("forecast.xlsx", "saved_as.csv"):  # an xlsx under its own name, or renamed to .csv
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
        with pytest.raises(DataError, match=rf"{name}: is a spreadsheet workbook, not a CSV file — save it as CSV \(UTF-8\)"):
            read_forecast(tmp_path / name)


def test_a_tenant_called_na_or_null_keeps_its_id_while_na_weather_is_missing(tmp_path: Path) -> None:
    df = read_forecast(write(tmp_path, "date,temp_c,precip_mm,tenant_id\n2025-01-06,3.5,0,NA\n2025-01-06,2.0,0,null\n"))
    assert sorted(df["tenant_id"]) == ["NA", "null"]
    with pytest.raises(DataError, match=r"column 'temp_c', row 2 \(date 2025-01-06\): missing values"):
        read_forecast(write(tmp_path, "date,temp_c,precip_mm,tenant_id\n2025-01-06,3.5,0,NA\n2025-01-06,NA,0,null\n"))


def test_a_header_in_another_case_is_named_with_its_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"column 'Temp_C': column 'Temp_C' is 'temp_c' in another case — rename it 'temp_c'"):
        read_forecast(write(tmp_path, GOOD.replace("temp_c", "Temp_C")))
    text = "date,temp_c,precip_mm,Tenant_ID\n2025-01-06,3.5,0,north\n2025-01-06,2.0,0,south\n"
    with pytest.raises(DataError, match=r"column 'Tenant_ID' is 'tenant_id' in another case"):
        read_forecast(write(tmp_path, text))


def test_a_forecast_in_kelvin_is_named_as_such_and_one_in_fahrenheit_as_that(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"in kelvin\? temperatures are °C here: K − 273.15"):
        read_forecast(write(tmp_path, "date,temp_c,precip_mm\n2025-01-06,276.6,0\n2025-01-07,271.1,4.2\n"))
    with pytest.raises(DataError, match=r"in °F\? temperatures are °C here"):
        read_forecast(write(tmp_path, "date,temp_c,precip_mm\n2025-01-06,95,0\n2025-01-07,41,4.2\n"))
