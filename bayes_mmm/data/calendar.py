"""Holiday calendars used as baseline regressors: US retail events, or a country's public holidays.

Each holiday event is its own 0/1 column so that the model (and the synthetic
generator, which uses exactly the US columns) can give every event its own
effect. US dates are computed for any year with pure pandas; another country's
(``tenant.json`` ``country``, an ISO 3166 code, as Robyn's ``prophet_country``)
come from the maintained ``holidays`` package.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

__all__ = ["CYBER_WEEK", "HOLIDAY_COLUMNS", "any_holiday", "calendar_name", "cyber_week", "holiday_dates", "holiday_table",
           "is_holiday_column", "known_country", "modelled_holidays", "own_holidays", "period_holidays", "us_holidays"]


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


#: The shopping week around Black Friday, as a baseline column beside the one-day events.
CYBER_WEEK = "cyber_week"
#: Its days relative to Black Friday: from the Saturday before Thanksgiving week to the Tuesday after Cyber Monday.
CYBER_WEEK_DAYS = (-6, 4)


def cyber_week(dates: pd.DatetimeIndex) -> np.ndarray:
    """A float 0/1 per day of ``dates`` (time of day ignored): 1 inside the shopping week around Black Friday
    (:data:`CYBER_WEEK_DAYS` from it).

    Retail demand is up for days before and after Black Friday and merchants push spend
    then; Black Friday and Cyber Monday keep their own columns for their own peaks.
    """
    days = pd.DatetimeIndex(dates).normalize()
    first, last = CYBER_WEEK_DAYS
    week = [bf + pd.Timedelta(days=k) for y in sorted(set(days.year.tolist()))
            for bf in holiday_dates("black_friday", int(y)) for k in range(first, last + 1)]
    return days.isin(pd.DatetimeIndex(week)).astype(float)


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


#: A country's public holidays are columns ``hol_<name>``; the built-in US ones keep their names.
HOLIDAY_PREFIX = "hol_"
#: Online retail events outside the US too (Thanksgiving-dated), added to every country's public holidays.
RETAIL_EVENTS = ("black_friday", "cyber_monday")
#: Countries whose calendar is the built-in one, states included (its retail events include the public holidays
#: that move sales).
BUILT_IN = ("", "US")


def is_holiday_column(name: str) -> bool:
    """Whether a baseline column is a holiday event (the model gives those a wider prior)."""
    return name in HOLIDAY_COLUMNS or name == CYBER_WEEK or name.startswith(HOLIDAY_PREFIX)


@cache
def known_country(country: str) -> bool:
    """Whether ``country`` has a holiday calendar: an ISO 3166 alpha-2 code (``DE``) or a subdivision's (``GB-ENG``), any case."""
    code, _, subdiv = country.strip().upper().partition("-")
    if code in BUILT_IN and not subdiv:
        return True  # a US state's code is checked below; its calendar is the built-in one all the same
    import holidays  # loaded only for tenants outside the US

    supported = holidays.list_supported_countries()
    return code in supported and (not subdiv or subdiv in supported[code])


def _built_in(code: str) -> bool:
    """Whether an upper-case ``country`` code gets the built-in US calendar (the US, a state, none, or no calendar)."""
    return code.partition("-")[0] in BUILT_IN or not known_country(code)


def calendar_name(country: str | None) -> str:
    """Which calendar :func:`holiday_table` gives a ``country``, in words (the model card names it per tenant)."""
    code = (country or "").strip().upper()
    return "US retail events (built-in)" if _built_in(code) else f"{code} public holidays"


def holiday_table(dates: pd.DatetimeIndex, country: str | None = None, combined: bool = False) -> pd.DataFrame:
    """One 0/1 column per holiday event on ``dates``: :func:`us_holidays`, or a country's public holidays.

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Days to flag.
    country : str, optional
        ``tenant.json`` ``country`` (``DE``, ``GB-ENG``). Empty, ``US`` or a code without a calendar (``validate`` warns)
        gives the built-in US retail calendar; another code gives its public holidays that fall on ``dates`` (a column
        each; an observed, in-lieu or substitute day counting as the holiday's) plus :data:`RETAIL_EVENTS`.
    combined : bool
        A country's public holidays as one column ``hol_public`` (weekly data: two years of weeks cannot tell
        thirty holidays apart, and Thailand's would outnumber a year of weeks).
    """
    code = (country or "").strip().upper()
    if _built_in(code):
        return us_holidays(dates)
    import holidays

    country_code, _, subdiv = code.partition("-")
    days = pd.DatetimeIndex(dates).normalize()
    found = holidays.country_holidays(country_code, subdiv=subdiv or None, years=sorted(set(days.year.tolist())), language="en_US")
    hits: dict[str, list[pd.Timestamp]] = {}
    for day, names in sorted(found.items()):
        for name in str(names).split("; "):
            hits.setdefault(_column(name), []).append(pd.Timestamp(day))
    out = {c: flags for c, d in hits.items() if (flags := days.isin(pd.DatetimeIndex(d)).astype(float)).any()}
    if combined:
        out = {f"{HOLIDAY_PREFIX}public": np.max(list(out.values()), axis=0, initial=0.0) if out else np.zeros(len(days))}
    us = us_holidays(dates)
    out.update({c: us[c].to_numpy() for c in RETAIL_EVENTS})
    return pd.DataFrame(out, index=dates)


#: What makes a day another holiday's stand-in ("Songkran Festival (in lieu)", "Alternative holiday for Korean New Year",
#: "Day off (substituted from 02/04/2024)"): removed, so the day counts as the holiday's.
_STAND_IN = re.compile(r"\s*\((observed|estimated|in lieu|substituted from [^)]*)\)|^alternative holiday for\s+", re.IGNORECASE)


def _column(name: str) -> str:
    """``hol_<ascii slug>`` of a holiday's name, an observed, in-lieu or substitute day merged with the holiday."""
    name = _STAND_IN.sub("", name)
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    return HOLIDAY_PREFIX + (slug or f"{zlib.crc32(name.encode()):08x}")  # a name with no Latin letters



def period_holidays(dates: pd.DatetimeIndex, period_days: int = 1, country: str | None = None,
                    cyber: bool = True) -> pd.DataFrame:
    """The holiday columns of the model's design, per period: how many of each holiday's days it holds.

    :func:`holiday_table` of ``country`` (a country's public holidays as one column for weekly data:
    two years of weeks cannot tell thirty holidays apart), with the shopping week around Black Friday
    (:func:`cyber_week`) when ``cyber``. A period covers ``period_days`` days from its date.
    """
    start = pd.DatetimeIndex(dates)
    days = pd.date_range(start[0], start[-1] + pd.Timedelta(days=period_days - 1), freq="D")
    hol = holiday_table(days, country, combined=period_days > 1)
    if cyber:
        hol[CYBER_WEEK] = cyber_week(days)
    period = np.searchsorted(start.to_numpy(), days.to_numpy(), side="right") - 1
    return pd.DataFrame({c: np.bincount(period, weights=hol[c].to_numpy(dtype=float), minlength=len(start)) for c in hol.columns},
                        index=start)


def own_holidays(column: np.ndarray | None) -> np.ndarray | None:
    """A tenant's own ``holiday`` column as the model reads it (blank cells 0), or None where it has none (all blank)."""
    if column is None:
        return None
    column = np.asarray(column, dtype=float)
    return None if np.isnan(column).all() else np.nan_to_num(column)


def modelled_holidays(dates: pd.DatetimeIndex, period_days: int = 1, country: str | None = None,
                      own: np.ndarray | None = None, cyber: bool = True) -> np.ndarray:
    """Which periods the fit models as holidays, as booleans: the tenant's ``own`` column (:func:`own_holidays`)
    where it has one, else those :func:`period_holidays` flags."""
    own = own_holidays(own)
    if own is not None:
        return own != 0
    return period_holidays(dates, period_days, country, cyber).to_numpy().max(axis=1, initial=0.0) > 0
