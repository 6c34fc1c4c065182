"""The plan's calendar: its periods (days or weeks, the run's cadence), start, and the gap after the data."""

from __future__ import annotations

import pandas as pd

from bayes_mmm.core.constants import CADENCE_DAYS
from bayes_mmm.core.errors import DataError

DEFAULT_PERIODS = {"daily": 7, "weekly": 4}


#: Longest plan, in days: the posterior says nothing about spend further out.
MAX_PLAN_DAYS = 366


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
                        hint="plan at most a year ahead; the posterior says nothing about spend further out")
    return int(n)


def plan_dates(last: pd.Timestamp, cadence: str, n: int, start: str | pd.Timestamp | None) -> tuple[pd.DatetimeIndex, int]:
    """The plan's period dates and how many whole periods lie between the data's end and the start.

    ``start`` defaults to the period after the data; it may not overlap the data.
    """
    step = pd.Timedelta(days=CADENCE_DAYS[cadence])
    first = last + step
    if start is None:
        begin = first
    else:
        try:
            begin = pd.Timestamp(start).normalize()
        except (ValueError, TypeError):
            raise DataError(f"start '{start}' is not a date", hint="use YYYY-MM-DD") from None
        if begin < first:
            raise DataError(f"start {begin.date()} overlaps the run's data, whose last period begins {last.date()}",
                            hint=f"start on {first.date()} or later")
    gap = (begin - first) // step
    return pd.date_range(begin, periods=n, freq=step), int(gap)
