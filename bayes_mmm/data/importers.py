"""Build one tenant folder of the lake (data contract §1) from a merchant's raw exports.

A shop revenue export, one export per ad channel (Meta, Google Ads, TikTok, or any dated table
such as email sends × a cost per send), an Open-Meteo history and forecast: each is summed per
period, aligned on the revenue export's days or weeks and written atomically as ``daily.csv`` (or ``weekly.csv``),
``tenant.json`` and ``forecast.csv``. A small TOML mapping says which file is what::

    tenant_id = "harbor-home"
    missing_revenue = "error"          # or "zero" (no sales), "empty" (unknown: the model skips the day)

    [tenant]                           # optional tenant.json fields
    name = "Harbor Home"
    currency = "USD"

    [revenue]
    file = "shop_orders.csv"
    date_column = "Created at"         # optional; found by name otherwise
    amount_column = "Total"
    ignore_columns = ["Cost"]          # spend-like columns that are not media spend

    [channels.meta]
    file = "meta_ads.csv"              # platform detected from the header (or platform = "meta")

    [channels.email]
    file = "klaviyo_campaigns.csv"
    date_column = "Send Time"
    amount_column = "Total Recipients"
    multiplier = 0.002                 # cost per send

    [weather]
    history = "open_meteo_history.csv"
    forecast = "open_meteo_forecast.csv"

    [events.black_friday]              # optional: periods where this column is non-zero get event = 1
    file = "promotions.csv"
    amount_column = "discount"

    [controls.competitor]              # optional: a known driver, averaged per period, as control_competitor
    file = "sales.csv"
    amount_column = "competitor_sales"

A revenue export with one row per week (all on one weekday) makes a weekly tenant (``weekly.csv``):
daily ad exports are summed into its weeks and daily weather becomes each week's mean temperature
and total precipitation. File names are relative to the mapping file. Every key is one of the fields of
:class:`~bayes_mmm.data.platforms.Source`; unknown keys are an error, never ignored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core import atomic
from bayes_mmm.core.constants import (
    CADENCE_DAYS,
    CONTROL_PREFIX,
    DAILY,
    DATA_STEMS,
    DATE,
    EVENT,
    PERIOD_UNIT,
    REVENUE,
    SPEND_PREFIX,
    TENANT_JSON,
    WEEKLY,
)
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import EMPTY, Table, body_rows, parse_amounts, row_days
from bayes_mmm.data.import_periods import (
    forecast_periods,
    into_periods,
    needed_days,
    off_weekday,
    one_weekday,
    period_means,
    revenue_periods,
    spacing,
    weather_periods,
    weekday_mismatch,
    whole_sums,
)
from bayes_mmm.data.lake import META_RANGES, META_TEXT, TENANT_ID, check_channel_name, check_meta_types, detect_cadence
from bayes_mmm.data.open_meteo import read_open_meteo
from bayes_mmm.data.platforms import Source, read_source
from bayes_mmm.data.sensitivity import check_class

CHANNEL_NAME = re.compile(r"^[a-z0-9_]+$")
#: Revenue-export columns that look like media spend: an error unless mapped as a channel or ignored.
#: A word "spend" or "cost(s)" first or last ("cost_x", "facebook_cost", "tv_costs", "Media spend (USD)") ...
SPEND_LIKE = re.compile(r"^(ad[ _]?)?(spend|costs?)([ _].*)?$|[ _](spend|costs?)( ?\([^)]*\))?$", re.IGNORECASE)
#: ... unless the column labels or rates costs rather than amounts them ("cost_center_id", "Cost per result").
NOT_AMOUNT = re.compile(r"(^|[ _])(ids?|codes?|cent(er|re)s?|types?|categor(y|ies)|names?|per)([ _]|$)", re.IGNORECASE)
#: Order-export columns that are parts of sales or labels of customers, never media spend: not worth a note.
SALES_PARTS = re.compile(r"(?<![a-z])((sub)?totals?|tax(es)?|tips?|zip|(day|week|month|year)s?)(?![a-z])|shipping|"
                         r"grand ?total|discount|refund|quantity|price|dut(y|ies)|balance|weight|postal|phone", re.IGNORECASE)
MISSING_REVENUE = ("error", "zero", "empty")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TENANT_KEYS = ("name", "city", "latitude", "longitude", "category", "currency", "sensitivity", "country")
SOURCE_KEYS = tuple(f.name for f in fields(Source))
FORECAST = "forecast.csv"
#: The files an import writes into a tenant folder: ``--force`` replaces these and keeps every other file.
WRITTEN = (*DATA_STEMS, TENANT_JSON, FORECAST)
#: What each mapping value must be (TOML also gives numbers, dates, lists and tables where a string is meant).
TEXT, NUMBER, TEXTS = "a string", "a number", "a list of strings"
TOP_TYPES = {"tenant_id": TEXT, "missing_revenue": TEXT, "weeks": TEXT}
TENANT_TYPES = {**dict.fromkeys(META_TEXT, TEXT), **dict.fromkeys(META_RANGES, NUMBER)}  # as the lake reads tenant.json
SOURCE_TYPES = {**dict.fromkeys(("file", "platform", "date_column", "date_format", "amount_column", "decimal"), TEXT),
                "multiplier": NUMBER, "ignore_columns": TEXTS}
WEATHER_TYPES = {"history": TEXT, "forecast": TEXT}


@dataclass(frozen=True)
class ImportSpec:
    """Everything one import needs: where each number comes from and what to do with gaps."""

    tenant_id: str
    revenue: Source
    channels: dict[str, Source]
    weather: Path | None = None
    forecast: Path | None = None
    missing_revenue: str = "error"
    tenant: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Source] = field(default_factory=dict)  #: dated columns whose non-zero periods are events
    controls: dict[str, Source] = field(default_factory=dict)  #: dated columns of known drivers (control_<name>)
    mapping: Path | None = None  #: the mapping file, named in errors about its sections
    #: The weekday weeks start on when daily exports are to be summed into weeks (None: the revenue export's cadence).
    weeks: str | None = None

    def __post_init__(self) -> None:
        if not TENANT_ID.match(self.tenant_id or ""):
            raise DataError(f"tenant id '{self.tenant_id}' may only use ASCII letters (a–z, A–Z), digits, '_' and '-'")
        if self.missing_revenue not in MISSING_REVENUE:
            raise DataError(f"missing_revenue must be one of {', '.join(MISSING_REVENUE)}, not '{self.missing_revenue}'")
        if self.weeks is not None and self.weeks.lower() not in WEEKDAYS:
            raise DataError(f"weeks must name the weekday weeks start on ({', '.join(WEEKDAYS)}), not '{self.weeks}'",
                            hint="--weeks monday sums daily exports into weeks starting on Monday")
        if not self.channels:
            raise DataError("no channel to import", hint="add [channels.<name>] to the mapping or --channel NAME=FILE")
        for name in self.channels:
            if not CHANNEL_NAME.match(name):
                raise DataError(f"channel name '{name}' may only use lower-case letters, digits and '_'",
                                hint="it becomes the column spend_<name>")
            check_channel_name(name)
        where = self.mapping if self.mapping is not None else Path("[tenant]")
        unknown = [k for k in self.tenant if k not in TENANT_KEYS]
        if unknown:
            raise DataError(f"unknown tenant key '{unknown[0]}' in [tenant]", file=where, hint=f"tenant.json keys: {', '.join(TENANT_KEYS)}")
        # What validate and fit would refuse in the tenant.json this writes is refused here, before any file is read.
        check_meta_types(self.tenant, where)
        if self.tenant.get("sensitivity") is not None:
            check_class(self.tenant["sensitivity"], where)

    def label(self, group: str, name: str) -> str:
        """A channel or event's declaration: "[channels.search]" (or "--channel search")."""
        return f"[{group}.{name}]" if self.mapping is not None else f"--channel {name}"

    def section(self, group: str, name: str) -> str:
        """Where a channel or event is declared, for errors: "[channels.search] in m.toml" (or "--channel search")."""
        return f"{self.label(group, name)} in {self.mapping}" if self.mapping is not None else self.label(group, name)


@dataclass(frozen=True)
class Imported:
    """The tables of one tenant folder, before writing."""

    tenant_id: str
    daily: pd.DataFrame  #: one row per period (day or week): date, revenue, spend_<channel>..., weather, event
    meta: dict[str, Any]  #: tenant.json
    forecast: pd.DataFrame | None  #: date, temp_c, precip_mm[, snow_cm] after the last period
    notes: list[str]  #: what the import did that a user should know (trimmed days, filled gaps)
    cadence: str = DAILY  #: the revenue export's: ``daily`` or ``weekly`` (the file written is ``<cadence>.csv``)


def _source(entry: Any, where: str, base: Path, mapping: Path | None) -> Source:
    if not isinstance(entry, Mapping) or "file" not in entry:
        flag = {"revenue": "--revenue FILE, or "}.get(where, "" if where.startswith("events") else "--channel NAME=FILE, or ")
        raise DataError(f"[{where}] needs a file", file=mapping, hint=f"{flag}file = \"export.csv\" in the mapping")
    unknown = [k for k in entry if k not in SOURCE_KEYS]
    if unknown:
        raise DataError(f"unknown key '{unknown[0]}' in [{where}]", file=mapping, hint=f"keys: {', '.join(SOURCE_KEYS)}")
    kwargs = dict(entry)
    kwargs["file"] = base / str(kwargs["file"])
    kwargs["ignore_columns"] = tuple(kwargs.get("ignore_columns", ()))
    try:
        return Source(**kwargs)
    except DataError as exc:  # a setting's fault, not the export's: name where the setting was given
        given = "--cost-per" if where.startswith("channels") and "multiplier" in exc.problem and mapping is None else mapping
        raise DataError(f"[{where}] {exc.problem}", file=given, hint=exc.hint) from None


def parse_pairs(values: Sequence[str], option: str) -> dict[str, str]:
    """``["meta=meta.csv", "email=0.002"]`` → ``{"meta": "meta.csv", "email": "0.002"}`` (command-line pairs)."""
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise DataError(f"{option} expects NAME=VALUE, got '{v}'")
        if name.strip() in out:  # a dict keeps the last: the first export would be dropped without a word
            raise DataError(f"{option} names '{name.strip()}' twice ({out[name.strip()]} and {value.strip()})",
                            hint="give each its own name (meta_us=…, meta_eu=…), or combine the exports into one file")
        out[name.strip()] = value.strip()
    return out


def read_mapping(path: str | Path) -> dict[str, Any]:
    """The TOML mapping as a plain dict (file names still relative to it)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("mapping file not found", file=path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # Windows editors write a BOM
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})", file=path,
                        hint="save the mapping as UTF-8") from None
    try:
        mapping = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"invalid TOML ({exc})", file=path) from None
    allowed = ("tenant_id", "missing_revenue", "weeks", "tenant", "revenue", "channels", "weather", "events", "controls")
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise DataError(f"unknown key '{unknown[0]}'", file=path, hint=f"top-level keys: {', '.join(allowed)}")
    for key in ("tenant", "revenue", "channels", "weather", "events", "controls"):
        if key in mapping and not isinstance(mapping[key], Mapping):
            raise DataError(f"'{key}' must be a table ([{key}] …), not {mapping[key]!r}", file=path)
    check_types(mapping, path)
    return mapping


def _is(value: Any, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _show(value: Any) -> str:
    if isinstance(value, date | time):
        return f"the TOML date/time {value.isoformat()} (put it in quotes)"
    return repr(value)


def _check_section(table: Mapping[str, Any], section: str, types: Mapping[str, str], path: Path) -> None:
    for key, kind in types.items():
        if key in table and not _is(table[key], kind):
            raise DataError(f"{section}{key} must be {kind}, not {_show(table[key])}", file=path)


def check_types(mapping: Mapping[str, Any], path: Path) -> None:
    """Refuse a mapping value of the wrong type (``date_format = 5``, ``ignore_columns = "Cost"``) before any reading.

    Parameters
    ----------
    mapping
        The parsed TOML; its sections are already known to be tables.
    path
        The mapping file, named in the error.

    Raises
    ------
    DataError
        E.g. "m.toml: [revenue] date_format must be a string, not 5".
    """
    _check_section(mapping, "", TOP_TYPES, path)
    for key, types in (("tenant", TENANT_TYPES), ("weather", WEATHER_TYPES), ("revenue", SOURCE_TYPES)):
        _check_section(mapping.get(key, {}), f"[{key}] ", types, path)
    for group in ("channels", "events", "controls"):
        for name, entry in mapping.get(group, {}).items():
            if isinstance(entry, Mapping):  # anything else is refused with its own message ("needs a file")
                _check_section(entry, f"[{group}.{name}] ", SOURCE_TYPES, path)


def make_spec(
    mapping: str | Path | None = None,
    *,
    tenant_id: str | None = None,
    revenue: str | Path | None = None,
    revenue_column: str | None = None,
    channels: Mapping[str, str | Path] | None = None,
    cost_per: Mapping[str, float] | None = None,
    weather: str | Path | None = None,
    forecast: str | Path | None = None,
    missing_revenue: str | None = None,
    weeks: str | None = None,
) -> ImportSpec:
    """An :class:`ImportSpec` from a mapping file, command-line values overriding it.

    ``channels`` maps a channel name to its export (platform detected from the header);
    ``cost_per`` sets a channel's multiplier, e.g. the cost of one email send; ``weeks`` (a weekday)
    sums daily exports into weeks starting on that day.
    """
    path = Path(mapping) if mapping is not None else None
    m = read_mapping(path) if path is not None else {}
    base = path.parent if path is not None else Path()
    rev = dict(m.get("revenue", {}))
    if revenue is not None:
        rev["file"] = str(Path(revenue).resolve())
    if revenue_column is not None:
        rev["amount_column"] = revenue_column
    chans = {name: dict(entry) if isinstance(entry, Mapping) else entry for name, entry in m.get("channels", {}).items()}
    for name, file in (channels or {}).items():
        chans.setdefault(name, {})["file"] = str(Path(file).resolve())
    for name, cost in (cost_per or {}).items():
        if name not in chans:
            raise DataError(f"--cost-per names channel '{name}' that has no export", hint=f"channels: {', '.join(chans)}")
        chans[name]["multiplier"] = cost
    w = m.get("weather", {})
    unknown_w = [k for k in w if k not in ("history", "forecast")]
    if unknown_w:
        raise DataError(f"unknown key '{unknown_w[0]}' in [weather]", file=path, hint="keys: history, forecast")
    hist = Path(weather).resolve() if weather is not None else (base / w["history"] if "history" in w else None)
    fc = Path(forecast).resolve() if forecast is not None else (base / w["forecast"] if "forecast" in w else None)
    tenant_id = tenant_id or m.get("tenant_id")
    if not tenant_id:
        raise DataError("no tenant id", file=path, hint="--tenant ID, or tenant_id = \"...\" in the mapping")
    return ImportSpec(
        tenant_id=tenant_id,
        revenue=_source(rev, "revenue", base, path),
        channels={name: _source(entry, f"channels.{name}", base, path) for name, entry in chans.items()},
        weather=hist,
        forecast=fc,
        missing_revenue=missing_revenue or m.get("missing_revenue", "error"),
        tenant=dict(m.get("tenant", {})),
        events={name: _source(entry, f"events.{name}", base, path) for name, entry in m.get("events", {}).items()},
        controls={name: _source(entry, f"controls.{name}", base, path) for name, entry in m.get("controls", {}).items()},
        mapping=path,
        weeks=weeks if weeks is not None else m.get("weeks"),  # "" is a bad weekday, not "not given"
    )


def _with_revenue_dates(spec: ImportSpec, source: Source) -> Source:
    """A source in the revenue export itself reads the revenue's date column unless it names its own."""
    if source.date_column is None and source.file.resolve() == spec.revenue.file.resolve():
        return replace(source, date_column=spec.revenue.date_column)
    return source


def same_file_channels(spec: ImportSpec, table: Table) -> dict[str, Source]:
    """Channels read from the revenue export itself take its ``spend_<name>``/``cost_<name>`` column by default."""
    out = dict(spec.channels)
    for name, source in spec.channels.items():
        if source.file.resolve() == table.path.resolve() and source.amount_column is None:
            hits = [c for c in table.frame.columns if c.lower() in (f"spend_{name}", f"cost_{name}")]
            if hits:
                out[name] = replace(_with_revenue_dates(spec, source), amount_column=hits[0])
    return out


def check_revenue_columns(table: Table, spec: ImportSpec, channels: Mapping[str, Source]) -> None:
    """Refuse spend-like columns in the revenue export that no channel reads and the mapping does not ignore."""
    # Named in any case, as the column itself is found (``amount_column = "spend_tv"`` reads ``SPEND_TV``).
    used = {s.amount_column.casefold() for s in channels.values()
            if s.file.resolve() == table.path.resolve() and s.amount_column is not None}
    ignored = {c.casefold() for c in spec.revenue.ignore_columns}
    stray = [c for c in table.frame.columns if SPEND_LIKE.search(c) and not NOT_AMOUNT.search(c)
             and c.casefold() not in used | ignored]
    if stray:
        raise DataError(
            "looks like media spend but is not mapped to a channel",
            file=table.path,
            column=stray[0],
            hint=f"map it ([channels.<name>] file = \"{table.path.name}\", amount_column = \"{stray[0]}\") "
            f"or list it in [revenue] ignore_columns",
        )


def _refuse_off_weekday(table: Table, date_column: str, date_format: str | None, dates: pd.DatetimeIndex) -> None:
    """Weekly rows with some on another weekday hold wrong dates, not a daily export missing six days a week:
    a few rows off the usual weekday, or the week start switching mid-file (another tool, another setting).
    """
    off = off_weekday(dates)
    if off is not None:
        weekday, odd = off
        days = row_days(table, date_column, date_format)
        hit = days[days.isin(odd)]
        more = f"; {len(hit) - 1} more row(s) are off {weekday}" if len(hit) > 1 else ""
        raise DataError(f"rows look weekly ({weekday}) but row {hit.index[0] + 1} ({hit.iloc[0]:%Y-%m-%d}) is a "
                        f"{hit.iloc[0]:%A}{more}", file=table.path, column=date_column,
                        hint=f"date every row by its week's first day ({weekday}), or export by day")
    weekdays = dates.day_of_week.to_numpy()
    if spacing(dates) != WEEKLY or np.count_nonzero(np.diff(weekdays)) != 1:
        return
    change = dates[weekdays != weekdays[0]][0]
    days = row_days(table, date_column, date_format)
    raise DataError(f"rows are a week apart but the week start changes from {dates[0]:%A}s to {change:%A}s at row "
                    f"{int(days.index[days == change][0]) + 1} ({change:%Y-%m-%d})", file=table.path, column=date_column,
                    hint=f"export with one week start (every row dated by its week's first day, e.g. all {dates[0]:%A}s), "
                    "or export by day")


def _sparse_hint(dates: pd.DatetimeIndex) -> str | None:
    """How to fix rows days apart (weekly or monthly totals): never by zero-filling the days between them."""
    kind, weekdays = spacing(dates), pd.Index(dates.day_of_week).nunique()
    # Weekly totals sit on one or two weekdays (a switch of week start); a small shop's sales days fall on any.
    if (kind == WEEKLY and weekdays > 2) or kind not in (WEEKLY, "monthly"):
        return None
    if kind == WEEKLY:
        return (f"the rows are about a week apart but on {weekdays} weekdays: if they are "
                "weekly totals, date each by its week's first day (one weekday); otherwise export by day")
    return "the rows are monthly, and bayes-mmm models days or weeks: export by day or by week"


def _missing_revenue(sums: pd.Series, periods: pd.DatetimeIndex, table: Table, spec: ImportSpec, column: str,
                     date_column: str, unit: str) -> str:
    """What periods lack revenue ("2 day(s) without rows"; no rows, or only blank amount cells: unknown either way),
    refused unless ``--missing-revenue`` says what they are; "" when none does.
    """
    blank = sums.index[sums.isna()]
    missing = periods.difference(sums.dropna().index)
    what = (f"{len(missing)} {unit}(s) without revenue ({len(blank)} with only blank amounts)" if len(blank)
            else f"{len(missing)} {unit}(s) without rows")
    # Rows a week or a month apart are not days without sales: filling the days between them is refused too.
    sparse = _sparse_hint(pd.DatetimeIndex(sums.index)) if unit == PERIOD_UNIT[DAILY] else None
    if not len(missing) or (spec.missing_revenue != "error" and sparse is None):
        return what if len(missing) else ""
    rows = None
    if len(blank):
        days = row_days(table, date_column, spec.revenue.date_format)
        rows = [int(i) + 1 for i in days.index[days.isin(blank)]]
    raise DataError(
        f"{what} between {periods[0]:%Y-%m-%d} and {periods[-1]:%Y-%m-%d}, "
        f"first {missing[0]:%Y-%m-%d}",
        file=table.path,
        column=column,
        rows=rows,
        hint=sparse or f"--missing-revenue zero (no sales in those {unit}s) or empty (unknown: the model skips them)",
    )


def _note_unread(table: Table, spec: ImportSpec, channels: Mapping[str, Source], columns: tuple[str, str],
                 notes: list[str]) -> None:
    """Note numeric columns of the revenue export that nothing reads: a spend column named in another language
    ("Marketing Kosten") must not vanish silently; sales parts (subtotal, taxes) and labels are not worth a note.
    """
    here = table.path.resolve()
    read = {*columns, *spec.revenue.ignore_columns,
            *(s.amount_column for s in (*channels.values(), *spec.events.values()) if s.file.resolve() == here)}
    body = body_rows(table, columns[1])
    unread = [c for c in body.columns if c not in read
              and not NOT_AMOUNT.search(c) and not SALES_PARTS.search(c) and _numeric(body[c], table.path, spec.revenue.decimal)]
    if unread:
        notes.append(f"revenue: numeric column(s) not read: {', '.join(unread)}; map any that is media spend as a "
                     "channel, or list them in [revenue] ignore_columns")


def _numeric(cells: pd.Series, path: Path, decimal: str | None) -> bool:
    """True when a column holds amounts (with the export's ``decimal``, or either when not said): every non-empty cell.

    Each distinct cell is read once, the first thousand first: an e-mail or order-id column fails on them.
    """
    cells = cells.drop_duplicates()
    if cells.astype(str).str.strip().isin(EMPTY).all():
        return False
    if len(cells) > 1000 and not _numeric(cells.iloc[:1000], path, decimal):
        return False
    for dec in [decimal] if decimal else [".", ","]:
        try:
            parse_amounts(cells, path=path, column=str(cells.name), decimal=dec)
        except DataError:
            continue
        return True
    return False


def _revenue(spec: ImportSpec, notes: list[str]) -> tuple[pd.Series, dict[str, Source], str, tuple[Path, str]]:
    """The revenue per period, the channels it carries, its cadence (``daily`` or ``weekly``) and its (file, column)."""
    sums, table, column, date_column = read_source(spec.revenue, role="revenue")
    channels = same_file_channels(spec, table)
    check_revenue_columns(table, spec, channels)
    _note_unread(table, spec, channels, (column, date_column), notes)
    cadence, periods = revenue_periods(pd.DatetimeIndex(sums.index), table.path, date_column)
    if cadence == DAILY:
        _refuse_off_weekday(table, date_column, spec.revenue.date_format, pd.DatetimeIndex(sums.index))
    unit = PERIOD_UNIT[cadence]
    if cadence == WEEKLY:
        notes.append(f"revenue: every row on a {periods[0]:%A}: read as one row per week (weekly.csv)")
    what = _missing_revenue(sums, periods, table, spec, column, date_column, unit)
    if what:
        notes.append(f"revenue: {what} set to {spec.missing_revenue}")
    sums = sums.reindex(periods)
    filled = sums.fillna(0.0) if spec.missing_revenue == "zero" else sums
    if spec.weeks is not None:
        filled, cadence = _into_weeks(filled, cadence, spec.weeks.lower(), table.path, date_column, notes), WEEKLY
    return filled, channels, cadence, (table.path.resolve(), column)


def _into_weeks(revenue: pd.Series, cadence: str, weekday: str, path: Path, date_column: str, notes: list[str]) -> pd.Series:
    """Daily revenue summed into whole weeks starting on ``weekday``; a week with a blank day is blank.

    The part weeks at either end are dropped (their sum would look like a slump); the other exports follow,
    as they do for a weekly revenue export.
    """
    start = WEEKDAYS.index(weekday)
    if cadence == WEEKLY:
        if revenue.index[0].day_of_week != start:
            raise DataError(f"rows are weekly on {revenue.index[0]:%A}s: they cannot be read as weeks starting on a "
                            f"{weekday.title()}", file=path, column=date_column, hint=f"--weeks {revenue.index[0]:%A}".lower())
        return revenue
    first = revenue.index[0] + pd.Timedelta(days=(start - revenue.index[0].day_of_week) % 7)
    weeks = pd.date_range(first, revenue.index[-1] - pd.Timedelta(days=6), freq="7D", name=DATE)
    if len(weeks) < 2:
        raise DataError(f"{len(revenue)} days hold {len(weeks)} whole week(s) starting on a {weekday.title()}: too short "
                        "to model", file=path, column=date_column, hint="export a longer history, or leave out --weeks")
    out, dropped = whole_sums(revenue, weeks, WEEKLY)
    notes.append(f"revenue: daily rows summed into {len(weeks)} weeks starting on {weekday.title()}s (weekly.csv)"
                 + (f"; {dropped} day(s) of part weeks at the ends dropped" if dropped else ""))
    return out


#: What a section reads a column as, in errors.
ROLE_NAMES = {"spend": "spend", "event": "an event", "control": "a control"}


def _read(source: Source, role: str, spec: ImportSpec, group: str, name: str,
          taken: dict[tuple[Path, str], str]) -> tuple[pd.Series, str]:
    """Daily sums and date column of a channel (``role="spend"``), an event or a control.

    ``taken`` maps each (file, column) read as revenue or spend to what read it: no column is read again (the
    revenue amounts as spend, a channel's spend as a second channel or as a control would count it twice).
    Events and controls may share a column (a discount as a flag and as a level).
    """
    section = spec.section(group, name)
    sums, table, column, date_column = read_source(source, role=role, section=section)
    key = (table.path.resolve(), column)
    if key in taken:
        raise DataError(f"reads {taken[key]} ('{column}' of {table.path.name}) as {ROLE_NAMES[role]}",
                        file=section, hint="name the column that holds it: amount_column = ...")
    if role == "spend":
        taken[key] = f"{spec.label(group, name)}'s spend"  # "[channels.meta]'s spend"
    return sums, date_column


def _note_outside(label: str, outside: int, notes: list[str], amount: float | None = None) -> None:
    """Say how many days (and, for spend, how much) lay outside the revenue's range: the rows of those days are dropped."""
    if outside:
        much = f" ({amount:,.2f} of spend)" if amount else ""
        notes.append(f"{label}: {outside} day(s){much} dated outside the revenue's periods dropped")


def _spend(name: str, sums: pd.Series, where: str, periods: pd.DatetimeIndex, cadence: str,
           notes: list[str]) -> pd.Series:
    """A channel's daily sums (read from ``where``: "(file, column 'Day')") as spend per period."""
    dates = pd.DatetimeIndex(sums.index)
    # One send a week (a newsletter) looks the same as weekly totals: say it, do not refuse it.
    if cadence == DAILY and detect_cadence(dates) == WEEKLY:
        notes.append(f"{name}: rows only every 7 days {where}; each counts as that day's spend: "
                     "if they are weekly totals, export by day")
    other = weekday_mismatch(dates, periods, cadence)
    if other:
        notes.append(f"{name}: every row on {other} {where}, the revenue's weeks start on {periods[0]:%A}s; each "
                     "counts in the week that contains it: if they are weekly totals, export by day or by the same weeks")
    spend, outside = into_periods(sums, periods, cadence)
    _note_outside(name, outside, notes, float(np.nansum(sums.to_numpy()) - spend.sum()))
    # Platforms omit days without delivery, so an export cut short reads as a channel that stopped: say so.
    end = periods[-1] + pd.Timedelta(days=CADENCE_DAYS[cadence] - 1)
    if len(dates) and dates.max() < end:
        notes.append(f"{name}: its rows end {dates.max():%Y-%m-%d}, {(end - dates.max()).days} day(s) before the revenue's "
                     f"periods do ({end:%Y-%m-%d}); those days read as no spend: if {name} ran then, export the whole range")
    return spend


def _drop_part_week(revenue: pd.Series, spends: Mapping[str, pd.Series], cadence: str, notes: list[str]) -> pd.Series:
    """Drop the last week when every daily ad export ends inside it: a week exported before it was over is a
    part week, and its revenue read as a whole week's would look like a slump.
    """
    daily = [s.index.max() for s in spends.values() if len(s) and not one_weekday(pd.DatetimeIndex(s.index))]
    if cadence != WEEKLY or not daily or len(revenue) < 3:
        return revenue
    last, end = revenue.index[-1], max(daily)
    week_end = last + pd.Timedelta(days=6)
    if not last <= end < week_end:
        return revenue
    notes.append(f"revenue: last week {last:%Y-%m-%d} dropped: the ad exports end {end:%Y-%m-%d}, before the week "
                 f"ends {week_end:%Y-%m-%d} (a part week)")
    return revenue.iloc[:-1]


def _per_period(spec: ImportSpec, group: str, periods: pd.DatetimeIndex, cadence: str, taken: dict[tuple[Path, str], str],
                notes: list[str], into: Callable[[pd.Series, pd.DatetimeIndex, str], tuple[pd.Series, int]]) -> dict[str, pd.Series]:
    """Each source of ``group`` ("events", "controls") read and put ``into`` the revenue's periods, by name."""
    role = group.removesuffix("s")
    out = {}
    for name, src in getattr(spec, group).items():
        sums, _ = _read(_with_revenue_dates(spec, src), role, spec, group, name, taken)
        out[name], outside = into(sums, periods, cadence)
        _note_outside(f"{role} {name}", outside, notes)
    return out


def _events(spec: ImportSpec, periods: pd.DatetimeIndex, cadence: str, taken: dict[tuple[Path, str], str],
            notes: list[str]) -> pd.Series:
    """1 in a period where any event column is non-zero (a promotion, an outage), else 0."""
    sums = _per_period(spec, "events", periods, cadence, taken, notes, lambda s, p, c: into_periods(s.abs(), p, c))
    return pd.concat([v > 0 for v in sums.values()], axis=1).any(axis=1).astype(int)


def _controls(spec: ImportSpec, periods: pd.DatetimeIndex, cadence: str, taken: dict[tuple[Path, str], str],
              notes: list[str]) -> dict[str, pd.Series]:
    """``control_<name>`` per period: the named column's mean over each period's days with a value, blank where
    none has one (the lake interpolates blanks; the model standardises the column)."""
    means = _per_period(spec, "controls", periods, cadence, taken, notes, period_means)
    return {CONTROL_PREFIX + name: values for name, values in means.items()}


def _unfinished(last: pd.Timestamp) -> str:
    """Why weather cannot be downloaded for days still to come: the revenue export's last period is not over."""
    if last < pd.Timestamp.today().normalize():
        return ""
    return f"; {last:%Y-%m-%d} is not over yet: remove the revenue export's last, unfinished period"


def _weather(path: Path, periods: pd.DatetimeIndex, cadence: str) -> tuple[pd.DataFrame, dict[str, float]]:
    weather = read_open_meteo(path)
    days = needed_days(periods, cadence)
    missing = days.difference(weather.index)
    if len(missing):
        raise DataError(
            f"weather does not cover {len(missing)} day(s) of the revenue export, first {missing[0]:%Y-%m-%d}",
            file=path,
            column="time",
            hint=f"download {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}" + _unfinished(days[-1]),
        )
    return weather_periods(weather.reindex(days), periods, cadence), dict(weather.attrs)


def _forecast(path: Path, last: pd.Timestamp, cadence: str, weeks: str | None = None) -> pd.DataFrame:
    # Forecast downloads often repeat recent past days: only the periods after the data are kept.
    fc = forecast_periods(read_open_meteo(path), last, cadence)
    if fc.empty:
        # --weeks drops a part week at the end of the history, whose days the forecast (starting after them) lacks.
        hint = (f"--weeks {weeks} dropped the history's last part week, and the forecast starts after it: choose as "
                "--weeks the weekday after the history's last day, so its weeks end with the history" if weeks else None)
        raise DataError(f"no whole forecast period after the data's last period {last:%Y-%m-%d}", file=path, column="time",
                        hint=hint)
    cols = [c for c in ("temp_c", "precip_mm", "snow_cm") if c in fc]
    return fc[cols].reset_index().assign(date=lambda d: d[DATE].dt.strftime("%Y-%m-%d"))


def assemble(spec: ImportSpec) -> Imported:
    """Read every export of ``spec`` and align them on the revenue export's periods."""
    notes: list[str] = []
    revenue, channels, cadence, amounts = _revenue(spec, notes)
    taken = {amounts: "the revenue amounts"}
    read = {name: _read(source, "spend", spec, "channels", name, taken) for name, source in channels.items()}
    revenue = _drop_part_week(revenue, {name: sums for name, (sums, _) in read.items()}, cadence, notes)
    periods = revenue.index
    daily = pd.DataFrame({REVENUE: revenue}, index=periods)
    for name, (sums, date_column) in read.items():
        where = f"({channels[name].file.name}, column '{date_column}')"
        daily[SPEND_PREFIX + name] = _spend(name, sums, where, periods, cadence, notes)
    meta: dict[str, Any] = {"tenant_id": spec.tenant_id, **spec.tenant}
    forecast = None
    if spec.weather is not None:
        weather, location = _weather(spec.weather, periods, cadence)
        daily = daily.join(weather)
        for key in ("latitude", "longitude"):
            if key in location:
                meta.setdefault(key, location[key])
    else:
        notes.append("no weather export: the tenant is modelled without weather terms")
    if spec.events:
        daily[EVENT] = _events(spec, periods, cadence, taken, notes)
    for column, values in _controls(spec, periods, cadence, taken, notes).items():
        daily[column] = values
    if spec.forecast is not None:
        forecast = _forecast(spec.forecast, periods[-1], cadence, spec.weeks)
    daily = daily.round(6).reset_index()
    daily[DATE] = daily[DATE].dt.strftime("%Y-%m-%d")
    return Imported(spec.tenant_id, daily, meta, forecast, notes, cadence)


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link a kept file into the new folder (no second copy of a large file); copy where links are refused."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _keep_others(old: Path, new: Path) -> None:
    """Carry every file the import does not write (lift tests, notes, truth.json) from ``old`` into ``new``."""
    for item in old.iterdir():
        if item.name in WRITTEN:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.copytree(item, new / item.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(item, new / item.name)


def write_tenant(imported: Imported, lake: str | Path, force: bool = False) -> Path:
    """Write ``<lake>/<tenant_id>/`` atomically; an existing folder is updated only with ``force``.

    With ``force`` the files an import writes (:data:`WRITTEN`: the daily or weekly table, ``tenant.json``,
    ``forecast.csv``) are replaced and every other file of the folder is kept.
    """
    target = Path(lake) / imported.tenant_id
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force (force=True) to replace it")
    # Rendered before any folder is made: a value that cannot be written leaves nothing behind.
    files = {f"{imported.cadence}.csv": imported.daily.to_csv(index=False),
             TENANT_JSON: json.dumps(imported.meta, indent=2) + "\n"}
    if imported.forecast is not None:
        files[FORECAST] = imported.forecast.to_csv(index=False)
    with atomic.folder(target, overwrite=True) as tmp:
        if target.is_dir():
            _keep_others(target, tmp)
        for name, text in files.items():
            atomic.write_text(tmp / name, text)
    return target


def import_tenant(spec: ImportSpec, lake: str | Path, force: bool = False) -> Imported:
    """Assemble and write one tenant; nothing is written when any export is bad."""
    imported = assemble(spec)
    write_tenant(imported, lake, force)
    return imported
