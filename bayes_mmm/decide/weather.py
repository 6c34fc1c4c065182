"""Weather on the plan's horizon: the user's forecast file, standardised as the model's media weather.

A strict forecast reader for the data layer is being written separately; when it
lands, :func:`read_forecast` becomes a call to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, TEMP
from bayes_mmm.core.errors import DataError
from bayes_mmm.model.design import WeatherStats, media_weather

TENANT_ID = "tenant_id"


def read_forecast(forecast: str | Path | pd.DataFrame, last: pd.Timestamp, tenants: list[str]) -> pd.DataFrame:
    """Validated forecast rows: date, temp_c, precip_mm[, tenant_id]."""
    name = str(forecast) if not isinstance(forecast, pd.DataFrame) else "forecast"
    if isinstance(forecast, pd.DataFrame):
        df = forecast.copy()
    else:
        path = Path(forecast)
        if not path.is_file():
            raise DataError("forecast file not found", file=path, hint="pass a CSV with date, temp_c, precip_mm")
        df = pd.read_csv(path)
    for col in (DATE, TEMP, PRECIP):
        if col not in df.columns:
            raise DataError("required forecast column is missing", file=name, column=col, hint="forecast.csv needs date, temp_c, precip_mm[, snow_cm][, tenant_id]")
    dates = pd.to_datetime(df[DATE], errors="coerce")
    for col, bad in ((DATE, dates.isna()), (TEMP, ~np.isfinite(pd.to_numeric(df[TEMP], errors="coerce"))),
                     (PRECIP, ~(pd.to_numeric(df[PRECIP], errors="coerce") >= 0))):
        if bad.any():
            rows = list(np.flatnonzero(bad.to_numpy()) + 1)
            raise DataError("missing or invalid values", file=name, column=col, rows=rows, hint="dates as YYYY-MM-DD, temperature a number, precipitation a number ≥ 0")
    past = (dates <= last).to_numpy()
    if past.any():
        rows = list(np.flatnonzero(past) + 1)
        raise DataError(f"forecast dates must be after the last data date {last.date()}", file=name, column=DATE, rows=rows,
                        dates=[d.date() for d in dates[past]], hint="drop past days or refit on newer data")
    df[DATE] = dates.dt.normalize()
    if TENANT_ID in df.columns:
        df[TENANT_ID] = df[TENANT_ID].astype(str)
        unknown = sorted(set(df[TENANT_ID]) - set(tenants))
        if unknown:
            rows = list(np.flatnonzero(df[TENANT_ID].isin(unknown).to_numpy()) + 1)
            raise DataError(f"unknown tenant(s) {', '.join(unknown)}; the run has {', '.join(tenants)}", file=name, column=TENANT_ID, rows=rows)
    keys = [DATE, TENANT_ID] if TENANT_ID in df.columns else [DATE]
    dup = df.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        raise DataError("duplicate forecast days", file=name, column=DATE, rows=list(np.flatnonzero(dup) + 1))
    return df


def forecast_z(df: pd.DataFrame | None, horizon_dates: pd.DatetimeIndex, tenants: list[str], stats: list[WeatherStats]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, H, 2)`` standardised media weather (0 = average weather) and ``(N, H)`` which days were forecast."""
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
