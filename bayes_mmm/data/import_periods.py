"""The periods of an import: daily or weekly, as the revenue export has them, and every other export summed into them.

Agency and public MMM data are mostly weekly (one row per week, dated by the week's first day), while ad
platforms and Open-Meteo export days. The revenue export decides the cadence; each other export is
summed into the revenue's periods (a weekly channel export on the same weeks maps onto itself), and
daily weather becomes the week's mean temperature and total precipitation (data contract §1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import CADENCE_DAYS, DATE, WEEKLY
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lake import detect_cadence

#: How daily weather becomes a period's value (data contract §1: mean temperature, total precipitation).
WEATHER_AGG = {"temp_c": "mean", "precip_mm": "sum", "snow_cm": "sum"}


def revenue_periods(dates: pd.DatetimeIndex, path: Path, column: str) -> tuple[str, pd.DatetimeIndex]:
    """``(cadence, periods)`` of a revenue export's dates: every day, or every week on the first date's weekday."""
    cadence = detect_cadence(dates) or "daily"
    if cadence not in CADENCE_DAYS:
        raise DataError(f"dates are {cadence} apart; the revenue export must have one row per day or per week",
                        file=path, column=column)
    periods = pd.date_range(dates[0], dates[-1], freq=f"{CADENCE_DAYS[cadence]}D", name=DATE)
    off = dates.difference(periods)
    if len(off):
        raise DataError(f"{len(off)} date(s) off the weekly grid that starts {dates[0]:%Y-%m-%d} "
                        f"(a {dates[0]:%A}), first {off[0]:%Y-%m-%d}", file=path, column=column,
                        hint="weekly rows must all start on the same weekday")
    return cadence, periods


def into_periods(sums: pd.Series, periods: pd.DatetimeIndex, cadence: str) -> tuple[pd.Series, int]:
    """Sum dated values into the period that contains each date; ``(per period, dates outside)``.

    A period without any row gets 0: platforms omit rows with no delivery.
    """
    step = pd.Timedelta(days=CADENCE_DAYS[cadence])
    dates = pd.DatetimeIndex(sums.index)
    inside = (dates >= periods[0]) & (dates < periods[-1] + step)
    slot = np.searchsorted(periods.values, dates[inside].values, side="right") - 1
    out = pd.Series(sums.to_numpy()[inside], index=periods[slot]).groupby(level=0).sum()
    return out.reindex(periods, fill_value=0.0).rename_axis(DATE), int((~inside).sum())


def weather_periods(weather: pd.DataFrame, periods: pd.DatetimeIndex, cadence: str) -> pd.DataFrame:
    """Daily weather as the periods' values; only the columns :data:`WEATHER_AGG` knows."""
    if cadence != WEEKLY:
        return weather.reindex(periods)
    cols = {c: how for c, how in WEATHER_AGG.items() if c in weather}
    slot = periods[np.searchsorted(periods.values, weather.index.values, side="right") - 1]
    return weather[list(cols)].groupby(slot).agg(cols).reindex(periods).rename_axis(DATE)


def needed_days(periods: pd.DatetimeIndex, cadence: str) -> pd.DatetimeIndex:
    """Every day the periods span (a week's seven days)."""
    return pd.date_range(periods[0], periods[-1] + pd.Timedelta(days=CADENCE_DAYS[cadence] - 1), freq="D", name=DATE)


def forecast_periods(forecast: pd.DataFrame, last: pd.Timestamp, cadence: str) -> pd.DataFrame:
    """Forecast days after ``last`` period as whole periods (a partial last week is dropped)."""
    step = CADENCE_DAYS[cadence]
    days = forecast[forecast.index >= last + pd.Timedelta(days=step)]
    if cadence != WEEKLY or days.empty:
        return days
    k = (days.index - (last + pd.Timedelta(days=step))).days // step
    starts = last + pd.to_timedelta((k + 1) * step, unit="D")
    full = pd.Series(1, index=starts).groupby(level=0).size() == step
    cols = {c: how for c, how in WEATHER_AGG.items() if c in days}
    out = days[list(cols)].groupby(starts).agg(cols)
    return out[full.reindex(out.index).to_numpy()].rename_axis(DATE)
