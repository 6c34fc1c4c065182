"""The feasible set of a plan: channel bounds per day and budgets per group of tenants."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bayes_mmm.core.errors import DataError

Groups = list[tuple[np.ndarray, float]]


def bound_arrays(
    channel_bounds: Mapping[str, Any] | None, channels: list[str], current_daily: np.ndarray, active: np.ndarray, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C, D)`` per-day lower and upper bounds from the user's channel bounds.

    A bound is ``(min, max)`` per day in currency (either may be None) or a
    string ``"20%"`` meaning within ±20 % of the current daily spend; the key
    ``"*"`` applies to every channel.
    """
    n, c = current_daily.shape
    lower = np.zeros((n, c))
    upper = np.full((n, c), np.inf)
    for key, spec in (channel_bounds or {}).items():
        if key != "*" and key not in channels:
            raise DataError(f"unknown channel '{key}' in channel bounds; the run has {', '.join(channels)}")
        cols = range(c) if key == "*" else [channels.index(key)]
        for j in cols:
            if isinstance(spec, str):
                text = spec.strip().lstrip("±+").rstrip("%")
                try:
                    pct = float(text) / 100
                except ValueError:
                    raise DataError(f"channel bound '{spec}' for {key} is not a percentage like '20%'") from None
                if pct < 0:
                    raise DataError(f"channel bound '{spec}' for {key} must be ≥ 0 %")
                lower[:, j] = np.maximum(lower[:, j], current_daily[:, j] * (1 - pct))
                upper[:, j] = np.minimum(upper[:, j], current_daily[:, j] * (1 + pct))
            else:
                lo, hi = spec
                if lo is not None:
                    lower[:, j] = np.maximum(lower[:, j], float(lo))
                if hi is not None:
                    upper[:, j] = np.minimum(upper[:, j], float(hi))
                if lo is not None and hi is not None and float(lo) > float(hi):
                    raise DataError(f"channel bound for {key}: minimum {lo} is above maximum {hi}")
    # A channel a tenant never used in the data has no learned response: keep it dark.
    upper = np.where(active, upper, 0.0)
    lower = np.where(active, lower, 0.0)
    return np.repeat(lower[..., None], n_days, axis=-1), np.repeat(upper[..., None], n_days, axis=-1)


def parse_channel_bounds(text: str | None) -> dict[str, Any]:
    """Parse the CLI form ``meta=50:400,google=20%,*=0:1000`` (per-day amounts or ± % of current).

    >>> parse_channel_bounds("meta=50:,google=20%")
    {'meta': (50.0, None), 'google': '20%'}
    """
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, val = part.partition("=")
        if not sep:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%")
        if val.strip().endswith("%"):
            out[key.strip()] = val.strip()
            continue
        lo, sep, hi = val.partition(":")
        try:
            out[key.strip()] = (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
        except ValueError:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%") from None
        if not sep:
            raise DataError(f"channel bound '{part}' must look like channel=min:max or channel=20%")
    return out


def budget_groups(tenant_budgets: Mapping[str, float] | None, tenants: list[str], budget: float) -> Groups:
    """``(tenant indices, total)`` per budget: fixed tenants each sum to their own, the others share the rest.

    Raises
    ------
    DataError
        For an unknown tenant, a negative budget, or fixed budgets that do not fit the total.
    """
    fixed = {k: float(v) for k, v in (tenant_budgets or {}).items()}
    for k, v in fixed.items():
        if k not in tenants:
            raise DataError(f"unknown tenant '{k}' in tenant budgets; the plan covers {', '.join(tenants)}")
        if not (math.isfinite(v) and v >= 0):
            raise DataError(f"tenant budget for '{k}' must be ≥ 0, got {v}")
    free = [i for i, t in enumerate(tenants) if t not in fixed]
    rest = budget - sum(fixed.values())
    if (not free and abs(rest) > 1e-9 * budget) or rest < -1e-9 * budget:
        raise DataError(f"tenant budgets sum to {sum(fixed.values()):g} but the budget is {budget:g}",
                        hint="make the per-tenant budgets add up to --budget (or leave some tenants free)")
    groups = [(np.array([tenants.index(k)]), v) for k, v in fixed.items()]
    if free:
        groups.append((np.array(free), max(rest, 0.0)))
    return groups


def check_feasible(lower: np.ndarray, upper: np.ndarray, groups: Groups, tenants: list[str]) -> None:
    """Raise a :class:`DataError` when some group's bounds cannot add up to its budget."""
    for idx, total in groups:
        lo, hi = lower[idx].sum(), upper[idx].sum()
        who = "the budget" if len(groups) == 1 else f"the budget of {', '.join(tenants[i] for i in idx)}"
        if lo > total * (1 + 1e-9):
            raise DataError(f"infeasible channel bounds: the minimums add up to {lo:,.2f}, above {who} {total:,.2f}", hint="lower the minimums or raise the budget")
        if hi < total * (1 - 1e-9):
            raise DataError(f"infeasible channel bounds: the maximums add up to {hi:,.2f}, below {who} {total:,.2f}", hint="raise the maximums or lower the budget")
