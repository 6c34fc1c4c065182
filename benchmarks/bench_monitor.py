"""Benchmark: drift monitoring and warm-started refresh against known regime changes (issue 18).

Given a fitted run and its (synthetic, default-scenario, daily) lake:

1. Detection. For each regime — ``none`` (plain continuation), ``roas_halves``
   (a channel's contribution halves), ``new_channel`` (a channel the run does not
   know starts spending), ``weather_station_breaks`` (the weather columns repeat
   one value; revenue still follows the real weather) — draw ``--seeds``
   independent continuations of ``--days`` days (``continue_lake(replicate=k)``).
   In each, a random share of the tenants (``--changed-share``) gets the regime
   change and the others continue unchanged; which tenants changed is read back
   from each tenant's ``truth.json``. ``monitor`` scores every continuation;
   per regime we report the share of CHANGED tenants flagged (action ≠ ok) and of
   UNCHANGED tenants flagged (false alarms), over all seeds, and which rules fired
   (model drift vs data drift, by rule). Each row also has ``model_off_sigma``, the
   run's own error against the noise-free truth on the new days (in noise sds), and
   ``flagged_model_off`` counts the flags where that exceeds 0.5 σ: an unchanged tenant
   flagged for a model that really forecasts badly is not the rule firing on noise.
2. Refresh. On the first ``roas_halves`` (``--refresh-on``) continuation: ``refresh`` (warm start, with
   a ROAS change prior of sd ``--roas-change-sd`` from the run's last day on) against a cold fit with the old run's model and sampler settings on the same
   extended data — wall time, convergence and ROAS recovery (90 % coverage and
   median |relative error| of the true ROAS over the refit window; the changed
   tenant×channel pairs separately, also against the true ROAS after the change).

Writes ``benchmarks/results/monitor-<T>x<D>-<date>.json`` (or ``--out``)::

    python benchmarks/bench_monitor.py --run RUN --lake LAKE [--seeds 10] [--days 56] [--changed-share 0.5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayes_mmm.analysis.monitor import BIAS_SIGMA, OK, monitor_run  # noqa: E402
from bayes_mmm.core.constants import DATE, SPEND_PREFIX, TRUTH_DAILY, TRUTH_JSON  # noqa: E402
from bayes_mmm.runs.summary import read_summary  # noqa: E402
from synthetic import write_lake  # noqa: E402
from synthetic.continuation import continue_lake  # noqa: E402

REGIMES = ("none", "roas_halves", "new_channel", "weather_station_breaks")


def last_date(lake: Path, tenants: list[str]) -> pd.Timestamp:
    """The latest last day over the tenants' daily tables (continuations start the day after each tenant's)."""
    return max(pd.read_csv(lake / t / "daily.csv", usecols=[DATE], parse_dates=[DATE])[DATE].iloc[-1] for t in tenants)


def regime_text(kind: str, date: pd.Timestamp, channel: str, new_channel: str) -> str | None:
    """The ``--regime`` string of ``kind`` from ``date`` (``None`` for a plain continuation)."""
    day = f"{date:%Y-%m-%d}"
    return {"none": None, "roas_halves": f"roas_halves:{channel}@{day}", "new_channel": f"new_channel:{new_channel}@{day}",
            "weather_station_breaks": f"weather_station_breaks@{day}"}[kind]


def pick_changed(tenants: list[str], share: float, rng: np.random.Generator) -> list[str]:
    """A random subset of ``share`` of the tenants, keeping at least one changed and one unchanged."""
    k = int(np.clip(round(share * len(tenants)), 1, max(len(tenants) - 1, 1)))
    return sorted(rng.choice(tenants, size=k, replace=False).tolist())


def rule_names(entry: dict) -> dict[str, list[str]]:
    """The monitor rules that fired for one tenant: model-drift rule names and data-drift kinds."""
    model = [r.split()[0].rstrip(":") for r in entry["model_drift_reasons"]]
    data = []
    for r in entry["data_drift"]:
        if r.startswith("new channel"):
            data.append("new_channel")
        elif r.startswith("missing revenue"):
            data.append("missing_revenue")
        else:
            data.append(f"{r.split(':')[0]}:{'stuck' if 'stuck' in r else 'shift'}")
    return {"model": model, "data": data}


def model_off_sigma(lake: Path, tid: str, entry: dict) -> float | None:
    """Mean of (truth's expected revenue − the run's prediction) over the new days, in the run's noise sds.

    ``mean(y − ŷ) − mean(noise)`` with the true noise of the same days: whether the model
    itself is off on the new periods, so a flag on an unchanged tenant can be told apart
    from a rule firing on noise.
    """
    daily = pd.read_csv(lake / tid / "daily.csv", parse_dates=[DATE])
    td = pd.read_parquet(lake / tid / TRUTH_DAILY)
    new = (daily[DATE] >= pd.Timestamp(json.loads((lake / tid / TRUTH_JSON).read_text())["continuation"]["start"])).to_numpy()
    seen = new & daily["revenue"].notna().to_numpy()
    if not entry["bias_sigma"] or not seen.any():
        return None
    sigma = entry["mean_residual"] / entry["bias_sigma"]
    return round(float((entry["mean_residual"] - td["noise"].to_numpy()[seen].mean()) / sigma), 3)


def monitor_rows(run: Path, lake: Path, seed: int) -> tuple[list[dict], float]:
    """One row per tenant of ``monitor`` on ``lake`` (changed from truth.json), and monitor's wall time."""
    t0 = time.perf_counter()
    report = monitor_run(run, lake, seed=seed)
    seconds = time.perf_counter() - t0
    rows = []
    for tid, e in report["tenants"].items():
        changed = json.loads((lake / tid / TRUTH_JSON).read_text())["continuation"]["changed"]
        rows.append({"tenant": tid, "changed": changed, "action": e["action"], **rule_names(e),
                     "model_off_sigma": model_off_sigma(lake, tid, e),
                     **{k: e[k] for k in ("r2", "mape", "coverage_90", "bias_z", "bias_sigma")},
                     "reference_r2_on_new": e["reference"]["r2_on_new_periods"], "reference_source": e["reference"]["source"]})
    return rows, seconds


def _count(lists: list[list[str]]) -> dict[str, int]:
    names = sorted({n for ls in lists for n in ls})
    return {n: sum(n in ls for ls in lists) for n in names}


def rates(rows: list[dict]) -> dict:
    """Flag rates of changed and unchanged tenants, with the rules behind the flags."""
    out = {}
    for label, group in (("changed", [r for r in rows if r["changed"]]), ("unchanged", [r for r in rows if not r["changed"]])):
        n = len(group)
        flagged = [r for r in group if r["action"] != OK]
        out[label] = {
            "n": n,
            "flagged": len(flagged),
            "flagged_share": round(len(flagged) / n, 4) if n else None,
            "retrain": sum(r["action"] == "retrain" for r in group),
            "investigate": sum(r["action"] == "investigate" for r in group),
            "model_drift": sum(bool(r["model"]) for r in group),
            "data_drift": sum(bool(r["data"]) for r in group),
            # flags where the run's prediction really is materially off the noise-free truth (monitor's own 0.5 σ)
            "flagged_model_off": sum(abs(r["model_off_sigma"] or 0) > BIAS_SIGMA for r in flagged),
            "model_rules": _count([r["model"] for r in group]),
            "data_rules": _count([r["data"] for r in group]),
        }
    return out


def detection(run: Path, lake: Path, args: argparse.Namespace, work: Path) -> tuple[dict, Path | None, list[str]]:
    """Monitor every regime × replicate; per-regime rates, all rows, and the first roas_halves lake kept for refresh."""
    summary = read_summary(run)
    tenants, channel = summary["data"]["tenants"], args.channel or summary["data"]["channels"][0]
    start = last_date(lake, tenants) + pd.Timedelta(days=1 + args.regime_after)
    out, keep, keep_changed = {}, None, []
    for kind in args.regimes:
        rows, seconds = [], []
        for k in range(args.seeds):
            changed = pick_changed(tenants, args.changed_share, np.random.default_rng([k, REGIMES.index(kind)]))
            text = regime_text(kind, start, channel, args.new_channel)
            path = write_lake(continue_lake(lake, args.days, text, changed if text else None, replicate=k), work / f"{kind}-{k}")
            r, s = monitor_rows(run, path, seed=k)
            rows += [{**x, "replicate": k} for x in r]
            seconds.append(s)
            if kind == args.refresh_on and keep is None:
                keep, keep_changed = path, changed
            else:
                shutil.rmtree(path)
            print(f"{kind} #{k}: {sum(x['action'] != OK for x in r if x['changed'])}/{sum(x['changed'] for x in r)} changed flagged, "
                  f"{sum(x['action'] != OK for x in r if not x['changed'])}/{sum(not x['changed'] for x in r)} unchanged flagged",
                  flush=True)
        out[kind] = {"regime": regime_text(kind, start, channel, args.new_channel), **rates(rows),
                     "monitor_seconds_mean": round(float(np.mean(seconds)), 2), "rows": rows}
    return out, keep, keep_changed


def true_roas(lake: Path, tid: str, channels: list[str]) -> dict[str, dict[str, float | None]]:
    """True ROAS per channel over the whole (extended) lake window and over the new days only."""
    daily = pd.read_csv(lake / tid / "daily.csv")
    td = pd.read_parquet(lake / tid / TRUTH_DAILY)
    cont = json.loads((lake / tid / TRUTH_JSON).read_text())["continuation"]["channels"]
    out = {}
    for c in channels:
        spend = daily[SPEND_PREFIX + c].sum()
        out[c] = {"window": float(td[f"media_{c}"].sum() / spend) if spend > 0 else None, "after": cont[c]["roas_new"]}
    return out


def recovery(summary: dict, lake: Path, changed_pairs: set[tuple[str, str]]) -> dict:
    """ROAS coverage and median |relative error| vs the window truth; changed pairs also vs the truth after the change."""
    pairs = []
    for tid, entry in summary["tenants"].items():
        truth = true_roas(lake, tid, list(entry["roas"]))
        for c, r in entry["roas"].items():
            t = truth[c]["window"]
            if t is None or r["mean"] is None:
                continue
            p = {"tenant": tid, "channel": c, "changed": (tid, c) in changed_pairs, "mean": r["mean"], "q05": r["q05"],
                 "q95": r["q95"], "true_window": t, "true_after": truth[c]["after"]}
            for key in ("window", "after"):
                tv = p[f"true_{key}"]
                p[f"inside_{key}"] = None if tv is None else bool(r["q05"] <= tv <= r["q95"])
                p[f"rel_error_{key}"] = None if not tv else r["mean"] / tv - 1
            pairs.append(p)

    def agg(ps: list[dict], key: str) -> dict:
        ins = [p[f"inside_{key}"] for p in ps if p[f"inside_{key}"] is not None]
        rel = [abs(p[f"rel_error_{key}"]) for p in ps if p[f"rel_error_{key}"] is not None]
        return {"pairs": len(ins), "coverage_90": float(np.mean(ins)) if ins else None,
                "median_abs_rel_error": float(np.median(rel)) if rel else None}

    ch, un = [p for p in pairs if p["changed"]], [p for p in pairs if not p["changed"]]
    return {"all_vs_window": agg(pairs, "window"), "unchanged_vs_window": agg(un, "window"),
            "changed_vs_window": agg(ch, "window"), "changed_vs_after": agg(ch, "after"), "pairs": pairs}


def cold_fit(run: Path, lake: Path, out: Path) -> dict:
    """A fit from scratch on ``lake`` with the old run's model and sampler settings (no gates: refresh has none either)."""
    from bayes_mmm.api import save_fit
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference.fit import SamplerConfig, fit

    old = read_summary(run)
    s = old["sampler"]
    sampler = SamplerConfig(sampler=s.get("name", "nutpie"), chains=s["chains"], draws=s["draws"], tune=s["tune"],
                            seed=s["seed"], target_accept=s["target_accept"], progress=False)
    ds = load_lake(lake, old["data"]["tenants"])
    return save_fit(fit(ds, ModelSpec.from_dict(old["config"]["spec"]), sampler), out, lake)


def fit_report(summary: dict, seconds: float, lake: Path, changed_pairs: set) -> dict:
    """Wall time, sampler settings, convergence and ROAS recovery of one fit."""
    conv, s = summary["convergence"], summary["sampler"]
    return {"wall_seconds": round(seconds, 1), "sampler_seconds": s.get("seconds"), "tune": s["tune"], "draws": s["draws"],
            "chains": s["chains"], "rhat_max": conv["rhat_max"], "ess_bulk_min": conv["ess_bulk_min"],
            "divergences": conv["divergences"], "converged": conv["ok"], "recovery": recovery(summary, lake, changed_pairs)}


def refresh_vs_cold(run: Path, lake: Path, changed: list[str], channel: str, work: Path, args: argparse.Namespace) -> dict:
    """``refresh`` (warm start, ROAS change prior ``args.roas_change_sd``) vs a cold fit on the same extended lake."""
    from bayes_mmm.api import refresh_run

    pairs = {(t, channel) for t in changed}
    t0 = time.perf_counter()
    warm = refresh_run(run, lake, work / "refreshed", {"progress": False}, roas_change_sd=args.roas_change_sd or None)
    warm_s = time.perf_counter() - t0
    old = read_summary(run)
    before = {f"{t}/{channel}": old["tenants"][t]["roas"][channel] for t in changed}
    out = {"lake_changed_tenants": changed, "channel": channel, "old_run_roas_of_changed": before,
           "roas_change_sd": args.roas_change_sd, "refresh": fit_report(warm, warm_s, lake, pairs)}
    out["refresh"]["roas_change_factor_of_changed"] = {f"{t}/{channel}": warm["tenants"][t].get("roas_change_factor", {}).get(channel)
                                                       for t in changed}
    moved = {"changed": [0, 0], "unchanged": [0, 0]}  # pairs whose change factor's 90 % interval excludes 1, of all
    for t, entry in warm["tenants"].items():
        for c, f in entry.get("roas_change_factor", {}).items():
            if f.get("q95") is not None:
                key = "changed" if (t, c) in pairs else "unchanged"
                moved[key][0] += int(f["q95"] < 1 or f["q05"] > 1)
                moved[key][1] += 1
    out["refresh"]["change_factor_excludes_1"] = {k: f"{a}/{b}" for k, (a, b) in moved.items()}
    if not args.no_cold:
        t0 = time.perf_counter()
        cold = cold_fit(run, lake, work / "cold")
        cold_s = time.perf_counter() - t0
        out |= {"cold": fit_report(cold, cold_s, lake, pairs), "speedup": round(cold_s / warm_s, 2) if warm_s > 0 else None}
    return out


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a fitted run folder (joint, not grouped)")
    ap.add_argument("--lake", type=Path, required=True, help="the run's synthetic lake (default scenario, daily)")
    ap.add_argument("--seeds", type=int, default=10, help="continuations per regime")
    ap.add_argument("--days", type=int, default=56, help="new days per continuation")
    ap.add_argument("--changed-share", type=float, default=0.5, help="share of tenants that get the regime change")
    ap.add_argument("--regime-after", type=int, default=0, help="the change starts this many days into the new period")
    ap.add_argument("--channel", default=None, help="roas_halves channel (default: the run's first channel)")
    ap.add_argument("--new-channel", default="newch", help="name of the new_channel regime's channel")
    ap.add_argument("--regimes", default=",".join(REGIMES), help="comma list of " + ", ".join(REGIMES))
    ap.add_argument("--no-refresh", action="store_true", help="skip refresh vs cold fit")
    ap.add_argument("--no-cold", action="store_true", help="refresh only, no cold fit to compare with")
    ap.add_argument("--refresh-on", default="roas_halves", choices=REGIMES,
                    help="the regime whose first continuation is refreshed (none: does refresh invent changes?)")
    ap.add_argument("--roas-change-sd", type=float, default=0.5, help="refresh's ROAS change prior sd (0: ROAS assumed unchanged)")
    ap.add_argument("--out", type=Path, default=None, help="results JSON (default benchmarks/results/monitor-<T>x<D>-<date>.json)")
    args = ap.parse_args()
    args.regimes = [r for r in args.regimes.split(",") if r]
    unknown = sorted(set(args.regimes) - set(REGIMES))
    if unknown or args.seeds < 1 or not 0 < args.changed_share < 1:
        ap.error(f"--regimes must be among {REGIMES} (got {unknown}), --seeds ≥ 1, 0 < --changed-share < 1")
    return args


def main() -> None:
    args = parse_args()
    summary = read_summary(args.run)
    if summary.get("groups"):
        raise SystemExit("bench_monitor needs a joint run (monitor works on one posterior), not a grouped one")
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    try:
        t0 = time.perf_counter()
        regimes, keep, changed = detection(args.run, args.lake, args, work)
        result = {
            "benchmark": "monitor",
            "date": dt.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "run": {"path": str(args.run), "run_id": summary["run_id"], "tenants": len(summary["data"]["tenants"]),
                    "start": summary["data"]["start"], "end": summary["data"]["end"], "sampler": summary["sampler"]},
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "detection_seconds": round(time.perf_counter() - t0, 1),
            "regimes": regimes,
        }
        if keep is not None and not args.no_refresh:
            result["refresh_vs_cold"] = refresh_vs_cold(args.run, keep, changed, args.channel or summary["data"]["channels"][0], work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    days = (pd.Timestamp(summary["data"]["end"]) - pd.Timestamp(summary["data"]["start"])).days + 1
    out = args.out or Path(__file__).parent / "results" / f"monitor-{len(summary['data']['tenants'])}x{days}-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(json.dumps({k: {g: v[g]["flagged_share"] for g in ("changed", "unchanged")} for k, v in regimes.items()}))
    if "refresh_vs_cold" in result:
        r = result["refresh_vs_cold"]
        print(json.dumps({k: {"wall_seconds": r[k]["wall_seconds"], **{a: r[k]["recovery"][a] for a in
                                                                       ("unchanged_vs_window", "changed_vs_after")}}
                          for k in ("refresh", "cold") if k in r}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
