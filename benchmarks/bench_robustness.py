"""Benchmark: the default model on independent data-generating processes (issue 17).

For each scenario of ``synthetic/scenarios.py`` (``docs/scenarios.md``): simulate a lake, fit it with the
default settings through the public API (gates included), and report convergence (R-hat, bulk ESS,
divergences, leapfrog steps per draw), cost (compile + sampling seconds) and recovery of the true ROAS
(coverage of the 90 % intervals, median |relative error|, median interval width relative to the truth),
plus how many tenant×channels the identification checks flag. One JSON per scenario goes to
``benchmarks/results/robustness-<scenario>-<tenants>x<days>-<date>.json``.

    python benchmarks/bench_robustness.py [--scenarios default,correlated_spend,...] [--tenants 20] [--days 730]
                                          [--draws 1000] [--tune 1000]
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


def run_scenario(name: str, args: argparse.Namespace, work: Path) -> dict:
    """Simulate, fit and score one scenario."""
    lake = work / name / "lake"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed, scenario=name), lake, overwrite=True)
    t0 = time.perf_counter()
    summary = fit_lake(lake, "all", work / name / "run", sampler_kwargs={
        "draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed, "progress": False,
    }, allow_gates=("history",), overwrite=True)
    conv, sampler = summary["convergence"], summary["sampler"]
    flagged = sum(bool(e.get("flagged")) for t in summary["tenants"].values() for e in (t.get("identification") or {}).values())
    return {
        "scenario": name,
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"{args.tenants} tenants × {args.days} days, {args.chains} chains × ({args.tune}+{args.draws})",
        "converged": conv["ok"], "rhat_max": conv["rhat_max"], "ess_bulk_min": conv["ess_bulk_min"],
        "divergences": conv["divergences"], "mean_tree_steps": conv.get("mean_tree_steps"),
        "compile_seconds": sampler.get("compile_seconds"), "sample_seconds": sampler.get("sample_seconds"),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "recovery": recovery(summary, lake),
        "identification_flagged": flagged,
    }


def main() -> None:
    """Run the chosen scenarios one after another and print one JSON line each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-robust-") as tmp:
        for name in args.scenarios.split(","):
            out = run_scenario(name.strip(), args, Path(tmp))
            path = res_dir / f"robustness-{name}-{args.tenants}x{args.days}-{dt.date.today()}.json"
            path.write_text(json.dumps(out, indent=2))
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
