"""Importers: every export quirk parsed to exact numbers, the imported tenant validates and loads."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import find_table, parse_amounts, parse_dates
from bayes_mmm.data.importers import assemble, import_tenant, make_spec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.data.open_meteo import parse_open_meteo, read_open_meteo
from bayes_mmm.data.platforms import Source, read_source
from bayes_mmm.data.validate import failed, validate_lake
from bayes_mmm.surfaces.cli import app

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
MAPPING = EXPORTS / "mapping.toml"
OM_HEAD = "latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation\n43.66,-70.26,12.0,-18000,America/New_York,EST\n\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- single quirks, exact numbers -------------------------------------------------------------

def test_amounts_with_currency_thousands_refunds_and_blanks() -> None:
    cells = pd.Series(["$1,234.50", "US$ 2,000", "1 234,5 €", "(12.00)", "--", "", "EUR 7.25", "-$3.10"])
    got = parse_amounts(cells.drop(2), path=Path("x.csv"), column="Total")
    np.testing.assert_array_equal(got[[0, 1, 2, 5, 6]], [1234.5, 2000.0, -12.0, 7.25, -3.1])
    assert np.isnan(got[3]) and np.isnan(got[4])
    assert parse_amounts(pd.Series(["1.234,50 €", "1 234,5 €"]), path=Path("x"), column="c", decimal=",").tolist() == [1234.5, 1234.5]


def test_amount_that_is_not_a_number_names_file_column_rows() -> None:
    with pytest.raises(DataError) as e:
        parse_amounts(pd.Series(["12", "n/a", "3", "nan"]), path=Path("orders.csv"), column="Total")
    assert str(e.value).startswith("orders.csv, column 'Total', rows 2, 4: not an amount: 'n/a'")


def test_dates_from_timestamps_and_other_formats() -> None:
    stamps = pd.Series(["2024-01-03 23:59:10 -0500", "2024-01-04T00:10:00Z"])
    assert list(parse_dates(stamps, path=Path("x"), column="d").strftime("%Y-%m-%d")) == ["2024-01-03", "2024-01-04"]
    us = pd.Series(["01/31/2024", "02/01/2024"])
    assert list(parse_dates(us, path=Path("x"), column="d").strftime("%Y-%m-%d")) == ["2024-01-31", "2024-02-01"]
    with pytest.raises(DataError, match="ambiguous dates: both %m/%d/%Y and %d/%m/%Y"):
        parse_dates(pd.Series(["01/02/2024", "03/04/2024"]), path=Path("x"), column="d")
    eu = parse_dates(pd.Series(["01/02/2024"]), path=Path("x"), column="d", date_format="%d/%m/%Y")
    assert eu[0] == pd.Timestamp("2024-02-01")


def test_google_ads_title_lines_thousands_and_total_footer() -> None:
    sums, table, column, _ = read_source(Source(EXPORTS / "google_ads.csv"))
    assert (table.header_line, column) == (2, "Cost")
    assert sums.loc["2024-01-01"] == 1061.85 and sums.loc["2024-04-30"] == 1369.47
    assert len(sums) == 121  # the "Total: Account" row is dropped
    assert round(sums.sum(), 2) == 144826.54  # equals the export's own footer total


def test_meta_campaign_rows_summed_per_day() -> None:
    sums, _, column, _ = read_source(Source(EXPORTS / "meta_ads.csv"))
    assert column == "Amount spent (USD)"
    assert sums.loc["2024-01-01"] == pytest.approx(211.88 + 62.64)
    raw = pd.read_csv(EXPORTS / "meta_ads.csv")
    assert sums.sum() == pytest.approx(raw["Amount spent (USD)"].sum())


def test_meta_export_without_daily_breakdown_is_refused(tmp_path: Path) -> None:
    f = write(tmp_path / "meta.csv", "Reporting starts,Reporting ends,Campaign name,Amount spent (EUR)\n"
              "2024-01-01,2024-01-01,A,10\n2024-01-01,2024-01-31,B,300\n")
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert "column 'Reporting ends', row 2: rows cover more than one day — export with Breakdown" in str(e.value)


def test_tiktok_and_generic_counts_times_cost_per_send() -> None:
    sums, _, column, _ = read_source(Source(EXPORTS / "tiktok_ads.csv"))
    assert (column, sums.index[0], sums.iloc[0]) == ("Total Cost", pd.Timestamp("2024-02-01"), 95.19)
    email, _, column, _ = read_source(Source(EXPORTS / "klaviyo_campaigns.csv", date_column="Send Time", multiplier=0.002))
    assert column == "Total Recipients"
    assert email.loc["2024-01-02"] == pytest.approx(9186 * 0.002)


def test_shopify_line_items_count_once_per_order() -> None:
    sums, _, _, _ = read_source(Source(EXPORTS / "shopify_orders.csv", amount_column="Total"))
    raw = pd.read_csv(EXPORTS / "shopify_orders.csv")
    first_day = raw[raw["Created at"].str.startswith("2024-01-01")].drop_duplicates("Name")
    assert sums.loc["2024-01-01"] == pytest.approx(first_day["Total"].sum())


def test_utf16_tab_separated_export(tmp_path: Path) -> None:
    f = tmp_path / "gads.csv"
    f.write_bytes("Report\n\nDay\tCost\n2024-01-01\t1,234.50\nTotal\t1,234.50\n".encode("utf-16"))
    sums, _, _, _ = read_source(Source(f))
    assert sums.to_dict() == {pd.Timestamp("2024-01-01"): 1234.5}


def test_column_names_match_in_any_case(tmp_path: Path) -> None:
    """Robyn's demo data says "DATE"; an export may say "SPEND": both are found and read."""
    f = write(tmp_path / "wide.csv", "DATE,SPEND,revenue\n2024-01-01,12.5,100\n2024-01-02,7,90\n")
    sums, _, amount, date = read_source(Source(f), role="spend")
    assert (date, amount) == ("DATE", "SPEND")
    assert sums.to_dict() == {pd.Timestamp("2024-01-01"): 12.5, pd.Timestamp("2024-01-02"): 7.0}


def test_a_match_in_another_case_never_beats_an_exact_one_nor_a_safety_check(tmp_path: Path) -> None:
    # An exact "Revenue" wins over a lower-case "total"; a title line "Report,Time" is not the header.
    f = write(tmp_path / "a.csv", "Report,Time\nDate,total,Revenue\n2024-01-01,5,100\n")
    sums, table, amount, _ = read_source(Source(f), role="revenue")
    assert (amount, table.header_line, sums.iloc[0]) == ("Revenue", 1, 100.0)
    # An order repeated on two rows is refused in upper case too.
    f = write(tmp_path / "b.csv", "ORDER ID,DATE,TOTAL\n1,2024-01-01,100\n1,2024-01-01,100\n2,2024-01-02,50\n")
    with pytest.raises(DataError, match="appear again"):
        read_source(Source(f), role="revenue")
    f = write(tmp_path / "shopify.csv", "NAME,FINANCIAL STATUS,TOTAL,CREATED AT,LINEITEM NAME\n"
                                        "#1001,paid,100,2024-01-01,mug\n#1001,paid,100,2024-01-01,plate\n")
    with pytest.raises(DataError, match="appear again"):  # Shopify's order "Name" in upper case too
        read_source(Source(f), role="revenue")
    # Two columns that differ only in case, neither exact: which one is meant is asked, not guessed.
    f = write(tmp_path / "c.csv", "Day,COST,cost\n2024-01-01,5,7\n")
    with pytest.raises(DataError, match="columns 'COST', 'cost' differ only in case"):
        read_source(Source(f), role="spend")


def test_header_not_found(tmp_path: Path) -> None:
    f = write(tmp_path / "x.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match="no header line with 'When' in the first 50 lines"):
        find_table(f, ["When"])


# --- Open-Meteo -------------------------------------------------------------------------------

def test_open_meteo_history_columns_and_location() -> None:
    w = read_open_meteo(EXPORTS / "open_meteo_history.csv")
    assert list(w.columns) == ["temp_c", "precip_mm", "snow_cm"]
    assert (w.index[0], w.index[-1], len(w)) == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30"), 121)
    assert w.iloc[0].tolist() == [-4.7, 6.2, 4.34]
    assert w.attrs == {"latitude": 43.66, "longitude": -70.26, "elevation": 12.0}


def test_open_meteo_saved_again_with_semicolons_and_decimal_commas_reads_the_same() -> None:
    """A spreadsheet in a decimal-comma locale saves the download with ';' between cells and '12,5'."""
    text = (EXPORTS / "open_meteo_history.csv").read_text()
    lines = [line.replace(",", ";") for line in text.splitlines()]
    resaved = "\n".join(re.sub(r"(\d)\.(\d)", r"\1,\2", line) for line in lines) + "\n"
    assert ";" in resaved and "-4,7" in resaved
    w = parse_open_meteo(resaved, "om.csv")
    pd.testing.assert_frame_equal(w, read_open_meteo(EXPORTS / "open_meteo_history.csv"))
    assert w.attrs == {"latitude": 43.66, "longitude": -70.26, "elevation": 12.0}


def test_open_meteo_fahrenheit_and_inches_converted() -> None:
    text = OM_HEAD + "time,temperature_2m_mean (°F),precipitation_sum (inch),snowfall_sum (inch)\n2024-01-01,50.0,1.0,2.0\n2024-01-02,,0,0\n"
    w = parse_open_meteo(text)
    assert w.iloc[0].tolist() == pytest.approx([10.0, 25.4, 5.08])
    assert np.isnan(w.iloc[1]["temp_c"])  # an empty cell stays missing


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("time,precipitation_sum (mm)\n2024-01-01,1\n", "column 'temperature_2m_mean': required daily variable is missing"),
        ("time,temperature_2m_mean (K),precipitation_sum (mm)\n2024-01-01,1,1\n", "unknown unit 'K'"),
        ("time,temperature_2m_mean (°C),precipitation_sum (mm)\n2024-01-01T00:00,1,1\n", "hourly rows"),
        ("time,temperature_2m_mean (°C),precipitation_sum (mm)\n2024-01-01,1,-2\n", "column 'precipitation_sum (mm)', row 1: negative amounts"),
        ("time,temperature_2m_mean (°C),precipitation_sum (mm)\n2024-01-01,x,1\n", "row 1: not a number: 'x'"),
        ("time,temperature_2m_mean (°C),precipitation_sum (mm)\n2024-01-01,1,1\n2024-01-01,1,1\n", "rows 1, 2: duplicated dates"),
        ("", "no 'time,...' header line"),
    ],
)
def test_open_meteo_bad_files(body: str, fragment: str) -> None:
    with pytest.raises(DataError) as e:
        parse_open_meteo(OM_HEAD + body, "om.csv")
    assert fragment in str(e.value) and str(e.value).startswith("om.csv")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("time,temperature_2m_mean (°C)precipitation_sum (mm)0123456789-.\n eT:x")), max_size=200))
def test_open_meteo_any_text_is_tidy_or_data_error(text: str) -> None:
    try:
        w = parse_open_meteo(text)
    except DataError:
        return
    assert {"temp_c", "precip_mm"} <= set(w.columns)
    assert w.index.is_monotonic_increasing and w.index.is_unique
    assert ((w["precip_mm"] >= 0) | w["precip_mm"].isna()).all()


# --- the whole import -------------------------------------------------------------------------

def test_a_control_column_is_imported_per_period_and_loads(tmp_path: Path) -> None:
    """[controls.NAME] (Robyn's competitor sales): summed into the revenue export's periods as control_NAME."""
    days = pd.date_range("2024-01-01", periods=130, freq="D")
    rng = np.random.default_rng(0)
    comp = rng.uniform(50, 150, len(days)).round(2)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "revenue": rng.uniform(900, 1100, len(days)).round(2),
                  "cost": rng.uniform(10, 90, len(days)).round(2), "competitor": comp}).to_csv(tmp_path / "shop.csv", index=False)
    (tmp_path / "m.toml").write_text(
        'tenant_id = "shop"\n[revenue]\nfile = "shop.csv"\namount_column = "revenue"\n'
        '[channels.search]\nfile = "shop.csv"\namount_column = "cost"\n'
        '[controls.competitor]\nfile = "shop.csv"\namount_column = "competitor"\n')
    imported = import_tenant(make_spec(tmp_path / "m.toml"), tmp_path / "lake")
    np.testing.assert_allclose(imported.daily["control_competitor"].to_numpy(), comp)
    ds = load_lake(tmp_path / "lake")
    assert ds["control"].values.tolist() == ["competitor"]
    np.testing.assert_allclose(ds["controls"].values[0, :, 0], comp)


def test_a_spend_column_named_in_another_case_counts_as_mapped(tmp_path: Path) -> None:
    days = pd.date_range("2024-01-01", periods=130, freq="D").strftime("%Y-%m-%d")
    pd.DataFrame({"date": days, "revenue": 1000.0, "SPEND_TV": 40.0}).to_csv(tmp_path / "all.csv", index=False)
    (tmp_path / "m.toml").write_text('tenant_id = "shop"\n[revenue]\nfile = "all.csv"\namount_column = "revenue"\n'
                                     '[channels.tv]\nfile = "all.csv"\namount_column = "spend_tv"\n')
    assert (assemble(make_spec(tmp_path / "m.toml")).daily["spend_tv"] == 40.0).all()


def test_a_control_is_a_level_blanks_and_missing_days_are_missing_not_zero(tmp_path: Path) -> None:
    """A control is averaged over a period's days with a value; a blank cell or a day without a row is missing."""
    days = pd.date_range("2024-01-01", periods=140, freq="D")
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "revenue": 1000.0, "cost": 50.0}).to_csv(tmp_path / "shop.csv", index=False)
    price = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "price": np.linspace(10, 20, len(days)).round(3)})
    price.loc[5, "price"] = np.nan  # a blank cell
    price.drop(index=range(100, 140)).to_csv(tmp_path / "price.csv", index=False)  # the file stops 40 days early
    (tmp_path / "m.toml").write_text(
        'tenant_id = "shop"\n[revenue]\nfile = "shop.csv"\namount_column = "revenue"\n'
        '[channels.search]\nfile = "shop.csv"\namount_column = "cost"\n'
        '[controls.price]\nfile = "price.csv"\namount_column = "price"\n')
    got = assemble(make_spec(tmp_path / "m.toml")).daily["control_price"]
    assert got.iloc[5] != got.iloc[5] and got.iloc[100:].isna().all()  # missing, never 0
    np.testing.assert_allclose(got.iloc[:5], price["price"].iloc[:5])


def test_imported_tenant_validates_and_loads(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    imported = import_tenant(make_spec(MAPPING), lake)
    assert validate_lake(lake).pipe(failed).empty
    ds = load_lake(lake)
    assert list(ds.channel.values) == ["meta", "google", "tiktok", "email"]
    assert ds.sizes["date"] == 121
    spend = ds["spend"].sel(tenant="harbor-home")
    assert float(spend.sel(channel="google", date="2024-01-01")) == 1061.85
    assert float(spend.sel(channel="tiktok", date="2024-01-31")) == 0.0  # before TikTok started
    assert float(spend.sel(channel="email", date="2024-01-03")) == 0.0  # no newsletter that day
    meta = json.loads((lake / "harbor-home" / "tenant.json").read_text())
    assert meta == {"tenant_id": "harbor-home", "name": "Harbor Home", "city": "Portland, ME", "category": "home",
                    "currency": "USD", "latitude": 43.66, "longitude": -70.26}
    fc = pd.read_csv(lake / "harbor-home" / "forecast.csv")
    assert list(fc.columns) == ["date", "temp_c", "precip_mm", "snow_cm"]
    assert (fc["date"].iloc[0], len(fc)) == ("2024-05-01", 7)  # the download's past days are dropped
    assert imported.notes == []


def _copy_exports(tmp_path: Path) -> Path:
    d = tmp_path / "exports"
    shutil.copytree(EXPORTS, d)
    return d


def test_missing_revenue_days_error_or_explicit_option(tmp_path: Path) -> None:
    d = _copy_exports(tmp_path)
    orders = pd.read_csv(d / "shopify_orders.csv", dtype=str, keep_default_na=False)
    orders[~orders["Created at"].str.startswith(("2024-02-10", "2024-02-11"))].to_csv(d / "shopify_orders.csv", index=False)
    with pytest.raises(DataError) as e:
        assemble(make_spec(d / "mapping.toml"))
    assert "column 'Total': 2 day(s) without rows between 2024-01-01 and 2024-04-30, first 2024-02-10" in str(e.value)
    zero = assemble(make_spec(d / "mapping.toml", missing_revenue="zero"))
    assert zero.daily.set_index("date").loc[["2024-02-10", "2024-02-11"], "revenue"].tolist() == [0.0, 0.0]
    empty = assemble(make_spec(d / "mapping.toml", missing_revenue="empty"))
    assert empty.daily["revenue"].isna().sum() == 2
    assert empty.notes == ["revenue: 2 day(s) without rows set to empty"]


def test_spend_like_column_in_revenue_export_is_an_error(tmp_path: Path) -> None:
    sales = "date,revenue,Spend_Email\n" + "".join(f"2024-01-{d:02d},{100 + d},{d}\n" for d in range(1, 11))
    f = write(tmp_path / "sales.csv", sales)
    meta = EXPORTS / "meta_ads.csv"
    with pytest.raises(DataError) as e:
        assemble(make_spec(tenant_id="s", revenue=f, channels={"meta": meta}))
    assert "column 'Spend_Email': looks like media spend but is not mapped to a channel" in str(e.value)
    ok = assemble(make_spec(tenant_id="s", revenue=f, channels={"meta": meta, "email": f}))
    assert ok.daily["spend_email"].tolist() == list(map(float, range(1, 11)))
    rows = pd.read_csv(meta)
    outside = rows.loc[~rows["Reporting starts"].between("2024-01-01", "2024-01-10"), "Amount spent (USD)"].sum()
    assert ok.notes == [f"meta: 111 day(s) ({outside:,.2f} of spend) dated outside the revenue's periods dropped",
                        "no weather export: the tenant is modelled without weather terms"]


def test_weather_that_does_not_cover_the_range(tmp_path: Path) -> None:
    d = _copy_exports(tmp_path)
    lines = (d / "open_meteo_history.csv").read_text().splitlines()
    (d / "open_meteo_history.csv").write_text("\n".join(lines[:-5]) + "\n")
    with pytest.raises(DataError, match="weather does not cover 5 day"):
        assemble(make_spec(d / "mapping.toml"))


def test_mapping_typos_are_errors(tmp_path: Path) -> None:
    text = MAPPING.read_text().replace("amount_column = \"Total\"", "amount_colum = \"Total\"")
    m = write(tmp_path / "m.toml", text)
    with pytest.raises(DataError, match="unknown key 'amount_colum' in \\[revenue\\]"):
        make_spec(m)


def test_cli_import_refuses_overwrite_without_force(tmp_path: Path) -> None:
    runner = CliRunner()
    lake = tmp_path / "lake"
    args = ["import", "--mapping", str(MAPPING), "--out", str(lake)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "imported harbor-home: 121 days (2024-01-01 to 2024-04-30)" in res.output
    before = (lake / "harbor-home" / "daily.csv").read_text()
    res = runner.invoke(app, [*args, "--tenant", "harbor-home", "--cost-per", "email=0.004"])
    assert res.exit_code == 2 and "exists; pass --force" in res.output
    res = runner.invoke(app, [*args, "--cost-per", "email=0.004", "--force"])
    assert res.exit_code == 0, res.output
    after = pd.read_csv(lake / "harbor-home" / "daily.csv")
    assert after["spend_email"].sum() == pytest.approx(2 * pd.read_csv(pd.io.common.StringIO(before))["spend_email"].sum())
    res = runner.invoke(app, ["validate", "--data", str(lake)])
    assert res.exit_code == 0 and "all gates pass for 1 tenants" in res.output
    res = runner.invoke(app, ["import", "--out", str(lake), "--tenant", "x", "--channel", "meta"])
    assert res.exit_code == 2 and "--channel expects NAME=VALUE, got 'meta'" in res.output


def test_a_channel_named_twice_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """A dict kept the last --channel meta=…: the first export was dropped and meta read Google's cost."""
    d = MAPPING.parent
    res = CliRunner().invoke(app, ["import", "--out", str(tmp_path / "lake"), "--tenant", "x", "--revenue", str(d / "shopify_orders.csv"),
                                   "--channel", f"meta={d / 'meta_ads.csv'}", "--channel", f"meta={d / 'google_ads.csv'}"])
    assert res.exit_code == 2
    assert f"error: --channel names 'meta' twice ({d / 'meta_ads.csv'} and {d / 'google_ads.csv'}) — give each its own name" in res.output
    assert not (tmp_path / "lake").exists()


# --- daily exports summed into weeks (--weeks) ------------------------------------------------

def test_weeks_sum_the_daily_import_into_whole_weeks(tmp_path: Path) -> None:
    daily = assemble(make_spec(MAPPING)).daily.assign(date=lambda d: pd.to_datetime(d["date"]))
    weekly = assemble(make_spec(MAPPING, weeks="Wednesday"))
    assert weekly.cadence == "weekly"
    got = weekly.daily.assign(date=lambda d: pd.to_datetime(d["date"]))
    # Independently: the daily lake's whole Wednesday-to-Tuesday weeks, by pandas' own week grouping.
    whole = daily.set_index("date").resample("W-TUE", label="left", closed="right")
    sums, counts, means = whole.sum(), whole.size(), whole.mean()
    sums.index = sums.index + pd.Timedelta(days=1)
    keep = (counts.to_numpy() == 7)
    want = sums[keep]
    assert got["date"].dt.day_name().eq("Wednesday").all() and len(got) == keep.sum()
    np.testing.assert_allclose(got["revenue"], want["revenue"], rtol=1e-9)
    for col in ("spend_meta", "spend_google", "spend_tiktok", "spend_email", "precip_mm"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["temp_c"], means["temp_c"].to_numpy()[keep], atol=1e-6)  # written to 6 decimals
    n_first = (got["date"].iloc[0] - daily["date"].iloc[0]).days
    n_last = (daily["date"].iloc[-1] - got["date"].iloc[-1]).days - 6
    assert (f"revenue: daily rows summed into {len(got)} weeks starting on Wednesdays (weekly.csv); "
            f"{n_first + n_last} day(s) of part weeks at the ends dropped") in weekly.notes
    # The weekly tenant is a lake the model loads as weekly.
    import_tenant(make_spec(MAPPING, weeks="wednesday"), tmp_path / "lake")
    assert (tmp_path / "lake" / "harbor-home" / "weekly.csv").is_file()
    assert load_lake(tmp_path / "lake").attrs["cadence"] == "weekly"


def test_weeks_with_a_blank_day_are_blank_and_bad_weekdays_are_refused(tmp_path: Path) -> None:
    text = "date,sales\n" + "".join(f"2024-01-{d:02d},{'' if d == 10 else 100 + d}\n" for d in range(1, 29))
    rev = write(tmp_path / "sales.csv", text)
    ads = write(tmp_path / "ads.csv", "Day,Cost\n" + "".join(f"2024-01-{d:02d},10\n" for d in range(1, 29)))
    spec = make_spec(tenant_id="t", revenue=rev, revenue_column="sales", channels={"meta": ads}, missing_revenue="empty",
                     weeks="monday")
    imp = assemble(spec)  # 2024-01-01 is a Monday: four whole weeks, the second with a blank day
    assert imp.daily["date"].tolist() == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert imp.daily["revenue"].isna().tolist() == [False, True, False, False]
    assert imp.daily["revenue"].iloc[0] == sum(100 + d for d in range(1, 8))
    assert imp.daily["spend_meta"].tolist() == [70.0] * 4
    for bad in ("mon", ""):  # an empty --weeks is refused, not read as "not given"
        with pytest.raises(DataError, match=rf"weeks must name the weekday weeks start on .*not '{bad}'"):
            make_spec(tenant_id="t", revenue=rev, revenue_column="sales", channels={"meta": ads}, weeks=bad)
    weekly = write(tmp_path / "weekly.csv", "date,sales\n2024-01-07,5\n2024-01-14,6\n2024-01-21,7\n")
    with pytest.raises(DataError, match="rows are weekly on Sundays: they cannot be read as weeks starting on a Monday"):
        assemble(make_spec(tenant_id="t", revenue=weekly, revenue_column="sales", channels={"meta": ads}, weeks="monday"))


def test_weeks_that_leave_the_forecast_short_say_which_weekday_fits() -> None:
    # The history ends on Tuesday 2024-04-30 and the forecast covers 04-29 on: Thursday weeks drop 04-25..04-30,
    # and no whole Thursday week follows in the forecast.
    with pytest.raises(DataError, match="--weeks thursday dropped the history's last part week, and the forecast starts "
                                        "after it: choose as --weeks the weekday after the history's last day"):
        assemble(make_spec(MAPPING, weeks="thursday"))
    assert assemble(make_spec(MAPPING, weeks="wednesday")).forecast is not None  # weeks ending with the history


def test_an_ad_export_that_ends_before_the_revenue_is_said(tmp_path: Path) -> None:
    rev = write(tmp_path / "sales.csv", "date,sales\n" + "".join(f"2024-01-{d:02d},{100 + d}\n" for d in range(1, 29)))
    ads = write(tmp_path / "ads.csv", "Day,Cost\n" + "".join(f"2024-01-{d:02d},10\n" for d in range(1, 21)))
    imp = assemble(make_spec(tenant_id="t", revenue=rev, revenue_column="sales", channels={"meta": ads}))
    assert imp.daily["spend_meta"].tolist() == [10.0] * 20 + [0.0] * 8
    assert ("meta: its rows end 2024-01-20, 8 day(s) before the revenue's periods do (2024-01-28); those days read as "
            "no spend: if meta ran then, export the whole range") in imp.notes
