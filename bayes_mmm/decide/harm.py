"""Do no harm: move from the current plan toward the optimum only as far as the posterior supports.

Per budget group (a tenant with its own budget, or tenants sharing one), the plan is
``anchor + t·(optimum − anchor)`` with the largest ``t`` on a grid whose probability
of beating the current plan, over all posterior draws, is at least ``confidence``;
``t = 0`` (the anchor: the current plan, or the nearest plan inside the user's hard
limits) where no step is. The feasible set is convex, so every step is feasible.
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.decide.problem import Problem, prob_beats, response
from bayes_mmm.decide.solvers import Groups

STEPS = np.round(np.linspace(0.0, 1.0, 11), 10)  # 0, 0.1, …, 1


def guarded(
    prob: Problem, anchor: np.ndarray, optimum: np.ndarray, current: np.ndarray, groups: Groups,
    confidence: float | None, steps: np.ndarray = STEPS,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """The do-no-harm plan ``(N, C, D)`` and, per group, the step taken and its P(beats current).

    ``confidence`` None takes the full step (the optimum).
    """
    if confidence is None:
        # not judged: do-no-harm is off
        return optimum.copy(), [{"step": 1.0, "prob_beats_current": None} for _ in groups]
    r_cur = response(current, prob)
    wins = []  # per step: (S, N) response of the plan at that step
    for t in steps:
        wins.append(response(anchor + t * (optimum - anchor), prob))
    plan, chosen = anchor.copy(), []
    for idx, _ in groups:
        cur = r_cur[:, idx].sum(axis=1)
        probs = [prob_beats(w[:, idx].sum(axis=1), cur) for w in wins]
        ok = [k for k, pr in enumerate(probs) if pr >= confidence and steps[k] > 0]
        k = max(ok) if ok else 0
        plan[idx] = anchor[idx] + steps[k] * (optimum[idx] - anchor[idx])
        chosen.append({"step": float(steps[k]), "prob_beats_current": probs[k]})
    return plan, chosen
