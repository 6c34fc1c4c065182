"""Lift tests in summary.json: each test, the model's prediction for it, and a calibration check.

Per tenant (``tenants.<id>.lift_tests``) one entry per row of its ``lift_tests.csv``: the test
as read, whether the fit used it (``used``, ``note`` says why not), and for used tests the
posterior of the model's incremental revenue (``predicted``: mean and central 90 % interval, in
currency) — the very ``lift_predicted`` draws of the sampled graph, scaled back.

Two checks per test, both recorded:

* ``inside_90``: the measured value lies in the 90 % interval of the model's *true* lift. With a
  noisy measurement this fails more often than 10 % even for a perfect model.
* ``inside_90_with_se``: the measured value lies in the 90 % interval of the model's lift plus
  measurement noise N(0, se²) — the interval a calibrated model should cover ≈ 90 % of the time.

And per calibrated channel, how tightly the tests alone pin its effect (:func:`experiment_width`),
so an analyst can see whether more experiments would narrow a ROAS interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import CHANNEL, TENANT
from bayes_mmm.model.draws import stacked

if TYPE_CHECKING:  # the fit pulls in PyMC; identification (read by the allocator) needs only calibrated_channels
    from bayes_mmm.inference.fit import FitResult

#: Extra noise draws per posterior draw for the se-widened interval.
NOISE_DRAWS = 4

#: Standard normal quantile of a central 90 % interval.
Z90 = 1.6449


def _interval(draws: np.ndarray) -> dict[str, float]:
    q = np.quantile(draws, [0.05, 0.5, 0.95])
    return {"mean": round(float(draws.mean()), 2), "q05": round(float(q[0]), 2), "q50": round(float(q[1]), 2),
            "q95": round(float(q[2]), 2)}


def _test_fields(row: pd.Series) -> dict:
    """The test as read, JSON-ready (dates as ISO strings, empty fields left out)."""
    out = {"row": int(row["row"]), CHANNEL: str(row[CHANNEL]), "kind": str(row["kind"])}
    if row["kind"] == "window":
        out |= {"start": f"{row['start']:%Y-%m-%d}", "end": f"{row['end']:%Y-%m-%d}",
                "spend_multiplier": float(row["spend_multiplier"])}
    else:
        out |= {"x": float(row["x"]), "delta_x": float(row["delta_x"])}
    return out | {"measured": float(row["incremental_revenue"]), "se": float(row["se"]),
                  "used": bool(row["used"]), "note": str(row["note"])}


def predicted_check(draws: np.ndarray, measured: float, se: float, rng: np.random.Generator) -> dict:
    """Prediction interval of one test from its draws (currency) and both coverage checks."""
    pred = _interval(draws)
    noisy = np.repeat(draws, NOISE_DRAWS) + se * rng.standard_normal(draws.size * NOISE_DRAWS)
    lo, hi = np.quantile(noisy, [0.05, 0.95])
    return {"predicted": pred, "predicted_with_se": {"q05": round(float(lo), 2), "q95": round(float(hi), 2)},
            "inside_90": bool(pred["q05"] <= measured <= pred["q95"]), "inside_90_with_se": bool(lo <= measured <= hi)}


def lift_entries(result: FitResult, seed: int = 0) -> dict[str, list[dict]]:
    """``tenant -> [test entry]`` for every tenant with lift tests (empty dict when none)."""
    lift = result.design.lift
    if lift is None:
        return {}
    rng = np.random.default_rng(seed + 104729)
    post = result.idata.posterior
    draws = stacked(post["lift_predicted"]) if lift.n_tests and "lift_predicted" in post else None
    position = {int(r): k for k, r in enumerate(lift.rows)}
    out: dict[str, list[dict]] = {}
    for r, row in lift.table.iterrows():
        entry = _test_fields(row)
        k = position.get(int(r))
        if k is not None and draws is not None:
            scale = result.design.y_scale[lift.tenant[k]]
            entry |= predicted_check(draws[:, k] * scale, entry["measured"], entry["se"], rng)
        out.setdefault(str(row[TENANT]), []).append(entry)
    return out


def calibrated_channels(tenants: dict[str, dict]) -> dict[str, list[str]]:
    """``tenant -> channels`` that at least one used lift test calibrates."""
    out = {}
    for tid, entry in tenants.items():
        chans = sorted({t[CHANNEL] for t in entry.get("lift_tests", []) if t["used"]})
        if chans:
            out[tid] = chans
    return out


def own_width(effects: list[float], se: list[float]) -> float | None:
    """90 % width, relative to the effect, of the precision-weighted mean of tests' relative effects.

    ``2 · 1.645 / √Σ (effect / se)²``; None when every effect is 0 (no scale to be relative to).
    """
    total = float(np.sum((np.asarray(effects, float) / np.asarray(se, float)) ** 2))
    return float(2 * Z90 / np.sqrt(total)) if total > 0 else None


def experiment_width(tenants: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """``tenant -> channel -> {tests, width_90}``: the 90 % width the used tests alone give the channel's effect.

    The width, relative to the effect, is that of the precision-weighted mean of the tests' relative
    effects (:func:`own_width` of the measured values); it needs no model. A calibrated ROAS interval can
    be narrower only by what the observational data add, and four times as many tests of the same
    precision halve it. Measured (benchmarks/RESULTS.md §15): fitted widths 0.37 and 0.32 where this
    gave 0.38 and 0.33 (three and four holdouts per tenant).
    """
    out: dict[str, dict[str, dict]] = {}
    for tid, entry in tenants.items():
        used: dict[str, list[dict]] = {}
        for t in entry.get("lift_tests", []):
            if t["used"]:
                used.setdefault(t[CHANNEL], []).append(t)
        for ch, tests in sorted(used.items()):
            width = own_width([t["measured"] for t in tests], [t["se"] for t in tests])
            out.setdefault(tid, {})[ch] = {"tests": len(tests), "width_90": None if width is None else round(width, 3)}
    return out


def lift_calibration(tenants: dict[str, dict]) -> dict | None:
    """How many measured values fall in the model's 90 % intervals, over every used test; None without tests."""
    used = [t for e in tenants.values() for t in e.get("lift_tests", []) if t["used"] and "predicted" in t]
    every = [t for e in tenants.values() for t in e.get("lift_tests", [])]
    if not every:
        return None
    return {
        "tests": len(every),
        "used": len(used),
        "inside_90": sum(t["inside_90"] for t in used),
        "inside_90_with_se": sum(t["inside_90_with_se"] for t in used),
        "interval": "central 90 % of the posterior of the model's lift; *_with_se adds the measurement's N(0, se²)",
        "calibrated_channels": calibrated_channels(tenants),
        "experiment_width_90": experiment_width(tenants),
    }
