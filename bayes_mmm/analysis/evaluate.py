"""Ground-truth evaluation of a run fitted on a synthetic lake."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from bayes_mmm.core.constants import TRUTH_JSON
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import read_json
from bayes_mmm.runs.folder import RunFolder


def read_truth(lake: str | Path, tenant: str) -> dict:
    """A tenant's ``truth.json``; DataError if the lake has none (real data)."""
    path = Path(lake) / tenant / TRUTH_JSON
    if not path.is_file():
        if not path.parent.is_dir():  # a synthetic lake without this tenant: say so, not that it is not synthetic
            raise DataError(f"the truth lake has no tenant '{tenant}'", file=Path(lake),
                            hint="evaluate against the lake the run was fitted on")
        raise DataError("no truth.json: ground truth exists only for synthetic lakes", file=path)
    truth = read_json(path, hint='write {"channels": {"meta": {"roas": 2.1}, ...}}')
    channels = truth.get("channels") if isinstance(truth, dict) else None
    if not isinstance(channels, dict):
        raise DataError("no 'channels' object", file=path, hint='write {"channels": {"meta": {"roas": 2.1}, ...}}')
    for ch, t in channels.items():  # another simulator's truth needs only each channel's ROAS; mroas is optional
        if not isinstance(t, dict) or not _number(t.get("roas")) or not (t.get("mroas") is None or _number(t["mroas"])):
            raise DataError(f"channels.{ch}: 'roas' (and 'mroas' when given) must be numbers", file=path)
    return truth


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and bool(np.isfinite(x))


def evaluate_summary(summary: dict, lake: str | Path) -> dict:
    """Compare a run's summary with the truth files of its lake.

    Returns per tenant×channel the true ROAS and marginal ROAS against the
    posterior mean and 90 % interval (inside?, bias, relative error), the
    weather-elasticity and contribution-share errors, and overall coverage
    and median absolute relative error.
    """
    pairs, weather, unmatched = [], [], {}
    for tid, entry in summary["tenants"].items():
        truth = read_truth(lake, tid)
        fitted = {ch for ch, r in entry["roas"].items() if r["mean"] is not None}
        if fitted ^ set(truth["channels"]):
            unmatched[tid] = {"run_only": sorted(fitted - set(truth["channels"])), "truth_only": sorted(set(truth["channels"]) - fitted)}
        for ch, r in entry["roas"].items():
            t = truth["channels"].get(ch)
            if t is None or r["mean"] is None:
                continue
            m = entry["mroas"][ch]
            pairs.append(
                {
                    "tenant": tid,
                    "channel": ch,
                    "true_roas": t["roas"],
                    "mean": r["mean"],
                    "q05": r["q05"],
                    "q95": r["q95"],
                    "inside": bool(r["q05"] <= t["roas"] <= r["q95"]),
                    "bias": r["mean"] - t["roas"],
                    "rel_error": r["mean"] / t["roas"] - 1 if t["roas"] else float("nan"),  # a placebo's (0): the bias says it
                    "true_mroas": t.get("mroas"),
                    "mroas_mean": m["mean"],
                    "mroas_inside": None if t.get("mroas") is None else bool(m["q05"] <= t["mroas"] <= m["q95"]),
                    "true_share": t.get("contribution_share"),
                    "share": entry["contribution_share"][ch],
                }
            )
        for w, v in entry["weather_elasticity"].items():
            tv = truth.get("weather_elasticity", {}).get(w)
            # A tenant fitted without weather has no elasticity to score (its lake lacks the columns).
            if tv is not None and v is not None:
                iv = entry.get("weather_elasticity_interval", {}).get(w, {})
                weather.append({"tenant": tid, "weather": w, "true": tv, "mean": v, "error": v - tv,
                                "inside": bool(iv and iv["q05"] <= tv <= iv["q95"])})
    rel = np.array([p["rel_error"] for p in pairs])
    share_err = [abs(p["share"] - p["true_share"]) for p in pairs if p["true_share"] is not None]
    overall = {
        "pairs": len(pairs),
        "coverage_90": float(np.mean([p["inside"] for p in pairs])) if pairs else float("nan"),
        "median_abs_rel_error": float(np.nanmedian(np.abs(rel))) if np.isfinite(rel).any() else float("nan"),
        "mean_bias": float(np.mean([p["bias"] for p in pairs])) if pairs else float("nan"),
        "mroas_coverage_90": float(np.mean(inside)) if (inside := [p["mroas_inside"] for p in pairs if p["mroas_inside"] is not None]) else float("nan"),
        "contribution_share_mae": float(np.mean(share_err)) if share_err else float("nan"),
        "weather_elasticity_mae": {w: float(np.mean([abs(x["error"]) for x in weather if x["weather"] == w]))
                                   for w in sorted({x["weather"] for x in weather})},
        "weather_elasticity_coverage_90": float(np.mean([x["inside"] for x in weather])) if weather else float("nan"),
    }
    for tid, u in unmatched.items():  # a truth written "Meta" for the run's "meta" scored nothing, without a word
        warnings.warn(f"{tid}: not scored — the run's channels {', '.join(u['run_only']) or '(none)'} have no truth, "
                      f"the truth's {', '.join(u['truth_only']) or '(none)'} are not in the run (names must match exactly)",
                      UserWarning, stacklevel=2)
    return {"run_id": summary.get("run_id"), "lake": str(lake), "overall": overall, "pairs": pairs, "weather": weather,
            "unmatched": unmatched}


def evaluate_run(run_dir: str | Path, lake: str | Path, force: bool = False) -> dict:
    """Evaluate a run folder (joint or grouped) against a synthetic lake and write ``evaluation.json``.

    An ``evaluation.json`` bayes-mmm did not write is replaced only with ``force``.
    """
    run = RunFolder(run_dir)
    run.check_evaluation(force)
    ev = evaluate_summary(run.summary(need_tenants=True), lake)
    run.write_evaluation(ev)
    return ev
