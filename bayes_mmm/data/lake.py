"""Load a lake of tenants (data contract §1) into one labelled ``xarray.Dataset``.

Reading is strict about structure (columns, numbers, dates): anything that
cannot be read raises :class:`~bayes_mmm.core.errors.DataError` naming the file,
column and rows. Quality gates that are judgement calls (missing share,
outliers, ...) live in :mod:`bayes_mmm.data.validate`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import (
    CADENCE_DAYS,
    CHANNEL,
    CONTROL,
    CONTROL_PREFIX,
    CONTROLS,
    DAILY,
    DATA_STEMS,
    DATE,
    EVENT,
    FLAG_COLUMNS,
    HOLIDAY,
    MAX_ABS_TEMP_C,
    MAX_AMOUNT,
    MAX_PRECIP_MM_PER_DAY,
    MAX_SNOW_CM_PER_DAY,
    MIN_TEMP_SD_C,
    PRECIP,
    REQUIRED_COLUMNS,
    RESERVED_CHANNELS,
    REVENUE,
    SNOW,
    SPEND_PREFIX,
    TEMP,
    TENANT,
    TENANT_JSON,
    TRUTH_JSON,
    WEATHER_COLUMNS,
    WEEKLY,
)
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import kind_of, read_json
from bayes_mmm.data.table import check_range, parse_iso_dates, parse_numbers, read_table, rows_where

TENANT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
#: Common names of the required columns in exports (Open-Meteo's daily CSV among them).
ALIASES = {
    DATE: ("time", "day", "Date"),
    REVENUE: ("sales", "Revenue", "revenue_usd"),
    TEMP: ("temperature_2m_mean (°C)", "temperature_2m_mean", "temperature", "temp"),
    PRECIP: ("precipitation_sum (mm)", "precipitation_sum", "precipitation", "rain_sum (mm)", "precip"),
}
#: The union date axis may span at most this many times the longest tenant's own span.
MAX_SPAN_RATIO = 3


def data_file(tenant_dir: Path) -> Path:
    """Return the one table of a tenant folder: ``daily.*`` or ``weekly.*`` (csv or parquet)."""
    found = [tenant_dir / stem for stem in DATA_STEMS if (tenant_dir / stem).is_file()]
    if not found:
        raise DataError(
            "no daily.csv, daily.parquet, weekly.csv or weekly.parquet",
            file=tenant_dir,
            hint="each tenant folder needs one data file (see docs/data-contract.md)",
        )
    if len(found) > 1:
        raise DataError(
            f"holds {' and '.join(p.name for p in found)}",
            file=tenant_dir,
            hint="keep exactly one data file per tenant",
        )
    return found[0]


#: Former name, kept for callers written before weekly files existed.
daily_file = data_file


def cadence_of(path: Path) -> str:
    """Cadence a data file's name promises: ``weekly`` for ``weekly.*``, else ``daily``."""
    return WEEKLY if path.name.startswith(WEEKLY) else DAILY


def is_tenant_folder(path: str | Path) -> bool:
    """``path`` is a folder holding a tenant's data file (daily or weekly, csv or parquet)."""
    path = Path(path)
    return path.is_dir() and any((path / s).is_file() for s in DATA_STEMS)


def tenant_folders(lake: str | Path) -> list[Path]:
    """A lake's tenant folders: its sub-folders holding a data file (none when ``lake`` is not a folder)."""
    lake = Path(lake)
    return [p for p in lake.iterdir() if is_tenant_folder(p)] if lake.is_dir() else []


def list_tenants(lake: str | Path) -> list[str]:
    """Tenant ids of a lake: its sub-folders holding a data file, sorted."""
    lake = Path(lake)
    if lake.is_file():
        raise DataError("is a file, but a lake folder is needed here: one sub-folder per tenant holding daily.csv or "
                        "weekly.csv (see docs/data-contract.md; `bayes-mmm import` builds one from raw exports)", file=lake)
    if not lake.is_dir():
        raise DataError("lake folder does not exist", file=lake)
    ids = sorted(p.name for p in tenant_folders(lake))
    if not ids:
        if stray := unreadable_tenants(lake, []):
            raise _unreadable(stray[0])
        raise DataError(
            "lake has no tenants",
            file=lake,
            hint="expected <lake>/<tenant_id>/daily.csv (or daily.parquet, weekly.csv, weekly.parquet)",
        )
    for tid in ids:
        if not TENANT_ID.match(tid):
            raise DataError(
                f"tenant id '{tid}' may only use ASCII letters (a–z, A–Z), digits, '_' and '-'", file=lake / tid
            )
    return ids


def unreadable_tenants(lake: Path, known: Sequence[str]) -> list[Path]:
    """Folders outside ``known`` (:func:`list_tenants`) that look like tenants (a tenant.json, or a data file name
    that is not a file, e.g. a dangling link or a folder): they would otherwise vanish from every result unsaid."""
    return [p for p in sorted(lake.iterdir()) if p.name not in known and (_dangling(p) or (p.is_dir()
            and ((p / TENANT_JSON).exists() or any(os.path.lexists(p / s) for s in DATA_STEMS) or _near_misses(p))))]


def _dangling(path: Path) -> bool:
    """A link whose target is gone (a tenant folder on a share that is not mounted)."""
    return path.is_symlink() and not path.exists()


def _near_misses(folder: Path) -> list[str]:
    """Files of ``folder`` named almost like a data file, sorted: "Daily.CSV", "daily.csv.gz", "daily.xlsx", or a
    typo of the same length ("dialy.csv"); not other words ("week.csv", "weekday.csv")."""
    def near(stem: str) -> bool:
        return any(len(stem) == len(s) and difflib.SequenceMatcher(None, stem, s).ratio() >= 0.8 for s in (DAILY, WEEKLY))

    return sorted(f.name for f in folder.iterdir() if f.name not in DATA_STEMS and f.is_file()
                  and near(f.name.split(".")[0].lower()))


def _unreadable(folder: Path) -> DataError:
    if _dangling(folder):
        return DataError(f"is a link to {os.readlink(folder)}, which does not exist (a share not mounted?)", file=folder,
                         hint="mount or restore it, or remove the link (or name only the other tenants)")
    found = _near_misses(folder)
    return DataError("tenant folder has no readable data file" + (f" (found {', '.join(found)})" if found else ""),
                     file=folder, hint="add its daily.csv (or daily.parquet, weekly.csv, weekly.parquet: a plain file, "
                                       "in lower case), or move the folder out of the lake (or name only the other tenants)")


def resolve_tenants(lake: str | Path, tenants: str | Sequence[str] | None) -> list[str]:
    """Turn ``"all"``, ``"a,b"`` or a list into known tenant ids, in lake order.

    A tenant folder without a readable data file is an error when it is asked for, by name or as
    one of "all"; naming other tenants leaves it alone.
    """
    known = list_tenants(lake)
    everyone = tenants is None or tenants == "all"
    wanted = known if everyone else [t.strip() for t in tenants.split(",")] if isinstance(tenants, str) else list(tenants)
    for p in unreadable_tenants(Path(lake), known):
        if everyone or p.name in wanted:
            raise _unreadable(p)
    if everyone:
        return known
    unknown = [t for t in wanted if t not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known tenants: {', '.join(known[:8])}"
        raise DataError(f"unknown tenant id '{unknown[0]}'", file=lake, hint=hint)
    return wanted


#: 'Spend_Meta', 'spend meta', 'SPEND-email', 'Spend': spend columns under another spelling ('Spendings' is not one).
MISNAMED_SPEND = re.compile(r"spend(?:$|[\s_.\-])", re.IGNORECASE)
#: 'Control_promo', 'CONTROL_price': a control column in another case ('control group', 'controller' are not one).
MISNAMED_CONTROL = re.compile(r"control_", re.IGNORECASE)


def check_channel_name(name: str, file: Path | None = None, column: str | None = None) -> None:
    """Refuse a channel named like a column of the tables built from channels (:data:`RESERVED_CHANNELS`)."""
    if name in RESERVED_CHANNELS:
        raise DataError(f"channel name '{name}' is reserved: plan tables have a column of that name",
                        file=file, column=column, hint=f"name the channel otherwise, e.g. '{name}_ads'")


def _check_columns(columns: list[str], path: Path) -> list[str]:
    """Required columns present, optional weather not misspelled, channel names non-empty; the spend columns."""
    extra = [c for c in columns if c not in REQUIRED_COLUMNS]
    for col in (*REQUIRED_COLUMNS, *WEATHER_COLUMNS):
        if col in columns:
            continue
        close = [a for a in ALIASES.get(col, ()) if a in extra] + [c for c in extra if c.lower() == col]
        if col in REQUIRED_COLUMNS and not close:
            close = difflib.get_close_matches(col, extra, n=1, cutoff=0.6)
        if close:  # an optional column under another name must not be silently dropped
            raise DataError("required column is missing" if col in REQUIRED_COLUMNS else "column not found",
                            file=path, column=col, hint=f"found '{close[0]}': rename it to '{col}'")
        if col in REQUIRED_COLUMNS:
            raise DataError("required column is missing", file=path, column=col, hint=f"columns are: {', '.join(columns)}")
    spend = [c for c in columns if c.startswith(SPEND_PREFIX)]
    # 'Spend_Meta' or 'spend meta' would be ignored as an unknown column: a channel lost without a word.
    odd = [c for c in extra if c not in spend and MISNAMED_SPEND.match(c.strip())]
    if odd:
        name = MISNAMED_SPEND.sub("", odd[0].strip(), count=1).strip().lower() or "<channel>"
        raise DataError("looks like a spend column but is not named spend_<channel> (lower-case 'spend_')", file=path,
                        column=odd[0], hint=f"rename it to '{SPEND_PREFIX}{name}'")
    if SPEND_PREFIX in spend:
        raise DataError("empty channel name", file=path, column=SPEND_PREFIX, hint="name the channel, e.g. spend_meta")
    for col in spend:
        check_channel_name(col.removeprefix(SPEND_PREFIX), file=path, column=col)
    if not spend:
        raise DataError("no spend_<channel> column", file=path, hint="add at least one, e.g. spend_meta")
    return spend


def _check_optional(raw: pd.DataFrame, path: Path, notes: set[str]) -> None:
    """Refuse numeric snow, holiday, event and control columns in another case ('Holiday', 'Snow_cm', 'Control_promo'):
    as unknown columns they would be left out without a word, as a misspelt spend or weather column is not.
    A text column of such a name (a holiday's name) is one of the merchant's ``notes``, left out as the contract says."""
    numeric = [c for c in raw.columns if not _contract_column(c) and c not in notes]
    for col in (SNOW, *FLAG_COLUMNS):
        near = [c for c in numeric if c.strip().lower() == col]
        if near and col not in raw.columns:
            raise DataError("column not found", file=path, column=col, hint=f"found '{near[0]}': rename it to '{col}'")
    odd = [c for c in numeric if MISNAMED_CONTROL.match(c.strip())]
    if odd:
        raise DataError("looks like a control column but is not named control_<name> (lower-case 'control_')", file=path,
                        column=odd[0], hint=f"rename it to '{CONTROL_PREFIX}{odd[0].strip()[len(CONTROL_PREFIX):]}'")


def _limits(col: str, days: int) -> tuple[float, float, str]:
    """Physically possible range ``(low, high, unit)`` of a column over a period of ``days`` days."""
    if col.startswith(SPEND_PREFIX) or col == REVENUE:
        return 0.0, MAX_AMOUNT, ""
    if col == PRECIP:
        return 0.0, MAX_PRECIP_MM_PER_DAY * days, " mm"
    if col == SNOW:
        return 0.0, MAX_SNOW_CM_PER_DAY * days, " cm"
    if col.startswith("temp") and col.endswith("_c"):  # temp_c, temp_max_c, temp_min_c
        return -MAX_ABS_TEMP_C, MAX_ABS_TEMP_C, " °C"
    return -MAX_AMOUNT, MAX_AMOUNT, ""


def _contract_column(col: str) -> bool:
    """A column the data contract names: revenue, spend_*, control_*, weather, flags."""
    return (col == REVENUE or col.startswith((SPEND_PREFIX, CONTROL_PREFIX)) or col in (*WEATHER_COLUMNS, SNOW, *FLAG_COLUMNS)
            or (col.startswith("temp") and col.endswith("_c")))


def _text_notes(raw: pd.DataFrame) -> set[str]:
    """Columns the contract does not name that hold a cell that is not a number (a merchant's notes, a holiday's name)."""
    return {c for c in raw.columns if c != DATE and not _contract_column(c)
            and bool(pd.to_numeric(raw[c], errors="coerce").isna().gt(raw[c].isna()).any())}


def _values(raw: pd.DataFrame, path: Path, iso: np.ndarray, days: int, notes: set[str]) -> pd.DataFrame:
    """Every column but ``date`` and the text ``notes`` as finite floats inside its possible range; flags 0/1.

    A column the contract does not name and that holds text (a merchant's ``notes``) is left out: the
    model reads no unknown column, and its text is not a data error.
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for col in [c for c in raw.columns if c != DATE and c not in notes]:
        x = parse_numbers(raw[col], path, col, iso)
        if col in FLAG_COLUMNS:
            odd = ~np.isnan(x) & (x != 0) & (x != 1)
            if odd.any():
                raise DataError(f"value {x[odd][0]:g} where 0 or 1 belongs", file=path, column=col,
                                rows=rows_where(odd), dates=iso[odd], hint="mark the period with 1, else 0")
        low, high, unit = _limits(col, days)
        check_range(x, low, high, path, col, iso, unit)
        out[col] = x
    return out


def detect_cadence(dates: pd.DatetimeIndex) -> str | None:
    """``daily`` or ``weekly`` from the typical step between sorted unique dates; ``None`` for one date."""
    steps = np.asarray(dates.unique().sort_values().to_series().diff().dt.days.iloc[1:], dtype=int)
    if len(steps) == 0:
        return None
    step = int(np.median(steps))
    if step == 1:
        return DAILY
    if step == 7:
        return WEEKLY
    return f"every {step} days"


def _check_dates(dates: pd.DatetimeIndex, path: Path, iso: np.ndarray) -> None:
    """No duplicates; cadence as the file name says; weeks on one weekday; no gaps."""
    dup = dates.duplicated(keep=False)
    if dup.any():
        raise DataError("duplicated dates", file=path, column=DATE, rows=rows_where(dup), dates=iso[dup])
    want, got = cadence_of(path), detect_cadence(dates)
    if got is not None and got != want:
        known = got in CADENCE_DAYS
        hint = f"rename it to {got}{path.suffix}" if known else "one row per day (daily.*) or per week (weekly.*)"
        raise DataError(f"dates are {got} but the file is named {path.name}", file=path, column=DATE, hint=hint)
    if want == WEEKLY:
        day = dates.day_of_week.to_numpy()
        odd = day != day[0]
        if odd.any():
            raise DataError(
                f"weeks start on different weekdays ({dates[0]:%A} in row 1, {dates[odd][0]:%A} here)",
                file=path, column=DATE, rows=rows_where(odd), dates=iso[odd],
                hint="date each week by the same first weekday",
            )
    ordered = dates.sort_values()
    full = pd.date_range(ordered[0], ordered[-1], freq=f"{CADENCE_DAYS[want]}D")
    if len(full) != len(dates):
        gaps = full.difference(dates)
        unit = "day" if want == DAILY else "week"
        raise DataError(
            f"{len(gaps)} missing {unit}(s) in the dates: {', '.join(f'{g:%Y-%m-%d}' for g in gaps[:5])}"
            + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""),
            file=path,
            column=DATE,
            hint=f"one row per {unit}; fill missing {unit}s (spend 0, revenue empty)",
        )


def read_daily(path: str | Path) -> pd.DataFrame:
    """Read one tenant's data file (``daily.*`` or ``weekly.*``) and check its structure.

    Returns a frame indexed by ``date`` (sorted) with float columns and
    ``attrs`` ``source`` and ``cadence``. Raises :class:`DataError` for an
    unreadable or empty file, a wrong separator, duplicated or empty column
    names, missing or misspelled columns, non-numeric, non-finite or impossible
    values, flags other than 0/1, dates that are not ISO ``YYYY-MM-DD``,
    duplicated dates, a cadence that does not match the file name, and gaps.
    """
    path = Path(path)
    raw = read_table(path)
    _check_columns(list(raw.columns), path)
    notes = _text_notes(raw)
    _check_optional(raw, path, notes)
    dates = parse_iso_dates(raw[DATE], path, DATE)
    iso = np.asarray(dates.strftime("%Y-%m-%d"))
    out = _values(raw, path, iso, CADENCE_DAYS[cadence_of(path)], notes)
    _check_dates(dates, path, iso)
    out.index = pd.DatetimeIndex(dates, name=DATE)
    out = out.sort_index()
    out.attrs.update(source=str(path), cadence=cadence_of(path))
    return out


def weather_problem(df: pd.DataFrame) -> str | None:
    """Why a tenant's weather cannot be used (absent, partial, near-constant), or ``None`` when it can."""
    missing = [c for c in WEATHER_COLUMNS if c not in df.columns or df[c].isna().all()]
    if missing:
        return f"no {' or '.join(missing)}"
    temp, precip = df[TEMP].dropna(), df[PRECIP].dropna()
    if temp.std(ddof=0) < MIN_TEMP_SD_C:
        return f"{TEMP} is near-constant (sd {temp.std(ddof=0):.2f} °C < {MIN_TEMP_SD_C:g})"
    if precip.nunique() <= 1:
        return f"{PRECIP} is constant ({precip.iloc[0]:g})"
    return None


def not_a_simulated_lake(path: Path) -> str | None:
    """Why the folder ``path`` is not a lake ``simulate`` wrote (for ``--overwrite``), or None when it is one.

    Every entry but hidden files must be a tenant folder holding ``truth.json``: a lake of real data
    (``import``) has none, and ``simulate --overwrite`` must never replace it.
    """
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            return f"is not a simulated lake: it holds {entry.name}, which is not a tenant folder"
        if not (entry / TRUTH_JSON).is_file():
            return f"is not a simulated lake: its tenant folder {entry.name} has no {TRUTH_JSON} (real data?)"
    return None


#: tenant.json's described keys and what each must be (data contract §1); null is as good as absent.
META_TEXT = ("name", "city", "category", "currency", "sensitivity", "country")
META_RANGES = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}


def check_meta_types(meta: dict, path: Path) -> None:
    """Refuse a described ``tenant.json`` key of the wrong type (a list for a city, text for a latitude)."""
    for key in META_TEXT:
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise DataError(f"'{key}' must be text, found {kind_of(meta[key])}", file=path, hint=f"write {key} as a JSON string in quotes, or leave it out")
    for key, (lo, hi) in META_RANGES.items():
        v = meta.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi):
            raise DataError(f"'{key}' must be a number in [{lo:g}, {hi:g}], found {v!r}", file=path,
                            hint=f'e.g. "{key}": 39.74, or leave it out')


def tenants_field(lake: str | Path, tenants: Sequence[str], key: str) -> dict[str, str]:
    """Each tenant's ``tenant.json`` ``key`` as text (empty when not given), e.g. its ``city`` or ``currency``."""
    return {t: str(read_tenant_meta(Path(lake) / t).get(key, "") or "") for t in tenants}


def read_tenant_meta(tenant_dir: Path) -> dict:
    """Read ``tenant.json`` if present (all keys optional but ``tenant_id``), its described keys type-checked."""
    path = tenant_dir / TENANT_JSON
    if not path.exists():
        return {"tenant_id": tenant_dir.name}
    meta = read_json(path, hint="tenant.json is optional; fix it or remove it")
    if not isinstance(meta, dict):
        raise DataError(f"must hold a JSON object, found {kind_of(meta)}", file=path,
                        hint='e.g. {"tenant_id": "shop", "category": "books"}')
    check_meta_types(meta, path)
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


def _fmt_range(df: pd.DataFrame) -> str:
    return f"{df.index[0]:%Y-%m-%d} to {df.index[-1]:%Y-%m-%d}"


def date_axis(frames: dict[str, pd.DataFrame]) -> tuple[pd.DatetimeIndex, str]:
    """The shared date axis of tenants and their cadence.

    Refuses a lake mixing cadences, weekly tenants whose weeks start on
    different weekdays, and tenants so far apart in time that the union axis
    would exceed :data:`MAX_SPAN_RATIO` × the longest tenant's span (a typo'd
    year would otherwise make a 45,000-day axis of NaN).
    """
    cadences = {tid: df.attrs.get("cadence", DAILY) for tid, df in frames.items()}
    if len(set(cadences.values())) > 1:
        weekly = [t for t, c in cadences.items() if c == WEEKLY]
        daily = [t for t, c in cadences.items() if c != WEEKLY]
        raise DataError(f"mixes cadences: weekly {', '.join(weekly[:5])}; daily {', '.join(daily[:5])}",
                        hint="fit daily and weekly tenants separately (all tenants of a fit share one cadence)")
    cadence = next(iter(cadences.values()))
    step = CADENCE_DAYS[cadence]
    if cadence == WEEKLY:
        starts = {tid: f"{df.index[0]:%A}" for tid, df in frames.items()}
        if len(set(starts.values())) > 1:
            raise DataError("weekly tenants start their weeks on different weekdays: "
                            + ", ".join(f"{t} {d}" for t, d in list(starts.items())[:6]),
                            hint="date every tenant's weeks by the same first weekday")
    start = min(df.index[0] for df in frames.values())
    end = max(df.index[-1] for df in frames.values())
    dates = pd.date_range(start, end, freq=f"{step}D", name=DATE)
    longest = max(len(df) for df in frames.values())
    if len(dates) > MAX_SPAN_RATIO * longest:
        first = min(frames, key=lambda t: frames[t].index[0])
        last = max(frames, key=lambda t: frames[t].index[-1])
        raise DataError(
            f"tenants' dates span {len(dates):,} {'days' if step == 1 else 'weeks'}, more than {MAX_SPAN_RATIO}× the "
            f"longest tenant ({longest:,}): {first} ({_fmt_range(frames[first])}) and {last} ({_fmt_range(frames[last])})",
            hint="check those dates (a wrong year?) or fit the tenants separately",
        )
    return dates, cadence


def _weather_rows(df: pd.DataFrame, rng: np.ndarray, usable: bool) -> dict[str, np.ndarray]:
    """One tenant's weather on the axis: interpolated inside its range, NaN outside or when unusable."""
    rows = {}
    for k in (TEMP, PRECIP, SNOW):
        if usable and k in df:
            x = df[k].where(rng).interpolate(limit_direction="both").to_numpy(dtype=float, copy=True)
        elif usable and k == SNOW:
            x = np.zeros(len(df))
        else:
            x = np.full(len(df), np.nan)
        x[~rng] = np.nan
        rows[k] = x
    return rows


def frames_to_dataset(frames: dict[str, pd.DataFrame], meta: dict[str, dict] | None = None) -> xr.Dataset:
    """Align per-tenant frames into one dataset with dims ``tenant``, ``date``, ``channel``.

    Dates are the union over tenants at the lake's cadence (attr ``cadence``);
    periods outside a tenant's range are NaN and ``in_range`` is False there.
    ``has_channel (tenant, channel)`` is False for a channel the tenant's file
    lacks; its spend there is 0 (so sums and the model's arrays stay finite) —
    use ``has_channel``, not the zeros, to tell "no such channel" from "spent
    nothing". ``has_weather (tenant)`` is False for a tenant without usable
    ``temp_c`` and ``precip_mm`` (see :func:`weather_problem`); its weather is NaN.
    ``holiday`` rows are all NaN for tenants without a holiday column (the
    model then uses its built-in calendar); ``event`` is 0 where not given.
    Missing spend counts as 0 and missing weather is interpolated; missing
    revenue stays NaN and is masked by ``observed``.
    """
    tenants = list(frames)
    channels = channels_of(frames.values())
    dates, cadence = date_axis(frames)
    controls = sorted(
        {c[len(CONTROL_PREFIX) :] for df in frames.values() for c in df.columns if c.startswith(CONTROL_PREFIX)}
    )
    has_holiday = any(HOLIDAY in df.columns for df in frames.values())
    has_event = any(EVENT in df.columns for df in frames.values())

    n_t, n_d, n_c = len(tenants), len(dates), len(channels)
    revenue = np.full((n_t, n_d), np.nan)
    spend = np.zeros((n_t, n_d, n_c))
    has_channel = np.zeros((n_t, n_c), dtype=bool)
    has_weather = np.zeros(n_t, dtype=bool)
    weather = {k: np.full((n_t, n_d), np.nan) for k in (TEMP, PRECIP, SNOW)}
    holiday = np.full((n_t, n_d), np.nan)  # NaN row: this tenant has no holiday column
    event = np.zeros((n_t, n_d))
    control = np.zeros((n_t, n_d, len(controls)))
    in_range = np.zeros((n_t, n_d), dtype=bool)
    for i, tid in enumerate(tenants):
        df = frames[tid].reindex(dates)
        rng = df.index.isin(frames[tid].index)
        in_range[i] = rng
        revenue[i] = df[REVENUE].to_numpy()
        for j, ch in enumerate(channels):
            col = SPEND_PREFIX + ch
            has_channel[i, j] = col in df
            if col in df:
                spend[i, :, j] = np.nan_to_num(df[col].to_numpy(), nan=0.0)
        has_weather[i] = weather_problem(frames[tid]) is None
        for k, x in _weather_rows(df, rng, bool(has_weather[i])).items():
            weather[k][i] = x
        if HOLIDAY in df and df[HOLIDAY].notna().any():  # an all-blank column is no column: the calendar applies
            holiday[i] = np.nan_to_num(df[HOLIDAY].to_numpy(), nan=0.0)
        if EVENT in df:
            event[i] = np.nan_to_num(df[EVENT].to_numpy(), nan=0.0)
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
            "has_channel": ((TENANT, CHANNEL), has_channel),
            "has_weather": ((TENANT,), has_weather),
        },
        coords={TENANT: tenants, DATE: dates, CHANNEL: channels},
        attrs={"cadence": cadence},
    )
    if has_holiday:
        ds[HOLIDAY] = ((TENANT, DATE), holiday)
    if has_event:
        ds[EVENT] = ((TENANT, DATE), event)
    if controls:
        # The values and their names must not share a name: a coordinate "control" would replace the values.
        ds[CONTROLS] = ((TENANT, DATE, CONTROL), control)
        ds = ds.assign_coords({CONTROL: controls})
    if meta:
        for key in ("city", "category", "name", "sensitivity", "country"):
            ds.coords[key] = (TENANT, [str(meta.get(t, {}).get(key) or "") for t in tenants])
    return ds


def read_frames(lake: str | Path, ids: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Read tenants' tables and check that they fit on one date axis (cadence, week start, span)."""
    lake = Path(lake)
    frames = {tid: read_daily(data_file(lake / tid)) for tid in ids}
    try:
        date_axis(frames)
    except DataError as exc:  # lake-wide problems name the lake
        raise DataError(exc.problem, file=lake, hint=exc.hint) from None
    return frames


def weather_mask(ds: xr.Dataset) -> np.ndarray:
    """``(tenant,)`` which tenants have usable weather; all of them for datasets built without the flag."""
    return ds["has_weather"].values.astype(bool) if "has_weather" in ds else np.ones(ds.sizes[TENANT], dtype=bool)


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
        ``observed``/``in_range`` masks, ``has_channel (tenant, channel)``,
        ``has_weather (tenant)``, optional ``holiday``, ``event`` and ``control``;
        attr ``cadence`` (``daily`` or ``weekly``).
    """
    lake = Path(lake)
    ids = resolve_tenants(lake, tenants)
    frames = read_frames(lake, ids)
    meta = {tid: read_tenant_meta(lake / tid) for tid in ids}
    ds = frames_to_dataset(frames, meta)
    ds.attrs["lake"] = str(lake.resolve())
    return ds
