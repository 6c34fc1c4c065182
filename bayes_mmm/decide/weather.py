"""Weather on the plan's horizon: a forecast (read by :mod:`bayes_mmm.data.forecast`), standardised as the model's media weather."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, TEMP
from bayes_mmm.data.forecast import TENANT_ID
from bayes_mmm.model.design import WeatherStats, media_weather, seasonal_stand_in

#: A forecast temperature this many historical sd from the tenant's mean is flagged as extrapolation.
EXTRAPOLATION_SD = 4.0


def warn_extrapolation(df: pd.DataFrame, tenants: list[str], stats: list[WeatherStats]) -> None:
    """Warn when a forecast temperature lies far outside a tenant's history: the plan then extrapolates."""
    for tid, st in zip(tenants, stats, strict=True):
        rows = df[df[TENANT_ID] == tid] if TENANT_ID in df.columns else df
        if rows.empty or not st.temp_sd > 0:
            continue
        z = (rows[TEMP].to_numpy(float) - st.temp_mean) / st.temp_sd
        worst = int(np.argmax(np.abs(z)))
        if abs(z[worst]) > EXTRAPOLATION_SD:
            warnings.warn(f"forecast {rows[TEMP].iloc[worst]:g} °C on {rows[DATE].iloc[worst]:%Y-%m-%d} for {tid} is "
                          f"{abs(z[worst]):.1f} sd from its history (mean {st.temp_mean:.1f} °C): the plan extrapolates the weather effect",
                          UserWarning, stacklevel=3)


def weatherless_z(
    z: np.ndarray, known: np.ndarray, horizon_dates: pd.DatetimeIndex, has_weather: np.ndarray, seasonal: bool, cadence: str
) -> None:
    """Set (in place) the horizon of tenants without weather as the model saw their past.

    With the seasonal stand-in (``seasonal``) it is a function of the date, known for every
    period; without it their multiplier is 1 (z = 0), whatever a forecast says.
    """
    none = ~np.asarray(has_weather, dtype=bool)
    if none.any():
        z[none] = seasonal_stand_in(horizon_dates, cadence) if seasonal else 0.0
        known[none] = seasonal


def forecast_z(df: pd.DataFrame | None, horizon_dates: pd.DatetimeIndex, tenants: list[str], stats: list[WeatherStats]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, H, 2)`` standardised media weather (0 = average weather) and ``(N, H)`` which periods were forecast."""
    z = np.zeros((len(tenants), len(horizon_dates), 2))
    known = np.zeros((len(tenants), len(horizon_dates)), dtype=bool)
    if df is None:
        return z, known
    pos = {d: i for i, d in enumerate(horizon_dates)}
    for n, tid in enumerate(tenants):
        rows = df[df[TENANT_ID] == tid] if TENANT_ID in df.columns else df
        rows = rows[rows[DATE].isin(pos)]  # forecast beyond the carry-over horizon cannot matter
        if rows.empty:
            continue
        idx = np.array([pos[d] for d in rows[DATE]])
        z[n, idx] = media_weather(rows[TEMP].to_numpy(float), rows[PRECIP].to_numpy(float), stats[n])
        known[n, idx] = True
    return z, known
