"""Pacing: no channel's spend changes by more than a share ``p`` from one period to the next.

The constraint ``(1 − p)·u[d] ≤ u[d+1] ≤ (1 + p)·u[d]`` is linear, so the plans that
keep it form a convex set. Its intersection with the bounds and budgets has no
closed-form projection, but each piece does: the bounds and budgets
(:func:`~bayes_mmm.decide.solvers.project`), and the pairs of periods (0, 1), (2, 3), …
and (1, 2), (3, 4), …, each pair a two-dimensional cone. Dykstra's algorithm
alternates these three projections and converges to the exact projection onto
the intersection (Boyle & Dykstra 1986).
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.decide.solvers import Groups, project

PACING_TOL = 1e-6  # relative slack allowed when checking a plan


def _cone(a: np.ndarray, b: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Project pairs ``(a, b)`` onto the cone ``(1 − p)·a ≤ b ≤ (1 + p)·a`` (closed form, elementwise)."""
    a_out, b_out = a.copy(), b.copy()
    for slope, outside in ((1 + p, b > (1 + p) * a), (1 - p, b < (1 - p) * a)):
        s = np.maximum((a + slope * b) / (1 + slope**2), 0.0)  # onto the ray (1, slope); the polar cone goes to 0
        a_out, b_out = np.where(outside, s, a_out), np.where(outside, slope * s, b_out)
    return a_out, b_out


def _pairs(x: np.ndarray, p: float, first: int) -> np.ndarray:
    """Project every pair of periods (first, first + 1), (first + 2, first + 3), … onto the pacing cone."""
    out = x.copy()
    d = x.shape[-1]
    left = np.arange(first, d - 1, 2)
    if left.size:
        out[..., left], out[..., left + 1] = _cone(x[..., left], x[..., left + 1], p)
    return out


def pacing_violation(plan: np.ndarray, p: float) -> float:
    """Largest breach of the pacing limit, relative to the larger of the two periods (0 when kept)."""
    if plan.shape[-1] < 2:
        return 0.0
    a, b = plan[..., :-1], plan[..., 1:]
    breach = np.maximum(b - (1 + p) * a, (1 - p) * a - b)
    return float(np.max(breach / np.maximum(np.maximum(a, b), 1e-12), initial=0.0))


def project_paced(
    plan: np.ndarray, lower: np.ndarray, upper: np.ndarray, groups: Groups, p: float, max_iter: int = 5000
) -> np.ndarray:
    """Euclidean projection onto bounds, budgets and pacing ``p`` (Dykstra's alternating projections)."""
    x = project(plan, lower, upper, groups)
    if plan.shape[-1] < 2 or pacing_violation(x, p) <= PACING_TOL / 10:
        return x
    steps = [lambda y: project(y, lower, upper, groups), lambda y: _pairs(y, p, 0), lambda y: _pairs(y, p, 1)]
    incr = [np.zeros_like(x) for _ in steps]
    scale = max(float(np.abs(x).max()), 1e-12)
    for _ in range(max_iter):
        prev = x
        for k, step in enumerate(steps):
            y = step(x + incr[k])
            incr[k] = x + incr[k] - y
            x = y
        if np.abs(x - prev).max() <= 1e-10 * scale and pacing_violation(x, p) <= PACING_TOL / 10:
            break
    return project(x, lower, upper, groups)
