"""Benchmark: how well ANY model can cover the true ROAS when the weather is hidden (issue 14).

An honesty bound that does not depend on our model. In the default universe weather moves demand and multiplies
media (``exp(γ·weather)``). Per tenant, regress revenue on the model's baseline design plus each channel's TRUE
response, knowing adstock, saturation and γ, and estimate each channel's scale by feasible GLS with AR(1) noise
(one Cochrane–Orcutt step). Two versions of the same tenants:

- ``shown``: the weather columns are in the lake, and the true contribution (multiplier applied) is a regressor;
- ``hidden``: the lake has no weather, so the regressor is the response *without* its multiplier. That is the
  best any weather-less model can do, since it cannot know the multiplier on the days a channel spent.

The 90 % intervals' coverage of the realised ROAS (contribution / spend) in each version says how much of a
weather-less fit's low coverage is the data's. With ``--run DIR --lake DIR`` the run's misses are compared cell by
cell with the bound's (the run must be a fit of the same hidden lake: ``bench_fit.py --weather none --keep``).

    python benchmarks/bench_weatherless_information.py [--tenants 20] [--days 730] [--seed 0] [--run R --lake L]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from bench_weekly_information import independent
from scipy import stats

from bayes_mmm.analysis.evaluate import evaluate_summary
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from bayes_mmm.runs.folder import RunFolder
from synthetic import simulate_universe, write_lake
from synthetic.universe import zscores

Z90 = float(stats.norm.ppf(0.95))


def gls_ar1(A: np.ndarray, y: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Feasible-GLS estimates and standard errors of the last ``last`` coefficients under AR(1) noise.

    ρ is the lag-one autocorrelation of the OLS residual; columns the others span are dropped first.
    """
    A = independent(A, last)
    resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    rho = float(np.clip(np.corrcoef(resid[1:], resid[:-1])[0, 1], 0.0, 0.95))
    Aw, yw = A[1:] - rho * A[:-1], y[1:] - rho * y[:-1]
    coef, *_ = np.linalg.lstsq(Aw, yw, rcond=None)
    ew = yw - Aw @ coef
    s2 = ew @ ew / (len(yw) - A.shape[1])
    return coef[-last:], np.sqrt(np.diag(s2 * np.linalg.inv(Aw.T @ Aw)))[-last:]


def multiplier(tenant, channel: str) -> np.ndarray:
    """The true media weather multiplier ``exp(γ·z)`` of ``tenant``'s ``channel`` per day."""
    zt, zr = zscores(tenant.daily, tenant.truth["signal"]["z"])
    g = tenant.truth["channels"][channel]["gamma"]
    return np.exp(g["temp_c"] * zt + g["precip_mm"] * zr)


def bound(tenants: list, weather_tenants: list, version: str) -> list[dict]:
    """Per tenant×channel: the realised ROAS, the bound's estimate and 90 % interval, for one lake version."""
    with tempfile.TemporaryDirectory(prefix="bench-wl-info-") as tmp:
        write_lake(tenants, Path(tmp) / "lake")
        d = build_design(load_lake(Path(tmp) / "lake"))
    rows = []
    for i, t in enumerate(d.tenants):
        sim = next(x for x in tenants if x.tenant_id == t)
        wsim = next(x for x in weather_tenants if x.tenant_id == t)
        days = np.flatnonzero(d.train[i])
        media = np.c_[[sim.truth_daily[f"media_{c}"].to_numpy() for c in d.channels]].T
        if version == "hidden":
            media = media / np.c_[[multiplier(wsim, c) for c in d.channels]].T
        coef, se = gls_ar1(np.c_[d.X[i][:, d.keep[i]], media][days], d.y_raw[i][days], len(d.channels))
        for j, c in enumerate(d.channels):
            spend = sim.daily[f"spend_{c}"].to_numpy()[days].sum()
            scale = media[days, j].sum() / spend
            rows.append({"tenant": t, "sensitivity": sim.truth["sensitivity"], "channel": c,
                         "true_roas": sim.truth_daily[f"media_{c}"].to_numpy()[days].sum() / spend,
                         "mean": coef[j] * scale, "q05": (coef[j] - Z90 * se[j]) * scale,
                         "q95": (coef[j] + Z90 * se[j]) * scale})
    return rows


def scores(rows: list[dict]) -> dict:
    """Coverage, median |relative error| and the RMS of the standardised error, overall and per sensitivity."""
    df = pd.DataFrame(rows)
    df["inside"] = (df.q05 <= df.true_roas) & (df.true_roas <= df.q95)
    df["z"] = (df["mean"] - df.true_roas) / ((df.q95 - df.q05) / (2 * Z90))

    def one(g: pd.DataFrame) -> dict:
        return {"coverage_90": float(g.inside.mean()), "median_abs_rel_error": float((g["mean"] / g.true_roas - 1).abs().median()),
                "rms_z": float(np.sqrt((g.z ** 2).mean())), "cells": len(g)}

    return {"all": one(df), "by_sensitivity": {k: one(g) for k, g in df.groupby("sensitivity")}}


def compare_run(rows: list[dict], run: str, lake: str) -> dict:
    """Cross-tabulate a kept run's misses against the bound's, and correlate their errors."""
    ours = pd.DataFrame(evaluate_summary(RunFolder(run).summary(need_tenants=True), lake)["pairs"])
    j = ours.merge(pd.DataFrame(rows), on=["tenant", "channel"], suffixes=("", "_bound"))
    bound_in = (j.q05_bound <= j.true_roas) & (j.true_roas <= j.q95_bound)
    return {"run_misses": int((~j.inside).sum()), "both_miss": int((~j.inside & ~bound_in).sum()),
            "run_only_miss": int((~j.inside & bound_in).sum()), "bound_only_miss": int((j.inside & ~bound_in).sum()),
            "error_correlation": float((j["mean"] - j.true_roas).corr(j.mean_bound - j.true_roas))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", help="a kept weather-less run folder of the same universe, to compare misses")
    ap.add_argument("--lake", help="the lake that run was fitted on")
    args = ap.parse_args()
    if bool(args.run) != bool(args.lake):
        ap.error("--run and --lake go together: the kept run folder and the lake it was fitted on")
    shown = simulate_universe(args.tenants, args.days, seed=args.seed)
    hidden = simulate_universe(args.tenants, args.days, seed=args.seed, weather="none")
    rows = {"shown": bound(shown, shown, "shown"), "hidden": bound(hidden, shown, "hidden")}
    out = {
        "date": f"{dt.date.today()}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "workload": f"default universe, {args.tenants} tenants × {args.days} days, seed {args.seed}",
        **{v: scores(r) for v, r in rows.items()},
    }
    if args.run:
        out["run_vs_bound"] = compare_run(rows["hidden"], args.run, args.lake)
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / f"weatherless-information-{args.tenants}x{args.days}-{dt.date.today()}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
