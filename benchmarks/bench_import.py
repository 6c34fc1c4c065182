"""Benchmark: `bayes-mmm import` of a large order export (wall time and peak memory of the whole command).

A Shopify orders export of ``--days`` days × ``--orders`` orders a day (one row each; 180k rows by
default) with the suite's ad exports (tests/fixtures/exports), imported by the CLI in a subprocess
as a user would run it, timed with ``/usr/bin/time``.

    python benchmarks/bench_import.py [--days 121] [--orders 1500] [--out result.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXPORTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "exports"
HEADER = "Name,Email,Financial Status,Currency,Subtotal,Shipping,Taxes,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price"


def write_orders(path: Path, days: int, orders: int) -> int:
    """An order export with ``orders`` paid orders a day from 2024-01-01 (totals vary with the order number)."""
    rows, n = [HEADER], 1000
    for d in range(days):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=d)
        for k in range(orders):
            n += 1
            total = 10 + n % 97
            rows.append(f"#{n},c{n}@example.com,paid,USD,{total:.2f},0.00,0.00,{total:.2f},"
                        f"{day} {8 + k % 12:02d}:{k % 60:02d}:00 -0500,1,Item {n % 40},{total:.2f}")
    path.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


def _run(root: Path, k: int) -> tuple[int, float, int]:
    """Exit code, wall seconds and peak KiB of one import (into lake<k>)."""
    # `python -m bayes_mmm`: the checkout on PYTHONPATH, if set, is the one measured (a before/after pair).
    res = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", sys.executable, "-m", "bayes_mmm", "import",
                          "--mapping", str(root / "mapping.toml"), "--out", str(root / f"lake{k}")],
                         capture_output=True, text=True, cwd=root)  # not the caller's folder: it would shadow PYTHONPATH
    seconds, kib = re.search(r"TIME ([\d.]+) (\d+)", res.stderr).groups()
    return res.returncode, float(seconds), int(kib)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=121)  # the ad fixtures cover 2024-01-01 .. 2024-04-30
    ap.add_argument("--orders", type=int, default=1500)
    ap.add_argument("--repeat", type=int, default=3, help="runs; the fastest is kept (a loaded machine is noisy)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for f in EXPORTS.glob("*.csv"):
            shutil.copy(f, root)
        shutil.copy(EXPORTS / "mapping.toml", root)
        rows = write_orders(root / "shopify_orders.csv", args.days, args.orders)
        runs = [_run(root, k) for k in range(args.repeat)]
    code, seconds, kib = min(runs, key=lambda r: r[1])
    result = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {platform.processor() or platform.platform()}",
              "rows": rows, "exit_code": code, "seconds": seconds, "all_seconds": [r[1] for r in runs], "peak_mib": round(kib / 1024)}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
