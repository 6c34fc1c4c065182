"""A plan's pieces around the optimiser: the current plan, starting plans, and the plan.json output.

The output follows the data contract §4 (``plan.json``): per tenant the plan and the
current spend per channel and day, expected incremental revenue with intervals,
the weather multipliers and a one-line reason per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.analysis.verdict import tenant_verdict
from bayes_mmm.core.atomic import write_text
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import non_finite
from bayes_mmm.decide.problem import Problem, margin, prob_beats, response, response_and_grad
from bayes_mmm.model.response import weather_multiplier
from bayes_mmm.runs.folder import to_json

CURRENT_WINDOW = 28  # days of history that define "current" spend (data contract §4)
REASON_THRESHOLD = 0.02  # multipliers within ±2 % of 1 are "average weather"

Groups = list[tuple[np.ndarray, float]]


@dataclass
class PlanInputs:
    """What a run folder says about the plan's tenants, channels and horizon.

    ``spend`` is the observed ``(N, C, T)``; ``gamma`` the ``(S, N, C, 2)`` weather
    sensitivity (None without); ``z`` ``(N, H, 2)`` horizon weather and ``known``
    ``(N, H)`` the days a forecast covered.
    """

    tenants: list[str]
    channels: list[str]
    prob: Problem
    spend: np.ndarray
    gamma: np.ndarray | None
    z: np.ndarray
    known: np.ndarray
    plan_dates: pd.DatetimeIndex
    l_max: int
    active: np.ndarray | None = None  # (N, C) the tenant has the channel (spent on it at some point)
    cadence: str = "daily"
    window: int = CURRENT_WINDOW  # periods of history that define "current"
    has_weather: np.ndarray | None = None  # (N,) False: no weather columns (z is the seasonal stand-in or 0)
    ends: pd.DatetimeIndex | None = None  # (N,) each tenant's own last day of data (None: the run's)
    seen: np.ndarray | None = None  # (N, T) each tenant's own periods in ``spend`` (None: all)


def recent_level(spend: np.ndarray, window: int = CURRENT_WINDOW) -> np.ndarray:
    """``(..., C)`` spend per period over the last ``window`` periods of ``(..., C, T)``: what "current" means (contract §4)."""
    return spend[..., -window:].mean(axis=-1)


def current_plan(spend: np.ndarray, groups: Groups, days: int, window: int = CURRENT_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """"Current" ``(N, C, D)``: the last ``window`` periods' (28 days') average spend, scaled to each group's budget.

    Also returns which (tenant, channel) pairs spent anything in the data, ``(N, C)``.
    """
    current_daily = recent_level(spend, window)
    active = spend.sum(axis=-1) > 0
    current = np.repeat(current_daily[..., None], days, axis=-1)
    for idx, total in groups:
        raw = current[idx].sum()
        current[idx] = current[idx] * (total / raw) if raw > 0 else _equal_share(active, idx, total, days)
    return current, active


#: A budget this many times the recent spend over as many periods is said to be beyond the recent data.
FAR_ABOVE_RECENT = 2.0
#: ... and one below this share of it too: a typo (a missing zero, cents) or a cut the curves never saw.
FAR_BELOW_RECENT = 0.2


def budget_notes(spend: np.ndarray, groups: Groups, tenants: list[str], periods: int, window: int = CURRENT_WINDOW) -> list[str]:
    """A warning per budget (a group of tenants sharing one) above :data:`FAR_ABOVE_RECENT` × its recent spend,
    or below :data:`FAR_BELOW_RECENT` × it.

    The plan scales today's mix to such a budget: the response there rests on the few periods that spent
    as much (or as little), if any, and on the Hill curve's shape beyond them.
    """
    notes = []
    for idx, total in groups:
        recent = float(recent_level(spend[idx], window).sum()) * periods
        who = tenants[idx[0]] if len(idx) == 1 else f"these {len(idx)} tenants"
        if total > FAR_ABOVE_RECENT * recent:
            times = f"{total / recent:,.1f}× the" if recent > 0 else "above the nil"
            notes.append(f"budget {total:,.0f} is {times} recent spend of {who} over as many periods ({recent:,.0f}): "
                         "the response there is the fitted curves' extrapolation, and the plan a test to run")
        elif total < FAR_BELOW_RECENT * recent:
            notes.append(f"budget {total:,.0f} is {total / recent:.1%} of the recent spend of {who} over as many periods "
                         f"({recent:,.0f}): a typo (a zero missing, cents)? If meant, the response there is the fitted "
                         "curves' extrapolation, and the plan a test to run")
    return notes


#: A tenant whose own data end more than this many days before the plan starts plans from stale "current" spend.
STALE_DAYS = 28


def cv_notes(summary: dict[str, Any], tenants: list[str]) -> list[str]:
    """A warning naming the planned tenants that walk-forward CV judged NO-GO (``bayes-mmm cv``), with its reasons.

    Their plans rest on a model that forecast their held-out revenue poorly; before CV there is nothing to say.
    """
    judged = [t for t in tenants if (summary.get("tenants") or {}).get(t, {}).get("cv")]
    bad = {t: v for t in judged if not (v := tenant_verdict(summary, t))["go"]}
    if not bad:
        return []
    named = "; ".join(f"{t} ({', '.join(v['reasons'][:2]) or 'no-go'})" for t, v in list(bad.items())[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return [f"walk-forward CV judged {len(bad)} of the planned tenants NO-GO: {named}{more}; their plans rest on a model "
            "that forecast their held-out revenue poorly: read the report before acting on them"]


def stale_notes(ends: pd.DatetimeIndex | None, start: pd.Timestamp, tenants: list[str]) -> list[str]:
    """A warning per tenant whose own data end (the last day of its last period) more than :data:`STALE_DAYS` before
    the plan's ``start``; none without ``ends`` (a :class:`PlanInputs` built by hand).

    Its "current" spend and carry-over are those of its last periods: whatever it spent since is unknown to the plan.
    """
    if ends is None:
        return []
    late = [(t, e) for t, e in zip(tenants, ends, strict=True) if (start - e).days > STALE_DAYS]
    return [f"{t}'s data end on {e:%Y-%m-%d}, {(start - e).days} days before the plan starts: its current spend and "
            "carry-over are those of its last periods; refit with its recent data before acting on its plan" for t, e in late]


def currency_notes(currencies: dict[str, str], groups: Groups, tenants: list[str]) -> list[str]:
    """A warning per budget shared by tenants whose ``tenant.json`` give different currencies.

    Each tenant's ROAS is in its own currency, but a shared budget adds their amounts as one.
    """
    notes = []
    for idx, _ in groups:
        found: dict[str, list[str]] = {}
        for i in idx:
            if currencies.get(tenants[i]):
                found.setdefault(currencies[tenants[i]], []).append(tenants[i])
        if len(found) > 1:
            who = "; ".join(f"{c}: {', '.join(ts)}" for c, ts in sorted(found.items()))
            notes.append(f"one budget is shared by tenants in {len(found)} currencies ({who}): their amounts are added as "
                         "if one currency; plan each currency's tenants on their own budget (allocate --tenant ID, or tenant_budgets in Python)")
    return notes


def _equal_share(active: np.ndarray, idx: np.ndarray, total: float, days: int) -> np.ndarray:
    """A group's total spread evenly over its active channels and the days."""
    return total / max(active[idx].sum() * days, 1) * active[idx, :, None]


def starting_plans(current: np.ndarray, active: np.ndarray, groups: Groups, budget: float, seed: int) -> dict[str, np.ndarray]:
    """The optimiser's named starts: current, equal split, and one random plan (``seed``)."""
    rng = np.random.default_rng(seed)
    equal = np.zeros_like(current)
    for idx, total in groups:
        equal[idx] = _equal_share(active, idx, total, current.shape[-1])
    random = rng.dirichlet(np.ones(current.size)).reshape(current.shape) * budget * active[..., None]
    return {"current": current, "equal": equal, "random": random}


def _stats(draws: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(draws)), "q05": float(np.quantile(draws, 0.05)), "q95": float(np.quantile(draws, 0.95))}


def _reason(mult: np.ndarray, z: np.ndarray, gamma_mean: np.ndarray, channels: list[str], forecast: bool,
            own: np.ndarray, weather: bool = True) -> str:
    """One line for one period: which of the tenant's own channels (``own``) the weather moves most, and why.

    ``weather`` False: the tenant has no weather columns, and ``z`` is the seasonal stand-in.
    """
    if not forecast:
        return "no forecast: average weather assumed"
    j = int(np.argmax(np.where(own, np.abs(mult - 1), -1.0)))
    change = mult[j] - 1
    if abs(change) < REASON_THRESHOLD:
        return f"near-average {'weather' if weather else 'season'}: no channel moves by more than 2 %"
    if not weather:
        return f"season (no weather data): {channels[j]} {change * 100:+.0f} % effective"
    temp_term, rain_term = gamma_mean[j] * z
    if abs(rain_term) >= abs(temp_term):
        cause = "rain" if z[1] > 0 else "dry"
    else:
        cause = "warm" if z[0] > 0 else "cold"
    return f"{cause} forecast: {channels[j]} {change * 100:+.0f} % effective"


def _per_channel(a: np.ndarray, channels: list[str], own: np.ndarray) -> dict[str, list[float]]:
    """Per channel the tenant has (``own``), one value per period: no entry for a channel it lacks."""
    return {ch: [float(v) for v in a[j]] for j, ch in enumerate(channels) if own[j]}


def marginal_roas(plan: np.ndarray, prob: Problem) -> np.ndarray:
    """Per tenant ``(N,)``: expected revenue of one more unit of currency spent in the plan's proportions."""
    grad = response_and_grad(plan, prob)[1].mean(axis=0)
    total = plan.sum(axis=(1, 2))
    return (grad * plan).sum(axis=(1, 2)) / np.maximum(total, 1e-12)


def tenant_results(inp: PlanInputs, plan: np.ndarray, current: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """plan.json's ``tenants`` and ``portfolio`` entries, judged on all posterior draws."""
    n, c, days = plan.shape
    r_plan, r_cur = response(plan, inp.prob), response(current, inp.prob)
    gamma, z = inp.gamma, inp.z
    gamma_mean = np.zeros((n, c, 2)) if gamma is None else gamma.mean(axis=0)
    mult_mean = np.ones((n, c, days)) if gamma is None else weather_multiplier(gamma, z[:, :days]).mean(axis=0)
    own = np.ones((n, c), bool) if inp.active is None else inp.active
    mroas = marginal_roas(plan, inp.prob)
    weather = np.ones(n, bool) if inp.has_weather is None else inp.has_weather
    # Spend equal to the current mix to a cent in every cell: P(beats) is then 0 (no draw gains), which reads like a loss.
    kept = np.all(np.abs(plan - current) < 0.005, axis=(1, 2))
    out: dict[str, Any] = {}
    for i, tid in enumerate(inp.tenants):
        out[tid] = {
            "plan": _per_channel(plan[i], inp.channels, own[i]),
            "current": _per_channel(current[i], inp.channels, own[i]),
            "expected_incremental_revenue": {"plan": _stats(r_plan[:, i]), "current": _stats(r_cur[:, i])},
            "prob_plan_beats_current": prob_beats(r_plan[:, i], r_cur[:, i]),
            "plan_is_current": bool(kept[i]),
            "uplift": _stats(r_plan[:, i] - r_cur[:, i]),
            "budget": float(plan[i].sum()),
            "roas_plan": _stats(r_plan[:, i] / max(plan[i].sum(), 1e-12)),
            "marginal_roas_plan": float(mroas[i]),
            "media_multiplier": _per_channel(mult_mean[i], inp.channels, own[i]),
            "reasons": [_reason(mult_mean[i, :, d], z[i, d], gamma_mean[i], inp.channels, bool(inp.known[i, d]), own[i],
                                bool(weather[i])) for d in range(days)],
        }
    tot_plan, tot_cur = r_plan.sum(axis=1), r_cur.sum(axis=1)
    portfolio = {
        "expected_incremental_revenue": {"plan": _stats(tot_plan), "current": _stats(tot_cur)},
        "uplift": _stats(tot_plan - tot_cur),
        "prob_plan_beats_current": prob_beats(tot_plan, tot_cur),
        "plan_is_current": bool(kept.all()),
        # The posterior's own count of tenants the plan leaves worse off than today (Σ P(worse)); a tenant
        # kept at its current mix counts 0 (rounding apart). On converged benchmark fits the realised count matched it.
        "expected_tenants_worse_off": float(np.mean((r_plan < r_cur - margin(r_cur)).sum(axis=1))),
        "budget": float(plan.sum()),
        "roas_plan": _stats(tot_plan / max(float(plan.sum()), 1e-12)),
        "marginal_roas_plan": float((mroas * plan.sum(axis=(1, 2))).sum() / max(float(plan.sum()), 1e-12)),
    }
    return out, portfolio


def write_plan(plan: dict[str, Any], out: str | Path) -> Path:
    """Write a plan as JSON atomically; a plan with NaN or infinite numbers is refused (it would read as null)."""
    bad = non_finite(plan)
    if bad:
        raise DataError(f"refusing to write a plan with non-finite numbers ({', '.join(bad[:3])})", file=out)
    return write_text(out, to_json(plan) + "\n")
