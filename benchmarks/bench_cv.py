"""Benchmark: walk-forward CV pass rate, and holdout R² against the oracle's (issues: model checking, 17).

Fits a scenario's universe (default: the default universe, 20 tenants × 730 days) in 5
expanding-window folds, each against naive-seasonal and Ridge baselines, and reports the
share of tenants that meet the seed's bar (holdout R² ≥ 0.65 high/extreme, ≥ 0.45 medium,
≥ 0.15 none; MAPE < 15 %; RMSE ≥ 10 % below the best baseline).

Per tenant it also reports the oracle's holdout R² — the R² of the TRUE expected revenue
(``truth_daily.parquet``) on the same holdout days of the same folds — next to the model's,
the weather-sensitivity class the verdict used (and the true one when the truth has it),
and the share of tenants whose mean holdout R² is at most 0.1 below the oracle's, overall
and per class (issue 17's bar).

    python benchmarks/bench_cv.py [--scenario default] [--tenants 20] [--days 730] [--folds 5] [--draws 0] [--tune 0] [--chains 2] [--spec JSON]
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
import pandas as pd  # noqa: E402

from bayes_mmm.analysis.cv import metrics, pass_rate, walk_forward, walk_forward_folds  # noqa: E402
from bayes_mmm.core.constants import TRUTH_DAILY, TRUTH_JSON  # noqa: E402
from bayes_mmm.core.spec import ModelSpec  # noqa: E402
from bayes_mmm.data.lake import load_lake  # noqa: E402
from bayes_mmm.data.sensitivity import dataset_sensitivity  # noqa: E402
from bayes_mmm.inference.fit import SamplerConfig  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402

WITHIN = 0.1  # issue 17: holdout R² within 0.1 of the oracle's


def oracle_r2(ds, lake: Path, n_folds: int) -> dict[str, dict[int, float]]:
    """Per tenant and fold, holdout R² of the true expected revenue on the fold's test days (same folds as CV)."""
    folds = walk_forward_folds(ds["observed"].values, n_folds)  # the cv defaults (first_train 0.5)
    y_all = np.nan_to_num(ds["revenue"].values)
    dates = pd.DatetimeIndex(ds["date"].values)
    out: dict[str, dict[int, float]] = {}
    for i, t in enumerate(str(x) for x in ds["tenant"].values):
        td = pd.read_parquet(lake / t / TRUTH_DAILY)
        expected = td.set_index(pd.DatetimeIndex(td["date"]))["expected_revenue"].reindex(dates).to_numpy(float)
        out[t] = {k: metrics(y_all[i, f.test[i]], expected[f.test[i]])["r2"] for k, f in enumerate(folds) if f.test[i].any()}
    return out


def versus_oracle(cv: dict, oracle: dict, classes: dict, lake: Path) -> tuple[dict, dict]:
    """Per tenant: model and oracle mean holdout R² over the folds the tenant took part in, class, within 0.1?"""
    rows = {}
    for t, e in cv.items():
        ks = [f["fold"] for f in e["folds"]]
        orc = float(np.mean([oracle[t][k] for k in ks])) if ks else float("nan")
        truth = json.loads((lake / t / TRUTH_JSON).read_text())
        rows[t] = {"r2_mean": e["r2_mean"], "oracle_r2_mean": round(orc, 4),
                   "gap_to_oracle": round(orc - e["r2_mean"], 4), "within_0.1": bool(e["r2_mean"] >= orc - WITHIN),
                   "folds_converged": sum(bool(f.get("converged")) for f in e["folds"]), "folds": len(ks),
                   "class": classes[t], "true_class": truth.get("sensitivity")}
    by_class: dict[str, dict] = {}
    for cls in sorted({r["class"] for r in rows.values()}):
        rs = [r for r in rows.values() if r["class"] == cls]
        by_class[cls] = {"tenants": len(rs), "mean_r2": round(float(np.mean([r["r2_mean"] for r in rs])), 4),
                         "mean_oracle_r2": round(float(np.mean([r["oracle_r2_mean"] for r in rs])), 4),
                         "share_within_0.1": round(float(np.mean([r["within_0.1"] for r in rs])), 3)}
    return rows, by_class


def by_fold(cv: dict, oracle: dict) -> list[dict]:
    """Per fold: tenants, median training days, mean model and oracle holdout R², whether the fold's fit converged."""
    out = []
    for k in sorted({f["fold"] for e in cv.values() for f in e["folds"]}):
        rows = [(t, f) for t, e in cv.items() for f in e["folds"] if f["fold"] == k]
        out.append({"fold": k, "tenants": len(rows), "train_days_median": int(np.median([f["train_days"] for _, f in rows])),
                    "mean_r2": round(float(np.mean([f["r2"] for _, f in rows])), 4),
                    "mean_oracle_r2": round(float(np.mean([oracle[t][k] for t, _ in rows])), 4),
                    "converged": all(bool(f.get("converged")) for _, f in rows)})
    return out


def main() -> None:
    """Run walk-forward CV and print/write the pass rate and per-tenant table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--draws", type=int, default=0, help="draws per chain of each fold fit; 0: sized as the cv command does")
    ap.add_argument("--tune", type=int, default=0, help="0: sized as the cv command does")
    ap.add_argument("--chains", type=int, default=2, help="the cv command's default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    ap.add_argument("--scenario", default="default", help="a scenario of synthetic/scenarios.py (docs/scenarios.md)")
    ap.add_argument("--spec", default="{}", help='ModelSpec fields as JSON, e.g. \'{"baseline_scale": 0.1}\' (default: none)')
    args = ap.parse_args()
    spec = ModelSpec(**json.loads(args.spec))
    lake = Path(tempfile.mkdtemp(prefix="bench-cv-")) / "lake"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed, scenario=args.scenario), lake)
    ds = load_lake(lake)
    classes = {t: v["class"] for t, v in dataset_sensitivity(ds).items()}  # what walk_forward's verdict uses
    t0 = time.perf_counter()
    sampler = SamplerConfig(chains=args.chains, draws=args.draws or None, tune=args.tune or None, seed=args.seed, progress=False)
    cv = walk_forward(ds, spec, sampler=sampler, n_folds=args.folds, progress=True)
    secs = time.perf_counter() - t0
    oracle = oracle_r2(ds, lake, args.folds)
    vs, by_class = versus_oracle(cv, oracle, classes, lake)
    rows = {t: {k: e[k] for k in ("r2_mean", "mape_mean", "naive_r2_mean", "ridge_r2_mean", "rmse_mean", "baseline_rmse_mean")}
            | vs[t] | {"go": e["verdict"]["go"], "reasons": e["verdict"]["reasons"]} for t, e in cv.items()}
    out = {
        "scenario": args.scenario,
        "spec": json.loads(args.spec),  # fields that differ from the default ModelSpec
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        # "sized": chosen per fold as `fit` chooses them (SamplerConfig.sized).
        "workload": f"{args.tenants} tenants × {args.days} days, {args.folds} folds, {sampler.chains} chains × "
                    f"(warm-up {args.tune or 'sized'} + draws {args.draws or 'sized'}) per fold",
        "seconds": round(secs, 1),
        "pass_rate": pass_rate(cv),
        "mean_holdout_r2": float(np.mean([r["r2_mean"] for r in rows.values()])),
        "mean_ridge_r2": float(np.mean([r["ridge_r2_mean"] for r in rows.values()])),
        "mean_naive_r2": float(np.mean([r["naive_r2_mean"] for r in rows.values()])),
        "mean_oracle_r2": float(np.mean([r["oracle_r2_mean"] for r in rows.values()])),
        "share_within_0.1_of_oracle": float(np.mean([r["within_0.1"] for r in rows.values()])),
        "by_class": by_class,
        "by_fold": by_fold(cv, oracle),
        "tenants": rows,
    }
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    tag = "" if args.scenario == "default" else f"{args.scenario}-"
    suffix = f"-{args.tag}" if args.tag else ""
    (res / f"cv-{tag}{args.tenants}x{args.days}{suffix}-{dt.date.today()}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
