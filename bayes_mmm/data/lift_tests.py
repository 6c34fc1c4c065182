"""Lift tests (experiments) of a tenant: ``<tenant>/lift_tests.csv``, data contract §1b.

Two layouts are read into one tidy table, :data:`COLUMNS`, one row per test:

- the contract's **window** tests (``kind="window"``): ``channel, start, end[, spend_multiplier],
  incremental_revenue, se`` — over the days ``start..end`` the channel's actual spend caused
  ``incremental_revenue`` relative to the counterfactual spend × ``spend_multiplier`` (0 = switched off);
- PyMC-Marketing's table (``kind="point"``): ``channel, x, delta_x, delta_y, sigma`` — a spend
  *level* ``x`` per period changed by ``delta_x`` moved revenue per period by ``delta_y`` (standard
  error ``sigma``). It is a point on the channel's steady-state response curve, with no window and
  no carry-over: ``incremental_revenue = delta_y``, ``se = sigma``, ``x`` and ``delta_x`` kept, and
  ``start``/``end``/``spend_multiplier`` empty. Extra columns (PyMC-Marketing's ``geo`` and the like)
  are not used: the file already belongs to one tenant.

Anything else is a :class:`~bayes_mmm.core.errors.DataError` naming file, column and rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import CHANNEL, MAX_AMOUNT, TENANT
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import text_table
from bayes_mmm.data.table import check_header

LIFT_TESTS = "lift_tests.csv"
WINDOW, POINT = "window", "point"
WINDOW_REQUIRED = ("channel", "start", "end", "incremental_revenue", "se")
POINT_REQUIRED = ("channel", "x", "delta_x", "delta_y", "sigma")
#: The tidy table: one row per test; ``row`` is the test's 1-based row in its file.
COLUMNS = (TENANT, CHANNEL, "kind", "start", "end", "spend_multiplier", "x", "delta_x", "incremental_revenue", "se", "row")
#: Largest counterfactual spend, as a multiple of the actual: beyond it the test is a typo, not an experiment.
MAX_MULTIPLIER = 100.0
#: Smallest standard error, as a share of the measured lift: real experiments are never this precise.
MIN_RELATIVE_SE = 0.001
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def empty() -> pd.DataFrame:
    """A lift-test table without tests."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})


def _dtype(column: str) -> str:
    if column in ("start", "end"):
        return "datetime64[ns]"
    return "object" if column in (TENANT, CHANNEL, "kind") else ("int64" if column == "row" else "float64")


def _rows(mask: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def _numbers(raw: pd.DataFrame, column: str, name: str, default: float | None = None) -> np.ndarray:
    """Finite floats of a column; empty cells take ``default`` (an error when there is none)."""
    cells = raw[column].astype(str).str.strip() if column in raw else pd.Series([""] * len(raw))
    empty_ = (cells == "").to_numpy()
    if default is None and empty_.any():
        raise DataError("empty value", file=name, column=column, rows=_rows(empty_))
    number = cells.str.fullmatch(_NUMBER).to_numpy()
    bad = ~number & ~empty_
    if bad.any():
        rows = _rows(bad)
        raise DataError(f"not a finite number: '{cells.iloc[rows[0] - 1]}'", file=name, column=column, rows=rows)
    out = np.full(len(cells), np.nan if default is None else default)
    out[number] = cells[number].astype(float).to_numpy()
    if not np.isfinite(out).all():  # 1e999
        raise DataError("non-finite value", file=name, column=column, rows=_rows(~np.isfinite(out)))
    return out


def _amounts(raw: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """:func:`_numbers` of a currency column, refused beyond ±``MAX_AMOUNT`` as the lake's amounts are."""
    out = _numbers(raw, column, name)
    _require(np.abs(out) > MAX_AMOUNT, f"impossible values beyond ±{MAX_AMOUNT:g}", name, column)
    return out


def _precision(se: np.ndarray, lift: np.ndarray, name: str, column: str) -> None:
    """Refuse a standard error of 0, or one claiming a precision no experiment has (below MIN_RELATIVE_SE of the lift)."""
    _require(se <= 0, f"{column} must be > 0", name, column)
    _require(se < MIN_RELATIVE_SE * np.abs(lift), f"{column} below {MIN_RELATIVE_SE:.1%} of the measured lift", name, column,
             "a test measured that precisely cannot exist; give the experiment's real standard error")


def _require(cond_bad: np.ndarray, problem: str, name: str, column: str, hint: str | None = None) -> None:
    if cond_bad.any():
        raise DataError(problem, file=name, column=column, rows=_rows(cond_bad), hint=hint)


def _channels(raw: pd.DataFrame, channels: Sequence[str], name: str) -> np.ndarray:
    chans = raw["channel"].astype(str).str.strip()
    unknown = ~chans.isin(list(channels)).to_numpy()
    if unknown.any():
        first = chans.iloc[int(np.argmax(unknown))]
        stripped = first.removeprefix("spend_")
        close = [stripped] if stripped in channels else difflib.get_close_matches(first, list(channels), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"channels of this tenant: {', '.join(channels) or 'none'}"
        raise DataError(f"unknown channel '{first}'", file=name, column="channel", rows=_rows(unknown), hint=hint)
    return chans.to_numpy(dtype=object)


def _dates(raw: pd.DataFrame, column: str, name: str) -> pd.DatetimeIndex:
    cells = raw[column].astype(str).str.strip()
    dates = pd.to_datetime(cells, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        rows = _rows(bad)
        raise DataError(f"unparseable date '{cells.iloc[rows[0] - 1]}'", file=name, column=column, rows=rows,
                        hint="use ISO dates YYYY-MM-DD")
    return pd.DatetimeIndex(dates)


def _overlaps(chans: np.ndarray, start: pd.DatetimeIndex, end: pd.DatetimeIndex, name: str) -> None:
    """Two windows on one channel would count the same days' revenue twice."""
    order = pd.DataFrame({"c": chans, "s": start, "e": end}).sort_values(["c", "s"])
    prev = order.groupby("c")["e"].shift()
    clash = order.index[(order["s"] <= prev).to_numpy()]
    if len(clash):
        i = int(clash[0])
        j = int(order.index[order.index.get_loc(i) - 1])
        raise DataError(f"overlapping tests on channel '{chans[i]}'", file=name, column="start",
                        rows=sorted([i + 1, j + 1]), hint="one window per channel and day; merge or shorten them")


def last_day(dates: pd.DatetimeIndex) -> pd.Timestamp:
    """The last day the data cover: the last period's start, plus 6 days when periods are weeks."""
    weekly = len(dates) > 1 and (dates[-1] - dates[-2]) == pd.Timedelta(days=7)
    return dates[-1] + pd.Timedelta(days=6 if weekly else 0)


def _windows(raw: pd.DataFrame, channels: Sequence[str], dates: pd.DatetimeIndex, name: str) -> pd.DataFrame:
    chans = _channels(raw, channels, name)
    start, end = _dates(raw, "start", name), _dates(raw, "end", name)
    mult = _numbers(raw, "spend_multiplier", name, default=0.0)
    lift, se = _amounts(raw, "incremental_revenue", name), _amounts(raw, "se", name)
    _require((end < start), "end before start", name, "end")
    last = last_day(dates)
    span = f"the data cover {dates[0]:%Y-%m-%d} to {last:%Y-%m-%d}"
    _require(np.asarray(start < dates[0]), "window starts before the data", name, "start", span)
    _require(np.asarray(end > last), "window ends after the data", name, "end", span)
    starts = dates.values[None, :]
    holds = ((starts >= start.values[:, None]) & (starts <= end.values[:, None])).any(axis=1)
    _require(~holds, "window holds no period of the data", name, "start",
             "weekly data count a week by its first day: a window must contain one")
    _require(mult < 0, "negative spend_multiplier", name, "spend_multiplier", "0 = channel off, 0.5 = half the spend")
    _require(mult == 1, "spend_multiplier 1 is no change", name, "spend_multiplier", "0 = channel off, 0.5 = half the spend")
    _require(mult > MAX_MULTIPLIER, f"spend_multiplier above {MAX_MULTIPLIER:g}", name, "spend_multiplier",
             "the counterfactual spend as a share of the actual: 0 = channel off, 2 = doubled")
    _precision(se, lift, name, "se")
    _overlaps(chans, start, end, name)
    return pd.DataFrame({CHANNEL: chans, "kind": WINDOW, "start": start, "end": end, "spend_multiplier": mult,
                         "x": np.nan, "delta_x": np.nan, "incremental_revenue": lift, "se": se})


def _points(raw: pd.DataFrame, channels: Sequence[str], name: str) -> pd.DataFrame:
    chans = _channels(raw, channels, name)
    x, dx = _amounts(raw, "x", name), _amounts(raw, "delta_x", name)
    dy, sigma = _amounts(raw, "delta_y", name), _amounts(raw, "sigma", name)
    _require(x < 0, "negative spend level", name, "x")
    _require(dx == 0, "delta_x 0 is no test", name, "delta_x")
    _require(x + dx < 0, "x + delta_x is negative spend", name, "delta_x")
    _precision(sigma, dy, name, "sigma")
    return pd.DataFrame({CHANNEL: chans, "kind": POINT, "start": pd.NaT, "end": pd.NaT, "spend_multiplier": np.nan,
                         "x": x, "delta_x": dx, "incremental_revenue": dy, "se": sigma})


def _layout(columns: list[str], name: str) -> tuple[str, ...]:
    if "start" in columns and "x" in columns:
        raise DataError("mixes the window layout (start, end) and PyMC-Marketing's (x, delta_x)", file=name,
                        hint="one layout per file")
    required = POINT_REQUIRED if "x" in columns or "delta_x" in columns else WINDOW_REQUIRED
    missing = [c for c in required if c not in columns]
    if missing:
        alt = "or PyMC-Marketing's channel, x, delta_x, delta_y, sigma" if required is WINDOW_REQUIRED else ""
        raise DataError("required column is missing", file=name, column=missing[0],
                        hint=f"lift_tests.csv needs {', '.join(required)} {alt}".strip())
    return required


def parse_lift_tests(text: str, channels: Sequence[str], dates: Sequence, name: str = LIFT_TESTS,
                     tenant: str = "") -> pd.DataFrame:
    """Tidy lift tests (:data:`COLUMNS`) from the text of a lift-test CSV; a header alone gives no tests."""
    if not text.strip():
        raise DataError("file is empty", file=name, hint=f"header: {', '.join(WINDOW_REQUIRED)}")
    raw = text_table(text, name)
    check_header(list(raw.columns), name)  # a ';' file reads as one glued column: say so, not "column missing"
    required = _layout(list(raw.columns), name)
    if raw.empty:
        return empty()
    days = pd.DatetimeIndex(pd.to_datetime(list(dates))).sort_values()
    if required is WINDOW_REQUIRED and days.empty:
        raise DataError("no data days to place the test windows in", file=name)
    tidy = _points(raw, channels, name) if required is POINT_REQUIRED else _windows(raw, channels, days, name)
    tidy.insert(0, TENANT, tenant)
    tidy["row"] = np.arange(1, len(tidy) + 1)
    return tidy[list(COLUMNS)].reset_index(drop=True)


def read_lift_tests(path: str | Path, channels: Sequence[str], dates: Sequence, tenant: str | None = None) -> pd.DataFrame:
    """Read and check one tenant's ``lift_tests.csv``.

    Parameters
    ----------
    path
        The CSV (contract §1b layout or PyMC-Marketing's).
    channels
        The tenant's channels (without ``spend_``).
    dates
        The tenant's data days: every window must lie inside them.
    tenant
        The tenant id written in the table; default the file's folder name.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per test.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text (byte {exc.start})", file=path, hint="save it as UTF-8 CSV") from None
    return parse_lift_tests(text, channels, dates, str(path), path.parent.name if tenant is None else tenant)


def load_lift_tests(
    lake: str | Path,
    tenants: Sequence[str],
    channels: Sequence[str] | Mapping[str, Sequence[str]],
    dates: Sequence | Mapping[str, Sequence],
) -> pd.DataFrame:
    """All tenants' lift tests as one table (:data:`COLUMNS`); empty when no tenant has a ``lift_tests.csv``.

    ``channels`` and ``dates`` are shared by every tenant, or given per tenant as mappings
    (a tenant's own channels and days, as the loader found them).
    """
    frames = []
    for tid in tenants:
        path = Path(lake) / tid / LIFT_TESTS
        if path.is_file():
            chans = channels[tid] if isinstance(channels, Mapping) else channels
            days = dates[tid] if isinstance(dates, Mapping) else dates
            frames.append(read_lift_tests(path, chans, days, tid))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty()


def in_window(period_starts: pd.DatetimeIndex | np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Mask of the periods inside a test's window ``start..end``: a period belongs by its first day (a week by its start)."""
    return np.asarray((period_starts >= start) & (period_starts <= end))


def refuse_unspent(tests: pd.DataFrame, spend: Callable[[str, str], pd.Series], lake: str | Path) -> pd.DataFrame:
    """``tests``, refusing a window test over periods in which its channel spent nothing.

    Its actual spend and the counterfactual (a multiple of it) are then both 0: the test says nothing,
    and would enter the fit as a lift of exactly 0. ``spend(tenant, channel)`` is the spend per period,
    indexed by each period's first day; a period belongs to the window as :func:`in_window` says.
    """
    for r in tests[tests["kind"] == WINDOW].itertuples():
        x = spend(r.tenant, r.channel)
        inside = in_window(x.index, r.start, r.end)
        if inside.any() and not (x[inside] > 0).any():  # no period inside: the fit notes the test as unusable
            raise DataError(f"channel '{r.channel}' spent nothing from {r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}: the test "
                            "compares no spend with no spend", file=Path(lake) / r.tenant / LIFT_TESTS, rows=[r.row],
                            hint="check the test's dates and channel against the data")
    return tests


def dataset_lift_tests(ds: xr.Dataset) -> pd.DataFrame:
    """The lift tests of a dataset's tenants, read from the lake it was loaded from (``ds.attrs["lake"]``).

    Each tenant's tests are checked against its own channels (``has_channel``) and days
    (``in_range``); a dataset built without a lake has no tests.
    """
    lake = ds.attrs.get("lake")
    if not lake:
        return empty()
    tenants = [str(t) for t in ds[TENANT].values]
    chans = np.array([str(c) for c in ds[CHANNEL].values])
    has = ds["has_channel"].values if "has_channel" in ds else np.ones((len(tenants), len(chans)), dtype=bool)
    days = pd.DatetimeIndex(ds["date"].values)
    in_range = ds["in_range"].values
    tests = load_lift_tests(
        lake, tenants,
        {t: list(chans[has[i]]) for i, t in enumerate(tenants)},
        {t: days[in_range[i]] for i, t in enumerate(tenants)},
    )
    spend = ds["spend"].transpose(TENANT, "date", CHANNEL)
    return refuse_unspent(tests, lambda t, c: spend.sel({TENANT: t, CHANNEL: c}).to_series().fillna(0.0), lake)
