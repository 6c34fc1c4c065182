"""Read the CSV files merchants actually export: shop orders, ad platforms, any dated table.

Exports are messy in known ways: title lines above the header, a "Total" footer, currency
symbols and thousands separators in amounts, one row per campaign or order rather than per
day, dates with times and time zones. The functions here turn one such file into a daily
series of sums; anything they cannot read raises :class:`~bayes_mmm.core.errors.DataError`
naming the file, column and rows (1-based data rows, the header not counted).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import MAX_AMOUNT
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.table import DATE_MAX, DATE_MIN, far_date

#: Date formats tried, in order, when a mapping names none (only the date part of a timestamp is used).
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%Y%m%d")
#: Amount cells meaning "nothing" in exports (Google Ads writes "--" for no cost).
EMPTY = ("", "--", "-", " --")
_SPACE = re.compile(r"[\s\u00a0\u202f']")  # spaces, no-break spaces, Swiss apostrophes
_CURRENCY = re.compile(r"^[A-Z]{1,3}(?=[$€£¥₹₩\d(+-])|[$€£¥₹₩₽₺₪₫฿₴₦]|(?<=[\d)])([A-Z]{3}|kr|zł|Kč|Ft|"
                       r"usd|eur|gbp|sek|nok|dkk|chf|pln|czk|huf|jpy|cny|inr|aud|cad|nzd|brl|mxn|zar|krw)$")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})  # Unicode minus and en dash written by spreadsheets
_TIME = re.compile(r"^(\S+?)(?:[T ]\d{1,2}:\d{2}.*)?$")  # "2024-01-03 14:22:05 -0500" -> "2024-01-03"
_FOOTER = re.compile(r"^\s*(grand\s+)?total", re.IGNORECASE)
#: A summary row's label in a cell other than the date's: "Total", "Grand total", "Total: Account" ("Total Wine" is a campaign).
#: An amount column that prices items, not whole orders: two items of one order may cost the same.
_PER_ITEM = re.compile(r"item|line", re.IGNORECASE)
_FOOTER_LABEL = re.compile(r"^\s*(grand\s+)?totals?\s*([:\-–].*|of\b.*)?$", re.IGNORECASE)
_EXAMPLE = {".": "1,234,567.89", ",": "1.234,50"}


@dataclass(frozen=True)
class Table:
    """The data part of an export: string cells, the header found below any title lines."""

    frame: pd.DataFrame
    path: Path
    header_line: int  #: 0-based line of the header in the file
    sep: str = ","  #: the field separator: a ";" file usually writes decimal commas


def read_text(path: str | Path) -> str:
    """The text of an export: UTF-8 (with or without BOM), UTF-16 (Excel-flavoured exports), else Windows-1252."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=path)
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    # Old spreadsheet exports are Windows-1252 (where 0x80 is "€"); latin-1 reads the few bytes it leaves undefined.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _fields(line: str, sep: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([line], delimiter=sep), [])]


def _separator(line: str) -> str:
    return max((",", ";", "\t"), key=line.count)


def find_table(path: str | Path, candidates: Sequence[str]) -> Table:
    """Read an export whose header is the first line holding one of ``candidates`` (title lines skipped)."""
    path = Path(path)
    text = read_text(path)
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise DataError(f"NUL bytes from line {line} on: the download was cut off or the file is not CSV", file=path,
                        hint="download the export again")
    lines = text.splitlines()
    # Exact names first: a title line ("Report,Time") must not pass for a header that only matches in another case.
    for fold in (False, True):
        for i, line in enumerate(lines[:50]):
            sep = _separator(line)
            if any(column_matches(f, c, fold) for c in candidates for f in _fields(line, sep)):
                return Table(text_table("\n".join(lines[i:]), path, sep), path, i, sep)
    raise DataError(
        f"no header line with {' or '.join(repr(c) for c in candidates)} in the first 50 lines",
        file=path,
        hint="name the date column in the mapping (date_column = ...)",
    )


def text_table(text: str, file: str | Path, sep: str = ",") -> pd.DataFrame:
    """Parse CSV text as strings with stripped, unique column names (``DataError`` naming ``file`` otherwise).

    Read with the ``csv`` module, not pandas: pandas renames a repeated column ("Cost", "Cost.1") and fills a short
    row's missing fields from the left, so one missing campaign name moved the impressions into the spend. A row
    shorter than the header is padded only where the cells it lacks are trailing columns left blank elsewhere too
    (a writer that leaves out trailing empty cells, a sometimes-filled notes column); otherwise, a cell is missing
    somewhere and the row is refused, as is a row longer than the header (empty extra cells aside), a "Total" footer
    aside. Rows of blank cells (a spreadsheet's leftovers) are dropped.
    """
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise DataError(f"cannot be read as a table ({exc})", file=file) from None
    if not rows:
        raise DataError("file is empty", file=file)
    header = [c.strip() or f"Unnamed: {k}" for k, c in enumerate(rows[0])]
    dup = [c for c in header if header.count(c) > 1]
    if dup:
        raise DataError(f"column appears {header.count(dup[0])} times in the header: which one holds the data?", file=file,
                        column=dup[0], hint="delete or rename the copies")
    width = len(header)
    body = [r[:width] if len(r) > width and not any(c.strip() for c in r[width:]) else r for r in rows[1:]]
    # Columns every full data row fills: a shorter row that lacks one lost a cell (with no full row, none is known).
    full = [r for r in body if len(r) == width and not _is_footer(r)] if any(len(r) < width for r in body) else []
    filled = [bool(full) and all(r[j].strip() for r in full) for j in range(width)]
    wrong = [k for k, r in enumerate(body)
             if len(r) != width and (len(r) > width or any(filled[len(r):])) and not _is_footer(r)]
    if wrong:
        r = body[wrong[0]]
        raise DataError(f"{len(r)} fields where the header has {width}: a cell is missing or extra, and the values "
                        "after it would land in the wrong columns", file=file, rows=[k + 1 for k in wrong],
                        hint="export the file again, or fix the row so each value sits under its column")
    return pd.DataFrame([r + [""] * (width - len(r)) for r in body], columns=header, dtype=str)


def _is_footer(cells: list[str]) -> bool:
    """A summary row ("Total", "Grand total: Account"), which exports may write shorter than the header."""
    return any(_FOOTER_LABEL.match(c) for c in cells if c.strip())


def column_matches(column: str, candidate: str, fold: bool = False) -> bool:
    """True when ``column`` is ``candidate`` (in any case with ``fold``: "DATE"), or starts with it when it ends in "(" ("Amount spent (EUR)")."""
    if fold:
        column, candidate = column.casefold(), candidate.casefold()
    return column == candidate or (candidate.endswith("(") and column.startswith(candidate))


def matching_columns(cols: Sequence[str], candidates: Sequence[str], path: Path, what: str) -> list[str]:
    """The columns of the first candidate with an exact match, else of the first that matches in another case.

    A match only in another case must be one column: "Date" and "date" side by side are refused, naming both.
    """
    for fold in (False, True):
        for c in candidates:
            hit = [col for col in cols if column_matches(col, c, fold)]
            if len(hit) > 1 and fold:
                raise DataError(f"columns {', '.join(repr(h) for h in hit)} differ only in case: which is the {what}?",
                                file=path, hint=f"name the {what} column in the mapping")
            if hit:
                return hit
    return []


def pick_column(table: Table, wanted: str | None, candidates: Sequence[str], what: str) -> str:
    """The column named ``wanted``, else the first of ``candidates`` present (prefix match for "Amount spent")."""
    cols = list(table.frame.columns)
    if wanted is not None:
        hit = matching_columns(cols, [wanted], table.path, what)
        if hit:
            return hit[0]
        raise DataError(f"{what} column not found", file=table.path, column=wanted, hint=f"columns are: {', '.join(cols)}")
    hit = matching_columns(cols, candidates, table.path, what)
    if hit:
        return hit[0]
    raise DataError(
        f"no {what} column ({', '.join(repr(c.rstrip('(')) for c in candidates)})",
        file=table.path,
        hint=f"name it in the mapping; columns are: {', '.join(cols)}",
    )


def _rows(values: pd.Series, mask: np.ndarray) -> list[int]:
    """1-based data rows of the file (the frame's own index survives dropped footer rows)."""
    return [int(values.index[i]) + 1 for i in np.flatnonzero(mask)]


def _grouping_hint(cell: str, decimal: str) -> str:
    """How to fix a cell whose thousands separators are not followed by groups of three digits."""
    if decimal == "." and cell.count(",") == 1 and "." not in cell:
        return "looks like a decimal comma: set decimal = \",\" in the mapping"
    if decimal == "," and cell.rfind(".") > cell.rfind(","):
        return "looks like a decimal point: drop decimal = \",\" from the mapping"
    return f"a thousands separator must be followed by groups of three digits, e.g. {_EXAMPLE[decimal]}"


def _check_grouping(text: pd.Series, values: pd.Series, *, path: Path, column: str, decimal: str, skip: np.ndarray) -> None:
    """Refuse "904,64" or "1,5" read with decimal "." (and "1,100.50" with ","): removing the separator rescales them."""
    sep, dec = ("," if decimal == "." else "."), decimal
    # A leading group of "0" groups nothing: "0,500" is half a unit written with a decimal comma.
    grouped = rf"[+-]?[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+(?:{re.escape(dec)}\d*)?"
    bad = (text.str.contains(sep, regex=False) & ~text.str.fullmatch(grouped)).to_numpy() & ~skip
    if bad.any():
        cell = str(values.iloc[int(np.argmax(bad))])
        raise DataError(f"'{sep}' is not followed by groups of three digits: '{cell}'", file=path, column=column,
                        rows=_rows(values, bad), hint=_grouping_hint(cell, decimal))


def parse_amounts(values: pd.Series, *, path: Path, column: str, decimal: str = ".") -> np.ndarray:
    """Numbers from export cells: "$1,234.50", "1.234,50 €", "(12.00)" (a refund), "--" (none) → float, NaN when empty.

    Parameters
    ----------
    values
        The cells of one column, indexed by their 0-based data row.
    path, column
        Named in the error when a cell is not an amount.
    decimal
        The decimal separator, "." or ","; the other one is the thousands separator and must be followed
        by groups of exactly three digits.

    Returns
    -------
    numpy.ndarray
        One finite float per cell, NaN for an empty one.

    Raises
    ------
    DataError
        Naming the file, the column and the rows of cells that are not finite amounts.
    """
    text = values.astype(str).map(lambda s: _CURRENCY.sub("", _SPACE.sub("", s.translate(_MINUS))))
    empty = values.astype(str).str.strip().isin(EMPTY).to_numpy()
    text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    _check_grouping(text, values, path=path, column=column, decimal=decimal, skip=empty)
    text = text.str.replace("," if decimal == "." else ".", "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    # "nan"/"inf" are text, not amounts: only plain decimal numbers are accepted.
    ok = text.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?").to_numpy()
    bad = ~ok & ~empty
    if bad.any():
        rows = _rows(values, bad)
        raise DataError(
            f"not an amount: '{values.iloc[int(np.argmax(bad))]}'",
            file=path,
            column=column,
            rows=rows,
            hint="numbers with optional currency sign and thousands separators; set decimal = \",\" for 1.234,50",
        )
    out = np.full(len(values), np.nan)
    out[ok] = text[ok].astype(float).to_numpy()
    huge = ok & ~np.isfinite(out)  # "1e999" is a number too large for a float
    if huge.any():
        raise DataError(f"amount too large to be a number: '{values.iloc[int(np.argmax(huge))]}'", file=path,
                        column=column, rows=_rows(values, huge))
    return out


def _parse_with(tokens: Sequence[str], fmt: str) -> list[datetime | None]:
    """Each token read with ``fmt`` (None where it does not fit); each distinct token is parsed once, since
    an order export repeats its few hundred days over many thousand rows."""
    parsed: dict[str, datetime | None] = {}
    for t in dict.fromkeys(tokens):
        try:
            parsed[t] = datetime.strptime(t, fmt)
        except ValueError:
            parsed[t] = None
    return [parsed[t] for t in tokens]


def _time_codes(cell: str) -> str:
    """The strptime codes of a cell's time of day ("01/03/2024 09:15" → " %H:%M"), so a suggested format fits it."""
    m = re.search(r"([T ])\d{1,2}:\d{2}(:\d{2})?$", cell)
    if m is None:
        return ""
    return f"{m.group(1)}%H:%M" + (":%S" if m.group(2) else "")


def parse_dates(values: pd.Series, *, path: Path, column: str, date_format: str | None = None) -> pd.DatetimeIndex:
    """Calendar days of export cells; a timestamp's own local date is used (no time-zone shifting).

    Without ``date_format`` the formats of :data:`DATE_FORMATS` are tried; two that both read
    every cell but disagree (03/04 as March or April) are an error asking for the format.
    """
    cells = values.astype(str).str.strip()
    tokens = [m.group(1) if (m := _TIME.match(c)) else c for c in cells]
    if date_format is not None:
        # The whole cell first (a format may read its time, e.g. "%m/%d/%Y %I:%M %p"); else its date part, as
        # the formats tried without one read timestamps.
        whole, part = _parse_with(list(cells), date_format), _parse_with(tokens, date_format)
        days = [None if d is None else d.date() for d in (w if w is not None else p for w, p in zip(whole, part, strict=True))]
    else:
        fits = [(f, _parse_with(tokens, f)) for f in DATE_FORMATS]
        full = [(f, p) for f, p in fits if all(d is not None for d in p)]
        if len(full) > 1 and len({tuple(p) for _, p in full}) > 1:
            raise DataError(
                f"ambiguous dates: both {full[0][0]} and {full[1][0]} read them",
                file=path,
                column=column,
                hint=f"set date_format in the mapping, e.g. date_format = \"{full[1][0]}{_time_codes(cells.iloc[0])}\"",
            )
        best = full[0][1] if full else max(fits, key=lambda fp: sum(d is not None for d in fp[1]))[1]
        days = [None if d is None else d.date() for d in best]
    bad = np.array([d is None for d in days])
    if bad.any():
        rows = _rows(values, bad)
        cell = cells.iloc[int(np.argmax(bad))]
        # A row without a date is a summary row (Meta's "Include summary row") or a stray line, not a format problem.
        problem, hint = (("a row without a date", "if it is a summary row, remove it or export without the summary row")
                         if cell in EMPTY else (f"unparseable date '{cell}'",
                                                "set date_format in the mapping (strptime codes, e.g. \"%m/%d/%Y\")"))
        raise DataError(problem, file=path, column=column, rows=rows, hint=hint)
    far = np.array([not DATE_MIN.date() <= d <= DATE_MAX.date() for d in days])
    if far.any():  # as the lake would refuse it, said at the export's row
        raise far_date(days[int(np.argmax(far))], path, column, _rows(values, far))
    return pd.DatetimeIndex(pd.to_datetime(days), name="date")


def _check_totals(sums: pd.Series, days: pd.DatetimeIndex, amounts: pd.Series, *, path: Path, signed: bool) -> None:
    """Refuse a day whose total lies beyond ±``MAX_AMOUNT`` (which the lake refuses, so said here at the export's rows)
    or, unless ``signed``, is negative (spend and revenue are >= 0).

    A NaN total is a day whose amount cells are all blank (kept only for revenue): unknown, not an overflow.
    """
    values = sums.to_numpy()
    checks = [(np.abs(values) > MAX_AMOUNT, f"the day's total lies beyond ±{MAX_AMOUNT:g}",
               "a cell of another column, or a total row, read as an amount?")]
    if not signed:
        checks.append((values < 0, "negative total for the day", "spend and revenue cannot be negative: a refund may "
                       "only offset its own day's sales; fix the sign of these rows"))
    for bad, problem, hint in checks:
        if bad.any():
            first = sums.index[bad][0]
            raise DataError(f"{problem} ({values[bad][0]:g} on {first:%Y-%m-%d})", file=path, column=str(amounts.name),
                            rows=_rows(amounts, np.asarray(days == first)), hint=hint)


def _refuse_ambiguous_separator(values: pd.Series, *, path: Path, column: str) -> None:
    """In a ";"-separated file "1,250" is most likely 1.25 (a decimal comma) and "1.250" 1250 (a thousands dot),
    but either could be the other: ask which, rather than guess by a factor of 1,000.
    """
    text = values.astype(str).str.strip()
    grouped_dot = text.str.fullmatch(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")  # 1.250 or 1.250.000: 1,250 or 1.25?
    decimal_dot = text.str.contains(r"^[+-]?0\.|\.\d{1,2}$|\.\d{4,}$").any()  # 0.125, 3.5, 2.12345: a decimal point
    ambiguous = (text.str.contains(",", regex=False) | (grouped_dot & ~decimal_dot)).to_numpy()
    if ambiguous.any():
        raise DataError(f"'{values.iloc[int(np.argmax(ambiguous))]}' in a ';'-separated file: the separator may be a decimal "
                        "or a thousands one", file=path, column=column, rows=_rows(values, ambiguous),
                        hint="set decimal = \",\" in the mapping for decimal commas (1.234,50), decimal = \".\" for 1,234.50")


def body_rows(table: Table, date_column: str) -> pd.DataFrame:
    """The data rows of an export: "Total ..." footer rows dropped, the 0-based row positions kept as index."""
    frame = table.frame
    dates = frame[date_column].astype(str)
    again = (dates.str.strip() == date_column).to_numpy()
    if again.any():
        raise DataError("the header line is repeated inside the data: exports pasted together", file=table.path,
                        column=date_column, rows=_rows(dates, again),
                        hint="remove the repeated header line(s), and any rows pasted twice")
    # A summary row: "Total"/"Grand total" for a date, or no date and "Total: Account" in another cell.
    undated = dates.str.strip().isin(EMPTY).to_numpy()
    labelled = np.zeros(len(frame), dtype=bool)  # looked for on undated rows only: a large export has few
    labelled[undated] = frame[undated].apply(lambda col: col.astype(str).str.match(_FOOTER_LABEL)).any(axis=1).to_numpy()
    footer = dates.str.match(_FOOTER).to_numpy() | (undated & labelled)
    if footer.all():
        raise DataError("no data rows", file=table.path, column=date_column)
    return frame[~footer]


def row_days(table: Table, date_column: str, date_format: str | None = None) -> pd.Series:
    """The day of each data row, indexed by the row's 0-based position in the file ("Total ..." footer rows dropped)."""
    body = body_rows(table, date_column)
    days = parse_dates(body[date_column], path=table.path, column=date_column, date_format=date_format)
    return pd.Series(days, index=body.index, name=date_column)


def refuse_double_paste(body: pd.DataFrame, path: Path) -> None:
    """Refuse an export whose every row appears again exactly (pasted twice): each sum would double.

    A single identical pair can be real (two campaigns with the same name and numbers); a whole file
    repeated cannot.
    """
    again = body.duplicated(keep="first")
    if again.sum() < 2 or not body.duplicated(keep=False).all():  # one identical pair can be real
        return
    again = again.to_numpy()
    raise DataError(f"every row appears more than once ({int(again.sum())} repeated rows): the export was pasted "
                    "or downloaded twice into one file", file=path, rows=_rows(body.iloc[:, 0], again),
                    hint="keep one copy of the rows")


def refuse_mixed_currency(body: pd.DataFrame, path: Path, column: str) -> None:
    """Refuse amounts in several currencies (a manager account's export): summing USD and EUR is meaningless."""
    codes = body[column].astype(str).str.strip().str.upper()
    codes = codes[~codes.isin(EMPTY)]
    counts = codes.value_counts()
    if len(counts) < 2:
        return
    other = (codes != counts.index[0]).to_numpy()
    raise DataError(f"amounts in {len(counts)} currencies ({', '.join(sorted(counts.index))}) cannot be summed",
                    file=path, column=column, rows=_rows(codes, other),
                    hint="export one currency per file (e.g. one per ad account) and map each as its own channel, "
                    "with multiplier = the exchange rate into the shop's currency")


def refuse_repeated_orders(body: pd.DataFrame, path: Path, order_column: str, amount_column: str) -> None:
    """Refuse an order whose amount would count twice: rows pasted again, or an order total on each item row.

    An order's extra line-item rows without an amount (Shopify) are fine. With an item-level amount
    ("Item Total", "Lineitem price") two rows of one order may hold the same amount (two items at one
    price): only a whole row repeated counts. With an order-level amount ("Total", "Order Total") the
    same amount on two rows of one order is that total again; another amount (a refund) is not.
    """
    priced = body[~body[amount_column].astype(str).str.strip().isin(EMPTY)]
    orders = priced[order_column].astype(str).str.strip()
    orders = orders[orders != ""]
    if _PER_ITEM.search(amount_column):
        again = priced.loc[orders.index].duplicated(keep="first")
    else:
        amounts = priced.loc[orders.index, amount_column].astype(str).str.strip()
        again = pd.Series(list(zip(orders, amounts, strict=True)), index=orders.index).duplicated(keep="first")
    if not again.any():
        return
    first = orders[again].iloc[0]
    first_row = int(orders.index[orders == first][0]) + 1
    raise DataError(f"{int(again.sum())} order(s) appear again with the same amount, e.g. '{first}' (first in row "
                    f"{first_row}): each total would count twice", file=path, column=order_column,
                    rows=_rows(orders, again.to_numpy()),
                    hint="remove repeated rows (was the export pasted twice?); if the order's total is on each of its "
                    "item rows, export one row per order or map an item-level amount (amount_column = \"Item Total\")")


def daily_sums(
    table: Table,
    date_column: str,
    amount_column: str,
    *,
    date_format: str | None = None,
    decimal: str | None = ".",
    multiplier: float = 1.0,
    signed: bool = False,
    blank_missing: bool = False,
) -> pd.Series:
    """Sum ``amount_column`` per calendar day (campaign, order or line-item rows), times ``multiplier``.

    "Total ..." footer rows are dropped; empty amount cells count as 0 (a Shopify order's
    extra line items carry no total), but with ``blank_missing`` (revenue) a day whose cells are
    all empty is NaN: unknown, like a day without rows, not a day without sales. Days without rows
    are absent from the result. A day's total must be finite and, unless ``signed`` (event columns),
    not negative: a refund row may only offset sales of its own day. ``decimal=None`` (not said, in a
    ";"-separated file) reads "." but refuses a comma, or a dot that could group thousands, as ambiguous.
    """
    dated = row_days(table, date_column, date_format)
    body, days = table.frame.loc[dated.index], pd.DatetimeIndex(dated, name="date")
    if decimal is None:
        _refuse_ambiguous_separator(body[amount_column], path=table.path, column=amount_column)
    amounts = parse_amounts(body[amount_column], path=table.path, column=amount_column, decimal=decimal or ".")
    with np.errstate(over="ignore"):  # an overflow becomes inf, refused below with its rows
        values = pd.Series(amounts if blank_missing else np.nan_to_num(amounts, nan=0.0), index=days) * multiplier
        sums = values.groupby(level=0).sum(min_count=1 if blank_missing else 0)
    _check_totals(sums, days, body[amount_column], path=table.path, signed=signed)
    sums.index.name = "date"
    return sums.sort_index()
