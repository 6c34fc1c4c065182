"""What the allocator maximises over the posterior draws of total incremental revenue.

Each objective is a small factory returning a function of the per-draw totals
``(S,)`` and their per-draw gradients ``(S, ...)`` that gives the value and its
gradient; :func:`objective_and_grad` applies one to a plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.problem import Problem, response_and_grad

#: (per-draw totals (S,), per-draw gradients (S, ...)) → (value, gradient (...)).
Reducer = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


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


def mean_objective() -> Reducer:
    """Posterior mean of the total."""

    def value(total: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
        return float(total.mean()), g.mean(axis=0)

    return value


def mean_sd_objective(lam: float) -> Reducer:
    """Mean − ``lam`` · sd of the total (population sd over draws)."""

    def value(total: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
        m, sd = total.mean(), total.std()
        dsd = np.einsum("s,s...->...", total - m, g) / (len(total) * sd) if sd > 0 else np.zeros(g.shape[1:])
        return float(m - lam * sd), g.mean(axis=0) - lam * dsd

    return value


def cvar_objective(alpha: float) -> Reducer:
    """Mean of the worst ``alpha`` share of draws (at least one); its gradient is the tail's."""

    def value(total: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
        k = max(1, math.ceil(alpha * len(total)))
        tail = np.argsort(total, kind="stable")[:k]
        return float(total[tail].mean()), g[tail].mean(axis=0)

    return value


def reducer(objective: str | Objective) -> Reducer:
    """The value-and-gradient function of an objective."""
    obj = parse_objective(objective)
    if obj.kind == "mean":
        return mean_objective()
    if obj.kind == "mean-sd":
        return mean_sd_objective(obj.param)
    return cvar_objective(obj.param)


def objective_and_grad(plan: np.ndarray, prob: Problem, objective: str | Objective = "mean") -> tuple[float, np.ndarray]:
    """Objective (to maximise) of the portfolio total and its gradient w.r.t. the plan ``(N, C, D)``."""
    r, g = response_and_grad(plan, prob)
    # Tenants share the draw index, so the portfolio risk is joint.
    return reducer(objective)(r.sum(axis=1), g)
