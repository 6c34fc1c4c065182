"""What summary.json of a run holds (data contract §3); :mod:`bayes_mmm.runs.folder` reads and writes it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import arviz as az
import numpy as np

from bayes_mmm import __version__
from bayes_mmm.core.constants import CHANNEL, DATA_STEMS, TENANT
from bayes_mmm.data.lake import tenants_field
from bayes_mmm.data.lift_tests import LIFT_TESTS
from bayes_mmm.inference.fit import FitResult
from bayes_mmm.inference.loo import pointwise_loo
from bayes_mmm.model.adstock_screen import written
from bayes_mmm.model.draws import stacked
from bayes_mmm.runs.folder import RunFolder, to_json
from bayes_mmm.runs.lift import lift_calibration, lift_entries

#: Sampler settings that define a run (and enter its config hash); timings do not.
SAMPLER_KEYS = ("name", "chains", "draws", "tune", "seed", "target_accept")


def interval(draws: np.ndarray, digits: int = 4) -> dict[str, float]:
    """Mean and central 90 % interval of 1-D draws."""
    draws = np.asarray(draws, dtype=float)
    if not np.isfinite(draws).any():
        return {"mean": None, "q05": None, "q50": None, "q95": None}
    q = np.nanquantile(draws, [0.05, 0.5, 0.95])
    return {"mean": round(float(np.nanmean(draws)), digits), "q05": round(float(q[0]), digits), "q50": round(float(q[1]), digits), "q95": round(float(q[2]), digits)}


def fit_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R² and MAPE (%, over days with revenue > 0) of a point prediction."""
    ss_res = float(np.sum((observed - predicted) ** 2))
    ss_tot = float(np.sum((observed - observed.mean()) ** 2))
    pos = observed > 0
    mape = float(np.mean(np.abs(observed[pos] - predicted[pos]) / observed[pos]) * 100) if pos.any() else float("nan")
    return {"r2": round(1 - ss_res / ss_tot, 4) if ss_tot > 0 else float("nan"), "mape": round(mape, 3)}


def loo_summary(idata: az.InferenceData) -> dict:
    """PSIS-LOO of the whole run: elpd, its se, p_loo and Pareto-k counts."""
    return pointwise_loo(idata).summary()


def data_hash(lake: str | Path, tenants: list[str]) -> str:
    """SHA-256 over the data files (and lift tests) of the fitted tenants (first 16 hex digits).

    A lake without ``lift_tests.csv`` hashes as before: the file counts only when it exists.
    """
    h = hashlib.sha256()
    for tid in tenants:
        for name in (*DATA_STEMS, LIFT_TESTS):
            p = Path(lake) / tid / name
            if p.is_file():
                h.update(tid.encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


def config_hash(config: dict) -> str:
    """SHA-256 of a run's config (model, sampler, …) as sorted JSON, first 16 hex digits."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def build_summary(result: FitResult, lake: str | Path | None = None) -> dict:
    """The run's machine-readable results (contract §3), intervals central 90 %."""
    d = result.design
    post = result.idata.posterior
    config = {"spec": d.spec.to_dict(), "sampler": {k: result.sampler[k] for k in SAMPLER_KEYS}}
    if result.prior is not None:
        config["population_prior"] = result.prior.to_dict()
    chash = config_hash(config)
    dhash = data_hash(lake, d.tenants) if lake else None
    tenants = {}
    # tenant.json's currency, so a plan can tell tenants' currencies apart wherever it runs (no lake needed).
    currency = tenants_field(lake, d.tenants, "currency") if lake and Path(lake).is_dir() else {}
    for i, tid in enumerate(d.tenants):
        tp = result.tenants[i]
        train = d.train[i]
        fitted = tp.mu_mean
        entry: dict = {
            "roas": {},
            "mroas": {},
            "contribution_share": {},
            "weather_elasticity": {k: round(float(np.mean(v)), 5) for k, v in tp.elasticity.items()},
            "weather_elasticity_interval": {k: interval(v, 5) for k, v in tp.elasticity.items()},
            "fit": fit_metrics(d.y_raw[i, train], fitted[train]),
            "spend": {},
            # Revenue over the fitted periods: monitor and refresh check that a lake keeps the old window as it was.
            "revenue": round(float(d.y_raw[i, train].sum()), 2),
            "n_days": int(train.sum()),
            # The tenant's last fitted period: tenants may end before the run's window does (monitor scores after it).
            "end": f"{d.dates[np.flatnonzero(train)[-1]]:%Y-%m-%d}" if train.any() else None,
            # False: the tenant has no usable weather data and was modelled without weather terms.
            "weather": bool(d.has_weather[i]),
            # The holiday calendar of the baseline: its own holiday column, the US retail events or its country's.
            "holidays": d.holidays[i] if d.holidays else None,
            "currency": currency.get(tid) or None,
            # AR(1) coefficient of the noise (0: i.i.d.; bayes_mmm.model.residual).
            "residual_ar": round(float(d.ar_rho[i]), 3),
            # Noise sd ∝ level^p (0: constant; spec.noise_scale, bayes_mmm.model.residual).
            "noise_power": round(float(d.noise_power[i]), 2),
            # Student-t degrees of freedom of the noise (None: normal; spec.noise_tails).
            "noise_nu": float(d.noise_nu[i]) if np.isfinite(d.noise_nu[i]) else None,
        }
        if tid in result.sensitivity:
            entry["sensitivity"] = result.sensitivity[tid]
        total = tp.mu_train
        for j, ch in enumerate(d.channels):
            spend = float(d.spend[i, j, train].sum())
            entry["spend"][ch] = round(spend, 2)
            if spend <= 0 or "roas" not in post:
                entry["roas"][ch] = interval(np.full(1, np.nan))
                entry["mroas"][ch] = interval(np.full(1, np.nan))
                entry["contribution_share"][ch] = 0.0
                continue
            entry["roas"][ch] = interval(stacked(post["roas"].isel({TENANT: i, CHANNEL: j})))
            entry["mroas"][ch] = interval(tp.mroas[:, j])
            entry["contribution_share"][ch] = round(float(np.mean(tp.media_train[:, j] / total)), 4)
        if "roas_change" in post:  # a refresh's regime change: current ROAS / earlier ROAS, per channel
            change = post["roas_change"].isel({TENANT: i})
            since = train & (d.before_regime == 0)
            # Without spend since the change, the factor is its prior alone: not reported as a finding.
            entry["roas_change_factor"] = {
                ch: interval(np.exp(stacked(change.sel({CHANNEL: ch}))) if d.spend[i, j, since].sum() > 0 else np.full(1, np.nan))
                for j, ch in enumerate(d.channels)
            }
        if "weather_gamma" in post:
            g = post["weather_gamma"].isel({TENANT: i})
            entry["media_weather_gamma"] = {
                ch: {w: interval(stacked(g.sel({CHANNEL: ch, "weather": w}))) for w in g["weather"].values}
                for ch in d.channels
            }
        tenants[tid] = entry
    for tid, tests in lift_entries(result, result.sampler.get("seed", 0)).items():
        tenants[tid]["lift_tests"] = tests
    calibration = lift_calibration(tenants)
    return {
        "run_id": f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{(dhash or 'nodata')[:6]}-{chash[:6]}",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bayes_mmm_version": __version__,
        "data": {
            "lake": str(lake) if lake else None,
            "tenants": d.tenants,
            "channels": d.channels,
            "cadence": d.cadence,
            "start": f"{d.dates[0]:%Y-%m-%d}",
            "end": f"{d.dates[-1]:%Y-%m-%d}",
            "hash": dhash,
        },
        "config": config,
        "config_hash": chash,
        "sampler": result.sampler,
        "convergence": result.convergence,
        "loo": loo_summary(result.idata),
        "tenants": tenants,
        **({"adstock_screen": written(d.adstock_screen)} if d.adstock_screen else {}),
        **({"lift_calibration": calibration} if calibration else {}),
    }


def save_run(result: FitResult, out: str | Path, lake: str | Path | None = None, overwrite: bool = False) -> dict:
    """Write ``idata.nc`` and ``summary.json`` into ``out``, atomically; return the summary."""
    return RunFolder(out).save(result.idata, build_summary(result, lake), overwrite=overwrite)


def load_run(run_dir: str | Path) -> tuple[az.InferenceData, dict]:
    """Read a run folder back, checked: (InferenceData, summary dict). See :meth:`RunFolder.load`."""
    return RunFolder(run_dir).load()


def read_summary(run_dir: str | Path) -> dict:
    """Just summary.json of a run folder (joint or grouped), checked, without loading the draws."""
    return RunFolder(run_dir).summary()


def update_summary(run_dir: str | Path, **sections: dict) -> dict:
    """Merge top-level sections into a run's summary.json (atomically)."""
    return RunFolder(run_dir).update_summary(**sections)


__all__ = ["build_summary", "fit_metrics", "interval", "load_run", "read_summary", "save_run", "to_json", "update_summary"]
