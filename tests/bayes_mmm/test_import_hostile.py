"""`bayes-mmm import` on hostile input: every bad export or mapping is one line naming file, column and rows,
exit code 2, nothing written; legitimate amounts keep their exact values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import parse_amounts, read_text
from bayes_mmm.data.importers import assemble, import_tenant, make_spec
from bayes_mmm.data.open_meteo import parse_open_meteo
from bayes_mmm.surfaces.cli import app

DAYS = [f"{d:%Y-%m-%d}" for d in pd.date_range("2024-01-01", periods=10, freq="D")]
OM_HEAD = "latitude,longitude,elevation\n43.66,-70.26,12.0\n\n"


def _files(tmp: Path, sales: str | None = None, ads: str | None = None) -> Path:
    """sales.csv (date, revenue, orders), ads.csv (Day, Cost) over 10 days and a mapping m.toml reading both."""
    (tmp / "sales.csv").write_text(sales or "date,revenue,orders\n" + "".join(f"{d},{100 + i},{i}\n" for i, d in enumerate(DAYS)))
    (tmp / "ads.csv").write_text(ads or "Day,Cost\n" + "".join(f"{d},{10 + i}\n" for i, d in enumerate(DAYS)))
    return _mapping(tmp, "")


def _mapping(tmp: Path, extra: str, revenue: str = 'file = "sales.csv"\namount_column = "revenue"\n') -> Path:
    text = f'tenant_id = "t"\n[revenue]\n{revenue}[channels.ads]\nfile = "ads.csv"\n{extra}'
    (tmp / "m.toml").write_text(text)
    return tmp / "m.toml"


def _cli(tmp: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["import", "--mapping", str(tmp / "m.toml"), "--out", str(tmp / "lake"), *args])
    return res.exit_code, res.output


def _refused(tmp: Path, *fragments: str) -> str:
    """The CLI exits 2 with one line holding every fragment, no traceback and no lake written."""
    code, output = _cli(tmp)
    line = " ".join(output.split())  # the console wraps long lines
    assert code == 2, output
    assert "Traceback" not in output and all(f in line for f in fragments), output
    assert not (tmp / "lake").exists()
    return line


# --- 1. thousands separators ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cells", "decimal", "bad", "hint"),
    [
        (["12,50", "904,64", "81,3"], ".", "rows 1, 2, 3", 'looks like a decimal comma: set decimal = "," in the mapping'),
        (["1,5", "2.00"], ".", "row 1", "looks like a decimal comma"),
        (["1,100.50", "3,5"], ",", "row 1", 'looks like a decimal point: drop decimal = ","'),
        (["1,23,456.00"], ".", "row 1", "groups of three digits, e.g. 1,234,567.89"),
    ],
)
def test_thousands_separator_without_three_digit_groups_is_refused(cells: list[str], decimal: str, bad: str, hint: str) -> None:
    with pytest.raises(DataError) as e:
        parse_amounts(pd.Series(cells), path=Path("shop.csv"), column="Total", decimal=decimal)
    assert str(e.value).startswith(f"shop.csv, column 'Total', {bad}: ") and hint in str(e.value)


def test_legitimate_grouping_keeps_its_value() -> None:
    us = parse_amounts(pd.Series(["1,234,567.89", "$1,234.50", "904.64", "(1,000.00)", "12,345"]), path=Path("x"), column="c")
    assert us.tolist() == [1234567.89, 1234.5, 904.64, -1000.0, 12345.0]
    eu = parse_amounts(pd.Series(["1.234,50 €", "904,64", "1.234.567", "81,3"]), path=Path("x"), column="c", decimal=",")
    assert eu.tolist() == [1234.5, 904.64, 1234567.0, 81.3]


def test_semicolon_export_with_decimal_commas_is_refused_at_import(tmp_path: Path) -> None:
    _files(tmp_path, sales="date;revenue\n" + "".join(f"{d};904,64\n" for d in DAYS))
    _refused(tmp_path, "sales.csv, column 'revenue', rows 1, 2, 3, 4, 5 and 5 more", "'904,64'", "decimal comma")
    _mapping(tmp_path, "", revenue='file = "sales.csv"\namount_column = "revenue"\ndecimal = ","\n')
    assert assemble(make_spec(tmp_path / "m.toml")).daily["revenue"].tolist() == [904.64] * 10


# --- 2. a channel or event never reads the revenue column by default --------------------------------

def test_channel_without_amount_column_never_takes_the_revenue(tmp_path: Path) -> None:
    _files(tmp_path)
    text = (tmp_path / "m.toml").read_text() + '[channels.search]\nfile = "sales.csv"\n'
    (tmp_path / "m.toml").write_text(text)
    _refused(tmp_path, f"[channels.search] in {tmp_path / 'm.toml'}: say which column of sales.csv holds the spend "
             "(amount_column = ...); columns: date, revenue, orders")


def test_channel_reading_another_generic_total_column_must_name_it(tmp_path: Path) -> None:
    _files(tmp_path, ads="date,Total\n" + "".join(f"{d},5\n" for d in DAYS))
    _refused(tmp_path, "[channels.ads] in", "say which column of ads.csv holds the spend", "columns: date, Total")


def test_event_must_name_its_column_and_never_the_revenue(tmp_path: Path) -> None:
    _mapping(_files(tmp_path).parent, '[events.bf]\nfile = "sales.csv"\n')
    _refused(tmp_path, "[events.bf] in", "say which column of sales.csv holds the event")
    _mapping(tmp_path, '[events.bf]\nfile = "sales.csv"\namount_column = "revenue"\n')
    _refused(tmp_path, "[events.bf] in", "reads the revenue amounts ('revenue' of sales.csv) as an event")


def test_a_spend_column_is_read_once(tmp_path: Path) -> None:
    """A control or a second channel on a channel's own spend column would count the same money twice."""
    _mapping(_files(tmp_path).parent, '[controls.cost]\nfile = "ads.csv"\namount_column = "Cost"\n')
    _refused(tmp_path, "[controls.cost] in", "reads [channels.ads]'s spend ('Cost' of ads.csv) as a control")
    _mapping(tmp_path, '[channels.ads2]\nfile = "ads.csv"\n')
    _refused(tmp_path, "[channels.ads2] in", "reads [channels.ads]'s spend ('Cost' of ads.csv) as spend")
    _mapping(tmp_path, '[controls.orders]\nfile = "sales.csv"\namount_column = "orders"\n'
                       '[events.busy]\nfile = "sales.csv"\namount_column = "orders"\n')
    assert _cli(tmp_path)[0] == 0  # another column of the same file is fine, and an event may share a control's


# --- 3. impossible values name the source file -----------------------------------------------------

@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ("1e999", "row 3: amount too large to be a number: '1e999'"),
        ("-50", "row 3: negative total for the day (-50 on 2024-01-03)"),
        ("2000000000000", "row 3: the day's total lies beyond ±1e+12 (2e+12 on 2024-01-03)"),
        ("1e300", "row 3: the day's total lies beyond ±1e+12 (1e+300 on 2024-01-03)"),
    ],
)
def test_revenue_that_is_not_finite_or_negative_is_refused(tmp_path: Path, cell: str, fragment: str) -> None:
    rows = "".join(f"{d},{cell if i == 2 else 100}\n" for i, d in enumerate(DAYS))
    _files(tmp_path, sales="date,revenue\n" + rows)
    _refused(tmp_path, f"{tmp_path / 'sales.csv'}, column 'revenue', {fragment}")


def test_accounting_negative_spend_is_refused_but_a_refund_within_a_day_is_not(tmp_path: Path) -> None:
    _files(tmp_path, ads="Day,Cost\n" + "".join(f"{d},{'(5.00)' if i == 4 else 10}\n" for i, d in enumerate(DAYS)))
    _refused(tmp_path, "ads.csv, column 'Cost', row 5: negative total for the day (-5 on 2024-01-05)")
    refund = "".join(f"{d},{100 if i else '(30.00)'}\n" for i, d in enumerate(DAYS)) + f"{DAYS[0]},100\n"
    _files(tmp_path, sales="date,revenue\n" + refund)
    assert assemble(make_spec(tmp_path / "m.toml")).daily["revenue"].tolist() == [70.0] + [100.0] * 9


@pytest.mark.parametrize(
    ("temp", "precip", "fragment"),
    [
        ("500", "1", "column 'temperature_2m_mean (°C)', row 2: impossible value '500' (plausible daily values: -90 to 60 °C)"),
        ("5", "3000", "column 'precipitation_sum (mm)', row 2: impossible value '3000' (plausible daily values: 0 to 2000 mm)"),
    ],
)
def test_impossible_weather_is_refused_naming_the_download(tmp_path: Path, temp: str, precip: str, fragment: str) -> None:
    _files(tmp_path)
    rows = "".join(f"{d},{temp if i == 1 else 3},{precip if i == 1 else 0}\n" for i, d in enumerate(DAYS))
    (tmp_path / "om.csv").write_text(OM_HEAD + "time,temperature_2m_mean (°C),precipitation_sum (mm)\n" + rows)
    (tmp_path / "m.toml").write_text((tmp_path / "m.toml").read_text() + '[weather]\nhistory = "om.csv"\n')
    _refused(tmp_path, f"{tmp_path / 'om.csv'}, {fragment}")


def test_fahrenheit_in_range_is_kept() -> None:
    w = parse_open_meteo(OM_HEAD + "time,temperature_2m_mean (°F),precipitation_sum (mm)\n2024-01-01,122.0,1\n", "om.csv")
    assert w["temp_c"].tolist() == pytest.approx([50.0])


# --- 4. --force keeps the files import does not write --------------------------------------------

def test_force_replaces_only_what_import_writes(tmp_path: Path) -> None:
    spec = make_spec(_files(tmp_path))
    folder = tmp_path / "lake" / "t"
    folder.mkdir(parents=True)
    for name, text in (("lift_tests.csv", "l"), ("notes.md", "n"), ("truth.json", "{}"), ("daily.parquet", "stale"),
                       ("tenant.json", "{}"), ("forecast.csv", "old")):
        (folder / name).write_text(text)
    (folder / "sub").mkdir()
    (folder / "sub" / "a.txt").write_text("a")
    with pytest.raises(FileExistsError):
        import_tenant(spec, tmp_path / "lake")
    import_tenant(spec, tmp_path / "lake", force=True)
    kept = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert {k: v for k, v in kept.items() if k not in ("daily.csv", "tenant.json")} == {
        "lift_tests.csv": "l", "notes.md": "n", "truth.json": "{}", "sub/a.txt": "a"}
    assert json.loads(kept["tenant.json"]) == {"tenant_id": "t"}
    assert pd.read_csv(folder / "daily.csv")["revenue"].tolist() == [100.0 + i for i in range(10)]


# --- 5. mapping values of the wrong type ------------------------------------------------------------

BASE = 'tenant_id = "t"\n[revenue]\nfile = "sales.csv"\namount_column = "revenue"\n'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (BASE.replace('"t"', "5"), "tenant_id must be a string, not 5"),
        (BASE + "date_format = 5\n", "[revenue] date_format must be a string, not 5"),
        (BASE + "ignore_columns = 5\n", "[revenue] ignore_columns must be a list of strings, not 5"),
        (BASE + 'ignore_columns = "Cost"\n', "[revenue] ignore_columns must be a list of strings, not 'Cost'"),
        (BASE + 'platform = ["meta"]\n', "[revenue] platform must be a string, not ['meta']"),
        (BASE + "[weather]\nhistory = 3\n", "[weather] history must be a string, not 3"),
        (BASE + '[weather]\nforecast = ["x.csv"]\n', "[weather] forecast must be a string, not ['x.csv']"),
        (BASE + "[tenant]\nname = 2024-01-01\n",
         "[tenant] name must be a string, not the TOML date/time 2024-01-01 (put it in quotes)"),
        (BASE + "[tenant]\ncity = 12:00:00\n", "[tenant] city must be a string, not the TOML date/time 12:00:00"),
        (BASE + '[tenant]\nlatitude = "43"\n', "[tenant] latitude must be a number, not '43'"),
        (BASE + '[channels.ads]\nfile = "ads.csv"\nplatform = ["meta"]\n',
         "[channels.ads] platform must be a string, not ['meta']"),
    ],
    ids=["tenant_id", "date_format", "ignore_int", "ignore_str", "platform", "history", "forecast", "date", "time",
         "latitude", "channel_platform"],
)
def test_mapping_values_of_the_wrong_type(tmp_path: Path, text: str, fragment: str) -> None:
    _files(tmp_path)
    if "[channels." not in text:
        text += '[channels.ads]\nfile = "ads.csv"\n'
    (tmp_path / "m.toml").write_text(text)
    _refused(tmp_path, f"{tmp_path / 'm.toml'}: {fragment}")


# --- 6. spend-like columns in the revenue export -------------------------------------------------

@pytest.mark.parametrize("column", ["facebook_cost", "tv_costs", "Media spend (USD)", "Marketing Spend (EUR)", "cost_x"])
def test_spend_like_revenue_columns_are_never_dropped_silently(tmp_path: Path, column: str) -> None:
    _files(tmp_path, sales=f"date,revenue,{column}\n" + "".join(f"{d},100,3\n" for d in DAYS))
    _refused(tmp_path, f"column '{column}': looks like media spend but is not mapped to a channel")


def test_ordinary_revenue_columns_are_not_spend(tmp_path: Path) -> None:
    cols = ["orders", "sessions", "cost_center_id", "Cost per result", "Costa Rica sales"]
    _files(tmp_path, sales=f"date,revenue,{','.join(cols)}\n" + "".join(f"{d},100,1,2,3,4,5\n" for d in DAYS))
    assert assemble(make_spec(tmp_path / "m.toml")).daily["revenue"].tolist() == [100.0] * 10


# --- 7. weekly rows with one on another weekday ---------------------------------------------------

def test_weekly_rows_with_one_off_weekday_name_that_row(tmp_path: Path) -> None:
    _files(tmp_path, sales="date,revenue\n2024-01-01,5\n2024-01-08,5\n2024-01-16,5\n2024-01-22,5\n")
    line = _refused(tmp_path, f"{tmp_path / 'sales.csv'}, column 'date': rows look weekly (Mondays) but row 3 "
                    "(2024-01-16) is a Tuesday")
    assert "--missing-revenue" not in line


# --- 8. encodings -----------------------------------------------------------------------------------

def test_mapping_with_bom_is_read_and_latin1_is_named(tmp_path: Path) -> None:
    m = _files(tmp_path)
    m.write_bytes(b"\xef\xbb\xbf" + m.read_bytes())
    assert assemble(make_spec(m)).tenant_id == "t"
    m.write_bytes(m.read_bytes()[3:].replace(b'tenant_id = "t"', b'tenant_id = "t"\n[tenant]\nname = "Caf\xe9"'))
    _refused(tmp_path, f"{m}: not UTF-8 text (byte 0xe9 at position", "save the mapping as UTF-8")


def test_cp1252_euro_sign_is_read(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes("date;Total\n2024-01-01;904,64 €\n".encode("cp1252"))
    assert read_text(f).splitlines()[1] == "2024-01-01;904,64 €"
    _files(tmp_path)
    (tmp_path / "sales.csv").write_bytes(("date;revenue\n" + "".join(f"{d};1.904,64 €\n" for d in DAYS)).encode("cp1252"))
    _mapping(tmp_path, "", revenue='file = "sales.csv"\namount_column = "revenue"\ndecimal = ","\n')
    assert assemble(make_spec(tmp_path / "m.toml")).daily["revenue"].tolist() == [1904.64] * 10


# --- 9. events dated outside the range are noted ------------------------------------------------------

def test_event_rows_outside_the_range_are_noted(tmp_path: Path) -> None:
    _files(tmp_path)
    (tmp_path / "promo.csv").write_text("date,discount\n2023-11-24,1\n2024-01-03,1\n2024-02-01,1\n")
    _mapping(tmp_path, '[events.bf]\nfile = "promo.csv"\namount_column = "discount"\n')
    imp = assemble(make_spec(tmp_path / "m.toml"))
    assert np.flatnonzero(imp.daily["event"].to_numpy()).tolist() == [2]
    assert "event bf: 2 day(s) dated outside the revenue's periods dropped" in imp.notes


@pytest.mark.parametrize(
    ("tenant", "fragment"),
    [
        ("latitude = 143.6", "'latitude' must be a number in [-90, 90], found 143.6"),
        ("latitude = nan", "'latitude' must be a number in [-90, 90], found nan"),
        ('sensitivity = "bogus"', "sensitivity 'bogus' is not one of extreme, high, medium, none"),
        ("extra = 1", "unknown tenant key 'extra' in [tenant]"),
    ],
)
def test_tenant_values_validate_would_refuse_are_refused_by_import(tmp_path: Path, tenant: str, fragment: str) -> None:
    """import never writes a tenant.json that validate and fit then refuse (it wrote latitude 143.6, even NaN)."""
    _mapping(_files(tmp_path).parent, f"[tenant]\n{tenant}\n")
    line = _refused(tmp_path, fragment)
    assert line.startswith(f"error: {tmp_path / 'm.toml'}")


def test_a_channel_named_like_a_plan_tables_column_is_refused(tmp_path: Path) -> None:
    """A channel 'date' or 'tenant_id' would overwrite those columns of every plan CSV made from the lake."""
    _files(tmp_path)
    (tmp_path / "m.toml").write_text((tmp_path / "m.toml").read_text().replace("[channels.ads]", "[channels.tenant_id]"))
    _refused(tmp_path, "channel name 'tenant_id' is reserved: plan tables have a column of that name", "'tenant_id_ads'")


def test_an_export_dated_outside_1900_to_2200_is_refused_at_its_row(tmp_path: Path) -> None:
    """9999-12-31 would build millions of empty days into a lake every command then refuses."""
    rows = "".join(f"{'9999-12-31' if i == 3 else d},{100 + i}\n" for i, d in enumerate(DAYS))
    _files(tmp_path, sales="date,revenue\n" + rows)
    _refused(tmp_path, f"{tmp_path / 'sales.csv'}, column 'date', row 4: date '9999-12-31' lies outside 1900–2200")


def test_orders_whose_day_adds_up_beyond_1e12_are_refused_at_their_rows(tmp_path: Path) -> None:
    """Each order below the bound, their day above it: the lake would refuse the day's total."""
    rows = "".join(f"{d},{100 + i}\n" for i, d in enumerate(DAYS)) + f"{DAYS[2]},900000000000\n{DAYS[2]},900000000000\n"
    _files(tmp_path, sales="date,revenue\n" + rows)
    _refused(tmp_path, "column 'revenue', rows 3, 11, 12: the day's total lies beyond ±1e+12")
