"""Benchmark: lift tests calibrate a confounded channel (issue 13).

For each scenario (``correlated_spend``: google follows meta; ``capped_spend``: meta at a cap)
one 4-week holdout per tenant on the confounded channel (se 20 % of the true effect) is
written to ``lift_tests.csv``; the lake is fitted without and with the tests. Prints and writes
(``benchmarks/results/lift-<size>-<date>.json``) per scenario: the tested channel's median
|relative ROAS error| and median 90 % interval width, the same for the untested channels,
truth coverage, the lift calibration check and the fit times.

    python benchmarks/bench_lift.py [--tenants 8] [--days 365] [--draws 400] [--tune 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_mmm.data.lake import load_lake  # noqa: E402
from bayes_mmm.data.lift_tests import empty  # noqa: E402
from bayes_mmm.inference.fit import SamplerConfig, fit  # noqa: E402
from bayes_mmm.runs.summary import build_summary  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402
from synthetic.lift import LIFT_COLUMNS, targeted_lift_test  # noqa: E402

#: The channel each scenario confounds.
CONFOUNDED = {"correlated_spend": "google", "capped_spend": "meta"}


def write_tests(lake: Path, tenants: list, channel: str, seed: int) -> None:
    """One holdout per tenant on ``channel``."""
    rng = np.random.default_rng(seed)
    for t in tenants:
        row = targeted_lift_test(rng, t.daily, t.forward, channel)
        pd.DataFrame([row], columns=list(LIFT_COLUMNS)).to_csv(lake / t.tenant_id / "lift_tests.csv", index=False)


def recovery(result, tenants: list, tested: str) -> dict:
    """Median |rel error| and 90 % width (relative to truth) of ROAS, tested vs untested channels."""
    roas = result.idata.posterior["roas"]
    out: dict = {"tested": [], "untested": []}
    for t in tenants:
        for c in result.design.channels:
            d = roas.sel(tenant=t.tenant_id, channel=c).values.ravel()
            truth = t.truth["channels"][c]["roas"]
            q05, q95 = np.quantile(d, [0.05, 0.95])
            out["tested" if c == tested else "untested"].append(
                (abs(np.median(d) / truth - 1), (q95 - q05) / truth, q05 <= truth <= q95))
    return {k: {"median_abs_rel_error": round(float(np.median([x[0] for x in v])), 4),
                "median_rel_width_90": round(float(np.median([x[1] for x in v])), 4),
                "coverage_90": round(float(np.mean([x[2] for x in v])), 3), "pairs": len(v)} for k, v in out.items()}


def run(scenario: str, args: argparse.Namespace, root: Path) -> dict:
    tenants = simulate_universe(args.tenants, args.days, seed=args.seed, scenario=scenario)
    lake = root / scenario
    write_lake(tenants, lake)
    write_tests(lake, tenants, CONFOUNDED[scenario], args.seed + 1)
    ds = load_lake(lake)
    cfg = SamplerConfig(draws=args.draws, tune=args.tune, seed=args.seed, progress=False)
    out = {}
    for label, tests in (("without", empty()), ("with", None)):
        t0 = time.perf_counter()
        result = fit(ds, sampler=cfg, lift_tests=tests)
        seconds = time.perf_counter() - t0
        entry = {"seconds": round(seconds, 1), "sample_seconds": result.sampler["sample_seconds"],
                 "convergence": {k: result.convergence[k] for k in ("ok", "rhat_max", "ess_bulk_min", "divergences")},
                 **recovery(result, tenants, CONFOUNDED[scenario])}
        if label == "with":
            entry["lift_calibration"] = build_summary(result).get("lift_calibration")
        out[label] = entry
        print(scenario, label, json.dumps(entry), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenants", type=int, default=8)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--tune", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenarios", default=",".join(CONFOUNDED))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = {s: run(s, args, Path(tmp)) for s in args.scenarios.split(",")}
    report = {"date": f"{dt.date.today()}", "config": vars(args), "results": res}
    out = Path(__file__).parent / "results" / f"lift-{args.tenants}x{args.days}-{dt.date.today()}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
