"""Target efficiency: the budget at which the plan's ROAS (or marginal ROAS) falls to a target.

Spending more buys less per unit (Hill curves saturate), so the plan's expected ROAS
and marginal ROAS fall as the budget grows. Bisection on the budget, over the same
planner as a fixed budget (trust region and do-no-harm included), finds the largest
budget whose plan still earns the target: the spend at which efficiency reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.allocate import MIN_BUDGET, Setup, plan_budget
from bayes_mmm.decide.plan import recent_level

KINDS = {"roas": ("expected ROAS", lambda p: p["portfolio"]["roas_plan"]["mean"]),
         "mroas": ("marginal ROAS", lambda p: p["portfolio"]["marginal_roas_plan"])}


def target_budget(setup: Setup, target: float, kind: str = "roas", rel_tol: float = 1e-3, **plan_kw: Any) -> dict[str, Any]:
    """The plan (:func:`~bayes_mmm.decide.allocate.plan_budget`) at the largest budget whose ``kind`` ≥ ``target``.

    The search starts from the current spend over the plan's periods, halving or
    doubling to bracket the target, then bisects (in log budget) to ``rel_tol``.

    Raises
    ------
    DataError
        When even 1/512 of the current spend (and no less than the least budget, 0.01) does not reach the target.
    """
    if kind not in KINDS:
        raise DataError(f"unknown target '{kind}'", hint="use roas or mroas")
    if not target > 0:
        raise DataError(f"the target {KINDS[kind][0]} must be > 0, got {target}")
    label, metric = KINDS[kind]
    inp = setup.inp
    current = float(recent_level(inp.spend, inp.window).sum() * len(inp.plan_dates))
    if current <= 0:
        raise DataError("the tenants spent nothing recently: no budget to start the search from")
    plans: dict[float, dict[str, Any]] = {}

    def at(b: float) -> float:
        plans[b] = plans.get(b) or plan_budget(setup, b, **plan_kw)
        return metric(plans[b])

    lo, hi = _bracket(at, current, target, label)
    while hi / lo > 1 + rel_tol:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if at(mid) >= target else (lo, mid)
    out = plans[lo]
    out["target"] = {"kind": kind, "value": float(target), "reached": float(metric(out)), "budget": float(lo),
                     "explained": f"the largest budget whose plan's {label} is at least {target:g} (bisection on the budget)"}
    return out


def _bracket(at: Callable[[float], float], start: float, target: float, label: str) -> tuple[float, float]:
    """Budgets ``lo < hi`` with ``at(lo) ≥ target > at(hi)``."""
    # halvings of today's spend, none below the least budget a plan takes
    halved = [b for b in start / 2.0 ** np.arange(10) if b >= MIN_BUDGET] or [start]
    tried = {}
    for lo in halved:
        tried[lo] = at(lo)
        if tried[lo] >= target:
            break
    else:
        # An S-shaped curve earns most per unit at a middle budget, not the smallest: name the best one tried.
        best = max(tried, key=tried.get)
        raise DataError(f"no budget from {halved[-1]:,.2f} to {start:,.2f} (halving) gives the plan {label} {target:g}: the best, "
                        f"{tried[best]:.3g}, at {best:,.2f}", hint="lower the target")
    hi = start
    for _ in range(12):
        try:
            if at(hi) < target:
                return lo, hi
        except DataError as exc:  # a budget the run cannot plan (e.g. far beyond its spend): say so about the target
            raise DataError(f"every budget up to {lo:,.2f} keeps the plan's {label} at or above the target {target:g}, "
                            f"and a larger one cannot be planned ({exc.problem})", hint="raise the target") from None
        lo, hi = hi, hi * 2
    raise DataError(f"a budget of {lo:,.2f} still gives the plan {label} {at(lo):.3g} ≥ {target:g}",
                    hint="raise the target; the trust region's caps may also keep the plan from spending more")
