"""Lift tests (experiments) as data for the model: per test, what the forward model predicts.

A **window** test (contract §1b) measured, over the periods ``start..end``, the revenue the
channel's actual spend caused relative to the counterfactual spend × ``spend_multiplier``. The
model's prediction is, with the same β, adstock, Hill and weather multiplier as every other
output (:mod:`bayes_mmm.model.response`)::

    Σ_{t in window} β · [effect(actual lagged spend)[t] − effect(lagged spend, window × multiplier)[t]]

Carry-over from spend before ``start`` is in both terms (it cancels only partly, because Hill is
not linear); carry-over after ``end`` is not counted; the weather multiplier of the window's
days is included. Both lagged-spend arrays are constants built once here.

A **point** test (PyMC-Marketing's ``x, delta_x, delta_y``) is a step on the steady-state
response curve at average weather: ``β · (hill((x + Δx)/scale) − hill(x/scale))`` per period.

A test enters a fit only when its whole window lies within its tenant's training span (a
walk-forward fold does not see tests of its future); the others are kept with the reason.
Everything is on the scaled revenue axis (divided by the tenant's ``y_scale``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import CHANNEL, TENANT
from bayes_mmm.data.lift_tests import in_window
from bayes_mmm.model.design import Design
from bayes_mmm.model.response import Array, effect, hill, lag_matrix, lag_weights

WINDOW, POINT = "window", "point"
#: Dimension of the per-test draws (``lift_predicted``).
LIFT_TEST = "lift_test"


@dataclass
class LiftData:
    """The lift tests a fit uses, as constant arrays (``K`` tests: windows first, then points).

    Attributes
    ----------
    table : every test of the design's tenants, with ``used`` (bool) and ``note`` (why not).
    rows : (K,) positions in ``table`` of the tests used, in model order.
    tenant, channel : (K,) indices into the design's tenants and channels.
    measured, se : (K,) measured incremental revenue and its standard error / ``y_scale``.
    n_window : how many of the K are window tests.
    lagged, lagged_cf : (n_window, 1, W, L) lagged spend / spend_scale on the window's periods,
        actual and counterfactual (window spend × multiplier); padded periods are 0.
    zw : (n_window, W, 2) media weather of those periods; mask : (n_window, 1, W) 1 on real periods.
    levels : (K - n_window, 2) the point tests' spend before and after the change / spend_scale.
    """

    table: pd.DataFrame
    rows: np.ndarray
    tenant: np.ndarray
    channel: np.ndarray
    measured: np.ndarray
    se: np.ndarray
    n_window: int
    lagged: np.ndarray
    lagged_cf: np.ndarray
    zw: np.ndarray
    mask: np.ndarray
    levels: np.ndarray

    @property
    def n_tests(self) -> int:
        """Tests in the likelihood."""
        return len(self.rows)


def lift_ids(lift: LiftData) -> list[str]:
    """One label per test in model order: ``<tenant>:<row in its lift_tests.csv>``."""
    t = lift.table.iloc[lift.rows]
    return [f"{a}:{int(b)}" for a, b in zip(t[TENANT], t["row"], strict=True)]


def window_periods(design: Design, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Indices of the design's periods inside the window ``start..end`` (:func:`bayes_mmm.data.lift_tests.in_window`)."""
    return np.flatnonzero(in_window(design.dates, start, end))


def _note(design: Design, i: int, j: int, row: pd.Series) -> str:
    """Why a test cannot be used in this fit ('' when it can)."""
    train = np.flatnonzero(design.train[i])
    if design.spend[i, j, design.train[i]].sum() <= 0:
        return "the channel has no spend in the training days"
    if row["kind"] == POINT:
        return ""
    days = window_periods(design, row["start"], row["end"])
    if len(days) == 0:
        return "no period of the data starts inside the window"
    if days[0] < train[0] or days[-1] > train[-1]:
        return "window outside the training days"
    return ""


def _window_arrays(design: Design, tests: pd.DataFrame, idx: list[tuple[int, int]]) -> tuple[np.ndarray, ...]:
    """Actual and counterfactual lagged spend, weather and mask of the window tests, padded to one width."""
    n_lags = design.n_lags
    spans = [window_periods(design, r.start, r.end) for r in tests.itertuples()]
    width = max((len(s) for s in spans), default=1)
    k = len(spans)
    lagged, lagged_cf = np.zeros((k, 1, width, n_lags)), np.zeros((k, 1, width, n_lags))
    zw, mask = np.zeros((k, width, 2)), np.zeros((k, 1, width))
    for m, (days, (i, j), mult) in enumerate(zip(spans, idx, tests["spend_multiplier"], strict=True)):
        x = design.spend[i, j] / design.spend_scale[i, j]
        x_cf = x.copy()
        x_cf[days] *= mult
        n = len(days)
        lagged[m, 0, :n] = design.lagged[i, j, days]
        lagged_cf[m, 0, :n] = lag_matrix(x_cf, n_lags)[days]
        zw[m, :n] = design.zw[i, days]
        mask[m, 0, :n] = 1.0
    return lagged, lagged_cf, zw, mask


def build_lift(design: Design, tests: pd.DataFrame | None) -> LiftData | None:
    """The lift tests of ``design``'s tenants as model data; None when there are none.

    Parameters
    ----------
    design
        The fit's design; its ``train`` mask decides which windows a fit may use.
    tests
        Tidy table of :func:`bayes_mmm.data.lift_tests.load_lift_tests` (other tenants' rows are ignored).
    """
    if tests is None or not len(tests):
        return None
    table = tests[tests[TENANT].isin(design.tenants)].reset_index(drop=True)
    if not len(table):
        return None
    ti = np.array([design.tenants.index(t) for t in table[TENANT]], dtype=int)
    ci = np.array([design.channels.index(c) for c in table[CHANNEL]], dtype=int)
    notes = [_note(design, i, j, row) for i, j, (_, row) in zip(ti, ci, table.iterrows(), strict=True)]
    table = table.assign(used=[n == "" for n in notes], note=notes)
    win = np.flatnonzero(table["used"].to_numpy() & (table["kind"] == WINDOW).to_numpy())
    pts = np.flatnonzero(table["used"].to_numpy() & (table["kind"] == POINT).to_numpy())
    rows = np.concatenate([win, pts]).astype(int)
    scale = design.y_scale[ti[rows]]
    lagged, lagged_cf, zw, mask = _window_arrays(design, table.iloc[win], list(zip(ti[win], ci[win], strict=True)))
    ss = design.spend_scale[ti[pts], ci[pts]]
    x = table["x"].to_numpy(float)[pts]
    levels = np.stack([x / ss, (x + table["delta_x"].to_numpy(float)[pts]) / ss], axis=1).reshape(-1, 2)
    return LiftData(
        table=table, rows=rows, tenant=ti[rows], channel=ci[rows],
        measured=table["incremental_revenue"].to_numpy(float)[rows] / scale,
        se=table["se"].to_numpy(float)[rows] / scale,
        n_window=len(win), lagged=lagged, lagged_cf=lagged_cf, zw=zw, mask=mask, levels=levels,
    )


def share_before(lift: LiftData, start: str | None) -> np.ndarray | None:
    """``(K,)`` share of each used test's days before ``start`` (a regime change); None without one."""
    if start is None:
        return None
    rows = lift.table.iloc[lift.rows]
    cut = pd.Timestamp(start)
    out = []
    for r in rows.itertuples():
        first, last = getattr(r, "start", pd.NaT), getattr(r, "end", pd.NaT)
        if pd.isna(first) or pd.isna(last):  # no window recorded: counted as current
            out.append(0.0)
            continue
        days = pd.date_range(first, last)
        out.append(float(np.mean(days < cut)))
    return np.array(out)


def per_test(lift: LiftData, a: Array, trailing: bool = False) -> Array:
    """Each test's tenant×channel value of ``a`` ``(..., tenant, channel)``; ``trailing``: ``a`` has one more axis (γ)."""
    if trailing:
        return a[..., lift.tenant, lift.channel, :]
    return a[..., lift.tenant, lift.channel]


def predicted_lift(
    lift: LiftData,
    kind: str,
    beta: Array,
    alpha: Array,
    half_sat: Array,
    shape: Array,
    gamma: Array | None = None,
    peak: Array | None = None,
) -> Array:
    """The model's incremental revenue of each test ``(..., K)`` on the scaled revenue axis.

    Every parameter is given per test, ``(..., K)`` (``gamma`` ``(..., K, 2)``), for one draw
    (PyTensor, in the sampled graph) or many (numpy, leading draw axis). ``kind`` is the
    model's adstock kind (``ModelSpec.adstock``).
    """
    nw, n_lags = lift.n_window, lift.lagged.shape[-1]
    parts = []
    if nw:
        w = lag_weights(kind, alpha[..., :nw, None], n_lags, None if peak is None else peak[..., :nw, None])
        g = None if gamma is None else gamma[..., :nw, None, :]
        args = (w, half_sat[..., :nw, None], shape[..., :nw, None], g, lift.zw if gamma is not None else None)
        # Actual and counterfactual spend side by side on the channel axis: one effect graph, not two
        # (the numba compile time of a fit grows with the graph).
        both = effect(np.concatenate([lift.lagged, lift.lagged_cf], axis=1), *args)
        diff = (both[..., 0, :] - both[..., 1, :]) * lift.mask[:, 0, :]
        parts.append(beta[..., :nw] * diff.sum(axis=-1))
    if lift.n_tests > nw:
        lo, hi = lift.levels[:, 0], lift.levels[:, 1]
        k, s = half_sat[..., nw:], shape[..., nw:]
        parts.append(beta[..., nw:] * (hill(hi, k, s) - hill(lo, k, s)))
    if len(parts) == 1:
        return parts[0]
    import pytensor.tensor as pt

    lib = pt if isinstance(parts[0], pt.Variable) else np
    return lib.concatenate(parts, axis=-1)
