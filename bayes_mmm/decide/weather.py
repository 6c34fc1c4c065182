"""Weather on the plan's horizon: a forecast (read by :mod:`bayes_mmm.data.forecast`), standardised as the model's media weather,
and the tenants' cities that decide whether one forecast may serve them all."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, TEMP
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.forecast import TENANT_ID, cities_of, read_forecast
from bayes_mmm.data.table import FAHRENHEIT_HINT
from bayes_mmm.model.design import WeatherStats, media_weather, seasonal_stand_in

#: A forecast temperature this many historical sd from the tenant's mean is flagged as extrapolation
#: (runs that did not record the training range).
EXTRAPOLATION_SD = 4.0
#: A forecast this many °C beyond the training range is flagged: the model never saw such weather.
RANGE_MARGIN_C = 1.0


def warn_extrapolation(df: pd.DataFrame, tenants: list[str], stats: list[WeatherStats]) -> None:
    """Warn when a forecast temperature lies outside a tenant's history: the plan then extrapolates."""
    for tid, st in zip(tenants, stats, strict=True):
        rows = df[df[TENANT_ID] == tid] if TENANT_ID in df.columns else df
        if rows.empty or not st.temp_sd > 0:
            continue
        temp = rows[TEMP].to_numpy(float)
        beyond = _beyond(temp, st)
        worst = int(np.argmax(beyond))
        if beyond[worst] <= 0:
            continue
        z = (temp[worst] - st.temp_mean) / st.temp_sd
        where = (f"{abs(z):.1f} sd from its history (mean {st.temp_mean:.1f} °C)" if st.temp_range is None else
                 f"outside its history ({st.temp_range[0]:.1f} to {st.temp_range[1]:.1f} °C; {abs(z):.1f} sd from its mean)")
        # Read as °F, would the whole forecast sit where the history does? Then it probably is °F.
        fahrenheit = f" — {FAHRENHEIT_HINT}" if not (_beyond((temp - 32) * 5 / 9, st, 2.0) > 0).any() else ""
        warnings.warn(f"forecast {temp[worst]:g} °C on {rows[DATE].iloc[worst]:%Y-%m-%d} for {tid} is {where}: "
                      f"the plan extrapolates the weather effect{fahrenheit}", UserWarning, stacklevel=3)


def refuse_own_days(df: pd.DataFrame, tenants: list[str], ends: pd.DatetimeIndex, source: str) -> None:
    """Refuse rows of a tenant (``tenant_id``) dated within its own data: ``ends`` its last periods.

    The reader refuses dates up to the earliest-ending tenant's; a later-ending tenant's own days are refused here.
    """
    if TENANT_ID not in df.columns:
        return
    for tid, end in zip(tenants, ends, strict=True):
        past = ((df[TENANT_ID] == tid) & (df[DATE] <= end)).to_numpy()
        if past.any():
            raise DataError(f"forecast dates for {tid} must be after its last data date {end:%Y-%m-%d}", file=source,
                            column=DATE, dates=df.loc[past, DATE].dt.strftime("%Y-%m-%d").tolist(),
                            hint="drop past days or refit on newer data")


def warn_strangers(df: pd.DataFrame, run_tenants: list[str], source: str) -> None:
    """Warn of forecast rows for tenants the run does not have: ignored, and often a misspelt id."""
    if TENANT_ID not in df.columns:
        return
    strangers = sorted(set(df[TENANT_ID].astype(str)) - set(run_tenants))
    if strangers:
        n = int(df[TENANT_ID].astype(str).isin(strangers).sum())
        warnings.warn(f"{source}: column '{TENANT_ID}' names {len(strangers)} tenant(s) the run does not have "
                      f"({', '.join(strangers[:5])}{' …' if len(strangers) > 5 else ''}); their {n} row(s) are ignored "
                      f"(the run's tenants: {', '.join(run_tenants[:5])}{' …' if len(run_tenants) > 5 else ''})",
                      UserWarning, stacklevel=3)


def _beyond(temp: np.ndarray, st: WeatherStats, sd: float = EXTRAPOLATION_SD) -> np.ndarray:
    """How far each temperature lies past what the history supports (≤ 0: within it).

    The training range and a margin when the run recorded it, else ``sd`` standard deviations from the mean.
    """
    if st.temp_range is None:
        return np.abs(temp - st.temp_mean) / st.temp_sd - sd
    lo, hi = st.temp_range
    return np.maximum(temp - hi, lo - temp) - RANGE_MARGIN_C


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


def find_lake(lake: str | None, run_dir: str | Path, tenants: list[str]) -> Path | None:
    """The run's lake folder (``summary.json`` ``data.lake``), or None when it cannot be found.

    ``fit`` records the lake as it was given, so a relative path is relative to where
    ``fit`` ran: it is tried against the current directory, then against each folder
    above the run folder (``runs/x`` next to ``data/lake``). A candidate counts only if
    it holds a folder of one of ``tenants``, so an unrelated folder of the same name is
    not taken for the lake.
    """
    if not lake:
        return None
    rel = Path(lake)
    bases = [Path()] if rel.is_absolute() else [Path.cwd(), *Path(run_dir).resolve().parents]
    for base in bases:
        if any((base / rel / t).is_dir() for t in tenants):
            return base / rel
    return None


def _has_tenant_id(forecast: str | Path | pd.DataFrame) -> bool:
    """Whether a forecast names tenants (read strictly: a bad forecast fails here as it would later)."""
    return TENANT_ID in (forecast.columns if isinstance(forecast, pd.DataFrame) else read_forecast(forecast).columns)


def plan_cities(lake: Path | None, recorded: str | None, tenants: list[str],
                forecast: str | Path | pd.DataFrame | None) -> dict[str, str]:
    """Each planned tenant's city (``tenant.json`` in the run's lake), for the one-forecast-many-cities check.

    Parameters
    ----------
    lake
        The run's lake as :func:`find_lake` found it, or None.
    recorded
        The lake path the run records (``summary.json`` ``data.lake``), for the message.
    tenants
        The planned tenants.
    forecast
        The plan's forecast, if any.

    Returns
    -------
    dict
        Tenant → city ("" when ``tenant.json`` gives none); empty when cities do not matter.

    Raises
    ------
    DataError
        When the run records a lake that cannot be found, several tenants are planned and the
        forecast has no ``tenant_id``: one forecast might then serve several cities unchecked.
    """
    if lake is not None:
        return cities_of(lake, [t for t in tenants if (lake / t).is_dir()])
    # A run fitted from data in memory records no lake: its cities were never known, as before.
    if not recorded or forecast is None or len(tenants) < 2 or _has_tenant_id(forecast):
        return {}
    raise DataError(f"cannot check that one forecast suits all {len(tenants)} tenants: the run's lake ({recorded}) is not found, "
                    "so their cities are unknown", file=forecast if not isinstance(forecast, pd.DataFrame) else "forecast",
                    column=TENANT_ID, hint="add a tenant_id column with each tenant's own forecast, or run from the folder fit ran in")
