"""Strict reader of the allocator's weather forecast (data contract §2).

``forecast.csv``: ``date, temp_c, precip_mm[, snow_cm][, tenant_id]``. Read with
the same rules as the lake (:mod:`bayes_mmm.data.table`): ISO dates only, finite
and physically possible values, one line naming file, column and rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import (
    DATE,
    MAX_ABS_TEMP_C,
    MAX_PRECIP_MM_PER_DAY,
    MAX_SNOW_CM_PER_DAY,
    PRECIP,
    SNOW,
    TEMP,
    WEEKLY,
)
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.import_periods import WEATHER_AGG, weather_periods
from bayes_mmm.data.lake import tenants_field
from bayes_mmm.data.table import (
    NA_TOKENS,
    check_header,
    check_range,
    parse_iso_dates,
    parse_numbers,
    read_table,
    rows_where,
)

TENANT_ID = "tenant_id"
FORECAST_COLUMNS = (DATE, TEMP, PRECIP)
#: Possible range of each weather column of a daily forecast.
LIMITS = {TEMP: (-MAX_ABS_TEMP_C, MAX_ABS_TEMP_C, " °C"), PRECIP: (0.0, MAX_PRECIP_MM_PER_DAY, " mm"),
          SNOW: (0.0, MAX_SNOW_CM_PER_DAY, " cm")}


def _raw(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        if source.empty:
            raise DataError("forecast has no rows", file="forecast")
        df = source.reset_index(drop=True).copy()
        df.columns = check_header([str(c) for c in df.columns], "forecast")
        return df, "forecast"
    path = Path(source)
    if not path.is_file():
        raise DataError("forecast file not found", file=path, hint="pass a CSV with date, temp_c, precip_mm")
    if path.suffix != ".parquet" and _first_line(path).startswith(("latitude,", "latitude;")):
        raise DataError("is a raw Open-Meteo download, not a forecast table", file=path,
                        hint="convert it with `bayes-mmm import ... --forecast FILE` (writes TENANT/forecast.csv), "
                             "or write the columns date, temp_c, precip_mm")
    # A tenant id is a folder's name, and a shop may be called `NA` or `null`: only a blank id is missing there.
    df = read_table(path, na_tokens=frozenset({""}))
    for column in df.columns.drop(TENANT_ID, errors="ignore"):
        df[column] = df[column].where(~df[column].isin(NA_TOKENS), None)
    return df, str(path)


def _first_line(path: Path) -> str:
    """The file's first line as text (empty when unreadable: the strict reader then says why)."""
    try:
        with path.open("rb") as f:
            return f.readline(200).decode("utf-8-sig", errors="replace").strip().lower()
    except OSError:
        return ""


def read_forecast(source: str | Path | pd.DataFrame, after: pd.Timestamp | None = None) -> pd.DataFrame:
    """Read and check a weather forecast.

    Parameters
    ----------
    source
        ``forecast.csv`` (or ``.parquet``), or a DataFrame with the same columns.
    after
        When given, every date must be after it (the last day of the data a plan follows).

    Returns
    -------
    pandas.DataFrame
        Tidy rows sorted by ``[tenant_id,] date``: ``date`` (datetime64), ``temp_c``,
        ``precip_mm``, ``snow_cm`` when given, ``tenant_id`` (str) when given.

    Raises
    ------
    DataError
        Missing file or rows, missing columns, dates that are not plain ISO
        ``YYYY-MM-DD`` (time zones included), blank tenant ids, missing,
        non-finite or impossible weather, duplicate dates (per tenant), dates not after ``after``.
    """
    raw, name = _raw(source)
    for col in (*FORECAST_COLUMNS, SNOW, TENANT_ID):
        cased = [c for c in raw.columns if str(c).lower() == col and c != col]
        if cased and col not in raw.columns:  # Tenant_ID read as an unknown column would apply one forecast to all
            raise DataError(f"column '{cased[0]}' is '{col}' in another case", file=name, column=cased[0],
                            hint=f"rename it '{col}' (forecast column names are lower case)")
        if col in FORECAST_COLUMNS and col not in raw.columns:
            raise DataError("required forecast column is missing", file=name, column=col,
                            hint="forecast.csv needs date, temp_c, precip_mm[, snow_cm][, tenant_id]")
    dates = parse_iso_dates(raw[DATE], name, DATE)
    iso = np.asarray(dates.strftime("%Y-%m-%d"))
    past = np.asarray(dates <= after) if after is not None else np.zeros(len(iso), bool)
    if past.any():
        raise DataError(f"forecast dates must be after the last data date {after:%Y-%m-%d}", file=name, column=DATE,
                        rows=rows_where(past), dates=iso[past], hint="drop past days or refit on newer data")
    out = pd.DataFrame({DATE: dates})
    for col in (c for c in (TEMP, PRECIP, SNOW) if c in raw.columns):
        x = parse_numbers(raw[col], name, col, iso)
        blank = np.isnan(x)
        if blank.any():
            raise DataError("missing values", file=name, column=col, rows=rows_where(blank), dates=iso[blank],
                            hint="a forecast needs every value")
        lo, hi, unit = LIMITS[col]
        check_range(x, lo, hi, name, col, iso, unit)
        out[col] = x
    keys = [DATE]
    if TENANT_ID in raw.columns:
        ids = raw[TENANT_ID].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
        blank = (ids == "").to_numpy()
        if blank.any():
            raise DataError("blank tenant id", file=name, column=TENANT_ID, rows=rows_where(blank), dates=iso[blank],
                            hint="name the tenant on every row, or drop the column when all tenants share one place")
        out[TENANT_ID] = ids.to_numpy()
        keys = [TENANT_ID, DATE]
    dup = out.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        raise DataError("duplicate forecast dates" + (" for one tenant" if len(keys) > 1 else ""), file=name,
                        column=DATE, rows=rows_where(dup), dates=iso[dup])
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def forecast_covers(
    df: pd.DataFrame,
    dates: Sequence | pd.DatetimeIndex,
    tenants: Sequence[str],
    cities: Mapping[str, str] | None = None,
    source: str = "forecast",
) -> None:
    """Refuse a forecast (from :func:`read_forecast`) that does not serve a plan.

    Parameters
    ----------
    dates
        The plan's dates.
    tenants
        The plan's tenants.
    cities
        Tenant → city (``tenant.json``; see :func:`cities_of`). A forecast without
        ``tenant_id`` is refused for tenants in more than one known city; tenants
        without a city are not counted.
    source
        The forecast's name in messages.

    Raises
    ------
    DataError
        Naming the dates (and tenants) it lacks, or the cities it would mix.
    """
    want = pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize()
    if TENANT_ID not in df.columns:
        places = sorted({str(cities[t]) for t in tenants if cities and cities.get(t)})
        if len(places) > 1:
            raise DataError(f"one forecast for tenants in {len(places)} cities ({', '.join(places[:6])})", file=source,
                            column=TENANT_ID, hint="add a tenant_id column with each tenant's own forecast")
        _covers(df, want, source, None)
        return
    ids = sorted({str(t) for t in df[TENANT_ID].dropna().unique()})
    for tid in tenants:
        if tid not in ids:
            close = difflib.get_close_matches(tid, ids, n=1)
            raise DataError(f"forecast has no rows for tenant {tid}", file=source, column=TENANT_ID,
                            hint=f"did you mean '{close[0]}'? tenant_id must match the lake's folder names" if close
                            else f"its tenant_id values are {', '.join(ids[:6]) or 'all blank'}; add rows for {tid}")
        _covers(df[df[TENANT_ID] == tid], want, source, tid)


def _covers(df: pd.DataFrame, want: pd.DatetimeIndex, source: str, tenant: str | None) -> None:
    have = pd.DatetimeIndex(df[DATE])
    missing = want.difference(have)
    if len(missing):
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing[:5]) + (" …" if len(missing) > 5 else "")
        who = f" for tenant {tenant}" if tenant else ""
        raise DataError(f"forecast lacks {len(missing)} of the plan's dates{who}: {shown}", file=source, column=DATE,
                        hint=_weekday_hint(have, want) or "forecast every day of the plan")


def _weekday_hint(have: pd.DatetimeIndex, want: pd.DatetimeIndex) -> str | None:
    """What to fix when weekly rows are dated on another weekday than the plan's weeks (Sundays for Monday weeks)."""
    ours, theirs = set(want.day_name()), set(have.day_name())
    if len(want) < 2 or (want[1] - want[0]).days != 7 or len(ours) != 1 or len(theirs) != 1 or ours == theirs:
        return None
    return (f"its rows are dated on {theirs.pop()}s, the run's weeks begin on {ours.pop()}s: date each week by its first "
            "day, or give daily rows (each week's temperatures are averaged, its rain and snow summed)")


def cities_of(lake: str | Path, tenants: Sequence[str]) -> dict[str, str]:
    """Each tenant's ``city`` from its ``tenant.json`` (empty when not given)."""
    return tenants_field(lake, tenants, "city")


def in_periods(df: pd.DataFrame, periods: pd.DatetimeIndex, cadence: str) -> pd.DataFrame:
    """A daily forecast (from :func:`read_forecast`) as a weekly run's weeks; anything else unchanged.

    Each week's temperature is its days' mean and its rain and snow their sums, as ``import`` builds
    a weekly lake; a week missing any day is left out, so :func:`forecast_covers` names it. Only the
    week-start rows were read before, one day's weather standing for the week's.
    """
    if cadence != WEEKLY or df.empty:
        return df
    groups = list(df.groupby(TENANT_ID, sort=False)) if TENANT_ID in df.columns else [(None, df)]
    out = []
    for tid, g in groups:
        if len(g) < 2 or np.diff(g[DATE].values).min() >= np.timedelta64(7, "D"):
            out.append(g)  # already one row per week (each tenant's rows judged on their own)
            continue
        cols = [c for c in WEATHER_AGG if c in g.columns]
        weeks = weather_periods(g.set_index(DATE)[cols], periods, WEEKLY).dropna(how="any").reset_index()
        if tid is not None:
            weeks[TENANT_ID] = tid
        out.append(weeks)
    return pd.concat(out, ignore_index=True)
