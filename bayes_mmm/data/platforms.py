"""What ad platforms and shops call their columns, and reading one source into a daily series.

Known layouts (headers as the platforms write them in English):

- Meta Ads Manager: ``Day`` or ``Reporting starts`` (+ ``Reporting ends``), ``Amount spent (USD)``; one row
  per campaign and day.
- Google Ads: title lines, then ``Day``, ``Cost`` (``"1,234.50"``), and ``Total: ...`` footer rows.
- TikTok Ads Manager: ``By Day`` or ``Date``, ``Total Cost`` or ``Cost``.
- anything else ("generic"): a date column and an amount column named in the mapping, e.g. email sends
  with a cost per send as ``multiplier``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import Table, column_matches, daily_sums, find_table, pick_column


@dataclass(frozen=True)
class Platform:
    """Column names of one export layout, most specific first."""

    name: str
    date_columns: tuple[str, ...]
    amount_columns: tuple[str, ...]  # a name ending in "(" matches by prefix: "Amount spent (EUR)"


#: Generic amount columns by what they hold: a channel never takes a revenue column by default, nor revenue a cost.
REVENUE_COLUMNS = ("Total", "Total sales", "Net sales", "Revenue", "revenue")
SPEND_COLUMNS = ("Cost", "Spend", "spend")
PLATFORMS = {
    "meta": Platform("meta", ("Day", "Reporting starts"), ("Amount spent (", "Amount spent")),
    "google": Platform("google", ("Day", "Date"), ("Cost",)),
    "tiktok": Platform("tiktok", ("By Day", "Date", "Stat time"), ("Total Cost", "Cost", "Spend")),
    "generic": Platform(
        "generic",
        ("date", "Date", "Day", "day", "Created at", "Order Date", "Paid at", "Send Time", "Send Date", "time"),
        REVENUE_COLUMNS + SPEND_COLUMNS,
    ),
}
#: Count columns of channels without cost (email, SMS): read only with a cost per unit as multiplier.
COUNT_COLUMNS = ("Total Recipients", "Recipients", "Sends", "Emails sent", "Messages sent", "Delivered")
ALL_DATE_COLUMNS = tuple(dict.fromkeys(c for p in PLATFORMS.values() for c in p.date_columns))
#: What a source's amount column holds: "revenue", "spend" (a channel), "event" (a flag column) or "any" (no check).
ROLES = ("any", "revenue", "spend", "event")


@dataclass(frozen=True)
class Source:
    """One export file and how to read it (a ``[revenue]`` or ``[[channel]]`` table of the mapping)."""

    file: Path
    platform: str = "auto"
    date_column: str | None = None
    date_format: str | None = None
    amount_column: str | None = None
    multiplier: float = 1.0
    decimal: str = "."
    ignore_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.platform != "auto" and self.platform not in PLATFORMS:
            raise DataError(f"unknown platform '{self.platform}'", file=self.file,
                            hint=f"one of auto, {', '.join(PLATFORMS)}")
        if self.decimal not in (".", ","):
            raise DataError(f"decimal must be '.' or ',', not '{self.decimal}'", file=self.file)
        m = self.multiplier
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m <= 0:
            raise DataError(f"multiplier must be a positive number, not {self.multiplier}", file=self.file)


def detect_platform(columns: list[str]) -> str:
    """The layout a header belongs to; "generic" when no platform's cost column is there."""
    if any(c.startswith("Amount spent") for c in columns):
        return "meta"
    if "By Day" in columns or "Total Cost" in columns:
        return "tiktok"
    if "Day" in columns and "Cost" in columns:
        return "google"
    return "generic"


def _check_meta_days(table: Table, date_column: str) -> None:
    """A Meta export without a daily breakdown has one row per campaign over the whole range."""
    f = table.frame
    if date_column != "Reporting starts" or "Reporting ends" not in f:
        return
    longer = (f["Reporting starts"].str.strip() != f["Reporting ends"].str.strip()) & ~f[date_column].str.match(r"(?i)\s*total")
    if longer.any():
        rows = [int(i) + 1 for i in f.index[longer]]
        raise DataError("rows cover more than one day", file=table.path, column="Reporting ends", rows=rows,
                        hint="export with Breakdown → By time → Day")


def amount_candidates(platform: str, role: str, multiplier: float) -> tuple[str, ...]:
    """Amount columns a source may take by default, most specific first (none for an event: it must be named).

    A channel takes a cost column of its platform (or a count column with a cost per unit), revenue a
    sales column: a generic "Total" or "Revenue" column is never read as spend.
    """
    counts = COUNT_COLUMNS if platform == "generic" and multiplier != 1.0 else ()
    if role == "revenue":
        return REVENUE_COLUMNS
    if role == "event":
        return ()
    if role == "spend" and platform == "generic":
        return SPEND_COLUMNS + counts
    return PLATFORMS[platform].amount_columns + counts


def _amount_column(table: Table, source: Source, platform: str, role: str, section: str | None) -> str:
    """The column named in the mapping, else the first default of ``role``; a section must name one when none fits."""
    candidates = amount_candidates(platform, role, source.multiplier)
    cols = list(table.frame.columns)
    found = any(column_matches(col, c) for c in candidates for col in cols)
    if source.amount_column is not None or section is None or found:
        return pick_column(table, source.amount_column, candidates, "amount")
    what = {"spend": "the spend", "event": "the event (non-zero in its periods)"}.get(role, "the amount")
    raise DataError(f"say which column of {table.path.name} holds {what} (amount_column = ...); columns: {', '.join(cols)}",
                    file=section)


def read_source(source: Source, *, role: str = "any", section: str | None = None) -> tuple[pd.Series, Table, str, str]:
    """Daily sums of a source: (series indexed by date, the table read, the amount column, the date column).

    Parameters
    ----------
    source
        The export and how to read it.
    role
        What the amount column holds (one of :data:`ROLES`): it limits the default amount columns
        (:func:`amount_candidates`); an event's values may be negative, revenue and spend may not.
    section
        Where the source was declared, e.g. "[channels.search] in m.toml": named when the amount
        column must be given there.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    candidates = (source.date_column,) if source.date_column else ALL_DATE_COLUMNS
    table = find_table(source.file, candidates)
    platform = source.platform if source.platform != "auto" else detect_platform(list(table.frame.columns))
    date_column = pick_column(table, source.date_column, PLATFORMS[platform].date_columns, "date")
    amount_column = _amount_column(table, source, platform, role, section)
    if platform == "meta":
        _check_meta_days(table, date_column)
    sums = daily_sums(table, date_column, amount_column, date_format=source.date_format,
                      decimal=source.decimal, multiplier=source.multiplier, signed=role in ("any", "event"))
    return sums, table, amount_column, date_column
