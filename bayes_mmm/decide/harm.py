"""Do no harm: move from the current plan toward the optimum only as far as the posterior supports.

Per budget group (a tenant with its own budget, or tenants sharing one), the plan is
``anchor + t·(optimum − anchor)`` with the largest ``t`` on a grid whose probability
of beating the current plan, over all posterior draws, is at least ``confidence``
and whose expected gain over step 0 is at least ``min_gain`` of the group's budget;
``t = 0`` (the anchor: the current plan, or the nearest plan inside the user's hard
limits) where no step is. The feasible set is convex, so every step is feasible.

Why a gain bar beside the probability: a small step can pass P ≥ 0.9 on a posterior
that is sure of a tiny difference, and tiny differences are where a misfit curve's error
outgrows the claim. On 11 fits of the scenario lakes with per-tenant budgets, three plans
lost in truth after small steps taken at P 0.901–0.903 that claimed 0.2–0.5 % of their
budget; any bar from 0.5 % to 1.25 % held exactly those and no plan that gained in truth,
and from 1.5 % plans that gained were held too (benchmarks/RESULTS.md §32). The bar was
chosen on those fits, so 1 % sits inside a narrow range; ``--min-gain`` changes it.

Why each draw is judged twice: a draw whose curve is S-shaped (Hill shape > 1) credits a
move into that channel with increasing returns. The shape is shared by a channel across
tenants, so one tenant's S-curve can set it for all; on an independent lake 36 of 62
tenant × channels showed increasing returns where the truth had 7, and the plans claimed
1.8 × what they earned (RESULTS.md §34; the check's price and gain: §35). A step's gain per draw is therefore the smaller of
its gain under the draw and under the draw's concave twin (:func:`concave_twin`: the same
revenue today, no increasing returns); ``shape_check=False`` judges by the draws alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.problem import Problem, concave_twin, prob_beats, response
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
    confidence: float | None, steps: np.ndarray = STEPS, min_gain: float = MIN_GAIN, shape_check: bool = True,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The do-no-harm plan ``(N, C, D)`` and, per group, the step taken (:func:`choose_step`).

    ``confidence`` None takes the full step (the optimum); ``min_gain`` 0 judges by probability alone;
    ``shape_check`` judges each draw's gain also under its concave twin and keeps the smaller.
    """
    if confidence is None:
        # not judged: do-no-harm is off
        return optimum.copy(), [{"step": 1.0, "prob_beats_current": None, "expected_gain": None, "held_small_gain": False}
                                for _ in groups]
    views = [prob, concave_twin(prob, current)] if shape_check else [prob]
    r_cur = [response(current, v) for v in views]
    # per step and view: (S, N) gain over the current plan
    gains_at = [[response(anchor + t * (optimum - anchor), v) - r for v, r in zip(views, r_cur, strict=True)] for t in steps]
    plan, chosen = anchor.copy(), []
    for idx, total in groups:
        cur, bar = r_cur[0][:, idx].sum(axis=1), min_gain * total
        least = [np.min([g[:, idx].sum(axis=1) for g in at], axis=0) for at in gains_at]  # the least over the views
        choice = _judge(steps, least, cur, confidence, bar)
        if len(views) > 1 and (trusting := _judge(steps, [at[0][:, idx].sum(axis=1) for at in gains_at], cur, confidence,
                                                  bar))["step"] > choice["step"]:
            # the fitted shapes alone would move further: say how far
            choice["held_by_shape"] = {k: trusting[k] for k in ("step", "prob_beats_current", "expected_gain")}
        plan[idx] = anchor[idx] + choice["step"] * (optimum[idx] - anchor[idx])
        chosen.append(choice)
    return plan, chosen


def _judge(steps: np.ndarray, gains: list[np.ndarray], current: np.ndarray, confidence: float, least_gain: float) -> dict[str, Any]:
    """:func:`choose_step` from each step's per-draw gains over ``current``'s per-draw revenue."""
    probs = [prob_beats(current + g, current) for g in gains]
    return choose_step(steps, probs, [float(np.mean(g)) for g in gains], confidence, least_gain)


def choose_step(steps: np.ndarray, probs: list[float], gains: list[float], confidence: float, least_gain: float) -> dict[str, Any]:
    """The largest step with P ≥ ``confidence`` whose expected gain beyond step 0 is ``least_gain`` or more.

    Returns ``step``, its ``prob_beats_current`` and ``expected_gain`` (over the current plan),
    ``held_small_gain`` (a likely step existed and the bar held the plan at step 0) and, then,
    ``refused``: the largest likely step, its probability and its gain beyond step 0.
    """
    likely = [k for k, pr in enumerate(probs) if pr >= confidence and steps[k] > 0]
    ok = [k for k in likely if least_gain <= 0 or gains[k] - gains[0] >= least_gain]
    k = max(ok) if ok else 0
    out: dict[str, Any] = {"step": float(steps[k]), "prob_beats_current": probs[k], "expected_gain": _cents(gains[k]),
                           "held_small_gain": bool(likely and not ok)}
    if out["held_small_gain"]:
        r = max(likely)
        out["refused"] = {"step": float(steps[r]), "prob_beats_current": probs[r], "expected_gain": _cents(gains[r] - gains[0])}
    return out


def _cents(x: float) -> float:
    return round(x, 2) + 0.0  # + 0.0: no "-0.0" in plan.json
