"""Strict reading of user tables: CSV dialect, header, ISO dates and finite numbers.

Shared by the lake reader (:mod:`bayes_mmm.data.lake`) and the forecast reader
(:mod:`bayes_mmm.data.forecast`), so both refuse the same things with the same
one-line :class:`~bayes_mmm.core.errors.DataError`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.errors import DataError

#: Cells read as missing (pandas' usual NA spellings).
NA_TOKENS = frozenset({"", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None", "#N/A", "<NA>"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: A date followed by a time and/or a zone: '2025-01-02T00:00:00Z', '2025-01-02 00:00+01:00'.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\S+")
#: Dates a lake, plan or forecast may hold: outside them a date is a typo (9999-12-31 stands for "never"), and
#: beyond 2262 pandas cannot hold it in nanoseconds, where later arithmetic failed with an overflow naming nothing.
DATE_MIN, DATE_MAX = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")
OTHER_SEPARATORS = (";", "\t", "|")
#: What a temperature column in °F needs (US weather services and spreadsheets give °F; the contract's are °C).
FAHRENHEIT_HINT = "in °F? temperatures are °C here: (°F − 32) × 5/9"
SEPARATOR_HINT = "wrong separator? bayes-mmm reads comma-separated files with '.' as the decimal point"


def rows_where(mask: np.ndarray) -> list[int]:
    """1-based data rows where ``mask`` is true."""
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def check_header(columns: Sequence[str], path: str | Path) -> list[str]:
    """Stripped column names; refuse empty, duplicated and separator-glued names."""
    names = [str(c).strip() for c in columns]
    glued = [n for n in names if any(s in n for s in OTHER_SEPARATORS)]
    if glued:
        sep = next(s for s in OTHER_SEPARATORS if s in glued[0])
        raise DataError(f"the header is split by {sep!r}, not ','", file=path, column=glued[0][:40], hint=SEPARATOR_HINT)
    if "" in names:
        raise DataError(f"column {names.index('') + 1} has no name", file=path, hint="name every column in the header")
    dup = [n for n, k in Counter(names).items() if k > 1]
    if dup:
        raise DataError(
            f"column appears {names.count(dup[0])} times in the header", file=path, column=dup[0],
            hint="keep one column per name (sum or drop the copies)",
        )
    return names


#: Workbook formats users save instead of CSV.
SPREADSHEETS = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".numbers"})


def read_csv_text(path: Path, na_tokens: frozenset[str] = NA_TOKENS) -> pd.DataFrame:
    """Read a comma-separated file as strings (``None`` for missing cells), checking header and row widths.

    Uses the ``csv`` module rather than pandas so that duplicated headers are seen
    as written (pandas renames them) and a row with extra fields (decimal commas)
    is an error instead of a silent shift.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.__class__.__name__})", file=path) from None
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or path.suffix.lower() in SPREADSHEETS:  # zip (xlsx, ods) or OLE (xls)
        raise DataError("is a spreadsheet workbook, not a CSV file", file=path, hint="save it as CSV (UTF-8) and pass that file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text (byte {exc.start})", file=path, hint="save the file as UTF-8 CSV") from None
    if "\x00" in text:
        raise DataError("is not a text file (NUL bytes)", file=path, hint="expected a CSV file")
    try:
        # Rows of blank cells (",,,," a spreadsheet leaves below the data) hold nothing: dropped.
        lines = [r for r in csv.reader(io.StringIO(text, newline=""), strict=True) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise DataError(f"is not valid CSV ({exc})", file=path) from None
    if not lines:
        raise DataError("file is empty", file=path)
    header = check_header(lines[0], path)
    body = lines[1:]
    if not body:
        raise DataError("file has a header but no rows", file=path)
    widths = np.array([len(r) for r in body])
    wrong = widths != len(header)
    if wrong.any():
        rows = rows_where(wrong)
        raise DataError(
            f"{widths[wrong][0]} fields where the header has {len(header)}", file=path, rows=rows,
            hint=SEPARATOR_HINT + " (a decimal comma splits numbers into two fields)",
        )
    cells = [[None if c.strip() in na_tokens else c.strip() for c in r] for r in body]
    return pd.DataFrame(cells, columns=header, dtype=object)


def read_table(path: Path, na_tokens: frozenset[str] = NA_TOKENS) -> pd.DataFrame:
    """Read a ``.csv`` strictly or a ``.parquet`` as is, with a checked header.

    ``na_tokens``: CSV cells read as missing (the lake's: blank, ``NA``, ``#N/A``, …).
    """
    if path.suffix != ".parquet":
        return read_csv_text(path, na_tokens)
    try:
        raw = pd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:  # corrupt parquet, unreadable file
        raise DataError(f"cannot be read ({exc.__class__.__name__}: {exc})", file=path) from None
    if raw.empty:
        raise DataError("file has a header but no rows", file=path)
    if raw.index.name == "date" and "date" not in raw.columns:  # pandas' to_parquet keeps a date index as the index
        raw = raw.reset_index()
    raw.columns = check_header(list(raw.columns), path)
    return raw


def parse_iso_dates(values: pd.Series, path: str | Path, column: str) -> pd.DatetimeIndex:
    """Plain ISO dates ``YYYY-MM-DD`` only: no other order, no time of day, no time zone."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        raise DataError("dates carry a time zone", file=path, column=column, rows=[1], hint="store plain dates YYYY-MM-DD")
    if pd.api.types.is_datetime64_any_dtype(values):  # parquet: real dates, must be whole days
        stamps = pd.DatetimeIndex(values)
        bad = np.asarray(stamps.isna() | (stamps != stamps.normalize()))
        text = pd.Series(stamps.astype(str), dtype=object)
    else:
        text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        bad = ~text.str.match(ISO_DATE).to_numpy(dtype=bool)
        stamps = pd.DatetimeIndex(pd.to_datetime(text.where(~bad, None), format="%Y-%m-%d", errors="coerce"))
        bad |= np.asarray(stamps.isna())
    if bad.any():
        rows = rows_where(bad)
        first = text.iloc[rows[0] - 1]
        if TIMESTAMP.match(first):
            problem = f"a time or time zone where a plain date belongs: '{first[:30]}'"
        elif ISO_DATE.match(first):
            problem = f"unparseable date '{first}'"
        else:
            problem = f"not an ISO date: '{first[:30]}'"
        raise DataError(problem, file=path, column=column, rows=rows, hint="use ISO dates YYYY-MM-DD")
    far = np.asarray((stamps < DATE_MIN) | (stamps > DATE_MAX))
    if far.any():
        rows = rows_where(far)
        raise far_date(stamps[rows[0] - 1], path, column, rows)
    return stamps.rename(None)


def far_date(day: date | pd.Timestamp, path: str | Path, column: str, rows: list[int]) -> DataError:
    """The error of a date outside :data:`DATE_MIN`–:data:`DATE_MAX` (the lake's, a plan's, an export's)."""
    return DataError(f"date '{day:%Y-%m-%d}' lies outside {DATE_MIN:%Y}–{DATE_MAX:%Y}", file=path, column=column, rows=rows,
                     hint="a typo in the year, or a placeholder for 'no date'?")


#: "1,234.50": a comma between groups of three digits before any decimal point.
THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_numbers(values: pd.Series, path: str | Path, column: str, dates: Sequence[str] | None = None) -> np.ndarray:
    """Float values of a column; refuse text and non-finite numbers (``inf``, ``Infinity``, ``1e999``)."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    num = pd.to_numeric(values, errors="coerce")
    # Blank is None, NaN, NaT or pd.NA (nullable Float64/Int64 columns of a parquet file); only text is refused.
    present = ~values.isna().to_numpy(dtype=bool)
    not_num = (num.isna().to_numpy() & present)
    if not_num.any():
        rows = rows_where(not_num)
        cell = str(values.iloc[rows[0] - 1]).strip()
        hint = ("thousands separator? write 1234.50, not 1,234.50 (a decimal comma: 1234.5, not 1234,5)" if THOUSANDS.match(cell)
                else "decimal comma? write 1234.5, not 1234,5" if "," in cell else None)
        raise DataError(f"non-numeric value '{cell[:30]}'", file=path, column=column, rows=rows,
                        dates=_at(dates, not_num), hint=hint)
    x = num.to_numpy(dtype=float)
    inf = np.isinf(x)
    if inf.any():
        rows = rows_where(inf)
        raise DataError(f"non-finite value '{values.iloc[rows[0] - 1]}'", file=path, column=column, rows=rows,
                        dates=_at(dates, inf), hint="values must be finite numbers")
    return x


def check_range(
    x: np.ndarray, lo: float, hi: float, path: str | Path, column: str, dates: Sequence[str] | None = None, unit: str = ""
) -> None:
    """Refuse values outside ``[lo, hi]`` (NaN passes): negative amounts, absurd magnitudes, impossible weather."""
    with np.errstate(invalid="ignore"):
        low, high = x < lo, x > hi
    for mask, problem in ((low, "negative values" if lo == 0 else f"values below {lo:g}{unit}"),
                          (high, f"impossible values above {hi:g}{unit}")):
        if mask.any():
            rows = rows_where(mask)
            # US weather services and spreadsheets give °F, some APIs kelvin (Earth's air: 180–340 K); the contract's are °C.
            hint = None
            if mask is high and unit.strip() == "°C":
                kelvin = np.nanmin(x) > 180 and np.nanmax(x) < 340
                hint = "in kelvin? temperatures are °C here: K − 273.15" if kelvin else FAHRENHEIT_HINT
            raise DataError(f"{problem} (e.g. {x[rows[0] - 1]:g})" if mask is high or lo != 0 else problem,
                            file=path, column=column, rows=rows, dates=_at(dates, mask), hint=hint)


def _at(dates: Sequence[str] | None, mask: np.ndarray) -> list[str] | None:
    return None if dates is None else list(np.asarray(dates, dtype=object)[mask])
