"""Optimisers over the feasible set of plans: box bounds and one budget per group of tenants.

The workhorse is a spectral projected gradient method (:func:`spg`): the feasible
set has an exact, cheap projection (:func:`project`), so hundreds of plan cells
cost one gradient each per step. CVaR, which is not smooth, uses SLSQP
(:func:`optimise`). Both run from several starts through one loop, :func:`multistart`,
because S-shaped Hill curves have local optima.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from bayes_mmm.decide.objectives import Objective, objective_and_grad, parse_objective
from bayes_mmm.decide.problem import Problem

Groups = Sequence[tuple[np.ndarray, float]]
#: A local solver: start plan → (plan, info with at least "objective" and "converged").
Solver = Callable[[np.ndarray], tuple[np.ndarray, dict[str, Any]]]


def project(plan: np.ndarray, lower: np.ndarray, upper: np.ndarray, groups: Groups) -> np.ndarray:
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


def multistart(solve: Solver, starts: Mapping[str, np.ndarray]) -> tuple[str, np.ndarray, dict[str, dict[str, Any]]]:
    """Run ``solve`` from every named start; the best start's name and plan, and every start's info.

    Ties go to the earlier start.
    """
    best: tuple[str, np.ndarray] | None = None
    runs: dict[str, dict[str, Any]] = {}
    for name, start in starts.items():
        plan, runs[name] = solve(start)
        if best is None or runs[name]["objective"] > runs[best[0]]["objective"]:
            best = (name, plan)
    assert best is not None, "no starting plan"
    return best[0], best[1], runs


def _unit(lower: np.ndarray, groups: Groups) -> float:
    """The average cell of the budget: the natural scale of plan moves."""
    return max(sum(t for _, t in groups) / max(lower.size, 1), 1e-12)


class _Box:
    """Plan cells as smooth functions of free variables that cannot leave the box.

    SLSQP turns every bound into an inequality row of its dense subproblem (seconds per
    iteration at a few hundred cells), so the box is built into the variables instead:
    u = lo + (hi − lo)·expit(v), or lo + unit·softplus(v) when unbounded above. The map is
    one-to-one onto the open box, so it adds no stationary points; cells with hi = lo are fixed.
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, unit: float) -> None:
        self.lower, self.unit = lower, unit
        self.free = upper > lower
        finite = np.isfinite(upper)
        self.width = np.where(finite & self.free, upper - lower, 0.0)[self.free]
        self.fin, self.lo = finite[self.free], lower[self.free]

    def to_plan(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plan ``(N, C, D)`` and ``d plan[free] / dv``."""
        sig = expit(v)
        u = self.lo + np.where(self.fin, self.width * sig, self.unit * np.logaddexp(0.0, v))
        du = np.where(self.fin, self.width * sig * (1 - sig), self.unit * sig)
        plan = self.lower.copy()
        plan[self.free] = u
        return plan, du

    def from_plan(self, plan: np.ndarray) -> np.ndarray:
        """Variables of a plan strictly inside the box (cells on a bound move in by a hair)."""
        y = plan[self.free] - self.lo
        p = np.clip(y / np.where(self.fin, self.width, 1.0), 1e-6, 1 - 1e-6)
        q = np.maximum(y / self.unit, 1e-6)
        return np.where(self.fin, np.log(p / (1 - p)), q + np.log(-np.expm1(-q)))

    def budget_constraints(self, groups: Groups) -> list[dict[str, Any]]:
        """SLSQP equality constraints: each group's plan sums to its total (in units of a cell)."""
        cons = []
        for idx, total in groups:
            mask = np.zeros(self.lower.shape, dtype=bool)
            mask[idx] = True
            row = mask[self.free]
            fixed_part = float(self.lower[idx].sum() - self.lower[idx][self.free[idx]].sum())
            cons.append({
                "type": "eq",
                "fun": lambda v, r=row, t=total, f=fixed_part: (self.to_plan(v)[0][self.free][r].sum() + f - t) / self.unit,
                "jac": lambda v, r=row: np.where(r, self.to_plan(v)[1], 0.0) / self.unit,
            })
        return cons


def optimise(
    prob: Problem,
    objective: str | Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Groups,
    starts: Mapping[str, np.ndarray],
    maxiter: int = 300,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Maximise the objective with SLSQP from several starts; keep the best feasible plan.

    Parameters
    ----------
    prob
        The response arrays (usually a subsample of draws).
    objective
        See :func:`~bayes_mmm.decide.objectives.parse_objective`.
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
    # Variables in units of the average cell and objective per unit of budget keep SLSQP's
    # finite-precision steps and tolerances meaningful whatever the currency.
    unit = max(sum(t for _, t in groups) / lower.size, 1e-12)
    fscale = max(sum(t for _, t in groups), 1e-12)
    box = _Box(lower, upper, unit)
    cons = box.budget_constraints(groups)

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        plan, du = box.to_plan(v)
        val, grad = objective_and_grad(plan, prob, obj)
        return -val / fscale, -grad[box.free] * du / fscale

    def solve(start: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        v0 = box.from_plan(project(start, lower, upper, groups))
        res = minimize(fun, v0, jac=True, method="SLSQP", constraints=cons, options={"maxiter": maxiter, "ftol": 1e-10})
        plan = box.to_plan(res.x)[0]
        # The open box never reaches its edges: snap cells within 0.1 % of a cell's average
        # to the bound, then project so the budgets hold exactly.
        tol = 1e-3 * unit
        plan = project(np.where(plan - lower < tol, lower, np.where(upper - plan < tol, upper, plan)), lower, upper, groups)
        val = objective_and_grad(plan, prob, obj)[0]
        return plan, {"objective": val, "success": bool(res.success), "message": str(res.message), "iterations": int(res.nit)}

    winner, best, runs = multistart(solve, starts)
    return best, {"best_start": winner, "objective": runs[winner]["objective"], "converged": runs[winner]["success"], "starts": runs}


def spg(
    prob: Problem,
    objective: Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Groups,
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
    unit = _unit(lower, groups)
    # Hill curves with shape < 1 are infinitely steep at zero input: keep cells a hair above
    # their minimum during the search so gradients stay finite, and snap them back at the end.
    floor = 1e-3 * unit
    inner = np.where(upper - lower > 2 * floor, lower + floor, lower)
    x = project(start, inner, upper, groups)
    f, g = objective_and_grad(x, prob, objective)
    history = [f]
    step = unit / max(float(np.abs(g).max()), 1e-12)
    probe = step  # fixed scale of the stationarity test: a move of one average cell at the start
    evals, it, done = 1, 0, False
    for it in range(1, maxiter + 1):  # noqa: B007 - `it` is reported
        if np.abs(project(x + probe * g, inner, upper, groups) - x).max() <= 1e-6 * unit:
            done = True
            break
        d = project(x + step * g, inner, upper, groups) - x
        slope = float(np.sum(g * d))
        if slope <= rtol * abs(f):
            done = True
            break
        xn, fn, gn, n_eval = _armijo(prob, objective, x, d, slope, max(history[-memory:]))
        evals += n_eval
        s_, y_ = xn - x, gn - g
        sy = -float(np.sum(s_ * y_))  # curvature of −f along the step
        step = float(np.clip(np.sum(s_ * s_) / sy, 1e-6 * step, 1e6 * step)) if sy > 0 else 10 * step
        x, f, g = xn, fn, gn
        history.append(f)
        if len(history) > 10 and history[-1] - max(history[:-10]) <= rtol * abs(f):
            done = True  # ten steps gained less than rtol: converged for any practical purpose
            break
    x = project(np.where(x <= inner + floor, lower, x), lower, upper, groups)
    return x, {"objective": objective_and_grad(x, prob, objective)[0], "iterations": it, "evaluations": evals,
               "converged": done}


def _armijo(
    prob: Problem, objective: Objective, x: np.ndarray, d: np.ndarray, slope: float, fmax: float
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Non-monotone Armijo backtracking along ``d``: the accepted point, its value and gradient, evaluations."""
    t, evals = 1.0, 0
    while True:
        xn = x + t * d
        fn, gn = objective_and_grad(xn, prob, objective)
        evals += 1
        if fn >= fmax + 1e-4 * t * slope or t < 1e-10:
            return xn, fn, gn, evals
        t *= 0.5


def optimise_spg(
    prob: Problem,
    objective: str | Objective,
    lower: np.ndarray,
    upper: np.ndarray,
    groups: Groups,
    starts: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`spg` from several starts; keep the best plan (S-shaped Hill curves have local optima)."""
    obj = parse_objective(objective)

    def solve(start: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        plan, info = spg(prob, obj, lower, upper, groups, start)
        return plan, {**info, "objective": objective_and_grad(plan, prob, obj)[0]}

    winner, best, runs = multistart(solve, starts)
    # What the last unit of budget earns: the mean marginal return over cells strictly inside their bounds.
    grad = objective_and_grad(best, prob, obj)[1]
    inside = (best > lower + 1e-6) & (best < upper - 1e-6)
    marginal = float(np.median(grad[inside])) if inside.any() else None
    return best, {"method": "spectral projected gradient", "best_start": winner, "objective": runs[winner]["objective"],
                  "converged": runs[winner]["converged"], "marginal_return": marginal, "starts": runs}
