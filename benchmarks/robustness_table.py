"""Issue 17's full-size table from the recorded results: one row per scenario, its newest run with default settings.

Reads ``results/robustness-<scenario>-<tenants>x<days>-*.json`` (written by ``bench_robustness.py``), keeps
runs fitted as the product's defaults fit that lake (the adstock screen's shape, nothing else set), picks the newest
per scenario by date and prints a Markdown table. Rescored decisions (``results/decisions-<scenario>-<size>-*.json``,
``bench_decisions.py`` on a kept run) supply the same-holds regret where the run predates it.

    python benchmarks/robustness_table.py [--size 20x730]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bayes_mmm.core.spec import ModelSpec

RESULTS = Path(__file__).parent / "results"
LEVERS = ("half_sat_floor", "media_weather_bound")
DEFAULT_LEVERS = {k: getattr(ModelSpec(), k) for k in LEVERS}
COLUMNS = ("scenario", "file", "converged", "R-hat", "ESS", "div.", "steps", "compile + sampling s", "coverage",
           "error", "width", "flags: expected / elsewhere / missed", "harm", "regret: band / same holds")


def levers_of(d: dict) -> dict:
    """The identification levers a result was fitted with: as fitted (``fitted_spec``), else as given in ``spec``.

    Results from before ``fitted_spec`` was recorded predate the levers' default (2026-11-28): a lever not given was off.
    """
    used = d.get("fitted_spec") or d.get("spec") or {}
    return {k: used.get(k) for k in LEVERS}


def screened_adstock(size: str) -> dict[str, str]:
    """Per scenario, the adstock the default's screen fits (``bench_adstock_screen.py``); geometric where not recorded."""
    found = sorted(RESULTS.glob(f"adstock-screen-{size}-*.json"))
    return {k: v["chosen"] for k, v in json.loads(found[-1].read_text())["scenarios"].items()} if found else {}


def newest_default_runs(size: str) -> dict[str, tuple[Path, dict]]:
    """Per scenario, the newest result at ``size`` fitted as the default fits it.

    The default screens the adstock: a run counts when it fitted the screen's shape for its lake (recorded as
    ``adstock``, or read from an explicit ``spec`` before runs recorded it), the default's identification levers
    (:func:`levers_of`) and set nothing else.
    """
    screen = screened_adstock(size)
    best: dict[str, tuple[Path, dict]] = {}
    for f in sorted(RESULTS.glob(f"robustness-*-{size}*.json")):
        d = json.loads(f.read_text())
        spec = {k: v for k, v in (d.get("spec") or {}).items() if k not in LEVERS}
        fitted = d.get("adstock") or spec.pop("adstock", "geometric")
        spec.pop("adstock", None)
        if spec or "-ar_" in f.name or fitted != screen.get(d["scenario"], "geometric") or levers_of(d) != DEFAULT_LEVERS:
            continue  # a --spec or --residual-ar experiment, or a shape or levers the default would not fit
        name = d["scenario"]
        if name not in best or d["date"] >= best[name][1]["date"]:
            best[name] = (f, d)
    return best


def _pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def row(f: Path, d: dict, size: str) -> list[str]:
    """One Markdown row of the table."""
    rec, ident, dec = d["recovery"], d.get("identification") or {}, d.get("decisions") or {}
    held = (dec.get("regret_vs_same_holds_oracle_pct") or {}).get("median")
    rescored = sorted(RESULTS.glob(f"decisions-{d['scenario']}-{size}*.json"))
    if held is None and rescored:
        held = json.loads(rescored[-1].read_text())["decisions"]["regret_vs_same_holds_oracle_pct"]["median"]
    band = (dec.get("regret_vs_trust_oracle_pct") or {}).get("median")
    harm = "—" if not dec else f"{len(dec['harmed_tenants'])} / {dec['tenants']}"
    return [d["scenario"], f.name.removeprefix("robustness-"), "yes" if d["converged"] else "no", f"{d['rhat_max']:.3f}",
            f"{d['ess_bulk_min']:.0f}", str(d["divergences"]), f"{d['mean_tree_steps']:.0f}",
            f"{d['compile_seconds']:.0f} + {d['sample_seconds']:.0f}", _pct(rec["coverage_90"]),
            _pct(rec["median_abs_rel_error"], 1), f"{rec['median_rel_width']:.2f}",
            f"{ident.get('flagged_where_expected', '—')} / {ident.get('flagged_elsewhere', '—')} / {ident.get('missed', '—')}",
            harm,
            f"{'—' if band is None else f'{band:.1f} %'} / {'—' if held is None else f'{held:.1f} %'}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="20x730", help="tenants x days, as in the file names")
    args = ap.parse_args()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for _, (f, d) in sorted(newest_default_runs(args.size).items()):
        print("| " + " | ".join(row(f, d, args.size)) + " |")


if __name__ == "__main__":
    main()
