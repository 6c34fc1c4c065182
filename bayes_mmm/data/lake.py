"""Load a lake of tenants (data contract §1) into one labelled ``xarray.Dataset``.

Reading is strict about structure (columns, numbers, dates): anything that
cannot be read raises :class:`~bayes_mmm.core.errors.DataError` naming the file,
column and rows. Quality gates that are judgement calls (missing share,
outliers, ...) live in :mod:`bayes_mmm.data.validate`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import (
    CHANNEL,
    CONTROL_PREFIX,
    DAILY_STEMS,
    DATE,
    HOLIDAY,
    PRECIP,
    REQUIRED_COLUMNS,
    REVENUE,
    SNOW,
    SPEND_PREFIX,
    TEMP,
    TENANT,
    TENANT_JSON,
)
from bayes_mmm.core.errors import DataError

TENANT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
#: Common names of the required columns in exports (Open-Meteo's daily CSV among them).
ALIASES = {
    DATE: ("time", "day", "Date"),
    REVENUE: ("sales", "Revenue", "revenue_usd"),
    TEMP: ("temperature_2m_mean (°C)", "temperature_2m_mean", "temperature", "temp"),
    PRECIP: ("precipitation_sum (mm)", "precipitation_sum", "precipitation", "rain_sum (mm)", "precip"),
}
#: Columns that must never be negative, besides every ``spend_*``.
NON_NEGATIVE = (REVENUE, PRECIP, SNOW)


def daily_file(tenant_dir: Path) -> Path:
    """Return the ``daily.parquet`` or ``daily.csv`` of a tenant folder."""
    for stem in DAILY_STEMS:
        if (tenant_dir / stem).is_file():
            return tenant_dir / stem
    raise DataError(
        "no daily.csv or daily.parquet",
        file=tenant_dir,
        hint="each tenant folder needs one daily file (see docs/data-contract.md)",
    )


def list_tenants(lake: str | Path) -> list[str]:
    """Tenant ids of a lake: its sub-folders holding a daily file, sorted."""
    lake = Path(lake)
    if not lake.is_dir():
        raise DataError("lake folder does not exist", file=lake)
    ids = sorted(
        p.name
        for p in lake.iterdir()
        if p.is_dir() and any((p / s).is_file() for s in DAILY_STEMS)
    )
    if not ids:
        raise DataError(
            "lake has no tenants",
            file=lake,
            hint="expected <lake>/<tenant_id>/daily.csv or daily.parquet",
        )
    for tid in ids:
        if not TENANT_ID.match(tid):
            raise DataError(
                f"tenant id '{tid}' may only use letters, digits, '_' and '-'", file=lake / tid
            )
    return ids


def resolve_tenants(lake: str | Path, tenants: str | Sequence[str] | None) -> list[str]:
    """Turn ``"all"``, ``"a,b"`` or a list into known tenant ids, in lake order."""
    known = list_tenants(lake)
    if tenants is None or tenants == "all":
        return known
    wanted = [t.strip() for t in tenants.split(",")] if isinstance(tenants, str) else list(tenants)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known tenants: {', '.join(known[:8])}"
        raise DataError(f"unknown tenant id '{unknown[0]}'", file=lake, hint=hint)
    return wanted


def _rows_where(mask: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def read_daily(path: str | Path) -> pd.DataFrame:
    """Read one tenant's daily file and check its structure.

    Returns a frame indexed by ``date`` (sorted) with float columns. Raises
    :class:`DataError` for an empty file, missing or misspelled columns,
    non-numeric values, unparseable dates, negative spend/revenue/weather
    amounts, duplicated dates and gaps in the dates.
    """
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", file=path) from None
    except (OSError, ValueError) as exc:  # corrupt parquet, unreadable file
        raise DataError(f"cannot be read ({exc.__class__.__name__}: {exc})", file=path) from None
    if raw.empty:
        raise DataError("file has a header but no rows", file=path)
    raw.columns = [str(c).strip() for c in raw.columns]

    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        col = missing[0]
        extra = [c for c in raw.columns if c not in REQUIRED_COLUMNS]
        close = [a for a in ALIASES.get(col, ()) if a in extra] or difflib.get_close_matches(col, extra, n=1, cutoff=0.6)
        hint = f"found '{close[0]}': rename it to '{col}'" if close else f"columns are: {', '.join(raw.columns)}"
        raise DataError("required column is missing", file=path, column=col, hint=hint)
    spend_cols = [c for c in raw.columns if c.startswith(SPEND_PREFIX)]
    if not spend_cols:
        raise DataError(
            "no spend_<channel> column", file=path, hint="add at least one, e.g. spend_meta"
        )

    dates = pd.to_datetime(raw[DATE].astype(str).str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        rows = _rows_where(bad)
        raise DataError(
            f"unparseable date '{raw[DATE].iloc[rows[0] - 1]}'",
            file=path,
            column=DATE,
            rows=rows,
            hint="use ISO dates YYYY-MM-DD",
        )
    iso = dates.dt.strftime("%Y-%m-%d").to_numpy()

    numeric = [c for c in raw.columns if c != DATE]
    out = pd.DataFrame(index=pd.DatetimeIndex(dates, name=DATE))
    for col in numeric:
        values = raw[col]
        num = pd.to_numeric(values, errors="coerce")
        not_num = (num.isna() & values.notna() & (values.astype(str).str.strip() != "")).to_numpy()
        if not_num.any():
            rows = _rows_where(not_num)
            raise DataError(
                f"non-numeric value '{values.iloc[rows[0] - 1]}'",
                file=path,
                column=col,
                rows=rows,
                dates=iso[not_num],
            )
        out[col] = num.to_numpy(dtype=float)

    for col in [*spend_cols, *(c for c in NON_NEGATIVE if c in out.columns)]:
        neg = (out[col] < 0).to_numpy()
        if neg.any():
            raise DataError(
                "negative values", file=path, column=col, rows=_rows_where(neg), dates=iso[neg]
            )

    dup = dates.duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError(
            "duplicated dates", file=path, column=DATE, rows=_rows_where(dup), dates=iso[dup]
        )
    out = out.sort_index()
    full = pd.date_range(out.index[0], out.index[-1], freq="D")
    if len(full) != len(out):
        gaps = full.difference(out.index)
        raise DataError(
            f"{len(gaps)} missing day(s) in the dates, first {gaps[0]:%Y-%m-%d}",
            file=path,
            column=DATE,
            hint="one row per calendar day; fill missing days (spend 0, revenue empty)",
        )
    out.attrs["source"] = str(path)
    return out


def read_tenant_meta(tenant_dir: Path) -> dict:
    """Read ``tenant.json`` if present (all keys optional but ``tenant_id``)."""
    path = tenant_dir / TENANT_JSON
    if not path.is_file():
        return {"tenant_id": tenant_dir.name}
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg} at line {exc.lineno})", file=path) from None
    if not isinstance(meta, dict):
        raise DataError("must hold a JSON object", file=path)
    meta.setdefault("tenant_id", tenant_dir.name)
    return meta


def channels_of(frames: Iterable[pd.DataFrame]) -> list[str]:
    """Union of channels over tenants, in first-seen order."""
    seen: dict[str, None] = {}
    for df in frames:
        for c in df.columns:
            if c.startswith(SPEND_PREFIX):
                seen.setdefault(c[len(SPEND_PREFIX) :], None)
    return list(seen)


def frames_to_dataset(frames: dict[str, pd.DataFrame], meta: dict[str, dict] | None = None) -> xr.Dataset:
    """Align per-tenant frames into one dataset with dims ``tenant``, ``date``, ``channel``.

    Dates are the union over tenants; days outside a tenant's range are NaN
    and ``in_range`` is False there. ``holiday`` rows are all NaN for tenants
    without a holiday column (the model then uses its built-in calendar). Missing spend counts as 0 and missing
    weather is interpolated; missing revenue stays NaN and is masked by
    ``observed``.
    """
    tenants = list(frames)
    channels = channels_of(frames.values())
    start = min(df.index[0] for df in frames.values())
    end = max(df.index[-1] for df in frames.values())
    dates = pd.date_range(start, end, freq="D", name=DATE)
    controls = sorted(
        {c[len(CONTROL_PREFIX) :] for df in frames.values() for c in df.columns if c.startswith(CONTROL_PREFIX)}
    )
    has_holiday = any(HOLIDAY in df.columns for df in frames.values())

    n_t, n_d, n_c = len(tenants), len(dates), len(channels)
    revenue = np.full((n_t, n_d), np.nan)
    spend = np.zeros((n_t, n_d, n_c))
    weather = {k: np.full((n_t, n_d), np.nan) for k in (TEMP, PRECIP, SNOW)}
    holiday = np.full((n_t, n_d), np.nan)  # NaN row: this tenant has no holiday column
    control = np.zeros((n_t, n_d, len(controls)))
    in_range = np.zeros((n_t, n_d), dtype=bool)
    for i, tid in enumerate(tenants):
        df = frames[tid].reindex(dates)
        rng = df.index.isin(frames[tid].index)
        in_range[i] = rng
        revenue[i] = df[REVENUE].to_numpy()
        for j, ch in enumerate(channels):
            col = SPEND_PREFIX + ch
            if col in df:
                spend[i, :, j] = np.nan_to_num(df[col].to_numpy(), nan=0.0)
        for k in weather:
            if k in df:
                s = df[k].where(rng).interpolate(limit_direction="both")
                weather[k][i] = s.to_numpy()
            elif k == SNOW:
                weather[k][i] = 0.0
            weather[k][i][~rng] = np.nan
        if HOLIDAY in df:
            holiday[i] = np.nan_to_num(df[HOLIDAY].to_numpy(), nan=0.0)
        for j, c in enumerate(controls):
            col = CONTROL_PREFIX + c
            if col in df:
                control[i, :, j] = df[col].interpolate(limit_direction="both").fillna(0.0).to_numpy()
        spend[i, ~rng] = 0.0

    ds = xr.Dataset(
        {
            REVENUE: ((TENANT, DATE), revenue),
            "spend": ((TENANT, DATE, CHANNEL), spend),
            TEMP: ((TENANT, DATE), weather[TEMP]),
            PRECIP: ((TENANT, DATE), weather[PRECIP]),
            SNOW: ((TENANT, DATE), weather[SNOW]),
            "in_range": ((TENANT, DATE), in_range),
            "observed": ((TENANT, DATE), in_range & ~np.isnan(revenue)),
        },
        coords={TENANT: tenants, DATE: dates, CHANNEL: channels},
    )
    if has_holiday:
        ds[HOLIDAY] = ((TENANT, DATE), holiday)
    if controls:
        ds["control"] = ((TENANT, DATE, "control"), control)
        ds = ds.assign_coords(control=controls)
    if meta:
        for key in ("city", "category", "name", "sensitivity"):
            ds.coords[key] = (TENANT, [str(meta.get(t, {}).get(key, "")) for t in tenants])
    return ds


def load_lake(lake: str | Path, tenants: str | Sequence[str] | None = None) -> xr.Dataset:
    """Load the tenants of a lake into one labelled dataset.

    Parameters
    ----------
    lake
        Folder of tenant folders (data contract §1).
    tenants
        ``None`` or ``"all"`` for every tenant, else ids as a list or a
        comma-separated string.

    Returns
    -------
    xarray.Dataset
        ``revenue``, weather ``(tenant, date)``, ``spend (tenant, date, channel)``,
        ``observed``/``in_range`` masks, optional ``holiday`` and ``control``.
    """
    lake = Path(lake)
    ids = resolve_tenants(lake, tenants)
    frames = {tid: read_daily(daily_file(lake / tid)) for tid in ids}
    meta = {tid: read_tenant_meta(lake / tid) for tid in ids}
    ds = frames_to_dataset(frames, meta)
    ds.attrs["lake"] = str(lake.resolve())
    return ds
