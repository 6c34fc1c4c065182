"""What-if: score any plan — the user's own or an exported one — with the run's posterior.

A plan CSV is either **wide**: ``date, tenant_id, <channel>, <channel>, …`` (one row per
tenant and period, a blank cell = no spend), or **long**: ``date, tenant_id, channel, spend``.
``write_plan_csv`` writes the wide form, so an allocator plan can be edited and scored back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.atomic import write_text
from bayes_mmm.core.constants import CADENCE_DAYS
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.table import read_table

DATE, TENANT_ID, CHANNEL, SPEND = "date", "tenant_id", "channel", "spend"


def write_plan_csv(plan: dict[str, Any], path: str | Path) -> Path:
    """The plan's spend as a wide table: one row per tenant and period, one column per channel (atomic)."""
    channels = list(dict.fromkeys(ch for t in plan["tenants"].values() for ch in t["plan"]))
    rows = []
    for tid, t in plan["tenants"].items():
        for d, day in enumerate(plan["days"]):
            rows.append({DATE: day, TENANT_ID: tid, **{ch: t["plan"][ch][d] for ch in channels if ch in t["plan"]}})
    df = pd.DataFrame(rows, columns=[DATE, TENANT_ID, *channels])
    return write_text(path, df.to_csv(index=False, float_format="%.17g", lineterminator="\n"))


def _long(raw: pd.DataFrame, name: str, channels: list[str]) -> pd.DataFrame:
    """Long rows ``date, tenant_id, channel, spend`` from either layout."""
    for col in (DATE, TENANT_ID):
        if col not in raw.columns:
            raise DataError("required plan column is missing", file=name, column=col,
                            hint="a plan CSV is date, tenant_id, <channel>… (wide) or date, tenant_id, channel, spend (long)")
    if CHANNEL in raw.columns and SPEND in raw.columns:
        df = raw[[DATE, TENANT_ID, CHANNEL, SPEND]].copy()
    else:
        extra = [c for c in raw.columns if c not in (DATE, TENANT_ID)]
        unknown = [c for c in extra if c not in channels]
        if unknown:
            raise DataError(f"unknown channel column(s) {', '.join(unknown)}; the run has {', '.join(channels)}", file=name)
        df = raw.melt(id_vars=[DATE, TENANT_ID], value_vars=extra, var_name=CHANNEL, value_name=SPEND)
    df[TENANT_ID], df[CHANNEL] = df[TENANT_ID].astype(str).str.strip(), df[CHANNEL].astype(str).str.strip()
    df[SPEND] = pd.to_numeric(df[SPEND].replace("", np.nan), errors="coerce")
    bad = ~(df[SPEND].isna() | (np.isfinite(df[SPEND]) & (df[SPEND] >= 0)))
    if bad.any():
        raise DataError("spend must be a number ≥ 0 (or blank)", file=name, column=SPEND, rows=list(np.flatnonzero(bad.to_numpy()) + 1))
    df[DATE] = pd.to_datetime(df[DATE], format="%Y-%m-%d", errors="coerce")
    if df[DATE].isna().any():
        raise DataError("dates must be YYYY-MM-DD", file=name, column=DATE, rows=list(np.flatnonzero(df[DATE].isna().to_numpy()) + 1))
    return df


def read_plan_csv(path: str | Path, channels: list[str], cadence: str) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Checked long rows of a plan CSV and its period dates (consecutive periods of the run's cadence)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("plan file not found", file=path, hint="write one with `bayes-mmm allocate --csv`, or by hand (docs: data contract §4)")
    df = _long(read_table(path), str(path), channels)
    unknown = sorted(set(df[CHANNEL]) - set(channels))
    if unknown:
        raise DataError(f"unknown channel(s) {', '.join(unknown)}; the run has {', '.join(channels)}", file=path, column=CHANNEL)
    dates = pd.DatetimeIndex(sorted(df[DATE].unique()))
    want = pd.date_range(dates[0], periods=len(dates), freq=pd.Timedelta(days=CADENCE_DAYS[cadence]))
    if not dates.equals(want):
        raise DataError(f"plan dates must be consecutive {cadence} periods from {dates[0]:%Y-%m-%d}", file=path, column=DATE,
                        hint="one row per tenant and period, no gaps")
    if df.duplicated([DATE, TENANT_ID, CHANNEL]).any():
        rows = list(np.flatnonzero(df.duplicated([DATE, TENANT_ID, CHANNEL], keep=False).to_numpy()) + 1)
        raise DataError("the same tenant, channel and date appear twice", file=path, rows=rows)
    return df, dates


def plan_array(df: pd.DataFrame, dates: pd.DatetimeIndex, tenants: list[str], channels: list[str], active: np.ndarray,
               source: str) -> np.ndarray:
    """``(N, C, D)`` spend of the plan's rows; spend on a channel a tenant lacks is refused."""
    out = np.zeros((len(tenants), len(channels), len(dates)))
    pos = {d: k for k, d in enumerate(dates)}
    for r in df.dropna(subset=[SPEND]).itertuples(index=False):
        i, j = tenants.index(getattr(r, TENANT_ID)), channels.index(getattr(r, CHANNEL))
        if not active[i, j] and getattr(r, SPEND) > 0:
            raise DataError(f"tenant {tenants[i]} has no channel {channels[j]} in the run's data: its response is unknown",
                            file=source, column=channels[j], hint="leave that cell blank or 0")
        out[i, j, pos[getattr(r, DATE)]] = getattr(r, SPEND)
    return out
