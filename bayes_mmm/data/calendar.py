"""US retail holiday calendar used as baseline regressors.

Each holiday event is its own 0/1 column so that the model (and the synthetic
generator, which uses exactly these columns) can give every event its own
multiplicative effect. Dates are computed for any year, with pure pandas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["HOLIDAY_COLUMNS", "any_holiday", "holiday_dates", "us_holidays"]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> pd.Timestamp:
    """Return the ``n``-th ``weekday`` (Mon=0) of a month; ``n=-1`` is the last."""
    if n > 0:
        first = pd.Timestamp(year=year, month=month, day=1)
        return first + pd.Timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthEnd(0)
    return last - pd.Timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(year: int) -> pd.Timestamp:
    return _nth_weekday(year, 11, 3, 4)


def _fixed(month: int, day: int) -> Callable[[int], list[pd.Timestamp]]:
    return lambda y: [pd.Timestamp(year=y, month=month, day=day)]


_RULES: dict[str, Callable[[int], list[pd.Timestamp]]] = {
    "new_year": _fixed(1, 1),
    "valentines": _fixed(2, 14),
    "mothers_day": lambda y: [_nth_weekday(y, 5, 6, 2)],
    "memorial_day": lambda y: [_nth_weekday(y, 5, 0, -1)],
    "july_4th": _fixed(7, 4),
    "labor_day": lambda y: [_nth_weekday(y, 9, 0, 1)],
    "black_friday": lambda y: [_thanksgiving(y) + pd.Timedelta(days=1)],
    "cyber_monday": lambda y: [_thanksgiving(y) + pd.Timedelta(days=4)],
    "christmas_rush": lambda y: list(pd.date_range(f"{y}-12-18", f"{y}-12-24")),
    "christmas": _fixed(12, 25),
}

#: Holiday event columns, in the order ``us_holidays`` returns them.
HOLIDAY_COLUMNS: tuple[str, ...] = tuple(_RULES)


def holiday_dates(name: str, year: int) -> list[pd.Timestamp]:
    """Dates of one holiday event in one year.

    Parameters
    ----------
    name : str
        One of :data:`HOLIDAY_COLUMNS`.
    year : int
        Calendar year.

    Returns
    -------
    list of pandas.Timestamp
        The event's days (several for ``christmas_rush``).
    """
    return _RULES[name](year)


def us_holidays(dates: pd.DatetimeIndex) -> pd.DataFrame:
    """One 0/1 indicator column per US retail holiday event.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Days to flag (time of day is ignored).

    Returns
    -------
    pandas.DataFrame
        Index ``dates``, float columns :data:`HOLIDAY_COLUMNS`: ``new_year``,
        ``valentines``, ``mothers_day`` (2nd Sunday of May), ``memorial_day``
        (last Monday of May), ``july_4th``, ``labor_day`` (1st Monday of
        September), ``black_friday`` (Friday after Thanksgiving),
        ``cyber_monday`` (Monday after Thanksgiving), ``christmas_rush``
        (Dec 18-24) and ``christmas`` (Dec 25).
    """
    dates = pd.DatetimeIndex(dates)
    days = dates.normalize()
    years = sorted(set(days.year.tolist())) if len(days) else []
    out = {}
    for name, rule in _RULES.items():
        hits = pd.DatetimeIndex([d for y in years for d in rule(int(y))])
        out[name] = days.isin(hits).astype(float)
    return pd.DataFrame(out, index=dates, columns=list(HOLIDAY_COLUMNS))


def any_holiday(dates: pd.DatetimeIndex) -> np.ndarray:
    """Flag days that fall on any holiday event.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Days to flag.

    Returns
    -------
    numpy.ndarray
        Float 0/1 array of ``len(dates)``: the max over :func:`us_holidays` columns.
    """
    return us_holidays(dates).to_numpy().max(axis=1, initial=0.0)
