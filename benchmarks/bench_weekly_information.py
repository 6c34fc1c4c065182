"""Benchmark: how precisely weekly totals can pin media effects when every nonlinear parameter is known (issue 14).

An information bound that does not depend on our model: per tenant of the default universe, regress revenue on
the model's baseline design plus each channel's TRUE contribution (``truth_daily.parquet``, adstock, saturation
and weather multiplier already applied), once on the days and once on the same days summed into weeks. The
coefficient of a true contribution is 1; its ordinary least-squares standard error is the relative precision
with which any model could recover that channel's ROAS from these data. The ratio weekly / daily says how much
of a weekly fit's wider intervals is the data's, not the model's.

    python benchmarks/bench_weekly_information.py [--tenants 20] [--days 730] [--seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import TRUTH_DAILY
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from synthetic import simulate_universe, write_lake


def independent(A: np.ndarray, last: int) -> np.ndarray:
    """``A`` without the columns the others span (by QR), always keeping the last ``last``."""
    _, r = np.linalg.qr(A)
    keep = np.abs(np.diag(r)) > 1e-8 * np.abs(np.diag(r)).max()
    keep[-last:] = True
    return A[:, keep]


def ols_se(A: np.ndarray, y: np.ndarray, last: int) -> np.ndarray:
    """Standard errors of the last ``last`` OLS coefficients of ``y`` on ``A`` (columns A adds nothing to dropped)."""
    A = independent(A, last)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    s2 = resid @ resid / (len(y) - A.shape[1])
    return np.sqrt(np.diag(s2 * np.linalg.inv(A.T @ A)))[-last:]


def weekly(Z: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Rows ``days`` of ``Z`` summed in consecutive blocks of seven (a partial last week dropped)."""
    n = len(days) // 7 * 7
    return Z[days[:n]].reshape(n // 7, 7, -1).sum(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="bench-weekly-info-")) / "lake"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed), lake)
    d = build_design(load_lake(lake))
    per = {}
    for i, t in enumerate(d.tenants):
        media = pd.read_parquet(lake / t / TRUTH_DAILY)[[f"media_{c}" for c in d.channels]].to_numpy()
        days = np.flatnonzero(d.train[i])
        A = np.c_[d.X[i][:, d.keep[i]], media]
        y = d.y_raw[i][:, None]
        daily = ols_se(A[days], y[days, 0], media.shape[1])
        week = ols_se(weekly(A, days), weekly(y, days)[:, 0], media.shape[1])
        per[t] = {"se_daily": daily.round(4).tolist(), "se_weekly": week.round(4).tolist()}
    se_d = np.array([v["se_daily"] for v in per.values()]).ravel()
    se_w = np.array([v["se_weekly"] for v in per.values()]).ravel()
    out = {
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"default universe, {args.tenants} tenants × {args.days} days, seed {args.seed}",
        "median_relative_se_daily": float(np.median(se_d)),
        "median_relative_se_weekly": float(np.median(se_w)),
        "ratio_weekly_over_daily": {"median": float(np.median(se_w / se_d)),
                                    "p10": float(np.percentile(se_w / se_d, 10)), "p90": float(np.percentile(se_w / se_d, 90))},
        # |error| of a normal estimate is 0.674 sd at its median: the best median error these data allow.
        "oracle_median_abs_error": {"daily": float(0.674 * np.median(se_d)), "weekly": float(0.674 * np.median(se_w))},
        "tenants": per,
    }
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / f"weekly-information-{args.tenants}x{args.days}-{dt.date.today()}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k != "tenants"}, indent=2))


if __name__ == "__main__":
    main()
