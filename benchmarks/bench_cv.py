"""Benchmark: walk-forward CV pass rate on the default universe (issue: model checking).

Fits the default universe (20 tenants × 730 days) in 5 expanding-window
folds, each against naive-seasonal and Ridge baselines, and reports the
share of tenants that meet the seed's bar (holdout R² ≥ 0.65 high/extreme,
≥ 0.45 medium, ≥ 0.15 none; MAPE < 15 %; RMSE ≥ 10 % below the best baseline).

    python benchmarks/bench_cv.py [--tenants 20] [--days 730] [--folds 5] [--draws 500]
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

from bayes_mmm.analysis.cv import pass_rate, walk_forward  # noqa: E402
from bayes_mmm.data.lake import load_lake  # noqa: E402
from bayes_mmm.inference.fit import SamplerConfig  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402


def main() -> None:
    """Run walk-forward CV and print/write the pass rate and per-tenant table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="bench-cv-")) / "lake"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed), lake)
    t0 = time.perf_counter()
    cv = walk_forward(load_lake(lake), sampler=SamplerConfig(draws=args.draws, tune=args.draws, seed=args.seed, progress=False),
                      n_folds=args.folds, progress=True)
    secs = time.perf_counter() - t0
    rows = {t: {k: e[k] for k in ("r2_mean", "mape_mean", "naive_r2_mean", "ridge_r2_mean", "rmse_mean", "baseline_rmse_mean")}
            | {"go": e["verdict"]["go"], "reasons": e["verdict"]["reasons"]} for t, e in cv.items()}
    out = {
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"{args.tenants} tenants × {args.days} days, {args.folds} folds, 2 chains × ({args.draws}+{args.draws})",
        "seconds": round(secs, 1),
        "pass_rate": pass_rate(cv),
        "mean_holdout_r2": float(np.mean([r["r2_mean"] for r in rows.values()])),
        "mean_ridge_r2": float(np.mean([r["ridge_r2_mean"] for r in rows.values()])),
        "mean_naive_r2": float(np.mean([r["naive_r2_mean"] for r in rows.values()])),
        "tenants": rows,
    }
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / f"cv-{args.tenants}x{args.days}-{dt.date.today()}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
