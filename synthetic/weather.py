"""Stochastic daily weather per city, calibrated to rough climate normals.

Temperature is a seasonal sinusoid plus AR(1) anomalies (phi = 0.7); wet and
dry spells follow a two-state Markov chain with gamma-distributed amounts;
precipitation on days below 0 degC falls as snow (1 mm -> 1 cm). Shocks are
injected and recorded in a ``shock`` column: heatwaves, cold snaps, heavy
rain days, snowstorms and multi-day atmospheric rivers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

__all__ = ["CLIMATES", "WEATHER_COLUMNS", "Climate", "simulate_weather"]

WEATHER_COLUMNS: tuple[str, ...] = ("temp_c", "temp_max_c", "temp_min_c", "precip_mm", "snow_cm")
SNOW_RATIO = 1.0  # cm of snow per mm of precipitation
PHI = 0.7


@dataclass(frozen=True)
class Climate:
    """Climate normals of a city.

    Attributes
    ----------
    temp_mean, temp_amp : float
        Annual mean daily temperature and seasonal half-range (degC).
    temp_peak_doy : int
        Day of year of the warmest normal.
    anomaly_sd : float
        Stationary sd of the AR(1) temperature anomaly (degC).
    dtr : float
        Mean diurnal temperature range (degC).
    wet_prob, wet_amp, wet_peak_doy : float
        Mean daily probability of precipitation, its seasonal half-range and
        the day of year of the wettest normal.
    wet_mm : float
        Mean precipitation amount on a wet day (mm).
    rates : dict
        Expected number of each shock per 365 days.
    """

    temp_mean: float
    temp_amp: float
    temp_peak_doy: int
    anomaly_sd: float
    dtr: float
    wet_prob: float
    wet_amp: float
    wet_peak_doy: int
    wet_mm: float
    rates: dict[str, float]


def _rates(heavy: float, snow: float, river: float) -> dict[str, float]:
    return {"heatwave": 1.0, "cold_snap": 1.0, "heavy_rain": heavy, "snowstorm": snow,
            "atmospheric_river": river}


CLIMATES: dict[str, Climate] = {
    "Phoenix": Climate(24.0, 11.0, 200, 1.8, 14.0, 0.08, 0.04, 210, 6.0, _rates(0.7, 0.0, 0.2)),
    "Seattle": Climate(11.5, 7.0, 205, 2.0, 8.0, 0.42, 0.25, 350, 5.0, _rates(1.0, 0.3, 1.5)),
    "Chicago": Climate(10.0, 14.0, 200, 3.5, 9.0, 0.33, 0.05, 150, 8.0, _rates(1.5, 1.5, 0.3)),
    "Miami": Climate(25.0, 4.5, 215, 1.2, 7.0, 0.35, 0.20, 230, 12.0, _rates(2.0, 0.0, 0.5)),
    "Denver": Climate(10.5, 11.5, 200, 4.0, 15.0, 0.22, 0.06, 130, 5.0, _rates(0.7, 2.0, 0.2)),
}


def _cos(doy: np.ndarray, peak: float) -> np.ndarray:
    return np.cos(2 * np.pi * (doy - peak) / 365.25)


def _wet_chain(p: np.ndarray, u: np.ndarray, persistence: float = 0.35) -> np.ndarray:
    """Two-state Markov chain with stationary wet probability ``p`` (per day)."""
    p_ww = p + persistence * (1 - p)
    p_dw = p * (1 - persistence)
    wet = np.empty(len(p), dtype=bool)
    state = u[0] < p[0]
    for t in range(len(p)):
        state = u[t] < (p_ww[t] if state else p_dw[t])
        wet[t] = state
    return wet


def _pick_start(rng: np.random.Generator, ok: np.ndarray, length: int) -> int | None:
    """Random start of a run of ``length`` days whose every day is allowed."""
    n = len(ok) - length + 1
    if n <= 0:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(ok, length).all(axis=1)[:n]
    starts = np.flatnonzero(windows)
    return None if len(starts) == 0 else int(rng.choice(starts))


def simulate_weather(
    city: str, dates: pd.DatetimeIndex, rng: np.random.Generator
) -> pd.DataFrame:
    """Simulate daily weather for one city.

    Parameters
    ----------
    city : str
        A key of :data:`CLIMATES`.
    dates : pandas.DatetimeIndex
        Consecutive days.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Index ``dates``; columns :data:`WEATHER_COLUMNS` (rounded to 0.1) and
        ``shock`` (``""`` or the name of the injected shock).
    """
    c = CLIMATES[city]
    n = len(dates)
    doy = dates.day_of_year.to_numpy().astype(float)
    month = dates.month.to_numpy()
    normal = c.temp_mean + c.temp_amp * _cos(doy, c.temp_peak_doy)
    innov = rng.normal(0.0, c.anomaly_sd * np.sqrt(1 - PHI**2), n)
    anomaly = lfilter([1.0], [1.0, -PHI], innov, zi=[PHI * rng.normal(0.0, c.anomaly_sd)])[0]
    temp = normal + anomaly
    p_wet = np.clip(c.wet_prob + c.wet_amp * _cos(doy, c.wet_peak_doy), 0.02, 0.9)
    wet = _wet_chain(p_wet, rng.uniform(size=n))
    amount = rng.gamma(0.8, c.wet_mm / 0.8, n) * (0.6 + 0.4 * p_wet / c.wet_prob)
    precip = np.where(wet, np.maximum(amount, 0.2), 0.0)
    shock = np.full(n, "", dtype=object)
    years = n / 365.0
    free = np.ones(n, dtype=bool)

    def inject(kind: str, season: np.ndarray, lo: int, hi: int) -> list[np.ndarray]:
        runs = []
        for _ in range(rng.poisson(c.rates[kind] * years)):
            length = int(rng.integers(lo, hi + 1))
            start = _pick_start(rng, season & free, length)
            if start is None:
                continue
            idx = np.arange(start, start + length)
            free[max(start - 3, 0):start + length + 3] = False
            shock[idx] = kind
            runs.append(idx)
        return runs

    summer, winter = np.isin(month, [6, 7, 8]), np.isin(month, [12, 1, 2])
    for idx in inject("heatwave", summer, 5, 7):
        temp[idx] += rng.uniform(7.0, 9.0)
        precip[idx] = 0.0
    for idx in inject("cold_snap", winter, 3, 5):
        temp[idx] += -rng.uniform(9.5, 12.5)
    for idx in inject("heavy_rain", normal > 8.0, 1, 1):
        precip[idx] = rng.uniform(50.0, 100.0)
        temp[idx] = np.maximum(temp[idx], 3.0)
    for idx in inject("snowstorm", np.isin(month, [11, 12, 1, 2, 3]) & (normal < 8.0), 1, 2):
        temp[idx] = np.minimum(temp[idx], -rng.uniform(2.0, 8.0, len(idx)))
        precip[idx] = rng.uniform(15.0, 40.0, len(idx)) / SNOW_RATIO
    for idx in inject("atmospheric_river", np.isin(month, [10, 11, 12, 1, 2, 3]), 3, 5):
        precip[idx] = rng.uniform(20.0, 60.0, len(idx))
        temp[idx] = np.maximum(temp[idx], rng.uniform(4.0, 10.0, len(idx)))

    temp = np.round(temp, 1)
    precip = np.round(precip, 1)
    dtr = c.dtr * np.where(precip > 0, 0.6, 1.0) * rng.uniform(0.8, 1.2, n)
    skew = rng.uniform(0.45, 0.6, n)
    return pd.DataFrame(
        {
            "temp_c": temp,
            "temp_max_c": np.round(temp + skew * dtr, 1),
            "temp_min_c": np.round(temp - (1 - skew) * dtr, 1),
            "precip_mm": precip,
            "snow_cm": np.where(temp < 0.0, np.round(precip * SNOW_RATIO, 1), 0.0),
            "shock": shock,
        },
        index=dates,
    )
