"""Benchmark: the default model on independent data-generating processes (issue 17).

For each scenario of ``synthetic/scenarios.py`` (``docs/scenarios.md``): simulate a lake, fit it with the
default settings through the public API (gates included), and report convergence (R-hat, bulk ESS,
divergences, leapfrog steps per draw), cost (compile + sampling seconds) and recovery of the true ROAS
(coverage of the 90 % intervals, median |relative error|, median interval width relative to the truth),
the identification flags as (tenant, channel, reason) scored against the scenario's truth
(``truth.json`` ``identification.not_identified``: flagged where expected, flagged elsewhere, missed),
and issue 16's decision metrics (:func:`bench_allocate.decision_metrics`: harm rate, regret against
the trust-region oracle, share of the free oracle's uplift, on the true response). One JSON per
scenario goes to ``benchmarks/results/robustness-<scenario>-<tenants>x<days>-<date>.json``.

    python benchmarks/bench_robustness.py [--scenarios default,correlated_spend,...] [--tenants 20] [--days 730]
                                          [--draws N] [--tune N] [--chains N] [--keep DIR] [--no-decisions]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
from bench_allocate import decision_metrics  # noqa: E402

from bayes_mmm.analysis.evaluate import evaluate_summary  # noqa: E402
from bayes_mmm.api import fit_lake  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402
from synthetic.scenarios import SCENARIOS  # noqa: E402


def recovery(summary: dict, lake: Path) -> dict:
    """Coverage, median relative error and median relative width of the ROAS intervals against the truth."""
    ev = evaluate_summary(summary, lake)
    pairs = [p for p in ev["pairs"] if p.get("true_roas")]
    width = [(p["q95"] - p["q05"]) / p["true_roas"] for p in pairs]
    return {
        "coverage_90": ev["overall"]["coverage_90"],
        "median_abs_rel_error": ev["overall"]["median_abs_rel_error"],
        "median_rel_width": round(float(np.median(width)), 3) if width else None,
        "pairs": len(pairs),
    }


def identification(summary: dict, lake: Path) -> dict:
    """The flags as (tenant, channel, reason), scored against what the scenario's truth says is not identified."""
    flags = [[t, ch, "; ".join(e.get("reasons") or [])] for t, te in summary["tenants"].items()
             for ch, e in (te.get("identification") or {}).items() if e.get("flagged")]
    expected = set()
    for t in summary["tenants"]:
        truth = json.loads((lake / t / "truth.json").read_text())
        expected |= {(t, ch) for ch in (truth.get("identification") or {}).get("not_identified", {})}
    got = {(t, ch) for t, ch, _ in flags}
    return {
        "flags": flags,
        "expected_not_identified": sorted([t, ch] for t, ch in expected),
        "flagged_where_expected": len(got & expected),
        "flagged_elsewhere": len(got - expected),
        "missed": len(expected - got),
    }


def run_scenario(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Simulate, fit and score one scenario."""
    lake = work / name / "lake"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed, scenario=name), lake, overwrite=True)
    t0 = time.perf_counter()
    # Unset sampler options keep the product's defaults (what a user's `bayes-mmm fit` does).
    chosen = {k: getattr(args, k) for k in ("draws", "tune", "chains", "top_up") if getattr(args, k) is not None}
    spec = {**json.loads(args.spec), **({} if args.residual_ar is None else {"residual_ar": args.residual_ar})}
    summary = fit_lake(lake, "all", work / name / "run", spec_kwargs=spec, sampler_kwargs={**chosen, "seed": args.seed, "progress": False},
                       allow_gates=("history",), overwrite=True)
    conv, sampler = summary["convergence"], summary["sampler"]
    ident = identification(summary, lake)
    return {
        "scenario": name,
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"{args.tenants} tenants × {args.days} days, {sampler['chains']} chains × ({sampler['tune']}+{sampler['draws']})",
        "centred": sampler.get("centred"),
        "spec": spec,
        "adstock": summary["config"]["spec"]["adstock"],  # the shape fitted (the screen's choice by default)
        "fitted_spec": {k: v for k, v in summary["config"]["spec"].items() if k != "priors"},  # defaults change; this does not
        "residual_ar": {t: e.get("residual_ar") for t, e in summary["tenants"].items()},
        "noise_power": {t: e.get("noise_power") for t, e in summary["tenants"].items()},
        "noise_nu": {t: e.get("noise_nu") for t, e in summary["tenants"].items()},
        "converged": conv["ok"], "rhat_max": conv["rhat_max"], "ess_bulk_min": conv["ess_bulk_min"],
        "divergences": conv["divergences"], "mean_tree_steps": conv.get("mean_tree_steps"),
        "worst_rhat": conv.get("worst_rhat"),
        "compile_seconds": sampler.get("compile_seconds"), "sample_seconds": sampler.get("sample_seconds"),
        "rounds": sampler.get("rounds"), "target_accept_kept": sampler.get("target_accept_kept"),
        "retried_divergences": sampler.get("retried_divergences"), "retry": sampler.get("retry"),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "recovery": recovery(summary, lake),
        "identification_flagged": len(ident["flags"]),
        "identification": ident,
        "decisions": decision_metrics(work / name / "run", lake, args.plan_days) if args.decisions else None,
    }


def main() -> None:
    """Run the chosen scenarios one after another and print one JSON line each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--draws", type=int, default=None, help="default: the product's (sized to the data)")
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    ap.add_argument("--top-up", type=int, default=None, help="extra sampling rounds allowed (default: the product's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="keep each scenario's lake and run folder in DIR/<scenario>/")
    ap.add_argument("--plan-days", type=int, default=7, help="plan length of the decision metrics")
    ap.add_argument("--residual-ar", default=None, choices=("auto", "all", "none"), help="AR(1) noise for which tenants (default: the spec's)")
    ap.add_argument("--spec", default="{}", help='ModelSpec fields as JSON, e.g. \'{"half_sat_floor": 0.1}\' (default: none)')
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    ap.add_argument("--no-decisions", dest="decisions", action="store_false", help="skip the decision metrics")
    args = ap.parse_args()
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-robust-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        for name in args.scenarios.split(","):
            out = run_scenario(name.strip(), args, work)
            ar = ("" if args.residual_ar is None else f"-ar_{args.residual_ar}") + (f"-{args.tag}" if args.tag else "")
            path = res_dir / f"robustness-{name}-{args.tenants}x{args.days}{ar}-{dt.date.today()}.json"
            path.write_text(json.dumps(out, indent=2))
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
