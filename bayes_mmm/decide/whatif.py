"""What-if: score any plan — the user's own or an exported one — with the run's posterior.

A plan CSV is either **wide**: ``date, tenant_id, <channel>, <channel>, …`` (one row per
tenant and period, a blank cell = no spend), or **long**: ``date, tenant_id, channel, spend``.
``write_plan_csv`` writes the wide form, so an allocator plan can be edited and scored back;
``allocate``'s own ``plan.json`` is read as that table.
Every period of every channel a planned tenant has must be given (0 or blank for no spend):
a missing row or column is refused rather than scored as zero spend.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.atomic import write_text
from bayes_mmm.core.constants import CADENCE_DAYS
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import read_json
from bayes_mmm.data.table import check_range, parse_iso_dates, parse_numbers, read_table, rows_where

DATE, TENANT_ID, CHANNEL, SPEND = "date", "tenant_id", "channel", "spend"
#: The 1-based data row of the user's file, carried through the wide → long melt so messages name it.
ROW = "row"
#: Where the long rows' values came from: the user's column for each spend value (its channel in a wide plan).
SOURCE = "source_column"
LAYOUT_HINT = "a plan CSV is date, tenant_id, <channel>… (wide) or date, tenant_id, channel, spend (long)"
COMPLETE_HINT = "give every period of every channel the tenant has (0 or a blank cell for no spend)"


def plan_frame(plan: dict[str, Any]) -> pd.DataFrame:
    """A plan.json's spend as the wide table: one row per tenant and period, one column per channel."""
    channels = list(dict.fromkeys(ch for t in plan["tenants"].values() for ch in t["plan"]))
    rows = []
    for tid, t in plan["tenants"].items():
        for d, day in enumerate(plan["days"]):
            rows.append({DATE: day, TENANT_ID: tid, **{ch: t["plan"][ch][d] for ch in channels if ch in t["plan"]}})
    return pd.DataFrame(rows, columns=[DATE, TENANT_ID, *channels])


def write_plan_csv(plan: dict[str, Any], path: str | Path) -> Path:
    """The plan's spend as a wide table (:func:`plan_frame`), written atomically."""
    return write_text(path, plan_frame(plan).to_csv(index=False, float_format="%.17g", lineterminator="\n"))


def _is_json(path: Path) -> bool:
    """A ``.json`` file, or one whose first character is ``{`` (a plan.json renamed)."""
    if path.suffix.lower() == ".json":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(64).decode("utf-8-sig", errors="replace").lstrip().startswith("{")
    except OSError:  # unreadable: the table reader says so in one line
        return False


def _read_plan_json(path: Path) -> pd.DataFrame:
    """``allocate``'s plan.json as the wide plan table (cells as written, checked like a CSV's)."""
    hint = "pass allocate's plan.json as written, or a plan table (CSV)"
    plan = read_json(path, hint=hint)
    tenants = plan.get("tenants") if isinstance(plan, dict) else None
    days = plan.get("days") if isinstance(plan, dict) else None
    if not (isinstance(days, list) and days and isinstance(tenants, dict) and tenants
            and all(isinstance(t, dict) and isinstance(t.get("plan"), dict) for t in tenants.values())):
        raise DataError("is JSON but not a plan of `bayes-mmm allocate` (it needs days and tenants.<id>.plan)", file=path, hint=hint)
    for tid, t in tenants.items():
        if not t["plan"]:
            raise DataError(f"tenant {tid}: its plan names no channel", file=path, hint=COMPLETE_HINT)
        for ch, spend in t["plan"].items():
            if not isinstance(spend, list) or len(spend) != len(days):
                raise DataError(f"tenant {tid}, channel {ch}: the plan needs one amount per day of 'days' ({len(days)})",
                                file=path, hint=hint)
            bad = [k for k, v in enumerate(spend) if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)]
            if bad:  # null or NaN would read as a blank cell, i.e. no spend
                raise DataError(f"tenant {tid}, channel {ch}: {spend[bad[0]]!r} on {days[bad[0]]} is not an amount", file=path, hint=hint)
    return plan_frame(plan).astype(object)


def _spend(values: pd.Series, name: str, column: str) -> np.ndarray:
    """One column's spend: numbers ≥ 0, a blank cell as NaN (no spend); text such as '$80' or '1,200.50' is refused."""
    x = parse_numbers(values, name, column)
    check_range(x, 0.0, np.inf, name, column)
    return x


def _names(values: pd.Series, name: str, column: str) -> np.ndarray:
    """Stripped tenant ids or channel names; a blank one is refused (it would read as the tenant 'None')."""
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    blank = (text == "").to_numpy()
    if blank.any():
        raise DataError(f"blank {column.replace('_', ' ')}", file=name, column=column, rows=rows_where(blank))
    return text.to_numpy(dtype=object)


def _wide_columns(raw: pd.DataFrame, name: str, channels: list[str]) -> list[str]:
    """The channel columns of a wide plan, all of them the run's."""
    extra = [c for c in raw.columns if c not in (DATE, TENANT_ID)]
    unknown = [c for c in extra if c not in channels]
    if unknown:
        raise DataError(f"unknown channel column(s) {', '.join(unknown)}; the run has {', '.join(channels)}", file=name)
    if not extra:
        raise DataError("the plan has no channel columns", file=name, hint=LAYOUT_HINT)
    return extra


def _long(raw: pd.DataFrame, name: str, channels: list[str]) -> pd.DataFrame:
    """Long rows ``date, tenant_id, channel, spend, row, source_column`` from either layout.

    Cells are checked in the user's layout, before any melt, so that a message names
    the column and the 1-based data row as they appear in the file.
    """
    for col in (DATE, TENANT_ID):
        if col not in raw.columns:
            raise DataError("required plan column is missing", file=name, column=col, hint=LAYOUT_HINT)
    base = pd.DataFrame({DATE: parse_iso_dates(raw[DATE], name, DATE), TENANT_ID: _names(raw[TENANT_ID], name, TENANT_ID),
                         ROW: np.arange(1, len(raw) + 1)})
    if CHANNEL in raw.columns and SPEND in raw.columns:
        return base.assign(**{CHANNEL: _names(raw[CHANNEL], name, CHANNEL), SPEND: _spend(raw[SPEND], name, SPEND), SOURCE: SPEND})
    parts = [base.assign(**{CHANNEL: ch, SPEND: _spend(raw[ch], name, ch), SOURCE: ch}) for ch in _wide_columns(raw, name, channels)]
    return pd.concat(parts, ignore_index=True)


def read_plan_csv(path: str | Path, channels: list[str], cadence: str) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Checked long rows of a plan CSV and its period dates (consecutive periods of the run's cadence).

    Parameters
    ----------
    path
        The plan, wide or long (module docstring).
    channels
        The run's channels.
    cadence
        The run's cadence (``daily`` or ``weekly``).

    Returns
    -------
    tuple of pandas.DataFrame and pandas.DatetimeIndex
        Long rows (``date, tenant_id, channel, spend`` plus the user's ``row`` and
        ``source_column`` for messages) and the plan's period dates.

    Raises
    ------
    DataError
        Naming file, column and rows: missing file or columns, dates that are not ISO or
        not consecutive periods, spend that is not a number ≥ 0 or blank, unknown channels,
        repeated tenant × channel × date.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("plan file not found", file=path, hint="write one with `bayes-mmm allocate --csv`, or by hand (docs: data contract §4)")
    # Only an empty cell is "no spend": NA, #N/A or NULL is a value that went missing, refused as not a number.
    from_json = _is_json(path)
    raw = _read_plan_json(path) if from_json else read_table(path, na_tokens=frozenset({""}))
    df = _long(raw, str(path), channels)
    if from_json:  # its amounts are all numbers: a blank is a channel key missing from a tenant's plan, i.e. not given
        df = df[df[SPEND].notna()].reset_index(drop=True)
    unknown = ~df[CHANNEL].isin(channels).to_numpy()
    if unknown.any():
        raise DataError(f"unknown channel(s) {', '.join(sorted(set(df[CHANNEL][unknown])))}; the run has {', '.join(channels)}",
                        file=path, column=CHANNEL, rows=sorted(df[ROW][unknown]))
    dates = pd.DatetimeIndex(sorted(df[DATE].unique()))
    grid = pd.date_range(dates[0], dates[-1], freq=pd.Timedelta(days=CADENCE_DAYS[cadence]))
    if not dates.equals(grid):
        off, gaps = dates.difference(grid), grid.difference(dates)
        what = (f"{off[0]:%Y-%m-%d} is not {CADENCE_DAYS[cadence]} days on from another date" if len(off)
                else "no row for " + ", ".join(f"{d:%Y-%m-%d}" for d in gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""))
        rows = sorted(df[ROW][df[DATE] == off[0]]) if len(off) else None
        raise DataError(f"plan dates must be consecutive {cadence} periods from {dates[0]:%Y-%m-%d}: {what}", file=path,
                        column=DATE, rows=rows, hint="one row per tenant and period, no gaps")
    dup = df.duplicated([DATE, TENANT_ID, CHANNEL], keep=False).to_numpy()
    if dup.any():
        raise DataError("the same tenant, channel and date appear twice", file=path, rows=sorted(set(df[ROW][dup])))
    return df, dates


def _refuse_missing(missing: np.ndarray, dates: pd.DatetimeIndex, tenants: list[str], channels: list[str], source: str) -> None:
    """Refuse periods of a tenant's own channels that the plan leaves out: they would be scored as zero spend."""
    for i, tid in enumerate(tenants):
        if missing[i].any():
            chans = [ch for j, ch in enumerate(channels) if missing[i, j].any()]
            days = [f"{d:%Y-%m-%d}" for k, d in enumerate(dates) if missing[i, :, k].any()]
            shown = ", ".join(days[:5]) + (f" and {len(days) - 5} more" if len(days) > 5 else "")
            raise DataError(f"tenant {tid}: the plan has no value for {', '.join(chans)} on {shown}", file=source,
                            hint=COMPLETE_HINT)


def plan_array(df: pd.DataFrame, dates: pd.DatetimeIndex, tenants: list[str], channels: list[str], active: np.ndarray,
               source: str) -> np.ndarray:
    """``(N, C, D)`` spend of the plan's rows (from :func:`read_plan_csv`).

    Spend on a channel a tenant lacks is refused, and so is a period of a channel it has
    that the plan leaves out (a missing row, or a wide plan without the channel's column).
    """
    out = np.zeros((len(tenants), len(channels), len(dates)))
    given = np.zeros(out.shape, dtype=bool)
    pos = {d: k for k, d in enumerate(dates)}
    for r in df.itertuples(index=False):
        i, j, k = tenants.index(getattr(r, TENANT_ID)), channels.index(getattr(r, CHANNEL)), pos[getattr(r, DATE)]
        spend = getattr(r, SPEND)
        if not active[i, j] and spend > 0:
            raise DataError(f"tenant {tenants[i]} has no channel {channels[j]} in the run's data: its response is unknown",
                            file=source, column=getattr(r, SOURCE), rows=[getattr(r, ROW)], hint="leave that cell blank or 0")
        given[i, j, k] = True
        out[i, j, k] = 0.0 if np.isnan(spend) else spend
    _refuse_missing(np.asarray(active, bool)[..., None] & ~given, dates, tenants, channels, source)
    return out
