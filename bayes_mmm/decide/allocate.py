"""Budget allocation: the per-day, per-channel spend plan that maximises a posterior objective.

The response of a plan is computed per posterior draw with the model's own
arithmetic (:mod:`bayes_mmm.model.transforms`): for tenant n, channel c and day t,

    contribution = y_scale[n] · β[n, c] · hill(x_t, half_sat, shape) · exp(γ[n, c] · z_t),

with ``x_t`` the adstocked spend divided by ``spend_scale[n, c]``. A plan
covers ``D`` days starting the day after the data ends; the horizon runs
``L − 1`` days further so the plan's carry-over is counted, and the last
``L − 1`` observed days feed the adstock (carry-in). Incremental revenue is
the horizon's media revenue minus the same with nothing spent on plan days.

The optimiser is a spectral projected gradient method (:func:`spg`): the
feasible set (bounds and budgets) has an exact, cheap projection, so
hundreds of plan cells cost one gradient each per step; CVaR, which is not
smooth, uses SLSQP (:func:`optimise`).

Layout: pure functions over arrays (:class:`Problem`, :func:`response`,
:func:`objective_and_grad`, :func:`spg`, :func:`optimise`) and the run-folder wrapper
:func:`allocate_run` / :func:`write_plan` that the CLI calls.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize
from scipy.special import expit

from bayes_mmm.core.atomic import write_text
from bayes_mmm.core.constants import DATE, PRECIP, TEMP
from bayes_mmm.core.errors import DataError
from bayes_mmm.model.design import WeatherStats, media_weather
from bayes_mmm.model.draws import stacked
from bayes_mmm.model.transforms import delayed_weights, geometric_weights, hill
from bayes_mmm.runs.summary import load_run, to_json

EPS = 1e-12  # the offset inside transforms.hill's log; its derivative must use the same
CURRENT_WINDOW = 28  # days of history that define "current" spend (data contract §4)
OPT_DRAWS = 300  # default posterior draws used inside the optimiser
REASON_THRESHOLD = 0.02  # multipliers within ±2 % of 1 are "average weather"
TENANT_ID = "tenant_id"


# --------------------------------------------------------------------------- objective


@dataclass(frozen=True)
class Objective:
    """What to maximise over the posterior draws of total incremental revenue.

    ``kind`` is ``"mean"``, ``"mean-sd"`` (mean − ``param``·sd) or ``"cvar"``
    (mean of the worst ``param`` share of draws).
    """

    kind: str
    param: float = 0.0

    def __str__(self) -> str:
        return self.kind if self.kind == "mean" else f"{self.kind}:{self.param:g}"


def parse_objective(text: str | Objective) -> Objective:
    """Parse ``mean``, ``mean-sd:<lambda>`` or ``cvar:<alpha>`` (data contract §4).

    Raises
    ------
    DataError
        On any other string, a negative λ or an α outside (0, 1].
    """
    if isinstance(text, Objective):
        return text
    raw = str(text).strip()
    kind, _, arg = raw.partition(":")
    hint = "use mean, mean-sd:<lambda ≥ 0> or cvar:<alpha in (0, 1]>"
    if kind == "mean" and not arg:
        return Objective("mean")
    if kind in ("mean-sd", "cvar") and arg:
        try:
            value = float(arg)
        except ValueError:
            raise DataError(f"objective '{raw}': '{arg}' is not a number", hint=hint) from None
        if kind == "mean-sd" and value >= 0 and math.isfinite(value):
            return Objective(kind, value)
        if kind == "cvar" and 0 < value <= 1:
            return Objective(kind, value)
        raise DataError(f"objective '{raw}' is out of range", hint=hint)
    raise DataError(f"unknown objective '{raw}'", hint=hint)


# --------------------------------------------------------------------------- the response


@dataclass
class Problem:
    """Arrays that define the response over draws S, tenants N, channels C, horizon days H.

    Attributes
    ----------
    weights : (S, N, C, L) adstock weights already divided by ``spend_scale``.
    x0 : (S, N, C, H) adstocked input from the observed history alone (carry-in).
    half_sat, shape : (S, N, C) Hill parameters.
    coef : (S, N, C, H) ``y_scale · β · exp(γ·z)``: currency per unit of Hill output.
    base : (S, N) media revenue of the horizon with nothing spent on plan days.
    n_days : D, days of the plan (H = D + L − 1).
    """

    weights: np.ndarray
    x0: np.ndarray
    half_sat: np.ndarray
    shape: np.ndarray
    coef: np.ndarray
    base: np.ndarray
    n_days: int

    @property
    def n_draws(self) -> int:
        """Number of posterior draws S."""
        return self.weights.shape[0]

    def take(self, idx: np.ndarray) -> Problem:
        """The same problem on a subset of draws."""
        return Problem(
            self.weights[idx], self.x0[idx], self.half_sat[idx], self.shape[idx], self.coef[idx], self.base[idx], self.n_days
        )

    def for_tenants(self, idx: np.ndarray) -> Problem:
        """The same problem restricted to some tenants."""
        return Problem(
            self.weights[:, idx], self.x0[:, idx], self.half_sat[:, idx], self.shape[:, idx], self.coef[:, idx],
            self.base[:, idx], self.n_days,
        )


def build_problem(
    weights: np.ndarray,
    spend_scale: np.ndarray,
    history: np.ndarray,
    beta: np.ndarray,
    half_sat: np.ndarray,
    shape: np.ndarray,
    gamma: np.ndarray | None,
    z: np.ndarray,
    n_days: int,
) -> Problem:
    """Assemble a :class:`Problem` from model quantities.

    Parameters
    ----------
    weights
        ``(S, N, C, L)`` normalised adstock weights.
    spend_scale
        ``(N, C)`` spend divisor of the model.
    history
        ``(N, C, L − 1)`` observed spend of the last days, oldest first.
    beta
        ``(S, N, C)`` β in currency units (``y_scale · β`` of the model).
    half_sat, shape
        ``(S, N, C)`` Hill parameters.
    gamma
        ``(S, N, C, 2)`` weather sensitivity, or None for no weather effect.
    z
        ``(N, H, 2)`` standardised (temperature, log-rain) on the horizon days.
    n_days
        Plan days D.
    """
    s, n, c, n_lags = weights.shape
    horizon = n_days + n_lags - 1
    w = weights / spend_scale[None, :, :, None]
    x0 = np.zeros((s, n, c, horizon))
    # Day t of the horizon still sees history day −j (j = l − t ≥ 1) through lag l.
    for lag in range(1, n_lags):
        for t in range(min(lag, horizon)):
            x0[..., t] += w[..., lag] * history[None, :, :, n_lags - 1 - (lag - t)]
    mult = np.ones((s, n, c, horizon)) if gamma is None else np.exp(np.einsum("sncw,nhw->snch", gamma, z))
    coef = beta[..., None] * mult
    base = (coef * hill(x0, half_sat[..., None], shape[..., None])).sum(axis=(2, 3))
    return Problem(w, x0, half_sat, shape, coef, base, n_days)


def _plan_input(plan: np.ndarray, weights: np.ndarray, horizon: int) -> np.ndarray:
    """Adstocked (scaled) input caused by the plan ``(N, C, D)`` → ``(S, N, C, H)``; linear in the plan."""
    d = plan.shape[-1]
    out = np.zeros((*weights.shape[:3], horizon))
    for lag in range(weights.shape[-1]):
        out[..., lag : lag + d] += weights[..., lag, None] * plan
    return out


def _plan_grad(q: np.ndarray, weights: np.ndarray, n_days: int) -> np.ndarray:
    """Transpose of :func:`_plan_input`: pulls ``∂R/∂x`` ``(S, N, C, H)`` back to the plan days."""
    out = np.zeros((*weights.shape[:3], n_days))
    for lag in range(weights.shape[-1]):
        out += weights[..., lag, None] * q[..., lag : lag + n_days]
    return out


def response(plan: np.ndarray, prob: Problem) -> np.ndarray:
    """Incremental revenue per draw and tenant, ``(S, N)``, of a plan ``(N, C, D)``."""
    x = prob.x0 + _plan_input(plan, prob.weights, prob.x0.shape[-1])
    return (prob.coef * hill(x, prob.half_sat[..., None], prob.shape[..., None])).sum(axis=(2, 3)) - prob.base


def response_and_grad(plan: np.ndarray, prob: Problem) -> tuple[np.ndarray, np.ndarray]:
    """:func:`response` and its exact gradient per draw, ``(S, N)`` and ``(S, N, C, D)``."""
    x = prob.x0 + _plan_input(plan, prob.weights, prob.x0.shape[-1])
    k, s = prob.half_sat[..., None], prob.shape[..., None]
    h = hill(x, k, s)
    # hill = expit(s·(log(x + EPS) − log k)) ⇒ dh/dx = h(1 − h)·s / (x + EPS).
    q = prob.coef * h * (1 - h) * s / (x + EPS)
    value = (prob.coef * h).sum(axis=(2, 3)) - prob.base
    return value, _plan_grad(q, prob.weights, prob.n_days)


def objective_and_grad(plan: np.ndarray, prob: Problem, objective: str | Objective = "mean") -> tuple[float, np.ndarray]:
    """Objective (to maximise) of the portfolio total and its gradient w.r.t. the plan ``(N, C, D)``."""
    obj = parse_objective(objective)
    r, g = response_and_grad(plan, prob)
    total = r.sum(axis=1)  # tenants share the draw index, so the portfolio risk is joint
    if obj.kind == "mean":
        return float(total.mean()), g.mean(axis=0)
    if obj.kind == "mean-sd":
        m, sd = total.mean(), total.std()
        dsd = np.einsum("s,s...->...", total - m, g) / (len(total) * sd) if sd > 0 else np.zeros(g.shape[1:])
        return float(m - obj.param * sd), g.mean(axis=0) - obj.param * dsd
    k = max(1, math.ceil(obj.param * len(total)))
    tail = np.argsort(total, kind="stable")[:k]
    return float(total[tail].mean()), g[tail].mean(axis=0)


# --------------------------------------------------------------------------- optimiser


def project(plan: np.ndarray, lower: np.ndarray, upper: np.ndarray, groups: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Euclidean projection onto the bounds and the group budgets (Σ over tenants ``idx`` = total).

    Each group is solved by bisection on the shift τ of ``clip(plan + τ)``; all
    groups bisect together, so twenty per-tenant budgets cost what one does.
    """
    out = np.clip(plan, lower, upper).astype(float)
    if not groups:
        return out
    us, los, his, labels, a, b, totals = [], [], [], [], [], [], []
    for k, (idx, total) in enumerate(groups):
        u, lo, hi = plan[idx].ravel(), lower[idx].ravel(), upper[idx].ravel()
        a.append(float((lo - u).min()))
        # With unbounded cells the shift that puts one of them at the total is always enough.
        hi_b = float(np.max(hi - u, initial=0.0, where=np.isfinite(hi)))
        if not np.isfinite(hi).all():
            hi_b = max(hi_b, total - float(u[~np.isfinite(hi)].min()))
        b.append(hi_b)
        us.append(u)
        los.append(lo)
        his.append(hi)
        labels.append(np.full(u.size, k))
        totals.append(total)
    u, lo, hi, lab = np.concatenate(us), np.concatenate(los), np.concatenate(his), np.concatenate(labels)
    a, b, totals = np.array(a), np.array(b), np.array(totals, dtype=float)
    for _ in range(200):
        mid = 0.5 * (a + b)
        under = np.bincount(lab, weights=np.clip(u + mid[lab], lo, hi), minlength=len(groups)) < totals
        a, b = np.where(under, mid, a), np.where(under, b, mid)
    moved = np.clip(u + 0.5 * (a + b)[lab], lo, hi)
    start = 0
    for k, (idx, _) in enumerate(groups):
        n = us[k].size
        out[idx] = moved[start : start + n].reshape(out[idx].shape)
        start += n
    return out


def optimise(
    prob: Problem,
    objective: str | Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Sequence[tuple[np.ndarray, float]],
    starts: Mapping[str, np.ndarray],
    maxiter: int = 300,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Maximise the objective with SLSQP from several starts; keep the best feasible plan.

    Parameters
    ----------
    prob
        The response arrays (usually a subsample of draws).
    objective
        See :func:`parse_objective`.
    lower, upper
        ``(N, C, D)`` bounds per tenant, channel and day.
    groups
        ``(tenant indices, total)``: each group's plan sums to its total.
    starts
        Named starting plans ``(N, C, D)``; each is projected onto the constraints first.
    maxiter
        SLSQP iterations per start.

    Returns
    -------
    plan, info
        The best plan ``(N, C, D)`` and a dict with per-start status and objective values.
    """
    obj = parse_objective(objective)
    shape = lower.shape
    budget = sum(t for _, t in groups)
    # Variables in units of the average cell and objective per unit of budget keep SLSQP's
    # finite-precision steps and tolerances meaningful whatever the currency.
    unit = max(budget / lower.size, 1e-12)
    fscale = max(budget, 1e-12)

    # SLSQP turns every bound into an inequality row of its dense subproblem (seconds per
    # iteration at a few hundred cells), so the box is built into the variables instead:
    # u = lo + (hi − lo)·expit(v), or lo + unit·softplus(v) when unbounded above. The map is
    # one-to-one onto the open box, so it adds no stationary points; cells with hi = lo are fixed.
    free = upper > lower
    finite = np.isfinite(upper)
    width = np.where(finite & free, upper - lower, 0.0)[free]
    fin, lo_f = finite[free], lower[free]

    def to_plan(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sig = expit(v)
        u = lo_f + np.where(fin, width * sig, unit * np.logaddexp(0.0, v))
        du = np.where(fin, width * sig * (1 - sig), unit * sig)
        plan = lower.copy()
        plan[free] = u
        return plan, du

    def from_plan(plan: np.ndarray) -> np.ndarray:
        y = plan[free] - lo_f
        p = np.clip(y / np.where(fin, width, 1.0), 1e-6, 1 - 1e-6)
        q = np.maximum(y / unit, 1e-6)
        return np.where(fin, np.log(p / (1 - p)), q + np.log(-np.expm1(-q)))

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        plan, du = to_plan(v)
        val, grad = objective_and_grad(plan, prob, obj)
        return -val / fscale, -grad[free] * du / fscale

    cons = []
    for idx, total in groups:
        mask = np.zeros(shape, dtype=bool)
        mask[idx] = True
        row = mask[free]
        fixed_part = float(lower[idx].sum() - lower[idx][free[idx]].sum())
        cons.append({
            "type": "eq",
            "fun": lambda v, r=row, t=total, f=fixed_part: (to_plan(v)[0][free][r].sum() + f - t) / unit,
            "jac": lambda v, r=row: np.where(r, to_plan(v)[1], 0.0) / unit,
        })
    best, best_val, runs = None, -np.inf, {}
    for name, start in starts.items():
        v0 = from_plan(project(start, lower, upper, groups))
        res = minimize(fun, v0, jac=True, method="SLSQP", constraints=cons, options={"maxiter": maxiter, "ftol": 1e-10})
        plan = to_plan(res.x)[0]
        # The open box never reaches its edges: snap cells within 0.1 % of a cell's average
        # to the bound, then project so the budgets hold exactly.
        tol = 1e-3 * unit
        plan = np.where(plan - lower < tol, lower, np.where(upper - plan < tol, upper, plan))
        plan = project(plan, lower, upper, groups)
        val = objective_and_grad(plan, prob, obj)[0]
        runs[name] = {"objective": val, "success": bool(res.success), "message": str(res.message), "iterations": int(res.nit)}
        if val > best_val:
            best, best_val = plan, val
    assert best is not None
    winner = max(runs, key=lambda k: runs[k]["objective"])
    return best, {"best_start": winner, "objective": best_val, "converged": runs[winner]["success"], "starts": runs}


def spg(
    prob: Problem,
    objective: Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Sequence[tuple[np.ndarray, float]],
    start: np.ndarray,
    maxiter: int = 500,
    rtol: float = 1e-7,
    memory: int = 8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Spectral projected gradient ascent (Birgin, Martínez & Raydan 2000) on the feasible set.

    The feasible set — box bounds and one budget per group — has an exact, cheap
    Euclidean projection (:func:`project`), so each iteration is one objective
    and gradient evaluation plus a projection: no dense quadratic subproblem as
    in SLSQP, whose cost grows with the cube of the number of cells. Steps are
    Barzilai–Borwein with a non-monotone Armijo line search.
    """
    unit = max(sum(t for _, t in groups) / max(lower.size, 1), 1e-12)
    # Hill curves with shape < 1 are infinitely steep at zero input: keep cells a hair above
    # their minimum during the search so gradients stay finite, and snap them back at the end.
    floor = 1e-3 * unit
    final_lower = lower
    lower = np.where(upper - lower > 2 * floor, lower + floor, lower)
    x = project(start, lower, upper, groups)
    f, g = objective_and_grad(x, prob, objective)
    history = [f]
    step = unit / max(float(np.abs(g).max()), 1e-12)
    probe = step  # fixed scale of the stationarity test: a move of one average cell at the start
    evals, it, done = 1, 0, False
    for it in range(1, maxiter + 1):  # noqa: B007 - `it` is reported
        if np.abs(project(x + probe * g, lower, upper, groups) - x).max() <= 1e-6 * unit:
            done = True
            break
        d = project(x + step * g, lower, upper, groups) - x
        slope = float(np.sum(g * d))
        if slope <= rtol * abs(f):
            done = True
            break
        fmax, t = max(history[-memory:]), 1.0
        while True:
            xn = x + t * d
            fn, gn = objective_and_grad(xn, prob, objective)
            evals += 1
            if fn >= fmax + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        s_, y_ = xn - x, gn - g
        sy = -float(np.sum(s_ * y_))  # curvature of −f along the step
        step = float(np.clip(np.sum(s_ * s_) / sy, 1e-6 * step, 1e6 * step)) if sy > 0 else 10 * step
        x, f, g = xn, fn, gn
        history.append(f)
        if len(history) > 10 and history[-1] - max(history[:-10]) <= rtol * abs(f):
            done = True  # ten steps gained less than rtol: converged for any practical purpose
            break
    x = project(np.where(x <= lower + floor, final_lower, x), final_lower, upper, groups)
    return x, {"objective": objective_and_grad(x, prob, objective)[0], "iterations": it, "evaluations": evals,
               "converged": done}


def optimise_spg(
    prob: Problem,
    objective: str | Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Sequence[tuple[np.ndarray, float]],
    starts: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`spg` from several starts; keep the best plan (S-shaped Hill curves have local optima)."""
    obj = parse_objective(objective)
    best, runs = None, {}
    for name, start in starts.items():
        plan, info = spg(prob, obj, lower, upper, groups, start)
        val = objective_and_grad(plan, prob, obj)[0]
        runs[name] = {**info, "objective": val}
        if best is None or val > runs[best[0]]["objective"]:
            best = (name, plan)
    assert best is not None
    # What the last unit of budget earns: the mean marginal return over cells strictly inside their bounds.
    grad = objective_and_grad(best[1], prob, obj)[1]
    inside = (best[1] > lower + 1e-6) & (best[1] < upper - 1e-6)
    marginal = float(np.median(grad[inside])) if inside.any() else None
    return best[1], {"method": "spectral projected gradient", "best_start": best[0], "objective": runs[best[0]]["objective"],
                     "converged": runs[best[0]]["converged"], "marginal_return": marginal, "starts": runs}


# --------------------------------------------------------------------------- run folder → arrays


def _per_tenant_channel(posterior: xr.Dataset, name: str, n: int, c: int, default: float) -> np.ndarray:
    """``(S, N, C)`` from a variable with dims (tenant, channel), (channel) or absent."""
    if name not in posterior:
        s = posterior.sizes["chain"] * posterior.sizes["draw"]
        return np.full((s, n, c), default)
    a = stacked(posterior[name])
    return np.broadcast_to(a[:, None, :], (a.shape[0], n, c)).copy() if a.ndim == 2 else a


def _read_forecast(forecast: str | Path | pd.DataFrame, last: pd.Timestamp, tenants: list[str]) -> pd.DataFrame:
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


def _forecast_z(df: pd.DataFrame | None, horizon_dates: pd.DatetimeIndex, tenants: list[str], stats: list[WeatherStats]) -> tuple[np.ndarray, np.ndarray]:
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


def _bound_arrays(
    channel_bounds: Mapping[str, Any] | None, channels: list[str], current_daily: np.ndarray, active: np.ndarray, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C, D)`` per-day lower and upper bounds from the user's channel bounds.

    A bound is ``(min, max)`` per day in currency (either may be None) or a
    string ``"20%"`` meaning within ±20 % of the current daily spend; the key
    ``"*"`` applies to every channel.
    """
    n, c = current_daily.shape
    lower = np.zeros((n, c))
    upper = np.full((n, c), np.inf)
    for key, spec in (channel_bounds or {}).items():
        if key != "*" and key not in channels:
            raise DataError(f"unknown channel '{key}' in channel bounds; the run has {', '.join(channels)}")
        cols = range(c) if key == "*" else [channels.index(key)]
        for j in cols:
            if isinstance(spec, str):
                text = spec.strip().lstrip("±+").rstrip("%")
                try:
                    pct = float(text) / 100
                except ValueError:
                    raise DataError(f"channel bound '{spec}' for {key} is not a percentage like '20%'") from None
                if pct < 0:
                    raise DataError(f"channel bound '{spec}' for {key} must be ≥ 0 %")
                lower[:, j] = np.maximum(lower[:, j], current_daily[:, j] * (1 - pct))
                upper[:, j] = np.minimum(upper[:, j], current_daily[:, j] * (1 + pct))
            else:
                lo, hi = spec
                if lo is not None:
                    lower[:, j] = np.maximum(lower[:, j], float(lo))
                if hi is not None:
                    upper[:, j] = np.minimum(upper[:, j], float(hi))
                if lo is not None and hi is not None and float(lo) > float(hi):
                    raise DataError(f"channel bound for {key}: minimum {lo} is above maximum {hi}")
    # A channel a tenant never used in the data has no learned response: keep it dark.
    upper = np.where(active, upper, 0.0)
    lower = np.where(active, lower, 0.0)
    return np.repeat(lower[..., None], n_days, axis=-1), np.repeat(upper[..., None], n_days, axis=-1)


def parse_channel_bounds(text: str | None) -> dict[str, Any]:
    """Parse the CLI form ``meta=50:400,google=20%,*=0:1000`` (per-day amounts or ± % of current).

    >>> parse_channel_bounds("meta=50:,google=20%")
    {'meta': (50.0, None), 'google': '20%'}
    """
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, val = part.partition("=")
        if not sep:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%")
        if val.strip().endswith("%"):
            out[key.strip()] = val.strip()
            continue
        lo, sep, hi = val.partition(":")
        try:
            out[key.strip()] = (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
        except ValueError:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%") from None
        if not sep:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%")
    return out


def _stats(draws: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(draws)), "q05": float(np.quantile(draws, 0.05)), "q95": float(np.quantile(draws, 0.95))}


def _reason(mult: np.ndarray, z: np.ndarray, gamma_mean: np.ndarray, channels: list[str], forecast: bool) -> str:
    """One line for one day: which channel the weather moves most, and why."""
    if not forecast:
        return "no forecast: average weather assumed"
    j = int(np.argmax(np.abs(mult - 1)))
    change = mult[j] - 1
    if abs(change) < REASON_THRESHOLD:
        return "near-average weather: no channel moves by more than 2 %"
    temp_term, rain_term = gamma_mean[j] * z
    if abs(rain_term) >= abs(temp_term):
        cause = "rain" if z[1] > 0 else "dry"
    else:
        cause = "warm" if z[0] > 0 else "cold"
    return f"{cause} forecast: {channels[j]} {change * 100:+.0f} % effective"


# --------------------------------------------------------------------------- public entry points


def allocate_run(
    run_dir: str | Path,
    budget: float,
    tenant: str | None = None,
    days: int = 7,
    forecast: str | Path | pd.DataFrame | None = None,
    objective: str = "mean",
    channel_bounds: Mapping[str, Any] | None = None,
    tenant_budgets: Mapping[str, float] | None = None,
    draws: int | None = None,
    seed: int = 0,
    allow_unconverged: bool = False,
) -> dict[str, Any]:
    """Optimal spend plan for the days after a run's data (data contract §4, ``plan.json``).

    Parameters
    ----------
    run_dir
        A run folder written by ``bayes-mmm fit`` (for a grouped run, name a ``tenant``).
    budget
        Total spend over the plan's days: for ``tenant``, or across all tenants when None.
    tenant
        One tenant id, or None for the portfolio (the split across tenants is optimised
        unless ``tenant_budgets`` fixes it).
    days
        Plan length in days, starting the day after the data ends.
    forecast
        ``forecast.csv`` (or a DataFrame) with ``date, temp_c, precip_mm[, snow_cm][, tenant_id]``;
        days without a forecast get average weather.
    objective
        ``mean``, ``mean-sd:<lambda>`` or ``cvar:<alpha>``.
    channel_bounds
        Per channel (or ``"*"``): ``(min, max)`` per day in currency, or ``"20%"`` (± of current).
    tenant_budgets
        Fixed budgets for some tenants of a portfolio; the rest share what is left.
    draws
        Posterior draws used inside the optimiser (evenly spaced); all draws are used for the intervals.
    seed
        Seed of the random start.
    allow_unconverged
        Plan on a run whose ``convergence.ok`` is false (with a warning) instead of refusing.

    Returns
    -------
    dict
        The plan, ready for :func:`write_plan`.

    Raises
    ------
    DataError
        On bad input; the message says what to fix.
    """
    t_start = time.perf_counter()
    if not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
        raise DataError(f"budget must be a positive amount, got {budget}", hint="pass --budget with the total to spend over the plan's days")
    if int(days) != days or days < 1:
        raise DataError(f"days must be a whole number ≥ 1, got {days}")
    days = int(days)
    obj = parse_objective(objective)
    from bayes_mmm.runs.groups import group_of

    run_dir = group_of(run_dir, tenant)  # a grouped run: the group folder holding the tenant
    idata, summary = load_run(run_dir)
    ok = summary.get("convergence", {}).get("ok")
    unconverged = ok is not True
    if unconverged:
        if not allow_unconverged:
            raise DataError("the run did not converge (summary.json convergence.ok is not true)", file=run_dir,
                            hint="refit with more draws/tune, or pass allow_unconverged=True (CLI: --allow-unconverged) to plan anyway")
        warnings.warn(f"UNCONVERGED RUN {run_dir}: the posterior is unreliable, and so is this plan", UserWarning, stacklevel=2)

    post, const = idata.posterior, idata.constant_data
    if "roas" not in post:
        raise DataError("the run has no media effects (fitted without media), nothing to allocate", file=run_dir)
    all_tenants = [str(t) for t in const["tenant"].values]
    channels = [str(c) for c in const["channel"].values]
    if tenant is not None and tenant not in all_tenants:
        raise DataError(f"unknown tenant '{tenant}'; the run has {', '.join(all_tenants)}", hint="pass one of them or no tenant for the portfolio")
    sel = [all_tenants.index(tenant)] if tenant is not None else list(range(len(all_tenants)))
    tenants = [all_tenants[i] for i in sel]
    n, c = len(sel), len(channels)

    # Posterior media parameters, (S, N, C[, ...]) for the selected tenants.
    attrs = const.attrs
    l_max = int(attrs.get("spec_l_max", 14))
    n_all = len(all_tenants)
    alpha = _per_tenant_channel(post, "adstock_alpha", n_all, c, 0.0)
    half_sat = _per_tenant_channel(post, "half_sat", n_all, c, 1.0)
    shape = _per_tenant_channel(post, "hill_shape", n_all, c, 1.0)
    gamma = stacked(post["weather_gamma"]) if "weather_gamma" in post else None
    if str(attrs.get("spec_adstock", "geometric")) == "delayed":
        weights = delayed_weights(alpha, _per_tenant_channel(post, "adstock_peak", n_all, c, 0.0), l_max)
    else:
        weights = geometric_weights(alpha, l_max)
    if "beta" not in post:
        raise DataError("the run's posterior has no 'beta' (a run without media, or from an older version)",
                        file=Path(run_dir) / "idata.nc", hint="refit with `bayes-mmm fit` (media on)")
    beta_scaled = stacked(post["beta"])
    y_scale = const["y_scale"].values[sel]
    beta = beta_scaled[:, sel] * y_scale[None, :, None]
    weights, half_sat, shape = weights[:, sel], half_sat[:, sel], shape[:, sel]
    gamma = None if gamma is None else gamma[:, sel]

    spend = const["spend"].values[sel]  # (N, C, T)
    dates = pd.DatetimeIndex(const["date"].values)
    last = dates[-1]
    plan_dates = pd.date_range(last + pd.Timedelta(days=1), periods=days, freq="D")
    horizon_dates = pd.date_range(plan_dates[0], periods=days + l_max - 1, freq="D")
    stats = [WeatherStats(*(float(const[k].values[i]) for k in ("temp_mean", "temp_sd", "rain_mean", "rain_sd"))) for i in sel]
    fc = None if forecast is None else _read_forecast(forecast, last, tenants)
    z, known = _forecast_z(fc, horizon_dates, tenants, stats)
    history = np.zeros((n, c, l_max - 1))
    take = min(l_max - 1, spend.shape[-1])
    if take:
        history[..., l_max - 1 - take :] = spend[..., -take:]
    spend_scale = const["spend_scale"].values[sel]
    prob = build_problem(weights, spend_scale, history, beta, half_sat, shape, gamma, z, days)

    # Budgets: fixed tenants each sum to their own, the others share the rest (optimised split).
    fixed = {k: float(v) for k, v in (tenant_budgets or {}).items()}
    for k, v in fixed.items():
        if k not in tenants:
            raise DataError(f"unknown tenant '{k}' in tenant budgets; the plan covers {', '.join(tenants)}")
        if not (math.isfinite(v) and v >= 0):
            raise DataError(f"tenant budget for '{k}' must be ≥ 0, got {v}")
    free = [i for i, t in enumerate(tenants) if t not in fixed]
    rest = budget - sum(fixed.values())
    if (not free and abs(rest) > 1e-9 * budget) or rest < -1e-9 * budget:
        raise DataError(f"tenant budgets sum to {sum(fixed.values()):g} but the budget is {budget:g}",
                        hint="make the per-tenant budgets add up to --budget (or leave some tenants free)")
    groups = [(np.array([tenants.index(k)]), v) for k, v in fixed.items()]
    if free:
        groups.append((np.array(free), max(rest, 0.0)))

    # "Current": the last 28 days' average daily spend, over the plan days, scaled to each group's budget.
    current_daily = spend[..., -CURRENT_WINDOW:].mean(axis=-1)
    active = spend.sum(axis=-1) > 0
    current = np.repeat(current_daily[..., None], days, axis=-1)
    for idx, total in groups:
        raw = current[idx].sum()
        current[idx] = current[idx] * (total / raw) if raw > 0 else total / max(active[idx].sum() * days, 1) * active[idx, :, None]
    lower, upper = _bound_arrays(channel_bounds, channels, current.mean(axis=-1), active, days)
    for idx, total in groups:
        lo, hi = lower[idx].sum(), upper[idx].sum()
        who = "the budget" if len(groups) == 1 else f"the budget of {', '.join(tenants[i] for i in idx)}"
        if lo > total * (1 + 1e-9):
            raise DataError(f"infeasible channel bounds: the minimums add up to {lo:,.2f}, above {who} {total:,.2f}", hint="lower the minimums or raise the budget")
        if hi < total * (1 - 1e-9):
            raise DataError(f"infeasible channel bounds: the maximums add up to {hi:,.2f}, below {who} {total:,.2f}", hint="raise the maximums or lower the budget")

    # Optimise on evenly spaced draws; judge the winner on all of them.
    s_all = prob.n_draws
    k = min(s_all, draws or OPT_DRAWS)
    sub = prob.take(np.unique(np.linspace(0, s_all - 1, k).round().astype(int)))
    rng = np.random.default_rng(seed)
    equal = np.zeros_like(current)
    for idx, total in groups:
        equal[idx] = total / max(active[idx].sum() * days, 1) * active[idx, :, None]
    starts = {"current": current, "equal": equal, "random": rng.dirichlet(np.ones(current.size)).reshape(current.shape) * budget * active[..., None]}
    t_opt = time.perf_counter()
    if len(groups) > 1 and all(len(idx) == 1 for idx, _ in groups) and obj.kind == "cvar":
        # Every tenant has its own budget: the problems are independent, and solving them one
        # by one is far faster than one joint SLSQP. CVaR then applies to each tenant's own revenue.
        plan = np.zeros_like(current)
        per = []
        for idx, total in groups:
            p_i, info_i = optimise(sub.for_tenants(idx), obj, lower[idx], upper[idx], [(np.array([0]), total)],
                                   {k: v[idx] for k, v in starts.items()})
            plan[idx] = p_i
            per.append(info_i)
        info = {"method": "SLSQP", "separable": True, "per_tenant": per, "converged": all(p["converged"] for p in per)}
    elif obj.kind == "cvar":
        # CVaR is not smooth (the tail set changes with the plan): SLSQP's line search copes better.
        plan, info = optimise(sub, obj, lower, upper, groups, starts)
        info["method"] = "SLSQP"
    else:
        plan, info = optimise_spg(sub, obj, lower, upper, groups, {k: starts[k] for k in ("current", "equal")})
    info["seconds"] = time.perf_counter() - t_opt
    info["draws"] = sub.n_draws
    info["budget_residual"] = float(plan.sum() - budget)

    r_plan, r_cur = response(plan, prob), response(current, prob)
    gamma_mean = np.zeros((n, c, 2)) if gamma is None else gamma.mean(axis=0)
    mult_mean = np.ones((n, c, days)) if gamma is None else np.exp(np.einsum("sncw,ndw->sncd", gamma, z[:, :days])).mean(axis=0)
    out_tenants: dict[str, Any] = {}
    for i, tid in enumerate(tenants):
        out_tenants[tid] = {
            "plan": {ch: [float(v) for v in plan[i, j]] for j, ch in enumerate(channels)},
            "current": {ch: [float(v) for v in current[i, j]] for j, ch in enumerate(channels)},
            "expected_incremental_revenue": {"plan": _stats(r_plan[:, i]), "current": _stats(r_cur[:, i])},
            "prob_plan_beats_current": float(np.mean(r_plan[:, i] > r_cur[:, i])),
            "uplift": _stats(r_plan[:, i] - r_cur[:, i]),
            "budget": float(plan[i].sum()),
            "roas_plan": _stats(r_plan[:, i] / max(plan[i].sum(), 1e-12)),
            "media_multiplier": {ch: [float(v) for v in mult_mean[i, j]] for j, ch in enumerate(channels)},
            "reasons": [_reason(mult_mean[i, :, d], z[i, d], gamma_mean[i], channels, bool(known[i, d])) for d in range(days)],
        }
    tot_plan, tot_cur = r_plan.sum(axis=1), r_cur.sum(axis=1)
    result: dict[str, Any] = {
        "run_id": summary.get("run_id", run_dir.name),
        "objective": str(obj),
        "budget": float(budget),
        "days": [d.strftime("%Y-%m-%d") for d in plan_dates],
        "tenants": out_tenants,
        "portfolio": {
            "expected_incremental_revenue": {"plan": _stats(tot_plan), "current": _stats(tot_cur)},
            "uplift": _stats(tot_plan - tot_cur),
            "prob_plan_beats_current": float(np.mean(tot_plan > tot_cur)),
        },
        "carryover_days": l_max - 1,
        "forecast": None if forecast is None else (str(forecast) if not isinstance(forecast, pd.DataFrame) else "DataFrame"),
        "draws": {"optimiser": sub.n_draws, "intervals": s_all},
        "optimiser": info,
        "unconverged_run": unconverged,
        "seconds": time.perf_counter() - t_start,
    }
    return result


def write_plan(plan: dict[str, Any], out: str | Path) -> Path:
    """Write a plan as JSON atomically (NaN → null)."""
    return write_text(out, to_json(plan) + "\n")


__all__ = [
    "Objective",
    "Problem",
    "allocate_run",
    "build_problem",
    "objective_and_grad",
    "optimise",
    "optimise_spg",
    "parse_channel_bounds",
    "parse_objective",
    "project",
    "response",
    "response_and_grad",
    "spg",
    "write_plan",
]
