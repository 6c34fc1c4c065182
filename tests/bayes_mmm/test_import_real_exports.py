"""Import of real-world export mistakes: each is refused with file, column and rows, or read to exact numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.importers import Imported, assemble, make_spec
from bayes_mmm.data.platforms import Source, read_source

ADS = "Day,Cost\n" + "".join(f"2024-03-{d:02d},10\n" for d in range(1, 22))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run(tmp_path: Path, revenue: str, ads: str = ADS, **kw: object) -> Imported:
    rev = write(tmp_path / "rev.csv", revenue)
    ads_file = write(tmp_path / "ads.csv", ads)
    return assemble(make_spec(tenant_id="t", revenue=rev, channels={"g": ads_file}, **kw))


def refused(tmp_path: Path, revenue: str, ads: str = ADS, **kw: object) -> str:
    with pytest.raises(DataError) as e:
        run(tmp_path, revenue, ads, **kw)
    return str(e.value)


def daily(days: range, value: str = "100", month: str = "2024-03") -> str:
    return "".join(f"{month}-{d:02d},{value}\n" for d in days)


# --- weekly rows whose week start changes, monthly rows: never zero-filled --------------------------------

def test_week_start_switching_mid_file_is_refused_even_with_missing_revenue_zero(tmp_path: Path) -> None:
    mondays = [f"2024-01-{d:02d}" for d in (1, 8, 15, 22)]
    sundays = ["2024-02-04", "2024-02-11", "2024-02-18", "2024-02-25"]  # a week apart: the tool now starts weeks on Sunday
    text = "Date,Total sales\n" + "".join(f"{d},700\n" for d in mondays + sundays)
    expected = (f"{tmp_path / 'rev.csv'}, column 'Date': rows are a week apart but the week start changes from Mondays "
                "to Sundays at row 5 (2024-02-04) — export with one week start (every row dated by its week's first "
                "day, e.g. all Mondays), or export by day")
    assert refused(tmp_path, text) == expected
    assert refused(tmp_path, text, missing_revenue="zero") == expected  # never 700 on one day and 0 on six


def test_monthly_rows_are_refused_without_suggesting_zero_fill(tmp_path: Path) -> None:
    text = "date,revenue\n" + "".join(f"2023-{m:02d}-01,1000\n" for m in range(1, 7))  # 152 days, 6 with rows
    msg = ("column 'revenue': 146 day(s) without rows between 2023-01-01 and 2023-06-01, first 2023-01-02 — the rows "
           "are monthly, and bayes-mmm models days or weeks: export by day or by week")
    assert refused(tmp_path, text).endswith(msg)
    assert refused(tmp_path, text, missing_revenue="empty").endswith(msg)


def test_irregular_weekdays_a_week_apart_get_no_zero_fill_hint(tmp_path: Path) -> None:
    text = "date,revenue\n2024-01-01,7\n2024-01-09,7\n2024-01-15,7\n2024-01-23,7\n"  # Mon, Tue, Mon, Tue
    assert refused(tmp_path, text, missing_revenue="zero").endswith(
        "19 day(s) without rows between 2024-01-01 and 2024-01-23, first 2024-01-02 — the rows are about a week apart "
        "but on 2 weekdays: if they are weekly totals, date each by its week's first day (one weekday); otherwise "
        "export by day")


# --- blank revenue cells are missing revenue, not zero ---------------------------------------------------

def test_blank_revenue_cell_is_missing_not_zero(tmp_path: Path) -> None:
    text = "date,revenue\n" + daily(range(1, 10)) + "2024-03-10,\n" + daily(range(11, 22))
    assert refused(tmp_path, text) == (
        f"{tmp_path / 'rev.csv'}, column 'revenue', row 10: 1 day(s) without revenue (1 with only blank amounts) "
        "between 2024-03-01 and 2024-03-21, first 2024-03-10 — --missing-revenue zero (no sales in those days) or "
        "empty (unknown: the model skips them)")
    empty = run(tmp_path, text, missing_revenue="empty").daily.set_index("date")["revenue"]
    assert np.isnan(empty["2024-03-10"]) and empty.drop("2024-03-10").tolist() == [100.0] * 20
    zero = run(tmp_path, text, missing_revenue="zero")
    assert zero.daily.set_index("date").loc["2024-03-10", "revenue"] == 0.0
    assert "revenue: 1 day(s) without revenue (1 with only blank amounts) set to zero" in zero.notes


def test_shopify_day_whose_orders_all_lack_a_total_is_missing(tmp_path: Path) -> None:
    head = "Name,Financial Status,Total,Created at,Lineitem name\n"
    rows = "".join(f"#{d},paid,{d}.00,2024-03-{d:02d} 09:00:00 -0500,A\n" for d in range(1, 22) if d != 5)
    blank = "#105,paid,,2024-03-05 10:00:00 -0500,A\n#105,,,2024-03-05 10:00:00 -0500,B\n"
    imp = run(tmp_path, head + rows + blank, missing_revenue="empty")
    rev = imp.daily.set_index("date")["revenue"]
    assert np.isnan(rev["2024-03-05"]) and rev["2024-03-04"] == 4.0 and rev.sum() == sum(range(1, 22)) - 5
    # An order's extra line items without a total stay fine on a day that has totals.
    extra = run(tmp_path, head + rows + "#6,,,2024-03-06 09:00:00 -0500,B\n", missing_revenue="empty")
    assert extra.daily.set_index("date")["revenue"]["2024-03-06"] == 6.0


# --- pasted twice -----------------------------------------------------------------------------------------

def test_ad_export_pasted_twice_is_refused_but_one_identical_pair_is_summed(tmp_path: Path) -> None:
    body = "".join(f"2024-03-{d:02d},Camp,{d}.50\n" for d in range(1, 4))
    f = write(tmp_path / "meta.csv", "Day,Campaign name,Amount spent (USD)\n" + body + body)
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == (f"{f}, rows 4, 5, 6: every row appears more than once (3 repeated rows): the export was "
                            "pasted or downloaded twice into one file — keep one copy of the rows")
    # Two campaigns with the same name and spend on one day can be real.
    g = write(tmp_path / "meta2.csv", "Day,Campaign name,Amount spent (USD)\n" + body + "2024-03-01,Camp,1.50\n")
    assert read_source(Source(g))[0].tolist() == [3.0, 2.5, 3.5]


def test_order_listed_twice_is_refused_naming_rows(tmp_path: Path) -> None:
    head = "Name,Financial Status,Total,Created at,Lineitem name\n"
    rows = "#1,paid,100.00,2024-03-01,A\n#1,,,2024-03-01,B\n#2,paid,50.00,2024-03-02,A\n#1,paid,100.00,2024-03-01,A\n"
    f = write(tmp_path / "orders.csv", head + rows)
    with pytest.raises(DataError) as e:
        read_source(Source(f), role="revenue")
    assert str(e.value) == (f"{f}, column 'Name', row 4: 1 order(s) appear again with the same amount, e.g. '#1' (first "
                            "in row 1): each total would count twice — remove repeated rows (was the export pasted twice?); "
                            "if the order's total is on each of its item rows, export one row per order or map an "
                            "item-level amount (amount_column = \"Item Total\")")
    # an order total repeated on each of its item rows (WooCommerce-like) is the same total again: refused, not doubled
    woo = write(tmp_path / "woo.csv", "Order Number,Order Date,Order Total,Item Name\n100,2024-03-01,50.00,A\n"
                                      "100,2024-03-01,50.00,B\n101,2024-03-02,20.00,A\n")
    with pytest.raises(DataError, match="column 'Order Number', row 2: 1 order"):
        read_source(Source(woo, amount_column="Order Total"), role="revenue")
    # a refund row of the same order (another amount) is no repeat: it offsets the day's sales
    refund = write(tmp_path / "refund.csv", head + "#1,paid,100.00,2024-03-01,A\n#1,refunded,-30.00,2024-03-01,A\n#2,paid,50.00,2024-03-02,A\n")
    assert read_source(Source(refund), role="revenue")[0].tolist() == [70.0, 50.0]


# --- decimal commas -------------------------------------------------------------------------------------------

def test_leading_zero_group_is_a_decimal_comma_not_thousands(tmp_path: Path) -> None:
    f = write(tmp_path / "meta.csv", 'Day,Amount spent (USD)\n2024-03-01,"0,500"\n2024-03-02,"1,250"\n')
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == (f"{f}, column 'Amount spent (USD)', row 1: ',' is not followed by groups of three digits: "
                            "'0,500' — looks like a decimal comma: set decimal = \",\" in the mapping")
    assert read_source(Source(f, decimal=","))[0].tolist() == [0.5, 1.25]


@pytest.mark.parametrize(("cell", "as_comma", "as_dot"), [("1,250", 1.25, 1250.0), ("1.250", 1250.0, 1.25)])
def test_a_separator_in_a_semicolon_file_is_ambiguous_unless_decimal_is_set(tmp_path: Path, cell: str, as_comma: float,
                                                                           as_dot: float) -> None:
    f = write(tmp_path / "meta.csv", f"Day;Amount spent (USD)\n2024-03-01;{cell}\n2024-03-02;3\n")
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == (f"{f}, column 'Amount spent (USD)', row 1: '{cell}' in a ';'-separated file: the separator "
                            "may be a decimal or a thousands one — set decimal = \",\" in the mapping for decimal commas "
                            "(1.234,50), decimal = \".\" for 1,234.50")
    assert read_source(Source(f, decimal=","))[0].tolist() == [as_comma, 3.0]
    assert read_source(Source(f, decimal="."))[0].tolist() == [as_dot, 3.0]
    plain = write(tmp_path / "plain.csv", "Day;Amount spent (USD)\n2024-03-01;12.5\n2024-03-02;3\n")  # no doubt
    assert read_source(Source(plain))[0].tolist() == [12.5, 3.0]
    settled = write(tmp_path / "settled.csv", "Day;Amount spent (USD)\n2024-03-01;0.125\n2024-03-02;1.250\n")
    assert read_source(Source(settled))[0].tolist() == [0.125, 1.25]  # 0.125 shows the dot is a decimal point


# --- currencies ---------------------------------------------------------------------------------------------------

def test_mixed_currencies_are_refused(tmp_path: Path) -> None:
    f = write(tmp_path / "google.csv", "Day,Account,Currency code,Cost\n2024-03-01,US,USD,100\n2024-03-01,DE,EUR,90\n"
              "2024-03-02,US,USD,100\n")
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == (f"{f}, column 'Currency code', row 2: amounts in 2 currencies (EUR, USD) cannot be summed — "
                            "export one currency per file (e.g. one per ad account) and map each as its own channel, "
                            "with multiplier = the exchange rate into the shop's currency")


# --- part week, unread columns ------------------------------------------------------------------------------------

def test_last_week_cut_short_by_the_ad_exports_is_dropped_with_a_note(tmp_path: Path) -> None:
    rev = "Date,Total sales\n2024-01-01,700\n2024-01-08,700\n2024-01-15,700\n2024-01-22,300\n"
    ads = "Day,Cost\n" + "".join(f"2024-01-{d:02d},1\n" for d in range(1, 25))  # ends Wednesday 01-24
    imp = run(tmp_path, rev, ads)
    assert imp.daily["date"].tolist() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert imp.daily["revenue"].tolist() == [700.0] * 3 and imp.daily["spend_g"].tolist() == [7.0] * 3
    assert ("revenue: last week 2024-01-22 dropped: the ad exports end 2024-01-24, before the week ends 2024-01-28 "
            "(a part week)") in imp.notes
    whole = run(tmp_path, rev, ads + "".join(f"2024-01-{d:02d},1\n" for d in range(25, 29)))
    assert whole.daily["spend_g"].tolist() == [7.0] * 4  # ads through Sunday: the week is whole


def test_unmapped_numeric_column_gets_a_note(tmp_path: Path) -> None:
    text = "date,revenue,Marketing Kosten,Taxes\n" + daily(range(1, 22), "100,5,9")
    imp = run(tmp_path, text)
    assert imp.notes[0] == ("revenue: numeric column(s) not read: Marketing Kosten; map any that is media spend as a "
                            "channel, or list them in [revenue] ignore_columns")


# --- footers, summary rows, broken files ----------------------------------------------------------------------------

@pytest.mark.parametrize("footer", ["Total,2100", "Grand total,2100", "--,2100,Total: Account"])
def test_total_footer_rows_are_dropped(tmp_path: Path, footer: str) -> None:
    f = write(tmp_path / "sales.csv", "date,revenue,label\n" + daily(range(1, 22)) + footer + "\n")
    assert read_source(Source(f), role="revenue")[0].sum() == 2100.0


@pytest.mark.parametrize(("text", "message"), [
    ("Reporting starts,Reporting ends,Amount spent (USD)\n,,30\n2024-03-01,2024-03-01,10\n2024-03-02,2024-03-02,20\n",
     "column 'Reporting starts', row 1: a row without a date — if it is a summary row, remove it or export without the "
     "summary row"),
    ("Reporting starts,Reporting ends,Campaign name,Amount spent (USD)\n2024-03-01,2024-03-01,A,10\n"
     "2024-03-02,2024-03-02,A,20\n2024-03-01,2024-03-02,,30\n",
     "column 'Reporting ends', row 3: a summary row over the whole range (2024-03-01 to 2024-03-02) among the day rows "
     "— delete that row, or export without Include summary row"),
])
def test_summary_rows_are_named_as_such(tmp_path: Path, text: str, message: str) -> None:
    f = write(tmp_path / "meta.csv", text)
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == f"{f}, {message}"


def test_repeated_header_and_cut_off_download_are_named(tmp_path: Path) -> None:
    head = "Day,Amount spent (USD)\n"
    f = write(tmp_path / "meta.csv", head + "2024-03-01,10\n" + head + "2024-03-02,20\n")
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value) == (f"{f}, column 'Day', row 2: the header line is repeated inside the data: exports pasted "
                            "together — remove the repeated header line(s), and any rows pasted twice")
    g = write(tmp_path / "cut.csv", head + "2024-03-01,10\n2024-03\x00\x00")
    with pytest.raises(DataError) as e:
        read_source(Source(g))
    assert str(e.value) == (f"{g}: NUL bytes from line 3 on: the download was cut off or the file is not CSV — "
                            "download the export again")


# --- currency spellings, TikTok hourly stamps, formats with times ----------------------------------------------------

def test_currency_spellings_and_unicode_minus(tmp_path: Path) -> None:
    cells = ["1 234,00 kr", "100,00 zł", "−10,50"]
    f = write(tmp_path / "s.csv", "date;Total\n" + "".join(f"2024-03-0{i + 1};{c}\n" for i, c in enumerate(cells)))
    assert read_source(Source(f, decimal=","), role="any")[0].tolist() == [1234.0, 100.0, -10.5]
    g = write(tmp_path / "t.csv", "date,Total\n2024-03-01,100.00 usd\n2024-03-02,₩12000\n")
    assert read_source(Source(g))[0].tolist() == [100.0, 12000.0]


def test_tiktok_stat_time_layout_is_detected(tmp_path: Path) -> None:
    f = write(tmp_path / "tiktok.csv", "Stat time,Campaign name,Cost\n2024-03-01 00:00:00,A,5\n2024-03-01 00:00:00,B,2\n"
              "2024-03-02 00:00:00,A,3\n")
    sums, _, column, date_column = read_source(Source(f), role="spend")
    assert (date_column, column, sums.tolist()) == ("Stat time", "Cost", [7.0, 3.0])


def test_date_format_without_time_codes_reads_timestamps(tmp_path: Path) -> None:
    f = write(tmp_path / "s.csv", "date,Total\n01/03/2024 09:15,1\n02/03/2024 10:00,2\n")
    with pytest.raises(DataError) as e:
        read_source(Source(f))
    assert str(e.value).endswith("ambiguous dates: both %m/%d/%Y and %d/%m/%Y read them — set date_format in the "
                                 "mapping, e.g. date_format = \"%d/%m/%Y %H:%M\"")
    for fmt in ("%d/%m/%Y", "%d/%m/%Y %H:%M"):
        assert list(read_source(Source(f, date_format=fmt))[0].index.strftime("%Y-%m-%d")) == ["2024-03-01", "2024-03-02"]


def test_a_bad_setting_names_where_it_was_given_not_the_export(tmp_path: Path) -> None:
    rev = write(tmp_path / "shop.csv", "date,revenue\n2024-03-01,10\n")
    ads = write(tmp_path / "email.csv", "date,Sends\n2024-03-01,100\n")
    with pytest.raises(DataError) as e:
        make_spec(tenant_id="t", revenue=rev, channels={"email": ads}, cost_per={"email": -1.0})
    assert str(e.value) == "--cost-per: [channels.email] multiplier must be a positive number, not -1.0"
    mapping = write(tmp_path / "mapping.toml", f'tenant_id = "t"\n[revenue]\nfile = "{rev.name}"\n'
                                               f'[channels.meta]\nfile = "{ads.name}"\ndecimal = ";"\n')
    with pytest.raises(DataError) as e:
        make_spec(mapping)
    assert str(e.value) == f"{mapping}: [channels.meta] decimal must be '.' or ',', not ';'"


def test_a_weekly_export_dated_in_a_week_column_is_read() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        f = write(Path(tmp) / "rev.csv", "Week,Total sales\n2024-01-01,1000.00\n2024-01-08,1010.00\n2024-01-15,990.50\n")
        sums = read_source(Source(f), role="revenue")[0]
    assert sums.tolist() == [1000.0, 1010.0, 990.5] and [f"{d:%Y-%m-%d}" for d in sums.index] == ["2024-01-01", "2024-01-08", "2024-01-15"]


def test_review_cases_read_right(tmp_path: Path) -> None:
    """A campaign called "Total …" is data; a 12-hour date format reads; two items of one order at one price count."""
    total_wine = write(tmp_path / "meta.csv", "Day,Campaign name,Amount spent (USD)\n2024-03-01,Camp,10\n"
                                              "2024-03-01,Total Wine promo,55\n2024-03-02,Camp,5\n")
    assert read_source(Source(total_wine))[0].tolist() == [65.0, 5.0]
    twelve = write(tmp_path / "orders.csv", "Order Date,Total\n01/03/2024 9:15 AM,10\n01/04/2024 1:05 PM,20\n")
    got = read_source(Source(twelve, date_format="%m/%d/%Y %I:%M %p"), role="revenue")[0]
    assert got.tolist() == [10.0, 20.0] and [f"{d:%Y-%m-%d}" for d in got.index] == ["2024-01-03", "2024-01-04"]
    items = write(tmp_path / "etsy.csv", "Order ID,Item Name,Item Total,Sale Date\n7,Mug,12.00,2024-03-01\n"
                                         "7,Plate,12.00,2024-03-01\n8,Mug,12.00,2024-03-02\n")
    assert read_source(Source(items, date_column="Sale Date", amount_column="Item Total"), role="revenue")[0].tolist() == [24.0, 12.0]
    pair = write(tmp_path / "pair.csv", "Day,Amount spent (USD)\n2024-03-01,5\n2024-03-01,5\n")  # one identical pair
    assert read_source(Source(pair))[0].tolist() == [10.0]
    with pytest.raises(DataError, match="every row appears more than once \\(2 repeated rows\\)"):  # one row three times
        read_source(Source(write(tmp_path / "three.csv", "Day,Amount spent (USD)\n" + "2024-03-01,5\n" * 3)))
    footers = "".join(f"2024-03-01,{label},1\n" for label in ("Totals", "Total - all campaigns", "Total of 12 campaigns"))
    summary = write(tmp_path / "labels.csv", "Day,Campaign name,Amount spent (USD)\n2024-03-01,A,5\n" + footers.replace("2024-03-01", "", 3))
    assert read_source(Source(summary))[0].tolist() == [5.0]  # summary rows without a date, dropped as footers
    with pytest.raises(DataError, match="column 'Cost', row 1: not an amount: '10 pcs'"):
        read_source(Source(write(tmp_path / "pcs.csv", "Day,Cost\n2024-03-01,10 pcs\n2024-03-02,4\n")))


def test_a_small_shop_selling_on_any_weekday_may_say_its_missing_days_are_zero(tmp_path: Path) -> None:
    sales = [1, 6, 12, 16, 21]  # a sale every 4–6 days, on five different weekdays: days, not weeks
    text = "date,revenue\n" + "".join(f"2024-03-{d:02d},50\n" for d in sales)
    imp = run(tmp_path, text, missing_revenue="zero")
    assert imp.daily["revenue"].sum() == 250.0 and (imp.daily["revenue"] > 0).sum() == 5 and len(imp.daily) == 21


def test_the_unread_note_sees_decimal_commas_and_word_parts(tmp_path: Path) -> None:
    text = "date;revenue;Holiday ads;Taxes\n" + "".join(f"2024-03-{d:02d};100,5;1.234,50;3\n" for d in range(1, 22))
    write(tmp_path / "rev.csv", text)
    write(tmp_path / "ads.csv", ADS)
    mapping = write(tmp_path / "m.toml", 'tenant_id = "t"\n[revenue]\nfile = "rev.csv"\namount_column = "revenue"\n'
                                         'decimal = ","\n[channels.g]\nfile = "ads.csv"\n')
    imp = assemble(make_spec(mapping))
    assert imp.notes[0] == ("revenue: numeric column(s) not read: Holiday ads; map any that is media spend as a "
                            "channel, or list them in [revenue] ignore_columns")


# --- rows and headers pandas would have misread -----------------------------------------------------------------

TIKTOK = "By Day,Campaign name,Cost,Impressions,Clicks\n"


def test_a_row_missing_a_cell_is_refused_not_shifted(tmp_path: Path) -> None:
    """pandas filled the short row from the left: the impressions (11164) became the day's spend (93.04)."""
    rows = "".join(f"2024-03-{d:02d},Spring,93.04,11164,88\n" for d in range(1, 22))
    f = write(tmp_path / "tiktok.csv", TIKTOK + rows.replace("2024-03-05,Spring,", "2024-03-05,"))
    with pytest.raises(DataError) as e:
        read_source(Source(f), role="spend")
    assert str(e.value).startswith(f"{f}, row 5: 4 fields where the header has 5: a cell is missing or extra, and the "
                                   "values after it would land in the wrong columns")
    f = write(tmp_path / "ok.csv", TIKTOK + rows)
    assert read_source(Source(f), role="spend")[0].sum() == pytest.approx(21 * 93.04)


def test_rows_that_all_leave_out_trailing_empty_cells_are_read() -> None:
    from bayes_mmm.data.exports import text_table

    frame = text_table("date,revenue,label\n2024-03-01,100\n2024-03-02,120\n,,\n", "x.csv")
    assert frame.to_dict("list") == {"date": ["2024-03-01", "2024-03-02"], "revenue": ["100", "120"], "label": ["", ""]}


def test_a_repeated_column_is_refused_not_read_from_its_first_copy(tmp_path: Path) -> None:
    f = write(tmp_path / "google.csv", "Day,Cost,Clicks,Cost\n" + "".join(f"2024-03-{d:02d},0,5,12.5\n" for d in range(1, 22)))
    with pytest.raises(DataError) as e:
        read_source(Source(f), role="spend")
    assert str(e.value).startswith(f"{f}, column 'Cost': column appears 2 times in the header: which one holds the data?")


def test_a_trailing_column_blank_elsewhere_may_be_left_out_and_extra_empty_cells_are_trimmed() -> None:
    from bayes_mmm.data.exports import text_table

    notes = text_table("Day,Campaign,Cost,Notes\n2024-01-01,A,5,promo\n2024-01-02,A,6\n2024-01-03,A,7,\n", "x.csv")
    assert notes.to_dict("list")["Notes"] == ["promo", "", ""]
    assert text_table("Day,Cost\n2024-01-01,5,,\n", "x.csv").to_dict("list") == {"Day": ["2024-01-01"], "Cost": ["5"]}
    assert text_table('Day,Campaign,Cost\n2024-01-01,"Big" Sale,5\n', "x.csv")["Campaign"].tolist() == ["Big Sale"]


def test_a_campaign_named_total_does_not_pass_for_a_footer(tmp_path: Path) -> None:
    rows = "".join(f"2024-03-{d:02d},Total Wine,Prospecting,93.04,11164\n" for d in range(1, 22))
    f = write(tmp_path / "ads.csv", "Day,Campaign,Ad set,Cost,Impressions\n" + rows.replace("2024-03-02,Total Wine,Prospecting,",
                                                                                               "2024-03-02,Total Wine,"))
    with pytest.raises(DataError, match=r"row 2: 4 fields where the header has 5"):
        read_source(Source(f), role="spend")
