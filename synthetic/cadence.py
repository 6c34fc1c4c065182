"""Output variants of a simulated tenant: weekly totals and hidden weather.

Weekly tables sum revenue, spend, precipitation and snow and average the
temperatures over blocks of 7 days starting on the first day (``date`` = the
week's first day); ``event`` is 1 for a week with any event day. Weekly
universes are simulated on a whole number of weeks, so totals and hence the
true ROAS are unchanged; ``truth_daily`` stays daily.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, REVENUE, SNOW, SPEND_PREFIX
from synthetic.simulated import SimulatedTenant
from synthetic.weather import WEATHER_COLUMNS

__all__ = ["hide_weather", "to_weekly", "weekly_table"]


def weekly_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Weekly totals (means for temperatures) of a daily table of a whole number of weeks."""
    if len(daily) % 7:
        raise ValueError(f"a weekly table needs whole weeks, got {len(daily)} days")
    week = np.arange(len(daily)) // 7
    how = {c: "sum" for c in daily if c in (REVENUE, PRECIP, SNOW) or c.startswith(SPEND_PREFIX)}
    how |= {c: "mean" for c in daily if c.startswith("temp_")}
    how |= {c: "max" for c in daily if c == "event"}
    how[DATE] = "first"
    weekly = daily.groupby(week).agg(how)[list(daily.columns)].reset_index(drop=True)
    sums = [c for c, h in how.items() if h in ("sum", "mean")]
    weekly[sums] = weekly[sums].round(2)  # cents, and no float residue in the CSV
    return weekly


def to_weekly(t: SimulatedTenant) -> SimulatedTenant:
    """The tenant with a weekly table (``truth.json`` records the cadence)."""
    t.daily = weekly_table(t.daily)
    t.cadence = "weekly"
    t.truth["cadence"] = "weekly"
    return t


def hide_weather(t: SimulatedTenant) -> SimulatedTenant:
    """The tenant without weather columns (weather still acts in the truth)."""
    t.daily = t.daily.drop(columns=[c for c in WEATHER_COLUMNS if c in t.daily])
    t.truth["weather_observed"] = False
    return t
