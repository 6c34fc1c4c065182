"""The periods of an import: daily or weekly, as the revenue export has them, and every other export summed into them.

Agency and public MMM data are mostly weekly (one row per week, dated by the week's first day), while ad
platforms and Open-Meteo export days. The revenue export decides the cadence: **weekly when every row
falls on one weekday**, daily otherwise (a shop without sales on some days has gaps, not a coarser
cadence). Each other export is summed into the revenue's periods (a weekly channel export on the same
weekday maps onto itself), and daily weather becomes the week's mean temperature and total
precipitation (data contract §1); a week with a blank weather day stays blank.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import CADENCE_DAYS, DAILY, DATE, WEEKLY
from bayes_mmm.core.errors import DataError

#: How daily weather becomes a period's value (data contract §1: mean temperature, total precipitation).
WEATHER_AGG = {"temp_c": "mean", "precip_mm": "sum", "snow_cm": "sum"}


def one_weekday(dates: pd.DatetimeIndex) -> bool:
    """True when there are at least two dates and all fall on the same weekday: weekly rows."""
    return len(dates) >= 2 and pd.Index(dates.day_of_week).nunique() == 1


def off_weekday(dates: pd.DatetimeIndex) -> tuple[str, pd.DatetimeIndex] | None:
    """``(weekday, dates on another one)`` when rows look weekly but a few are not on that weekday, else None.

    Looking weekly: more than half the dates share a weekday and consecutive dates are a week apart
    (median gap of five days or more). Such an export is not daily with missing days: one date is off.
    """
    if len(dates) < 3:
        return None
    weekdays = pd.Index(dates.day_of_week)
    common = weekdays.value_counts()
    usual = weekdays == common.index[0]
    if usual.all() or common.iloc[0] * 2 <= len(dates) or spacing(dates) is None:
        return None
    return f"{dates[usual][0]:%A}s", dates[~usual]


def spacing(dates: pd.DatetimeIndex) -> str | None:
    """What rows far apart look like: "weekly", "monthly" or "N days apart"; None for daily rows (median gap < 5 days)."""
    if len(dates) < 3:
        return None
    gap = float(np.median(np.diff(dates.to_numpy()) / np.timedelta64(1, "D")))
    if gap < 5:
        return None
    if gap <= 9:
        return WEEKLY
    return "monthly" if 28 <= gap <= 31 else f"{gap:g} days apart"


def revenue_periods(dates: pd.DatetimeIndex, path: Path, column: str) -> tuple[str, pd.DatetimeIndex]:
    """``(cadence, periods)`` of a revenue export's sorted unique dates: weekly on one weekday, else daily."""
    if len(dates) < 2:
        raise DataError(f"only {len(dates)} date(s): too short to model", file=path, column=column,
                        hint="export the whole history, by day or by week")
    cadence = WEEKLY if one_weekday(dates) else DAILY
    return cadence, pd.date_range(dates[0], dates[-1], freq=f"{CADENCE_DAYS[cadence]}D", name=DATE)


def _slots(dates: pd.DatetimeIndex, periods: pd.DatetimeIndex, cadence: str) -> tuple[np.ndarray, np.ndarray]:
    """(inside mask, index of the period containing each inside date)."""
    step = pd.Timedelta(days=CADENCE_DAYS[cadence])
    inside = (dates >= periods[0]) & (dates < periods[-1] + step)
    return inside, np.searchsorted(periods.values, dates[inside].values, side="right") - 1


def into_periods(sums: pd.Series, periods: pd.DatetimeIndex, cadence: str) -> tuple[pd.Series, int]:
    """Sum dated values into the period that contains each date; ``(per period, dates outside)``.

    A period without any row gets 0: platforms omit rows with no delivery.
    """
    dates = pd.DatetimeIndex(sums.index)
    inside, slot = _slots(dates, periods, cadence)
    out = pd.Series(sums.to_numpy()[inside], index=periods[slot]).groupby(level=0).sum()
    return out.reindex(periods, fill_value=0.0).rename_axis(DATE), int((~inside).sum())


def whole_sums(values: pd.Series, periods: pd.DatetimeIndex, cadence: str) -> tuple[pd.Series, int]:
    """Daily values summed into the periods, a period with a blank day blank; ``(per period, dates outside)``.

    For revenue summed into weeks (``import --weeks``): a week with an unknown day is unknown, not a slump.
    """
    dates = pd.DatetimeIndex(values.index)
    inside, slot = _slots(dates, periods, cadence)
    out = pd.Series(values.to_numpy()[inside], index=periods[slot]).groupby(level=0).sum(min_count=CADENCE_DAYS[cadence])
    return out.reindex(periods).rename_axis(DATE), int((~inside).sum())


def period_means(values: pd.Series, periods: pd.DatetimeIndex, cadence: str) -> tuple[pd.Series, int]:
    """Mean of the dated values in each period, NaN where a period has none; ``(per period, dates outside)``.

    For levels (a price, a competitor's sales), where a sum would make a part period look low and a day
    without a row look like 0.
    """
    dates = pd.DatetimeIndex(values.index)
    inside, slot = _slots(dates, periods, cadence)
    out = pd.Series(values.to_numpy()[inside], index=periods[slot]).groupby(level=0).mean()
    return out.reindex(periods).rename_axis(DATE), int((~inside).sum())


def weekday_mismatch(dates: pd.DatetimeIndex, periods: pd.DatetimeIndex, cadence: str) -> str | None:
    """The weekday of an export whose rows are all on one weekday other than the weekly periods' (else None)."""
    if cadence != WEEKLY or not one_weekday(dates) or dates[0].day_of_week == periods[0].day_of_week:
        return None
    return f"{dates[0]:%A}s"


def _whole(frame: pd.DataFrame, slot: pd.DatetimeIndex, days: int) -> pd.DataFrame:
    """Weather per period from its days; a period with fewer than ``days`` values of a column is blank for it."""
    cols = {c: how for c, how in WEATHER_AGG.items() if c in frame}
    grouped = frame[list(cols)].groupby(slot)
    return grouped.agg(cols).where(grouped.count() == days)


def weather_periods(weather: pd.DataFrame, periods: pd.DatetimeIndex, cadence: str) -> pd.DataFrame:
    """Daily weather (covering every day of the periods) as the periods' values."""
    if cadence != WEEKLY:
        return weather.reindex(periods)
    dates = pd.DatetimeIndex(weather.index)
    inside, slot = _slots(dates, periods, cadence)
    return _whole(weather[inside], periods[slot], 7).reindex(periods).rename_axis(DATE)


def needed_days(periods: pd.DatetimeIndex, cadence: str) -> pd.DatetimeIndex:
    """Every day the periods span (a week's seven days)."""
    return pd.date_range(periods[0], periods[-1] + pd.Timedelta(days=CADENCE_DAYS[cadence] - 1), freq="D", name=DATE)


def forecast_periods(forecast: pd.DataFrame, last: pd.Timestamp, cadence: str) -> pd.DataFrame:
    """Forecast days after the ``last`` period, as whole periods with every value (others are dropped)."""
    step = CADENCE_DAYS[cadence]
    days = forecast[forecast.index >= last + pd.Timedelta(days=step)]
    if cadence != WEEKLY or days.empty:
        return days
    k = (days.index - (last + pd.Timedelta(days=step))).days // step
    starts = pd.DatetimeIndex(last + pd.to_timedelta((k + 1) * step, unit="D"))
    return _whole(days, starts, step).dropna().rename_axis(DATE)
