"""The plan's calendar: its periods (days or weeks, the run's cadence), start, and the gap after the data."""

from __future__ import annotations

from datetime import date

import pandas as pd

from bayes_mmm.core.constants import CADENCE_DAYS
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.table import DATE_MAX, DATE_MIN, ISO_DATE

DEFAULT_PERIODS = {"daily": 7, "weekly": 4}


#: Longest plan, and farthest start after the data, in days: the posterior says nothing about spend further out.
MAX_PLAN_DAYS = 366
YEAR_HINT = "plan at most a year ahead; the posterior says nothing about spend further out"



class StartError(DataError):
    """A plan's start date that does not serve: callers whose start comes from a file can say so."""


def n_periods(days: int | None, periods: int | None, cadence: str) -> int:
    """The plan length in periods; ``days`` is an alias of ``periods`` for daily runs only."""
    if days is not None and cadence != "daily":
        raise DataError(f"the run's data are {cadence}: its plans are counted in weeks, not days",
                        hint="pass periods (CLI: --periods N) instead of days")
    if days is not None and periods is not None and days != periods:
        raise DataError(f"days ({days}) and periods ({periods}) disagree", hint="pass one of them")
    n = periods if periods is not None else days if days is not None else DEFAULT_PERIODS.get(cadence, 7)
    if int(n) != n or n < 1:
        raise DataError(f"the plan length must be a whole number of periods ≥ 1, got {n}")
    if n * CADENCE_DAYS[cadence] > MAX_PLAN_DAYS:
        raise DataError(f"the plan length must be at most {MAX_PLAN_DAYS} days, got {n} {cadence} periods",
                        hint=YEAR_HINT)
    return int(n)


def _start_date(start: str | date | pd.Timestamp) -> pd.Timestamp:
    """A start date: text only as ISO ``YYYY-MM-DD`` ('07/25/2024' is ambiguous between day and month orders)."""
    text = start.strip() if isinstance(start, str) else None
    if text is not None and not ISO_DATE.match(text):
        raise StartError(f"start '{start}' is not an ISO date", hint="use YYYY-MM-DD")
    try:
        stamp = pd.Timestamp(start if text is None else text).normalize()
    except (ValueError, TypeError):
        raise StartError(f"start '{start}' is not a date", hint="use YYYY-MM-DD") from None
    if not DATE_MIN <= stamp <= DATE_MAX:
        raise StartError(f"start '{start}' lies outside {DATE_MIN:%Y}–{DATE_MAX:%Y}", hint="a typo in the year?")
    return stamp


def plan_dates(last: pd.Timestamp, cadence: str, n: int, start: str | pd.Timestamp | None) -> tuple[pd.DatetimeIndex, int]:
    """The plan's period dates and how many whole periods lie between the data's end and the start.

    ``start`` defaults to the period after the data; it may not overlap the data nor lie
    more than a year after it (as a plan may not be longer than a year).
    """
    step = pd.Timedelta(days=CADENCE_DAYS[cadence])
    first = last + step
    begin = first if start is None else _start_date(start)
    if begin < first:
        raise StartError(f"start {begin.date()} overlaps the run's data, whose last period begins {last.date()}",
                        hint=f"start on {first.date()} or later")
    if begin - last > pd.Timedelta(days=MAX_PLAN_DAYS):
        raise StartError(f"start {begin.date()} is more than {MAX_PLAN_DAYS} days after the run's last period {last.date()}",
                        hint=YEAR_HINT)
    if (begin - first) % step:
        # a week starting on another weekday than the run's straddles two of its weeks: the weekly
        # forward model has no such period
        weekday = f"{first:%A}"
        raise StartError(f"start {begin.date()} is a {begin:%A}; the run's weeks begin on {weekday}s",
                         hint=f"start on a {weekday}, e.g. {(first + step * ((begin - first) // step)).date()}")
    gap = (begin - first) // step
    return pd.date_range(begin, periods=n, freq=step), int(gap)
