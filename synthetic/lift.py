"""Simulated lift tests (experiments) with their exact true effect.

A test switches a channel off (multiplier 0) or raises it by half (1.5) for
2-4 whole weeks. Its true effect is re-simulated with the tenant's own
generator: revenue over the window with the actual spend minus revenue with
the channel's spend in the window times the multiplier (carry-over from
before the window is in both; carry-over after ``end`` is not counted).
The measurement adds Gaussian noise with ``se`` 15-40 % of the effect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, SPEND_PREFIX
from synthetic.simulated import Forward

__all__ = ["LIFT_COLUMNS", "simulate_lift_tests", "targeted_lift_test", "targeted_lift_tests", "true_lift"]

LIFT_COLUMNS = ("channel", "start", "end", "spend_multiplier", "incremental_revenue", "se")
_GAP = 7  # days between two tests of one tenant


def true_lift(forward: Forward, spend: dict[str, np.ndarray], channel: str, start: int, end: int,
              multiplier: float) -> float:
    """Exact effect over days ``start..end`` (inclusive) of actual spend vs spend x ``multiplier``."""
    cf = spend[channel].copy()
    cf[start:end + 1] *= multiplier
    delta = forward(spend) - forward(spend | {channel: cf})
    return float(delta[start:end + 1].sum())


def _windows(rng: np.random.Generator, n: int, k: int) -> list[tuple[int, int]]:
    """Up to ``k`` non-overlapping windows of 2-4 weeks starting on week starts (day 0 + 7j)."""
    taken = np.zeros(n + _GAP, dtype=bool)
    out: list[tuple[int, int]] = []
    for _ in range(50 * k):
        if len(out) == k:
            break
        length = 7 * int(rng.integers(2, 5))
        starts = np.arange(14, n - length + 1, 7)  # two weeks of carry-over history first
        if len(starts) == 0:
            break
        s = int(rng.choice(starts))
        if not taken[max(s - _GAP, 0):s + length + _GAP].any():
            taken[s:s + length] = True
            out.append((s, s + length - 1))
    return sorted(out)


def simulate_lift_tests(
    rng: np.random.Generator, daily: pd.DataFrame, forward: Forward, k: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``k`` experiments on a tenant's daily table: the ``lift_tests.csv`` rows and their truth.

    Returns
    -------
    (pandas.DataFrame, list of dict)
        Rows with :data:`LIFT_COLUMNS`, and per row the same plus
        ``true_incremental_revenue`` for ``truth.json``.
    """
    spend = {c[len(SPEND_PREFIX):]: daily[c].to_numpy(float) for c in daily if c.startswith(SPEND_PREFIX)}
    dates = pd.DatetimeIndex(daily[DATE])
    rows, truth = [], []
    for s, e in _windows(rng, len(dates), k):
        live = [c for c, x in spend.items() if x[s:e + 1].sum() > 0]
        if not live:
            continue
        c, mult = str(rng.choice(live)), float(rng.choice([0.0, 1.5]))
        effect = true_lift(forward, spend, c, s, e, mult)
        se = abs(effect) * rng.uniform(0.15, 0.40) or 1.0
        row = {"channel": c, "start": str(dates[s].date()), "end": str(dates[e].date()),
               "spend_multiplier": mult, "incremental_revenue": round(effect + rng.normal(0.0, se), 2),
               "se": round(se, 2)}
        rows.append(row)
        truth.append(row | {"true_incremental_revenue": effect})
    return pd.DataFrame(rows, columns=list(LIFT_COLUMNS)), truth


def targeted_lift_tests(rng: np.random.Generator, daily: pd.DataFrame, forward: Forward, channel: str, k: int = 1,
                        weeks: int = 4, se_frac: float = 0.2, multiplier: float = 0.0) -> list[dict[str, Any]]:
    """``k`` experiments on a chosen ``channel``: the disjoint ``weeks``-long windows of most spend, greedily.

    For benchmarks and tests that calibrate one named channel per tenant; windows start after
    two weeks of history and keep :data:`_GAP` days apart. Each row has :data:`LIFT_COLUMNS`
    plus ``true_incremental_revenue``; ``se`` is ``se_frac`` of |effect|. Fewer than ``k``
    rows when the data hold no more disjoint windows.
    """
    spend = {c[len(SPEND_PREFIX):]: daily[c].to_numpy(float) for c in daily if c.startswith(SPEND_PREFIX)}
    length, dates = 7 * weeks, pd.DatetimeIndex(daily[DATE])
    total = np.convolve(spend[channel], np.ones(length), "valid")
    total[:14] = -np.inf  # two weeks of carry-over history first
    rows = []
    for _ in range(k):
        if not np.isfinite(total).any():
            break
        s = int(np.argmax(total))
        e = s + length - 1
        total[max(s - length - _GAP + 1, 0):e + _GAP + 1] = -np.inf  # no later window may overlap or touch this one
        effect = true_lift(forward, spend, channel, s, e, multiplier)
        se = abs(effect) * se_frac or 1.0
        rows.append({"channel": channel, "start": str(dates[s].date()), "end": str(dates[e].date()),
                     "spend_multiplier": multiplier, "incremental_revenue": round(effect + rng.normal(0.0, se), 2),
                     "se": round(se, 2), "true_incremental_revenue": effect})
    return sorted(rows, key=lambda r: r["start"])


def targeted_lift_test(rng: np.random.Generator, daily: pd.DataFrame, forward: Forward, channel: str, weeks: int = 4,
                       se_frac: float = 0.2, multiplier: float = 0.0) -> dict[str, Any]:
    """One experiment on ``channel``: the ``weeks``-long window of most spend (:func:`targeted_lift_tests`)."""
    return targeted_lift_tests(rng, daily, forward, channel, 1, weeks, se_frac, multiplier)[0]
