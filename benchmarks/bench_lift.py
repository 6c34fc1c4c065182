"""Benchmark: lift tests calibrate a confounded channel (issue 13).

For each scenario (``correlated_spend``: google follows meta; ``capped_spend``: meta at a cap)
``--tests`` disjoint 4-week holdouts (se 20 % of the true effect each; the windows of most
spend) on the confounded channel are written to the
``lift_tests.csv`` of every tenant but the last ``--untested`` ones; the lake is fitted without
and with the tests. Per scenario it reports, for three groups of tenant × channel pairs,

* ``tested``: the tested channel of tested tenants;
* ``untested_channels``: the other channels of tested tenants;
* ``pooled_channel``: the tested channel of untested tenants (reached only through pooling);

the median |relative ROAS error|, the median 90 % width (relative to the true ROAS), the
median per-pair width ratio calibrated / uncalibrated and the truth's coverage; then the
allocator's regret against the true optimum (``bench_allocate.bench_regret``, one week) with
and without tests, the lift calibration check and the fit times (with / without ratio).
Results go to ``benchmarks/results/lift-<tenants>x<days>-<date>.json``.

    python benchmarks/bench_lift.py [--tenants 8] [--untested 2] [--days 365] [--tests 1] [--draws 400] [--tune 400] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_allocate import bench_regret  # noqa: E402
from oracle_truth import oracle_lake  # noqa: E402

from bayes_mmm.data.lake import load_lake  # noqa: E402
from bayes_mmm.data.lift_tests import empty  # noqa: E402
from bayes_mmm.inference.fit import SamplerConfig, fit  # noqa: E402
from bayes_mmm.runs.lift import own_width  # noqa: E402
from bayes_mmm.runs.summary import save_run  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402
from synthetic.lift import LIFT_COLUMNS, targeted_lift_tests  # noqa: E402

#: The channel each scenario confounds.
CONFOUNDED = {"correlated_spend": "google", "capped_spend": "meta"}
GROUPS = ("tested", "untested_channels", "pooled_channel")


def write_tests(lake: Path, tenants: list, channel: str, seed: int, k: int = 1) -> dict[str, float]:
    """``k`` disjoint 4-week holdouts on ``channel`` per tenant in ``tenants``; ``tenant -> tests' own width``.

    The width is what the tests alone say about the channel's effect scale: the 90 % width, relative
    to the truth, of the precision-weighted mean of the tests' true relative effects
    (:func:`bayes_mmm.runs.lift.own_width`). A calibrated posterior cannot be much narrower than this, whatever the model.
    """
    rng = np.random.default_rng(seed)
    own = {}
    for t in tenants:
        rows = targeted_lift_tests(rng, t.daily, t.forward, channel, k)
        pd.DataFrame(rows, columns=list(LIFT_COLUMNS)).to_csv(lake / t.tenant_id / "lift_tests.csv", index=False)
        own[t.tenant_id] = own_width([r["true_incremental_revenue"] for r in rows], [r["se"] for r in rows])
    return own


def group_of(tenant: str, channel: str, tested: set[str], tested_channel: str) -> str | None:
    """Which reported group a tenant × channel pair belongs to (None: an untested tenant's other channels)."""
    if tenant in tested:
        return "tested" if channel == tested_channel else "untested_channels"
    return "pooled_channel" if channel == tested_channel else None


def roas_intervals(result, tenants: list) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """``(tenant, channel) -> (truth, median, q05, q95)`` of ROAS for every channel a tenant has."""
    roas = result.idata.posterior["roas"]
    out = {}
    for t in tenants:
        for c in result.design.channels:
            if c not in t.truth["channels"]:
                continue
            d = roas.sel(tenant=t.tenant_id, channel=c).values.ravel()
            q05, q50, q95 = np.quantile(d, [0.05, 0.5, 0.95])
            out[(t.tenant_id, c)] = (t.truth["channels"][c]["roas"], q50, q05, q95)
    return out


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 4) if values else None


def recovery(without: dict, with_: dict, tested: set[str], channel: str) -> dict:
    """Per group: median |rel error| and relative 90 % width without / with tests, width ratio, coverage."""
    out = {}
    for g in GROUPS:
        keys = [k for k in without if group_of(*k, tested, channel) == g]
        entry: dict = {"pairs": len(keys)}
        for label, ivs in (("without", without), ("with", with_)):
            entry[label] = {
                "median_abs_rel_error": _median([abs(ivs[k][1] / ivs[k][0] - 1) for k in keys]),
                "median_rel_width_90": _median([(ivs[k][3] - ivs[k][2]) / ivs[k][0] for k in keys]),
                "coverage_90": round(float(np.mean([ivs[k][2] <= ivs[k][0] <= ivs[k][3] for k in keys])), 3) if keys else None,
            }
        entry["median_width_ratio_with_over_without"] = _median(
            [(with_[k][3] - with_[k][2]) / (without[k][3] - without[k][2]) for k in keys])
        out[g] = entry
    return out


def fit_and_save(ds, cfg: SamplerConfig, tests, run: Path, lake: Path) -> tuple:
    """Fit (timed), write the run folder; (result, summary, seconds)."""
    t0 = time.perf_counter()
    result = fit(ds, sampler=cfg, lift_tests=tests)
    seconds = time.perf_counter() - t0
    return result, save_run(result, run, lake=lake, overwrite=True), seconds


def run(scenario: str, args: argparse.Namespace, root: Path) -> dict:
    """Both fits of one scenario and everything the issue's "Measured" asks for."""
    tenants = simulate_universe(args.tenants, args.days, seed=args.seed, scenario=scenario)
    lake = root / scenario / "lake"
    write_lake(tenants, lake, overwrite=True)
    channel = CONFOUNDED[scenario]
    n_tested = max(len(tenants) - args.untested, 1)
    own_width = write_tests(lake, tenants[:n_tested], channel, args.seed + 1, args.tests)
    tested = set(own_width)
    oracle = oracle_lake(lake, root / scenario / "oracle_lake")  # truth in the layout bench_regret reads
    ds = load_lake(lake)
    chosen = {k: getattr(args, k) for k in ("draws", "tune", "target_accept") if getattr(args, k) is not None}
    cfg = SamplerConfig(**chosen, seed=args.seed, progress=False)  # unset: the product's defaults
    fits, out = {}, {"tested_channel": channel, "tested_tenants": sorted(tested)}
    for label, tests in (("without", empty()), ("with", None)):
        result, summary, seconds = fit_and_save(ds, cfg, tests, root / scenario / f"run_{label}", lake)
        fits[label] = roas_intervals(result, tenants)
        conv = result.convergence
        out[f"fit_{label}"] = {"seconds": round(seconds, 1), "compile_seconds": result.sampler["compile_seconds"],
                               "sample_seconds": result.sampler["sample_seconds"], "rounds": result.sampler.get("rounds", 1),
                               "convergence": {k: conv[k] for k in ("ok", "rhat_max", "ess_bulk_min", "divergences")}}
        if label == "with":
            out["lift_calibration"] = summary.get("lift_calibration")
        regret = bench_regret(root / scenario / f"run_{label}", oracle, None, args.plan_days, "mean")
        out[f"regret_{label}"] = {k: regret[k] for k in ("regret_pct", "oracle_uplift_over_current", "true_incremental_revenue")}
        print(scenario, label, json.dumps(out[f"fit_{label}"]), json.dumps(out[f"regret_{label}"]["regret_pct"]), flush=True)
    out["recovery"] = recovery(fits["without"], fits["with"], tested, channel)
    out["recovery"]["tested"]["median_tests_own_width_90"] = _median(list(own_width.values()))
    out["fit_seconds_ratio_with_over_without"] = round(out["fit_with"]["seconds"] / out["fit_without"]["seconds"], 3)
    out["sample_seconds_ratio_with_over_without"] = round(
        out["fit_with"]["sample_seconds"] / max(out["fit_without"]["sample_seconds"], 1e-9), 3)
    print(scenario, "recovery", json.dumps(out["recovery"]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=8)
    ap.add_argument("--untested", type=int, default=2, help="the last N tenants get no lift test (pooling effects)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--tests", type=int, default=1, help="disjoint 4-week holdouts per tested tenant (se 20 %% each)")
    ap.add_argument("--draws", type=int, default=None, help="default: the product's (sized to the data)")
    ap.add_argument("--tune", type=int, default=None)
    ap.add_argument("--target-accept", type=float, default=None, help="default: the product's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plan-days", type=int, default=7, help="days of the allocator's plan for the regret")
    ap.add_argument("--scenarios", default=",".join(CONFOUNDED))
    ap.add_argument("--keep", type=Path, default=None, help="keep the lakes and run folders under this folder")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-lift-"))
    try:
        res = {s: run(s, args, root) for s in args.scenarios.split(",")}
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report = {"date": f"{dt.date.today()}", "config": config, "results": res}
    out = Path(__file__).parent / "results" / f"lift-{args.tenants}x{args.days}-{args.tests}tests-{dt.date.today()}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
