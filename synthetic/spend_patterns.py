"""Spend patterns of the scenarios, built on :func:`synthetic.media.simulate_spend`.

``independent`` is the default universe's flighting; the others bend it to
break one identification assumption at a time (co-flighted channels, a
channel pinned at a budget cap, a channel that barely varies) or replace it
with merchant-like spend (weekday rhythm, slow drift, budget steps, a
channel launched mid-window).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synthetic.media import CHANNELS, MAX_SPEND, MIN_SPEND, simulate_spend

__all__ = ["NOT_IDENTIFIED", "SPEND_PATTERNS", "make_spend"]

Spend = dict[str, np.ndarray]


def _independent(rng: np.random.Generator, n: int, budget: float) -> Spend:
    return simulate_spend(rng, n, budget)


def _correlated(rng: np.random.Generator, n: int, budget: float) -> Spend:
    """Google follows meta's flights and pulses (same days on, same level changes)."""
    s = simulate_spend(rng, n, budget)
    ratio = s["google"].sum() / s["meta"].sum()
    follow = s["meta"] * ratio * rng.lognormal(0.0, 0.15, n)
    s["google"] = np.round(np.where(s["meta"] > 0, np.clip(follow, MIN_SPEND, MAX_SPEND), 0.0), 2)
    return s


def _capped(rng: np.random.Generator, n: int, budget: float) -> Spend:
    """Meta at a daily cap whenever demand for it exceeds the cap (~80 % of days)."""
    s = simulate_spend(rng, n, budget)
    cap = float(np.round(rng.uniform(0.9, 1.1) * s["meta"][s["meta"] > 0].mean()))
    wanted = cap * rng.lognormal(0.35, 0.4, n)
    dark = rng.uniform(size=n) < 0.03
    s["meta"] = np.round(np.where(dark, 0.0, np.minimum(wanted, cap)), 2)
    return s


def _flat(rng: np.random.Generator, n: int, budget: float) -> Spend:
    """Email spend every day at the same level +-2 %."""
    s = simulate_spend(rng, n, budget)
    s["email"] = np.round(s["email"].mean() * (1.0 + rng.normal(0.0, 0.02, n)), 2)
    return s


def _merchant(rng: np.random.Generator, n: int, budget: float) -> Spend:
    """Weekday rhythm, log random-walk drift and budget steps; maybe a late launch."""
    shares = rng.dirichlet([6.0, 4.0, 2.0])
    weekday = np.exp(rng.normal(0.0, 0.15, 7))
    dow = np.arange(n) % 7
    out = {}
    for c, share in zip(CHANNELS, shares, strict=True):
        drift = np.clip(np.cumsum(rng.normal(0.0, 0.03, n)), -0.8, 0.8)
        steps = np.ones(n)
        for day in np.flatnonzero(rng.uniform(size=n) < 1 / 90):
            steps[day:] *= rng.uniform(0.6, 1.6)
        x = share * budget * np.exp(drift) * steps * weekday[dow] * rng.lognormal(0.0, 0.2, n)
        out[c] = np.round(x, 2)
    if rng.uniform() < 0.3:  # a channel launched during the window
        late = CHANNELS[1 + int(rng.integers(2))]
        out[late][: int(rng.integers(n // 10, 2 * n // 5))] = 0.0
    return out


SPEND_PATTERNS: dict[str, Callable[[np.random.Generator, int, float], Spend]] = {
    "independent": _independent, "correlated": _correlated, "capped": _capped,
    "flat": _flat, "merchant": _merchant,
}


#: Per pattern, the channels whose effect the spend alone cannot pin down, and why (``truth.json`` ``identification``).
NOT_IDENTIFIED: dict[str, dict[str, str]] = {
    "correlated": {"meta": "co-flighted with google", "google": "co-flighted with meta"},
    "capped": {"meta": "pinned at a daily cap on most days"},
    "flat": {"email": "spend barely varies (+-2 %)"},
}


def make_spend(kind: str, rng: np.random.Generator, n: int, budget: float) -> Spend:
    """Daily spend per channel of :data:`synthetic.media.CHANNELS` for a pattern ``kind``."""
    return SPEND_PATTERNS[kind](rng, n, budget)
