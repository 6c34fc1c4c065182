"""Benchmark (issue 16): decisions a merchant can trust, scored against the TRUE response.

On a synthetic lake (``synthetic.write_lake``: ``truth.json`` beside each tenant) and a
run fitted on it, every tenant keeps its current budget over the plan's days (what
``demo`` does) and the plan with default settings (trust region, do no harm) is scored
with synthetic's own response functions (:func:`bench_allocate.true_revenue`):

* harm rate — share of tenants whose plan earns less than their current mix;
* regret against the true oracle constrained to the same trust region (median over
  tenants, % of that oracle's uplift over current);
* share of the unconstrained true oracle's uplift that the default plan captures;
* speed of the default plan (and, with ``--speed``, the 20 × 3 × 7 × 1,000-draw case).

    python benchmarks/bench_decisions.py --run RUN --lake LAKE [--days 7] [--speed] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from bench_allocate import bench_speed, read_lake, true_revenue, truth_problem

from bayes_mmm.decide.allocate import DEFAULT_TRUST, FREE, allocate_run, optimise
from bayes_mmm.decide.bounds import trust_bounds


def _plans(run: Path, tenants: list[str], channels: list[str], budgets: dict[str, float], days: int) -> dict[str, Any]:
    """Our default plan and the posterior's unguarded optimum, as ``(N, C, D)`` arrays, with timings."""
    out: dict[str, Any] = {}
    for name, kw in (("ours", {}), ("posterior_optimum", {"trust": FREE, "confidence": None})):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = allocate_run(run, sum(budgets.values()), days=days, tenant_budgets=budgets, allow_unconverged=True, **kw)
        out[name] = np.array([[plan["tenants"][t]["plan"].get(ch, [0.0] * days) for ch in channels] for t in tenants])
        out[f"{name}_seconds"] = time.perf_counter() - t0
        out[f"{name}_json"] = plan
    out["current"] = np.array([[out["ours_json"]["tenants"][t]["current"].get(ch, [0.0] * days) for ch in channels] for t in tenants])
    return out


def _oracles(prob: Any, current: np.ndarray, spend: np.ndarray, channels: list[str], groups: list) -> dict[str, np.ndarray]:
    """True optima at the same budgets: inside the default trust region, and free (channels the tenant has)."""
    active = spend.sum(axis=-1) > 0
    lo_tr, hi_tr = trust_bounds(DEFAULT_TRUST, None, channels, current, spend, active)
    free_hi = np.where(active[..., None], np.inf, 0.0) * np.ones_like(current)
    starts = {"current": current}
    return {"oracle_trust": optimise(prob, "mean", lo_tr, hi_tr, groups, starts)[0],
            "oracle_free": optimise(prob, "mean", np.zeros_like(current), free_hi, groups, starts)[0]}


def bench(run: Path, lake: Path, days: int) -> dict[str, Any]:
    """Harm rate, trust-region regret and captured uplift of the default plan, on the true response."""
    from bayes_mmm.runs.folder import RunFolder

    idata, summary = RunFolder(run).load()
    tenants = [str(t) for t in idata.constant_data["tenant"].values]
    channels = [str(c) for c in idata.constant_data["channel"].values]
    daily, truth = read_lake(lake, tenants)
    spend = idata.constant_data["spend"].values
    recent = spend[..., -28:].mean(axis=-1)
    budgets = {t: float(recent[i].sum() * days) for i, t in enumerate(tenants)}
    plans = _plans(run, tenants, channels, budgets, days)
    groups = [(np.array([i]), budgets[t]) for i, t in enumerate(tenants)]
    plans.update(_oracles(truth_problem(daily, truth, tenants, channels, days), plans["current"], spend, channels, groups))
    keys = ("current", "ours", "posterior_optimum", "oracle_trust", "oracle_free")
    true = {k: true_revenue(plans[k], daily, truth, tenants, channels) for k in keys}
    cur = true["current"]
    harm = true["ours"] < cur - 1e-6 * np.abs(cur)
    gap_tr = true["oracle_trust"] - cur
    regret = np.where(gap_tr > 1e-6 * np.abs(cur), 100 * (true["oracle_trust"] - true["ours"]) / np.maximum(gap_tr, 1e-12), np.nan)
    ours_json = plans["ours_json"]
    return {
        "run": str(run), "lake": str(lake), "tenants": len(tenants), "days": days,
        "run_converged": bool(summary.get("convergence", {}).get("ok")),
        "harm_rate": float(harm.mean()),
        "harm_rate_posterior_optimum": float((true["posterior_optimum"] < cur - 1e-6 * np.abs(cur)).mean()),
        "regret_vs_trust_oracle_pct": {"median": float(np.nanmedian(regret)) if np.isfinite(regret).any() else None,
                                       "per_tenant": [None if np.isnan(r) else round(float(r), 2) for r in regret]},
        "share_of_free_oracle_uplift": float((true["ours"] - cur).sum() / max((true["oracle_free"] - cur).sum(), 1e-12)),
        "share_of_free_oracle_uplift_posterior_optimum": float((true["posterior_optimum"] - cur).sum() / max((true["oracle_free"] - cur).sum(), 1e-12)),
        "true_uplift_over_current": {k: round(float((true[k] - cur).sum()), 1) for k in keys},
        "steps_toward_optimum": [ours_json["tenants"][t]["step_toward_optimum"] for t in tenants],
        "claimed_prob_beats_current": [round(ours_json["tenants"][t]["prob_plan_beats_current"], 3) for t in tenants],
        "seconds": {"ours": round(plans["ours_seconds"], 2), "posterior_optimum": round(plans["posterior_optimum_seconds"], 2)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--speed", action="store_true", help="also time 20 tenants × 3 channels × 7 days × 1,000 draws")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result: dict[str, Any] = {"decisions": bench(args.run, args.lake, args.days)}
    if args.speed:
        result["speed"] = bench_speed(20, 1000, 7)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
