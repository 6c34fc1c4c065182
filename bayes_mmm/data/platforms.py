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
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import (
    Table,
    body_rows,
    column_matches,
    daily_sums,
    find_table,
    pick_column,
    refuse_double_paste,
    refuse_mixed_currency,
    refuse_repeated_orders,
)


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
        ("date", "Date", "Day", "day", "Created at", "Order Date", "Paid at", "Send Time", "Send Date", "time",
         "Week", "week", "Week start", "Week of", "Week Start Date"),  # weekly exports date rows by the week
        REVENUE_COLUMNS + SPEND_COLUMNS,
    ),
}
#: Count columns of channels without cost (email, SMS): read only with a cost per unit as multiplier.
COUNT_COLUMNS = ("Total Recipients", "Recipients", "Sends", "Emails sent", "Messages sent", "Delivered")
#: Columns naming the order of a row: one order's total must not appear in two rows.
ORDER_COLUMNS = ("Order ID", "Order Id", "Order id", "order_id", "Order Number", "Order number", "Order No")
#: Shopify calls its order number "Name" ("#1001"); elsewhere "Name" may be a product or campaign.
SHOPIFY_MARKS = ("Financial Status", "Lineitem name")
#: A column saying each row's currency ("Currency code" in Google Ads, "Currency" in Shopify and Meta).
CURRENCY_COLUMN = re.compile(r"^(account |customer )?currency( code)?$", re.IGNORECASE)
ALL_DATE_COLUMNS = tuple(dict.fromkeys(c for p in PLATFORMS.values() for c in p.date_columns))
#: What a source's amount column holds: "revenue", "spend" (a channel), "event" (a flag column), "control"
#: (a known driver's level: a blank cell is missing, not 0) or "any" (no check).
ROLES = ("any", "revenue", "spend", "event", "control")


@dataclass(frozen=True)
class Source:
    """One export file and how to read it (a ``[revenue]`` or ``[[channel]]`` table of the mapping)."""

    file: Path
    platform: str = "auto"
    date_column: str | None = None
    date_format: str | None = None
    amount_column: str | None = None
    multiplier: float = 1.0
    decimal: str | None = None  #: "." or ","; not said: "." except in a ";"-separated file, where "," is refused
    ignore_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.platform != "auto" and self.platform not in PLATFORMS:
            raise DataError(f"unknown platform '{self.platform}'", file=self.file,
                            hint=f"one of auto, {', '.join(PLATFORMS)}")
        if self.decimal not in (None, ".", ","):
            raise DataError(f"decimal must be '.' or ',', not '{self.decimal}'", file=self.file)
        m = self.multiplier
        if isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m <= 0:
            raise DataError(f"multiplier must be a positive number, not {self.multiplier}", file=self.file)


def detect_platform(columns: list[str]) -> str:
    """The layout a header belongs to; "generic" when no platform's cost column is there."""
    if any(c.startswith("Amount spent") for c in columns):
        return "meta"
    if "By Day" in columns or "Stat time" in columns or "Total Cost" in columns:
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
    if longer.any() and not longer.all():
        # "Include summary row": one row over the whole range of the day rows, no campaign.
        first, last = f.loc[~longer, "Reporting starts"].str.strip().min(), f.loc[~longer, "Reporting ends"].str.strip().max()
        whole = longer & (f["Reporting starts"].str.strip() == first) & (f["Reporting ends"].str.strip() == last)
        if whole.equals(longer):
            raise DataError(f"a summary row over the whole range ({first} to {last}) among the day rows", file=table.path,
                            column="Reporting ends", rows=[int(i) + 1 for i in f.index[whole]],
                            hint="delete that row, or export without Include summary row")
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
    if role in ("event", "control"):
        return ()
    if role == "spend" and platform == "generic":
        return SPEND_COLUMNS + counts
    return PLATFORMS[platform].amount_columns + counts


def _amount_column(table: Table, source: Source, platform: str, role: str, section: str | None) -> str:
    """The column named in the mapping, else the first default of ``role``; a section must name one when none fits."""
    candidates = amount_candidates(platform, role, source.multiplier)
    cols = list(table.frame.columns)
    found = any(column_matches(col, c, fold=True) for c in candidates for col in cols)
    if source.amount_column is not None or section is None or found:
        return pick_column(table, source.amount_column, candidates, "amount")
    what = {"spend": "the spend", "event": "the event (non-zero in its periods)", "control": "the control's values"}.get(role, "the amount")
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
    check_rows(table, date_column, amount_column, role)
    if platform == "meta":
        _check_meta_days(table, date_column)
    # Not said: a ";" file usually comes from a locale that writes decimal commas, so a comma there is ambiguous.
    decimal = source.decimal or (None if table.sep == ";" else ".")
    sums = daily_sums(table, date_column, amount_column, date_format=source.date_format, decimal=decimal,
                      multiplier=source.multiplier, signed=role in ("any", "event", "control"), blank_missing=role in ("revenue", "control"))
    return sums, table, amount_column, date_column


def order_column(columns: list[str]) -> str | None:
    """The column naming each row's order, if the export has one."""
    def named(candidates: tuple[str, ...]) -> list[str]:
        # In any case: a safety check must not miss "ORDER ID" where the amount column was found as "TOTAL".
        return [col for c in candidates for col in columns if column_matches(col, c, fold=True)]

    hits = named(ORDER_COLUMNS)
    if not hits and named(("Name",)) and named(SHOPIFY_MARKS):
        hits = named(("Name",))
    return hits[0] if hits else None


def check_rows(table: Table, date_column: str, amount_column: str, role: str) -> None:
    """Refuse rows that would be summed wrongly: the file pasted twice, an order listed twice, mixed currencies."""
    body = body_rows(table, date_column)
    refuse_double_paste(body, table.path)
    orders = order_column(list(body.columns))
    if role == "revenue" and orders is not None:
        refuse_repeated_orders(body, table.path, orders, amount_column)
    for column in (c for c in body.columns if CURRENCY_COLUMN.match(c)):
        refuse_mixed_currency(body, table.path, column)
