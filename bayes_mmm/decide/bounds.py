"""The feasible set of a plan: channel bounds per day and budgets per group of tenants."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayes_mmm.core.errors import DataError

Groups = list[tuple[np.ndarray, float]]


def bound_arrays(
    channel_bounds: Mapping[str, Any] | None, channels: list[str], current_daily: np.ndarray, active: np.ndarray, n_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, C, D)`` per-day lower and upper bounds from the user's channel bounds, and ``(C,)`` explicit minimum?

    A bound is ``(min, max)`` per day in currency (either may be None) or a
    string ``"20%"`` meaning within ±20 % of the current daily spend; the key
    ``"*"`` applies to every channel not named, as in ``--roas-prior``. The mask
    marks channels whose minimum is an amount the user gave (a cap below it is
    a contradiction; a percentage's floor, like the band's, gives way to a cap).
    """
    n, c = current_daily.shape
    lower = np.zeros((n, c))
    upper = np.full((n, c), np.inf)
    explicit = np.zeros(c, dtype=bool)
    named = set(channel_bounds or {})
    for key, raw in (channel_bounds or {}).items():
        spec = check_bound(key, raw)
        for j in keyed_columns(key, named, channels, "channel bounds"):
            if isinstance(spec, str):
                pct = percent(spec, key)
                lower[:, j] = current_daily[:, j] * max(0.0, 1 - pct)  # ±150 %: from 0
                upper[:, j] = current_daily[:, j] * (1 + pct)
            else:
                lo, hi = spec
                explicit[j] = lo is not None
                lower[:, j] = 0.0 if lo is None else lo
                upper[:, j] = np.inf if hi is None else hi
    # A channel a tenant never used in the data has no learned response: keep it dark.
    upper = np.where(active, upper, 0.0)
    lower = np.where(active, lower, 0.0)
    return np.repeat(lower[..., None], n_days, axis=-1), np.repeat(upper[..., None], n_days, axis=-1), explicit


def keyed_columns(key: str, named: set[str], channels: list[str], what: str) -> list[int]:
    """The columns an option's ``key`` sets: its channel's, or for ``*`` every channel not ``named``.

    An unknown channel is an error naming ``what`` (``"caps"``, ``"channel bounds"``) and the run's channels.
    """
    if key == "*":
        return [j for j, ch in enumerate(channels) if ch not in named]
    if key not in channels:
        raise DataError(f"unknown channel '{key}' in {what}; the run has {', '.join(channels)}")
    return [channels.index(key)]


BOUND_FORM = "channel=min:max (daily amounts ≥ 0, either may be left out) or channel=20% (± of current)"


def percent(spec: str, key: str) -> float:
    """The share of a ``"20%"`` bound (0.2): a finite number ≥ 0 followed by ``%``."""
    text = spec.strip()
    if not text.endswith("%"):
        raise DataError(f"channel bound '{spec}' for {key} is not a percentage like '20%'", hint=BOUND_FORM)
    try:
        pct = float(text[:-1].strip().lstrip("±+")) / 100
    except ValueError:
        raise DataError(f"channel bound '{spec}' for {key} is not a percentage like '20%'", hint=BOUND_FORM) from None
    if not (math.isfinite(pct) and pct >= 0):
        raise DataError(f"channel bound '{spec}' for {key} must be a finite percentage ≥ 0 %", hint=BOUND_FORM)
    return pct


def _amount(value: Any, key: str) -> float | None:
    """One side of a ``(min, max)`` bound: None, or a finite amount ≥ 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"channel bound for {key}: '{value}' is not an amount", hint=BOUND_FORM) from None
    if not (math.isfinite(x) and x >= 0):
        raise DataError(f"channel bound for {key}: '{value}' must be a finite amount ≥ 0", hint=BOUND_FORM)
    return x


def check_bound(key: str, spec: Any) -> str | tuple[float | None, float | None]:
    """One channel's bound, checked: a percentage string, or ``(min, max)`` of finite amounts ≥ 0 with min ≤ max.

    Raises
    ------
    DataError
        For an empty channel name, NaN, infinite or negative amounts, min above max, or another shape.
    """
    if not isinstance(key, str) or not key.strip():
        raise DataError(f"channel bound with an empty channel name ({key!r})", hint=BOUND_FORM)
    if isinstance(spec, str):
        percent(spec, key)
        return spec.strip()
    if not isinstance(spec, tuple | list) or len(spec) != 2:
        raise DataError(f"channel bound for {key} must be (min, max) or a percentage, got {spec!r}", hint=BOUND_FORM)
    lo, hi = _amount(spec[0], key), _amount(spec[1], key)
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"channel bound for {key}: minimum {lo:g} is above maximum {hi:g}", hint=BOUND_FORM)
    return lo, hi


def parse_channel_bounds(text: str | None) -> dict[str, Any]:
    """Parse the CLI form ``meta=50:400,google=20%,*=0:1000`` (per-day amounts or ± % of current).

    >>> parse_channel_bounds("meta=50:,google=20%")
    {'meta': (50.0, None), 'google': '20%'}

    Raises
    ------
    DataError
        For anything but comma-separated ``channel=min:max`` / ``channel=P%`` with valid
        values (see :func:`check_bound`), or a channel named twice.
    """
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, val = (s.strip() for s in part.partition("="))
        lo, colon, hi = val.partition(":")
        if not sep or (not val.endswith("%") and (not colon or ":" in hi)):
            raise DataError(f"channel bound '{part}' must look like {BOUND_FORM}")
        if key in out:
            raise DataError(f"channel '{key}' is bounded twice in '{text}'", hint="give each channel one bound")
        out[key] = check_bound(key, val if val.endswith("%") else (lo, hi))
    return out


#: A budget may be at most this multiple of the most the planned tenants spent in the data over as many days.
MAX_BUDGET_MULTIPLE = 1000.0


def check_budget_scale(budget: float, spend: np.ndarray, days: int, what: str = "budget", file: str | Path | None = None) -> None:
    """Refuse a budget absurdly beyond the data: above :data:`MAX_BUDGET_MULTIPLE` × the planned tenants'
    highest daily total spend (summed over tenants) × ``days``; the response there is pure extrapolation.

    ``spend`` is the observed ``(N, C, T)`` of the planned tenants; ``what`` and ``file`` name where the
    amount came from (a plan file's total rather than a ``--budget``).
    """
    peak = float(spend.sum(axis=1).max(axis=-1).sum()) if spend.size else 0.0
    cap = MAX_BUDGET_MULTIPLE * peak * days
    if peak > 0 and budget > cap:
        raise DataError(f"{what} {budget:,.6g} is more than {MAX_BUDGET_MULTIPLE:,.0f}× the highest spend in the data "
                        f"({peak:,.2f} a day, {cap:,.6g} over {days} days): the model cannot say anything about that", file=file,
                        hint="pass amounts in the currency of the lake, within the range the tenants have spent")


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


def _check_fraction(value: float | None, name: str) -> None:
    if value is not None and not (math.isfinite(value) and 0 <= value < 1):
        raise DataError(f"{name} must be a fraction in [0, 1), got {value}", hint=f"e.g. --{name} 0.3, or --{name} none to switch it off")


def _check_history(quantile: float) -> None:
    if not (math.isfinite(quantile) and 0 < quantile <= 1):
        raise DataError(f"history must be a quantile in (0, 1], got {quantile:g}",
                        hint="e.g. --history 0.95 (1: the largest past spend), or --history none to switch it off")


@dataclass(frozen=True)
class TrustRegion:
    """How far a plan may move from the current one (data contract §4, "trust region").

    ``band``: each cell within ±band of the current per-period spend (None: no band);
    channels named in the user's bounds (``--bounds``) take those bounds instead.
    ``pacing``: the largest relative change from one period to the next, the first
    plan period measured against the current level (None: free).
    ``caps``: per channel, a maximum per period (``--cap email=150``); the other
    channels get ``cap_factor`` × their largest observed per-period spend, never
    below the current level (None: no default cap).
    ``history``: a quantile of each tenant×channel's own spend per period that the plan stays
    under (the current mix at the plan's budget is always allowed), because the response curve above the spend the data
    saw is the model's extrapolation (None: off). Channels named in the user's bounds are exempt.
    ``hold_unidentified``: tenant×channels the run's identification checks flag (the data
    cannot tell them apart from another channel) keep their split with the channels they are
    entangled with (the group's total may move, :mod:`~bayes_mmm.decide.ties`), or their current
    spend when no other channel explains them; channels named in the user's bounds are exempt.
    A posterior that cannot split two channels cannot say which to favour.
    """

    band: float | None = 0.3
    pacing: float | None = 0.2
    caps: Mapping[str, float] | None = None
    cap_factor: float | None = 1.2
    history: float | None = 0.95
    hold_unidentified: bool = True

    def __post_init__(self) -> None:
        # Refused when built (the CLI builds it before reading the run), not after the work.
        _check_fraction(self.band, "band")
        _check_fraction(self.pacing, "pacing")
        if self.history is not None:
            _check_history(self.history)

    def describe(self) -> dict[str, Any]:
        """The settings as plan.json records them, with one line saying what they mean."""
        parts = [f"each channel within ±{self.band:.0%} of its current spend per period" if self.band is not None else "no band",
                 f"at most {self.pacing:.0%} change from one period to the next" if self.pacing is not None else "no pacing limit",
                 f"caps at {self.cap_factor:g} × the largest observed spend per period" if self.cap_factor is not None else "no default caps"]
        if self.history is not None:
            parts.append(f"each channel at most the {self.history:.0%} quantile of its own past spend per period "
                         "(or its current level at this budget, where higher)")
        if self.caps:
            parts.append("explicit caps " + ", ".join(f"{k}={v:g}" for k, v in self.caps.items()))
        if self.hold_unidentified:
            parts.append("channels the data cannot tell apart keep their split (their total may move), "
                         "or their current spend when no other channel is entangled with them")
        return {"band": self.band, "pacing": self.pacing, "cap_factor": self.cap_factor, "caps": dict(self.caps or {}),
                "history": self.history, "hold_unidentified": self.hold_unidentified, "explained": "; ".join(parts)}


#: No trust region at all: the posterior's optimum within the user's bounds (the old behaviour).
FREE = TrustRegion(band=None, pacing=None, caps=None, cap_factor=None, history=None, hold_unidentified=False)


def user_named(channel_bounds: Mapping[str, Any] | None, channels: list[str]) -> np.ndarray:
    """``(C,)`` True for the channels the user's bounds name (``*`` names every one): their bounds replace the trust region."""
    named = set(channel_bounds or {})
    return np.array(["*" in named or ch in named for ch in channels], dtype=bool)


def trust_bounds(
    trust: TrustRegion, channel_bounds: Mapping[str, Any] | None, channels: list[str], current: np.ndarray,
    spend: np.ndarray, active: np.ndarray, held: np.ndarray | None = None, seen: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, C, D)`` lower and upper bounds: the user's bounds, the band and history cap elsewhere, caps and the first period's pacing.

    ``current`` is the current plan ``(N, C, D)``, ``spend`` the observed ``(N, C, T)`` and ``seen``
    ``(N, T)`` each tenant's own periods in it (None: all); ``held`` ``(N, C)`` marks tenant×channels
    kept at their current spend (see ``TrustRegion.hold_unidentified``).
    """
    lower, upper, explicit = bound_arrays(channel_bounds, channels, current.mean(axis=-1), active, current.shape[-1])
    own = ~user_named(channel_bounds, channels)[None, :, None]
    if trust.band is not None:
        lower = np.where(own, np.maximum(lower, (1 - trust.band) * current), lower)
        upper = np.where(own, np.minimum(upper, (1 + trust.band) * current), upper)
    if trust.pacing is not None:  # the first period moves at most `pacing` from today's level
        lower[..., 0] = np.where(own[..., 0], np.maximum(lower[..., 0], (1 - trust.pacing) * current[..., 0]), lower[..., 0])
        upper[..., 0] = np.minimum(upper[..., 0], (1 + trust.pacing) * current[..., 0])
    caps = caps_of(trust, channels, current, spend)[..., None]
    # A cap is a hard limit: below today's level it pulls a band's floor (ours or a --bounds percentage) down with it.
    lower = np.where(explicit[None, :, None], lower, np.minimum(lower, caps))
    upper = np.minimum(upper, caps)
    if held is not None:  # kept at today's level, but never above a cap (the user's --cap is a hard limit)
        level = np.minimum(current, caps)
        lower, upper = np.where(held[..., None], level, lower), np.where(held[..., None], level, upper)
    if trust.history is not None:
        upper = np.where(own, np.minimum(upper, history_cap(spend, seen, trust.history, current.mean(axis=-1))[..., None]), upper)
    clash = lower > upper * (1 + 1e-9) + 1e-9
    if clash.any():
        j = int(np.argwhere(clash)[0][1])
        raise DataError(f"channel '{channels[j]}': its minimum per period is above its cap or pacing limit",
                        hint="lower the --bounds minimum, raise the --cap, or loosen --pacing")
    return np.minimum(lower, upper), upper


def history_cap(spend: np.ndarray, seen: np.ndarray | None, quantile: float, level: np.ndarray) -> np.ndarray:
    """``(N, C)``: the ``quantile`` of each tenant×channel's spend over its own periods, or ``level`` where higher.

    ``level`` is the current mix at the plan's budget: a budget above the recent spend must go somewhere.
    A tenant without recorded periods has no cap.

    Measured on kept runs scored on the true response (benchmarks/RESULTS.md §30): a plan that lifted a
    channel to a level its tenant had sustained on few days lost money at a claimed P 0.99. Below the
    spend the data saw, the curve is anchored at 0 (no spend, no effect), so cuts are not limited.
    """
    _check_history(quantile)
    if seen is None:
        seen = np.ones((spend.shape[0], spend.shape[-1]), bool)
    known = seen.any(axis=-1)[:, None]
    x = np.where(seen[:, None, :] | ~known[..., None], spend, np.nan)  # no recorded periods: every column, then no cap
    return np.where(known, np.maximum(np.nanquantile(x, quantile, axis=-1), level), np.inf)


def caps_of(trust: TrustRegion, channels: list[str], current: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """``(N, C)`` per-period caps: explicit ones as given, else ``cap_factor`` × the largest observed (≥ current)."""
    n, c = current.shape[:2]
    caps = np.full((n, c), np.inf)
    if trust.cap_factor is not None:
        caps = np.maximum(trust.cap_factor * spend.max(axis=-1), current.max(axis=-1))
    named = set(trust.caps or {})
    for key, value in (trust.caps or {}).items():
        cols = keyed_columns(key, named, channels, "caps")  # "*" caps every channel not named, as in --bounds
        if not (math.isfinite(float(value)) and float(value) >= 0):
            raise DataError(f"cap for {key} must be an amount ≥ 0 per period, got {value}")
        caps[:, cols] = float(value)
    return caps


def parse_caps(text: str | None) -> dict[str, float]:
    """Parse the CLI form ``email=150,meta=900`` (per period, in currency)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, val = part.partition("=")
        if key.strip() in out:
            raise DataError(f"channel '{key.strip()}' is capped twice in '{text}'", hint="give each channel one cap")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            sep = ""
        if not sep:
            raise DataError(f"cap '{part}' must look like channel=amount, e.g. email=150 ('*' for every channel not named)")
    return out
