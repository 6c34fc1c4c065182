"""Benchmark (issue 16): decisions a merchant can trust, scored against the TRUE response.

On a synthetic lake (``synthetic.write_lake``: ``truth.json`` beside each tenant, any
scenario) and a daily run fitted on it, every tenant keeps its current budget over the
plan's days and the plan with default settings (trust region, do no harm) is scored with
the generator's own response (:func:`bench_allocate.decision_metrics`):

* harm rate — share of tenants whose plan earns less than their current mix (and which);
* regret against the true oracle constrained to the same trust region (bounds and pacing;
  median over tenants and portfolio, % of that oracle's uplift over current);
* share of the unconstrained true oracle's uplift that the default plan captures;
* speed of the default plan (and, with ``--speed``, the 20 × 3 × 7 × 1,000-draw case).

    python benchmarks/bench_decisions.py --run RUN --lake LAKE [--days 7] [--speed] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench_allocate import bench_speed, decision_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--speed", action="store_true", help="also time 20 tenants × 3 channels × 7 days × 1,000 draws")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result: dict[str, Any] = {"decisions": decision_metrics(args.run, args.lake, args.days)}
    if args.speed:
        result["speed"] = bench_speed(20, 1000, 7)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
