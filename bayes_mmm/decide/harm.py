"""Do no harm: move from the current plan toward the optimum only as far as the posterior supports.

Per budget group (a tenant with its own budget, or tenants sharing one), the plan is
``anchor + t·(optimum − anchor)`` with the largest ``t`` on a grid whose probability
of beating the current plan, over all posterior draws, is at least ``confidence``
and whose expected gain over the current plan is at least ``min_gain`` of the group's
budget; ``t = 0`` (the anchor: the current plan, or the nearest plan inside the user's
hard limits) where no step is. The feasible set is convex, so every step is feasible.

Why a gain bar beside the probability: a step that promises a fraction of a percent of
its budget passes P ≥ 0.9 on a posterior that is sure of a tiny difference, and such
differences are where a misspecified curve's error is larger than the claim. On the
scenario lakes the small steps taken at P just above 0.9 (claimed 0.2–0.5 % of the
budget) were the plans that lost in truth; no true gain was claimed below 1.5 %
(benchmarks/RESULTS.md §32).
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.problem import Problem, prob_beats, response
from bayes_mmm.decide.solvers import Groups

STEPS = np.round(np.linspace(0.0, 1.0, 11), 10)  # 0, 0.1, …, 1
#: The least expected gain of a move, as a share of its budget: smaller promises keep the current mix.
MIN_GAIN = 0.01


def check_min_gain(min_gain: float) -> float:
    """``min_gain`` if it is a share of a budget in [0, 1); a DataError naming the option otherwise."""
    if not 0 <= min_gain < 1:
        raise DataError(f"the least gain of a move must lie in [0, 1) of its budget, got {min_gain}", hint="e.g. --min-gain 0.01 (1 %)")
    return min_gain


def guarded(
    prob: Problem, anchor: np.ndarray, optimum: np.ndarray, current: np.ndarray, groups: Groups,
    confidence: float | None, steps: np.ndarray = STEPS, min_gain: float = MIN_GAIN,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """The do-no-harm plan ``(N, C, D)`` and, per group, the step taken, its P(beats current) and expected gain.

    ``confidence`` None takes the full step (the optimum); ``min_gain`` 0 judges by probability alone.
    """
    if confidence is None:
        # not judged: do-no-harm is off
        return optimum.copy(), [{"step": 1.0, "prob_beats_current": None} for _ in groups]
    r_cur = response(current, prob)
    wins = []  # per step: (S, N) response of the plan at that step
    for t in steps:
        wins.append(response(anchor + t * (optimum - anchor), prob))
    plan, chosen = anchor.copy(), []
    for idx, total in groups:
        cur = r_cur[:, idx].sum(axis=1)
        probs = [prob_beats(w[:, idx].sum(axis=1), cur) for w in wins]
        gains = [float(np.mean(w[:, idx].sum(axis=1) - cur)) for w in wins]
        likely = [k for k, pr in enumerate(probs) if pr >= confidence and steps[k] > 0]
        ok = [k for k in likely if gains[k] >= min_gain * total]
        k = max(ok) if ok else 0
        plan[idx] = anchor[idx] + steps[k] * (optimum[idx] - anchor[idx])
        chosen.append({"step": float(steps[k]), "prob_beats_current": probs[k], "expected_gain": round(gains[k], 2),
                       "held_small_gain": bool(likely and not ok)})
    return plan, chosen
