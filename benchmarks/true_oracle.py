"""The best plan under the TRUE response of one tenant, within given bounds, a budget and (optionally) pacing.

The true response (:class:`synthetic.plan_truth.TruePlanRevenue`) may be any
scenario's mechanism, so the oracle uses SLSQP with finite-difference gradients
on variables in units of the average cell. Pacing ``(1 − p)·u[d] ≤ u[d+1] ≤ (1 + p)·u[d]``
(the constraint :mod:`bayes_mmm.decide.pacing` defines) enters as linear
inequalities; every result is snapped onto the feasible set with the allocator's
own projection (:func:`~bayes_mmm.decide.pacing.project_paced`) and checked with
its own :func:`~bayes_mmm.decide.pacing.pacing_violation`. Feasible starting
plans are candidates too, so the oracle is never below any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.optimize import minimize

from bayes_mmm.decide.pacing import PACING_TOL, pacing_violation, project_paced
from bayes_mmm.decide.solvers import project


def _pacing_rows(c: int, d: int, p: float) -> np.ndarray:
    """Rows ``A`` with ``A @ u.ravel() ≥ 0`` ⇔ pacing ``p`` holds between consecutive days of each channel."""
    rows = []
    for j in range(c):
        for k in range(d - 1):
            lo, up = np.zeros((c, d)), np.zeros((c, d))
            lo[j, k + 1], lo[j, k] = 1.0, -(1 - p)  # u[k+1] ≥ (1 − p)·u[k]
            up[j, k], up[j, k + 1] = 1 + p, -1.0  # u[k+1] ≤ (1 + p)·u[k]
            rows += [lo.ravel(), up.ravel()]
    return np.array(rows).reshape(-1, c * d)


def true_optimum(
    score: Callable[[np.ndarray], float], lower: np.ndarray, upper: np.ndarray, total: float,
    pacing: float | None, starts: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, dict[str, object]]:
    """Maximise ``score`` over ``(C, D)`` plans with ``lower ≤ u ≤ upper``, ``Σ u = total`` and pacing.

    Returns the best plan and ``{"best_start", "value", "pacing_violation"}``.
    """
    groups = [(np.array([0]), total)]
    lo, hi = lower[None], upper[None]

    def feasible(u: np.ndarray) -> np.ndarray:
        x = project_paced(u[None], lo, hi, groups, pacing) if pacing is not None else project(u[None], lo, hi, groups)
        return x[0]

    shape, unit = lower.shape, max(total / lower.size, 1e-12)
    cons = [{"type": "eq", "fun": lambda v: np.array([v.sum() - total / unit]), "jac": lambda v: np.ones((1, v.size))}]
    if pacing is not None and shape[1] > 1:
        a = _pacing_rows(*shape, pacing)
        cons.append({"type": "ineq", "fun": lambda v: a @ v, "jac": lambda v: a})
    bounds = [(lo_ / unit, None if not np.isfinite(hi_) else hi_ / unit) for lo_, hi_ in zip(lower.ravel(), upper.ravel(), strict=True)]
    best, best_val, best_name = None, -np.inf, ""
    for name, start in starts.items():
        x0 = feasible(start)
        res = minimize(lambda v: -score(v.reshape(shape) * unit) / total, x0.ravel() / unit, method="SLSQP",
                       bounds=bounds, constraints=cons, options={"maxiter": 300, "ftol": 1e-12})
        for label, cand in ((name, feasible(res.x.reshape(shape) * unit)), (f"{name} (start)", x0)):
            val = score(cand)
            if val > best_val:
                best, best_val, best_name = cand, val, label
    assert best is not None, "no starting plan"
    viol = pacing_violation(best, pacing) if pacing is not None else 0.0
    return best, {"best_start": best_name, "value": best_val, "pacing_violation": viol, "pacing_ok": viol <= PACING_TOL}
