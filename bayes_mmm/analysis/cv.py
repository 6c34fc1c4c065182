"""Leakage-safe walk-forward cross-validation against simple baselines.

Each fold trains on an expanding window of days and predicts the next block.
Every scaling and preprocessing step is fitted on the training window only
(:func:`bayes_mmm.model.design.build_design` takes the ``train`` mask); holdout
weather is taken as observed, as a perfect forecast would give it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from rich.progress import Progress

from bayes_mmm.analysis.verdict import cv_verdict
from bayes_mmm.core.constants import DAILY, WEEKLY, history_need, min_history
from bayes_mmm.core.numbers import value
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.sensitivity import dataset_sensitivity
from bayes_mmm.inference.fit import SamplerConfig, fit
from bayes_mmm.model.design import Design
from bayes_mmm.model.response import adstock, lag_weights


@dataclass(frozen=True)
class Fold:
    """Training and test masks ``(tenant, date)`` of one fold."""

    train: np.ndarray
    test: np.ndarray


#: Share of each tenant's periods the first fold trains on.
FIRST_TRAIN = 0.5
#: Fewest test periods of a fold (the longest tenant's): a week of days covers the weekdays; four weeks a month.
MIN_TEST_PERIODS = {DAILY: 7, WEEKLY: 4}


def walk_forward_folds(observed: np.ndarray, n_folds: int = 5, first_train: float = FIRST_TRAIN) -> list[Fold]:
    """Expanding-window folds over each tenant's own observed days.

    The first fold trains on the first ``first_train`` share of days; the rest
    is cut into ``n_folds`` consecutive test blocks. Training days always
    precede test days.
    """
    folds = []
    n_t = observed.shape[0]
    cuts = []
    for i in range(n_t):
        idx = np.flatnonzero(observed[i])
        start = int(len(idx) * first_train)
        edges = np.linspace(start, len(idx), n_folds + 1).astype(int)
        cuts.append((idx, edges))
    for k in range(n_folds):
        train = np.zeros_like(observed, dtype=bool)
        test = np.zeros_like(observed, dtype=bool)
        for i, (idx, edges) in enumerate(cuts):
            train[i, idx[: edges[k]]] = True
            test[i, idx[edges[k] : edges[k + 1]]] = True
        folds.append(Fold(train, test))
    return folds


def metrics(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    """Holdout R², MAPE (%) and RMSE."""
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - yhat) ** 2))
    pos = y > 0
    return {
        "r2": 1 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "mape": float(np.mean(np.abs(y[pos] - yhat[pos]) / y[pos]) * 100) if pos.any() else float("nan"),
        "rmse": float(np.sqrt(ss_res / len(y))),
    }


def naive_seasonal(y: np.ndarray, dates: np.ndarray, train: np.ndarray, test: np.ndarray, weeks: int = 4) -> np.ndarray:
    """Same-weekday mean of the last ``weeks`` training weeks, for every test day."""
    tr = np.flatnonzero(train)[-7 * weeks :]
    dow = dates.astype("datetime64[D]").view("int64") % 7
    means = {d: y[tr][dow[tr] == d].mean() for d in range(7) if (dow[tr] == d).any()}
    fallback = y[tr].mean()
    return np.array([means.get(d, fallback) for d in dow[test]])


def ridge_baseline(design: Design, i: int, test: np.ndarray, lam: float = 1.0, alpha: float = 0.5) -> np.ndarray:
    """Ridge regression on the model's own features, fitted on the training days.

    Features: the baseline design (trend, seasonality, calendar, lagged weather,
    controls — scaled on the training window) plus each channel's spend with a
    fixed geometric adstock; penalty ``lam`` on standardised features.
    """
    media = adstock(design.lagged[i], lag_weights("geometric", np.full(len(design.channels), alpha), design.n_lags))
    feats = np.concatenate([design.X[i][:, design.keep[i]][:, 1:], media.T], axis=1)
    tr = design.train[i]
    mu, sd = feats[tr].mean(axis=0), feats[tr].std(axis=0)
    z = (feats - mu) / np.where(sd > 0, sd, 1.0)
    y = design.y[i][tr]
    a = z[tr]
    coef = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (y - y.mean()))
    return (y.mean() + z[test] @ coef) * design.y_scale[i]


def walk_forward(
    ds: xr.Dataset,
    spec: ModelSpec | None = None,
    sampler: SamplerConfig | None = None,
    n_folds: int = 5,
    first_train: float = 0.5,
    progress: bool = True,
    classes: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Walk-forward CV of the MMM and two baselines, per tenant and fold.

    ``classes`` (tenant → weather class) sets each tenant's R² bar, e.g. the classes
    a run recorded; by default tenant.json's, else estimated from the data
    (:func:`~bayes_mmm.data.sensitivity.dataset_sensitivity`).

    Returns
    -------
    dict
        ``tenant -> {"folds": [{r2, mape, rmse, naive_*, ridge_*, baseline_r2}],
        "r2_mean", "mape_mean", "baseline_r2_mean", ..., "verdict"}`` — the
        ``cv`` entry of summary.json.
    """
    spec = spec or ModelSpec()
    sampler = sampler or SamplerConfig(chains=2, progress=False)  # draws and warm-up sized as a fit's
    folds = walk_forward_folds(ds["observed"].values, n_folds, first_train)
    tenants = [str(t) for t in ds["tenant"].values]
    cadence = str(ds.attrs.get("cadence", DAILY))
    dates = ds["date"].values
    y_all = np.nan_to_num(ds["revenue"].values)
    out: dict[str, dict] = {t: {"folds": []} for t in tenants}
    classes = classes or {t: v["class"] for t, v in dataset_sensitivity(ds).items()}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"walk-forward CV ({n_folds} folds)", total=n_folds)
        for k, fold in enumerate(folds):
            # A tenant with too little training history in this fold sits it out instead of
            # stopping the fold for everyone (tenants may start on different dates).
            sel = [i for i in range(len(tenants)) if fold.train[i].sum() >= min_history(cadence) and fold.test[i].any()]
            if not sel:
                bar.advance(task)
                continue
            sub, train = ds.isel(tenant=sel), fold.train[sel]
            result = fit(sub, spec, sampler, train=train)
            design = result.design
            for j, i in enumerate(sel):
                t, test = tenants[i], fold.test[i]
                y = y_all[i, test]
                pred = result.tenants[j].mu_mean[test]
                m = metrics(y, pred)
                naive = metrics(y, naive_seasonal(y_all[i], dates, fold.train[i], test))
                ridge = metrics(y, ridge_baseline(design, j, test))
                best = naive if naive["rmse"] <= ridge["rmse"] else ridge
                out[t]["folds"].append(
                    {
                        "fold": k,
                        "train_days": int(fold.train[i].sum()),
                        "test_days": int(test.sum()),
                        **{key: round(v, 4) for key, v in m.items()},
                        **{f"naive_{key}": round(v, 4) for key, v in naive.items()},
                        **{f"ridge_{key}": round(v, 4) for key, v in ridge.items()},
                        "baseline_r2": round(best["r2"], 4),
                        "baseline_rmse": round(best["rmse"], 4),
                        "converged": result.convergence["ok"],
                        "adstock": design.spec.adstock,  # the fold's own: a screened run screens each fold's days
                    }
                )
            bar.advance(task)
    for t, entry in out.items():
        f = entry["folds"]
        for key in ("r2", "mape", "rmse", "baseline_r2", "baseline_rmse", "naive_r2", "ridge_r2"):
            entry[f"{key}_mean"] = round(float(np.mean([x[key] for x in f])), 4) if f else float("nan")
        entry["verdict"] = cv_verdict(entry, classes[t])
        if not f:
            entry["verdict"]["reasons"].insert(0, f"too little history for walk-forward CV (< {history_need(cadence)} of training)")
    return out


def pass_rate(cv: dict[str, dict]) -> float:
    """Share of tenants whose CV verdict is go."""
    return float(np.mean([e["verdict"]["go"] for e in cv.values()]))


def mean_holdout_r2(cv: dict[str, dict]) -> tuple[float, int]:
    """Mean holdout R² over the tenants that have one (a tenant too short for every fold has none: NaN or null),
    and how many those are; NaN when none has."""
    scored = [value(e.get("r2_mean")) for e in cv.values() if math.isfinite(value(e.get("r2_mean")))]
    return (float(np.mean(scored)) if scored else float("nan")), len(scored)


def unconverged_folds(cv: dict[str, dict]) -> list[int]:
    """The folds whose fit failed the convergence gate (R-hat, ESS, divergences), in order."""
    return sorted({f["fold"] for e in cv.values() for f in e.get("folds", []) if f.get("converged") is False})
