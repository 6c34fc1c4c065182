"""Benchmark: joint fit of the default universe — speed, convergence, memory, recovery.

Workload (issue: model): 20 tenants × 730 days × 3 channels, one joint model,
2 chains × 1000 tune + 1000 draws with nutpie. Prints a JSON line with compile
and sampling time, ESS per second, peak memory, convergence and ROAS recovery,
and writes it to ``benchmarks/results/fit-<date>.json``. Optionally fits
PyMC-Marketing's MMM on the same tenants one by one (``--pymc-marketing N``,
needs the ``bench`` extra).

    python benchmarks/bench_fit.py [--tenants 20] [--days 730] [--draws 1000] [--tune 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

from bayes_mmm.analysis.evaluate import evaluate_summary  # noqa: E402
from bayes_mmm.core.spec import ModelSpec  # noqa: E402
from bayes_mmm.data.lake import load_lake  # noqa: E402
from bayes_mmm.inference.fit import SamplerConfig, fit  # noqa: E402
from bayes_mmm.runs.summary import save_run  # noqa: E402
from synthetic import simulate_universe, write_lake  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_pymc_marketing(lake: Path, tenants: list[str], draws: int, tune: int, seed: int) -> dict:
    """Fit PyMC-Marketing's MMM per tenant with the same draws; wall time and ESS/s."""
    import arviz as az
    import pandas as pd
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    rows = []
    for tid in tenants:
        df = pd.read_csv(lake / tid / "daily.csv", parse_dates=["date"])
        channels = [c for c in df.columns if c.startswith("spend_")]
        mmm = MMM(
            date_column="date",
            channel_columns=channels,
            control_columns=["temp_c", "precip_mm"],
            adstock=GeometricAdstock(l_max=14),
            saturation=LogisticSaturation(),
            yearly_seasonality=3,
        )
        t0 = time.perf_counter()
        idata = mmm.fit(df[["date", *channels, "temp_c", "precip_mm"]], df["revenue"], draws=draws, tune=tune,
                        chains=2, random_seed=seed, nuts_sampler="nutpie", progressbar=False)
        secs = time.perf_counter() - t0
        s = az.summary(idata, kind="diagnostics")
        rows.append({"tenant": tid, "seconds": secs, "ess_bulk_min": float(s.ess_bulk.min()), "rhat_max": float(s.r_hat.max()),
                     "divergences": int(idata.sample_stats.diverging.sum())})
    total = sum(r["seconds"] for r in rows)
    return {"tenants": rows, "seconds": total, "seconds_per_tenant": total / len(rows),
            "ess_per_second_per_tenant": float(np.mean([r["ess_bulk_min"] / r["seconds"] for r in rows])),
            "ess_bulk_min": min(r["ess_bulk_min"] for r in rows)}


def main() -> None:
    """Run the benchmark and print/write its JSON result."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--draws", type=int, default=1000, help="0: the product's sizing (and its top-up round)")
    ap.add_argument("--tune", type=int, default=1000, help="0: the product's sizing")
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-low-rank", action="store_true", help="diagonal mass matrix instead of nutpie's low-rank one")
    ap.add_argument("--target-accept", type=float, default=SamplerConfig.target_accept)
    ap.add_argument("--pymc-marketing", type=int, default=0, help="also fit PyMC-Marketing on the first N tenants")
    ap.add_argument("--keep", type=Path, default=None, help="keep the lake and run folder here")
    ap.add_argument("--scenario", default="default", help="a synthetic scenario (docs/scenarios.md)")
    ap.add_argument("--cadence", default="daily", choices=("daily", "weekly"))
    ap.add_argument("--weather", default="all", choices=("all", "none", "mixed"), help="tenants with weather columns")
    ap.add_argument("--residual-ar", default=None, choices=("auto", "all", "none"), help="AR(1) noise for which tenants (default: the spec's)")
    ap.add_argument("--noise-scale", default=None, choices=("none", "level"), help="noise sd per day (default: the spec's)")
    ap.add_argument("--centered", default=None, help="comma list of centred parameters (default: the spec's); '' for none")
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-fit-"))
    lake, run = work / "lake", work / "run"
    write_lake(simulate_universe(args.tenants, args.days, seed=args.seed, scenario=args.scenario, cadence=args.cadence,
                                 weather=args.weather), lake, overwrite=True)
    variant = "-".join(v for v in (args.scenario, args.cadence, f"weather_{args.weather}", f"ar_{args.residual_ar}",
                                   f"noise_{args.noise_scale}" if args.noise_scale else "",
                                   f"centred_{(args.centered or 'none').replace(',', '+')}" if args.centered is not None else "")
                       if v not in ("default", "daily", "weather_all", "ar_None", ""))
    variant = "-".join(v for v in (variant, args.tag) if v)
    ds = load_lake(lake)
    t0 = time.perf_counter()
    kw = {} if args.residual_ar is None else {"residual_ar": args.residual_ar}
    if args.noise_scale is not None:
        kw["noise_scale"] = args.noise_scale
    if args.centered is not None:
        kw["centered"] = tuple(c for c in args.centered.split(",") if c)
    spec = ModelSpec(**kw)
    result = fit(ds, spec, SamplerConfig(chains=args.chains, draws=args.draws or None, tune=args.tune or None, seed=args.seed,
                                                low_rank=not args.no_low_rank, target_accept=args.target_accept,
                                                progress=False))
    wall_fit = time.perf_counter() - t0
    summary = save_run(result, run, lake=lake, overwrite=True)
    ev = evaluate_summary(summary, lake)
    conv = result.convergence
    out = {
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"{args.tenants} tenants × {args.days} days × 3 channels, {args.chains} chains × ({result.sampler['tune']}+{result.sampler['draws']}) × {result.sampler.get('rounds', 1)} round(s)",
        "variant": {"scenario": args.scenario, "cadence": args.cadence, "weather": args.weather, "centered": result.sampler.get("centred"),
                    "residual_ar": spec.residual_ar, "ar_rho": [round(float(r), 3) for r in result.design.ar_rho],
                    "noise_scale": spec.noise_scale, "noise_power": [float(p) for p in result.design.noise_power]},
        "compile_seconds": result.sampler["compile_seconds"],
        "sample_seconds": result.sampler["sample_seconds"],
        "rounds": result.sampler.get("rounds", 1),
        "fit_wall_seconds_incl_postprocessing": round(wall_fit, 1),
        "ess_bulk_min": conv["ess_bulk_min"],
        "ess_bulk_min_per_second": round(conv["ess_bulk_min"] / result.sampler["sample_seconds"], 2),
        "rhat_max": conv["rhat_max"],
        "divergences": conv["divergences"],
        "mean_tree_steps": conv["mean_tree_steps"],
        "converged": conv["ok"],
        "n_parameters": conv["n_parameters"],
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "recovery": {k: ev["overall"][k] for k in ("coverage_90", "median_abs_rel_error", "mroas_coverage_90", "contribution_share_mae", "weather_elasticity_mae")},
        "in_sample_r2_median": float(np.median([t["fit"]["r2"] for t in summary["tenants"].values()])),
        "loo": summary["loo"],
    }
    if args.pymc_marketing:
        pm_res = bench_pymc_marketing(lake, result.design.tenants[: args.pymc_marketing], result.sampler["draws"], result.sampler["tune"], args.seed)
        out["pymc_marketing"] = pm_res
        # Like for like: PyMC-Marketing must fit every tenant one by one, so its time for the
        # universe is its time per tenant × tenants, and its worst ESS is the worst over tenants.
        pm_universe = pm_res["seconds_per_tenant"] * args.tenants
        pm_res["universe_seconds_extrapolated"] = round(pm_universe, 1)
        pm_res["universe_ess_per_second"] = round(pm_res["ess_bulk_min"] / pm_universe, 3)
        ours = conv["ess_bulk_min"] / (result.sampler["compile_seconds"] + result.sampler["sample_seconds"])
        out["wall_time_ratio"] = round(pm_universe / (result.sampler["compile_seconds"] + result.sampler["sample_seconds"]), 2)
        out["ess_per_second_ratio"] = round(ours / max(pm_res["universe_ess_per_second"], 1e-9), 2)
    res_dir = Path(__file__).parent / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / f"fit-{args.tenants}x{args.days}{'-' + variant if variant else ''}-{dt.date.today()}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
