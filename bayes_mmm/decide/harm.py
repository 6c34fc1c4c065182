"""Do no harm: move from the current plan toward the optimum only as far as the posterior supports.

Per budget group (a tenant with its own budget, or tenants sharing one), the plan is
``anchor + t·(optimum − anchor)`` with the largest ``t`` on a grid whose probability
of beating the current plan, over all posterior draws, is at least ``confidence``;
``t = 0`` (the anchor: the current plan, or the nearest plan inside the user's hard
limits) where no step is. The feasible set is convex, so every step is feasible.

The posterior's probability trusts the fitted curve's shape, and the Hill shape is shared by all
tenants of a channel: where a tenant's true curve bends otherwise, moves that only pay on an
S-curve (pulsing a channel, cutting one to the curve's flat foot) were taken at P 1.00 and lost
(benchmarks/RESULTS.md §21). So a step must also not be a likely loss (P(beats current) at least
``min(confidence, 1 − confidence)``) on the ``alternative``: the same curves with shape 1 (:meth:`Problem.concave`).
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.decide.problem import Problem, prob_beats, response
from bayes_mmm.decide.solvers import Groups

STEPS = np.round(np.linspace(0.0, 1.0, 11), 10)  # 0, 0.1, …, 1


def step_probs(
    prob: Problem, anchor: np.ndarray, optimum: np.ndarray, current: np.ndarray, groups: Groups, steps: np.ndarray,
) -> np.ndarray:
    """``(group, step)`` P(the step's plan beats current) over the draws of ``prob``."""
    r_cur = response(current, prob)
    wins = [response(anchor + t * (optimum - anchor), prob) for t in steps]  # per step: (S, N)
    return np.array([[prob_beats(w[:, idx].sum(axis=1), r_cur[:, idx].sum(axis=1)) for w in wins] for idx, _ in groups])


def guarded(
    prob: Problem, anchor: np.ndarray, optimum: np.ndarray, current: np.ndarray, groups: Groups,
    confidence: float | None, steps: np.ndarray = STEPS, alternative: Problem | None = None,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """The do-no-harm plan ``(N, C, D)`` and, per group, the step taken and its P(beats current).

    ``confidence`` None takes the full step (the optimum). With ``alternative`` a step must also
    beat current with probability at least ``min(confidence, 1 − confidence)`` there (see the module docstring).
    """
    if confidence is None:
        # not judged: do-no-harm is off
        return optimum.copy(), [{"step": 1.0, "prob_beats_current": None} for _ in groups]
    probs = step_probs(prob, anchor, optimum, current, groups, steps)
    ok = (probs >= confidence) & (steps > 0)[None, :]
    alt = None if alternative is None else step_probs(alternative, anchor, optimum, current, groups, steps)
    if alt is not None:
        ok &= alt >= min(confidence, 1 - confidence)
    plan, chosen = anchor.copy(), []
    for g, (idx, _) in enumerate(groups):
        k = int(np.flatnonzero(ok[g]).max()) if ok[g].any() else 0
        plan[idx] = anchor[idx] + steps[k] * (optimum[idx] - anchor[idx])
        chosen.append({"step": float(steps[k]), "prob_beats_current": float(probs[g, k]),
                       **({} if alt is None else {"prob_beats_current_concave": float(alt[g, k])})})
    return plan, chosen
