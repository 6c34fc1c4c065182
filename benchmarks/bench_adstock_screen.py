"""Benchmark (issue 17): which carry-over shape the adstock screen picks on every scenario lake, and how fast.

Each scenario's lake is simulated as ``bench_robustness.py`` simulates it (same sizes and seed), and the
default spec's design is built, which runs the screen (:mod:`bayes_mmm.model.adstock_screen`). The truth's
adstock kinds are read from ``truth.json`` so the table shows whether the choice matches the generator.

    python benchmarks/bench_adstock_screen.py [--tenants 20] [--days 730] [--scenarios a,b] [--out result.json]
    python benchmarks/bench_adstock_screen.py --null-check   # how often each kind of channel is read as delayed

``--null-check`` simulates lakes of 50 tenants × 365 days whose one flighted channel has no effect, a weak or
strong geometric effect, or a weak delayed one, and counts the lakes the screen reads as delayed (its level and power).
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

import numpy as np

from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.adstock_screen import screen_adstock, written
from bayes_mmm.model.design import build_design
from bayes_mmm.model.response import delayed_weights, geometric_weights, lag_matrix
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
    return {"chosen": design.spec.adstock, "screen": written(design.adstock_screen), "true_adstock_kinds": dict(kinds),
            "design_seconds_with_screen": round(seconds, 2)}


def null_check(lakes: int = 20, tenants: int = 50, days: int = 365, n_lags: int = 14) -> dict[str, int]:
    """Lakes (of ``lakes``) read as delayed, per kind of channel: none, weak / strong geometric, weak delayed."""
    kinds = {"no effect": (geometric_weights(np.float64(0.5), n_lags), 0.0),
             "weak geometric": (geometric_weights(np.float64(0.5), n_lags), 0.05),
             "strong geometric": (geometric_weights(np.float64(0.5), n_lags), 0.8),
             "weak delayed (peak 3)": (delayed_weights(np.float64(0.6), np.float64(3.0), n_lags), 0.1)}
    t = np.arange(days)
    base = np.column_stack([np.ones(days), t / days, np.sin(2 * np.pi * t / 7), np.cos(2 * np.pi * t / 7)])
    out = {}
    for name, (w, coef) in kinds.items():
        hits = 0
        for k in range(lakes):
            rng = np.random.default_rng(k)
            on = rng.random((tenants, days + n_lags)) < 0.4  # flighted on and off, as merchants do
            lagged = np.stack([lag_matrix(on[i] * rng.uniform(0.5, 1.5, days + n_lags), n_lags)[n_lags:] for i in range(tenants)])
            y = base @ np.array([3.0, 0.5, 0.2, -0.1]) + coef * lagged @ w + rng.normal(0, 0.3, (tenants, days))
            X = np.broadcast_to(base, (tenants, days, base.shape[1]))
            hits += screen_adstock(y, X, lagged[:, None], np.ones((tenants, days), bool), ["tv"])["chosen"] == "delayed"
        out[name] = hits
        print(f"{name}: delayed in {hits} of {lakes} lakes of {tenants} tenants", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--null-check", action="store_true", help="only the level and power check on simulated lakes")
    args = ap.parse_args()
    if args.null_check:
        text = json.dumps({"lakes": 20, "tenants": 50, "days": 365, "delayed_in": null_check()}, indent=2)
        if args.out is not None:
            args.out.write_text(text + "\n")
        return
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
