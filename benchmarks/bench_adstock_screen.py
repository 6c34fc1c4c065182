"""Benchmark (issue 17): which carry-over shape the adstock screen picks on every scenario lake, and how fast.

Each scenario's lake is simulated as ``bench_robustness.py`` simulates it (same sizes and seed), and the
default spec's design is built, which runs the screen (:mod:`bayes_mmm.model.adstock_screen`). The truth's
adstock kinds are read from ``truth.json`` so the table shows whether the choice matches the generator.

    python benchmarks/bench_adstock_screen.py [--tenants 20] [--days 730] [--scenarios a,b] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from synthetic import simulate_universe, write_lake
from synthetic.scenarios import SCENARIOS


def screen_scenario(name: str, tenants: int, days: int, seed: int) -> dict[str, Any]:
    """The screen's verdict and evidence on one scenario's lake, with the truth's adstock kinds and the seconds taken."""
    with tempfile.TemporaryDirectory() as tmp:
        lake = write_lake(simulate_universe(tenants, days, seed=seed, scenario=name), Path(tmp) / "lake")
        kinds = Counter(v["adstock"].get("kind", "geometric") if isinstance(v.get("adstock"), dict) else "geometric"
                        for t in sorted(lake.iterdir()) if (t / "truth.json").is_file()
                        for v in json.loads((t / "truth.json").read_text())["channels"].values())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = load_lake(lake)
            t0 = time.perf_counter()
            design = build_design(ds)
            seconds = time.perf_counter() - t0
    return {"chosen": design.spec.adstock, "screen": design.adstock_screen, "true_adstock_kinds": dict(kinds),
            "design_seconds_with_screen": round(seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result = {}
    for name in args.scenarios.split(","):
        result[name] = screen_scenario(name, args.tenants, args.days, args.seed)
        r = result[name]
        gains = {c: v["gain"] for c, v in r["screen"]["channels"].items()}
        print(f"{name}: {r['chosen']} (truth {r['true_adstock_kinds']}; gains {gains}; {r['design_seconds_with_screen']} s)", flush=True)
    text = json.dumps({"tenants": args.tenants, "days": args.days, "seed": args.seed, "scenarios": result}, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
