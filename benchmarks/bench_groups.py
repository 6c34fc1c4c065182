"""Benchmark: grouped fits on a local Dask cluster for growing numbers of tenants.

Workload (issue: many tenants): 20, 100 and 200 tenants × 730 days × 3
channels, groups of at most 20 (random), one hierarchical fit per group as a
Dask task, 2 chains × 500 tune + 500 draws with nutpie. Reports wall time,
peak memory of the whole process tree (client, scheduler, workers) sampled
every 0.5 s, seconds per tenant and per-group convergence; writes
``benchmarks/results/groups-<tenants>-<date>.json``.

    python benchmarks/bench_groups.py [--tenants 20 100 200] [--group-size 20] [--draws 500] [--tune 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")


class TreeMemory:
    """Peak summed RSS of this process and all its descendants, sampled in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        import psutil

        self.proc, self.every, self.peak, self._stop = psutil.Process(), every, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total / 2**20)
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    from rich.console import Console

    from bayes_mmm.runs.groups import fit_groups
    from synthetic import simulate_universe, write_lake

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, nargs="+", default=[20, 100, 200])
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--group-size", type=int, default=20)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="Keep lakes and runs under this folder.")
    args = ap.parse_args()

    console = Console()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-groups-"))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    for n in args.tenants:
        lake, run = root / f"lake{n}", root / f"run{n}"
        write_lake(simulate_universe(n_tenants=n, n_days=args.days, seed=0), lake, overwrite=True)
        console.rule(f"{n} tenants × {args.days} days")
        t0 = time.perf_counter()
        with TreeMemory() as mem:
            summary = fit_groups(lake, run, max_size=args.group_size, n_workers=args.workers, overwrite=True,
                                 sampler_kwargs={"draws": args.draws, "tune": args.tune}, console=console)
        wall = time.perf_counter() - t0
        groups = summary["groups"]
        ok = [g for g in groups if g["status"] == "ok"]
        row = {
            "date": f"{dt.date.today()}",
            "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
            "tenants": n,
            "days": args.days,
            "group_size": args.group_size,
            "groups": len(groups),
            "groups_failed": len(groups) - len(ok),
            "sampler": {"chains": 2, "draws": args.draws, "tune": args.tune},
            "wall_seconds": round(wall, 1),
            "seconds_per_tenant": round(wall / n, 2),
            "group_seconds": [g["sampler"]["seconds"] for g in ok],
            "compile_seconds": [g["sampler"]["compile_seconds"] for g in ok],
            "peak_rss_mb_tree": round(mem.peak),
            "converged_groups": sum(g["convergence"]["ok"] for g in ok),
            "rhat_max": summary["convergence"]["rhat_max"],
            "ess_bulk_min": summary["convergence"]["ess_bulk_min"],
            "divergences": summary["convergence"]["divergences"],
        }
        if not row["groups_failed"]:
            from bayes_mmm.analysis.evaluate import evaluate_run

            overall = evaluate_run(run, lake)["overall"]
            row["recovery"] = {"coverage_90": round(overall["coverage_90"], 3),
                               "median_abs_rel_error": round(overall["median_abs_rel_error"], 4), "pairs": overall["pairs"]}
        console.print_json(json.dumps(row))
        (results / f"groups-{n}-{dt.date.today()}.json").write_text(json.dumps(row, indent=2))
        if args.keep is None:
            shutil.rmtree(run, ignore_errors=True)
            shutil.rmtree(lake, ignore_errors=True)


if __name__ == "__main__":
    main()
