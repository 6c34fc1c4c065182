"""Drift monitoring: score the periods after a run's window against its posterior predictive.

The new periods are evaluated exactly as a walk-forward CV holdout is
(:mod:`bayes_mmm.analysis.cv`): the extended lake is loaded, the design is
built with ``train`` = the run's own window (so scaling, weather
standardisation and the baseline QR are the run's), and the stored posterior
is evaluated on the dates after it with the new spend and weather.

Rules, per tenant (``n`` = new periods with revenue):

Model drift (any of, → ``retrain``)
    * ``r2``: R² on the new periods more than 10 % (relative) below the
      reference R² *on those periods*, ``1 − MSE_ref / Var(y_new)``, and the mean
      squared error grown beyond sampling noise, ``MSE_new / MSE_ref > 1 + 2.33·√(2/n)``.
      R² depends on the variance of the window it is computed on (a year with
      its seasons and holidays has far more than 60 winter days), so the run's
      error — not its R² — is carried over to the new window;
    * ``mape``: MAPE more than 5 points above the reference;
    * ``bias``: predictions consistently off — the mean residual
      ``r̄ = mean(y − ŷ)`` is both significant, ``|r̄| / (s_r / √n_eff) > 4`` with
      ``n_eff = n (1 − ρ)/(1 + ρ)`` for the lag-1 autocorrelation ``ρ ∈ [0, 0.9]``
      of the residuals, and material, ``|r̄| > 0.5 σ`` (σ the run's posterior
      mean noise sd in currency units);
    * ``coverage``: fewer than 70 % of the new periods inside the 90 % band;
    * ``media``: a channel's effect changed — the residuals regressed on an intercept
      and the channels' predicted contributions over the new periods, ``y − ŷ ≈ a + Σ_c κ_c·m_c``
      (at least 7 periods per column),
      give a ``κ_c`` both significant, ``|κ_c| / se > 4`` (se from the regression's own
      residuals, inflated for their lag-1 autocorrelation as above), and material,
      ``|κ_c| > 0.3`` (the channel's effect 30 % off). A halved channel that carries a
      small share of revenue moves the mean too little for ``bias``, yet a plan that
      trusts its old ROAS would misallocate.

    Reference (``MSE_ref``, MAPE, and the R² shown as ``reference.r2``): the
    run's walk-forward CV means (``cv.rmse_mean²``, ``cv.mape_mean``,
    ``cv.r2_mean``) when present; otherwise the in-sample fit over the run's window,
    its MSE multiplied by 2 because an in-sample error understates a forecast's
    (measured: ×1.7 on plain 60-day continuations of 365-day fits), and its MAPE,
    an absolute error, by √2 for the same reason (without it, 5 of 150 plain
    continuations of a 20 × 730 run were flagged on MAPE alone, all of them on
    low-revenue shops whose forecast MAPE was 15–17 %).

Data drift (any of, → ``investigate`` unless model drift says ``retrain``)
    * ``spend_<c>`` / weather mean shift: ``|mean_new − mean_train|`` above 2 sd, the sd
      being that of the means of all windows of ``n`` consecutive training periods
      (at least the iid ``sd/√n``) combined with the training mean's ``sd/√n_train``;
    * a weather column stuck: the share of periods equal to the one before
      above ``max(0.5, 2 × the training share)``;
    * a new channel (spend in a column the run does not know);
    * missing revenue: its rate over the new periods 5 points above training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.analysis.cv import metrics
from bayes_mmm.core.constants import CHANNEL, DAILY, DATE, PERIOD_UNIT, PRECIP, REVENUE, SNOW, TEMP, TENANT
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import weather_mask
from bayes_mmm.runs.folder import MONITOR

MONITOR_JSON = MONITOR  # the run folder's own name for it (runs.folder)
CREATED_BY = "bayes-mmm monitor"
R2_DROP, MAPE_RISE, COVERAGE_MIN = 0.10, 5.0, 0.70
BIAS_Z, BIAS_SIGMA = 4.0, 0.5
MEDIA_Z, MEDIA_CHANGE = 4.0, 0.3
MEDIA_MIN_PER_COLUMN = 7  # periods per regression column (intercept + channels) before the media rule speaks
IN_SAMPLE_OPTIMISM = 2.0  # forecast MSE / in-sample MSE allowed without drift (see the module docstring)
MSE_Z = 2.33  # one-sided 99 % of the MSE ratio's sampling noise, √(2/n) per unit
SHIFT_SD, STUCK_SHARE, MISSING_RISE = 2.0, 0.5, 0.05
OK, INVESTIGATE, RETRAIN = "ok", "investigate", "retrain"


@dataclass(frozen=True)
class Window:
    """Each tenant's fitted window and new periods, as ``(tenant, date)`` masks of the loaded lake.

    A tenant's window ends at its own last fitted period (``tenants.<id>.end`` in summary.json;
    the run's end for runs written before the key existed): a tenant whose data ended early has
    new periods inside the run's window.
    """

    train: np.ndarray
    new: np.ndarray
    ends: np.ndarray  #: (tenant,) each tenant's last fitted period

    def scored(self, ds: xr.Dataset) -> np.ndarray:
        """``(tenant, date)``: the new periods with revenue, the ones a monitor can score or a refresh learn from."""
        return self.new & ds["observed"].values


def tenant_ends(summary: dict) -> np.ndarray:
    """``(tenant,)`` last fitted period of each of the run's tenants (``datetime64[D]``)."""
    run_end = summary["data"]["end"]
    return np.array([np.datetime64((summary["tenants"][t] or {}).get("end") or run_end, "D") for t in summary["data"]["tenants"]])


def read_run(run_dir: str | Path):
    """The run's (InferenceData, summary): the one place this module reads a run folder."""
    from bayes_mmm.runs.summary import load_run

    return load_run(run_dir)


def check_lake(ds: xr.Dataset, summary: dict, lake: str | Path) -> Window:
    """Masks of the run's window and of the new periods; a one-line DataError when they do not fit."""
    dates = ds[DATE].values.astype("datetime64[D]")
    start, end = (np.datetime64(summary["data"][k], "D") for k in ("start", "end"))
    run_cadence, cadence = summary["data"].get("cadence", DAILY), ds.attrs.get("cadence", DAILY)
    if run_cadence != cadence:
        raise DataError(f"the lake is {cadence} and the run was fitted on {run_cadence} data", file=lake,
                        hint=f"pass the run's lake extended by new {PERIOD_UNIT[run_cadence]}s")
    if dates[0] > start:
        raise DataError(f"the lake starts on {dates[0]}, after the run's window start {start}", file=lake,
                        hint="the lake must hold the run's data plus the new periods after it")
    ends = tenant_ends(summary)
    if dates[-1] <= ends.min():
        raise DataError(f"no periods after the run's window (lake ends {dates[-1]}, run ends {end})", file=lake,
                        hint="append the new periods to the lake, or pass the extended lake")
    train = (dates >= start)[None, :] & (dates[None, :] <= ends[:, None])
    _check_weather_kept(ds, summary, lake)
    for i, tid in enumerate(summary["data"]["tenants"]):
        fitted = train[i] & ds["observed"].sel({TENANT: tid}).values  # the days the run was fitted on
        entry = summary["tenants"][tid]
        totals = {f"spend_{ch}": (ds["spend"].sel({TENANT: tid, CHANNEL: ch}).values, total) for ch, total in entry.get("spend", {}).items()}
        if "revenue" in entry:  # runs written before the key existed are checked on spend alone
            totals[REVENUE] = (np.nan_to_num(ds[REVENUE].sel({TENANT: tid}).values), entry["revenue"])
        for column, (values, total) in totals.items():
            now = float(values[fitted].sum())
            if now == 0 and total > 0:  # the tenant's file lost the column (the lake reads an absent column as 0)
                raise DataError(f"tenant {tid}: {column} is missing or 0 in the run's window, where the run had {total:,.2f}",
                                file=lake, column=column, hint="keep every column the run was fitted on in the old rows")
            if not np.isclose(now, total, rtol=1e-6, atol=0.01):
                raise DataError(f"tenant {tid}: {column} in the run's window differs from the run's ({now:.2f} vs {total:.2f}): "
                                "the new data overlaps and rewrites the old window", file=lake, column=column,
                                hint="keep the old rows unchanged and add only periods after " + str(ends[i]))
    # A tenant's new periods are its own rows after its window: a lake whose other tenants run longer pads this
    # tenant's axis with periods it has no row for (no spend, no revenue), which are not news about it.
    return Window(train, (dates[None, :] > ends[:, None]) & ds["in_range"].values, ends)


def _check_weather_kept(ds: xr.Dataset, summary: dict, lake: str | Path) -> None:
    """Refuse a tenant the run fitted with weather whose lake now has none usable: its baseline and media multiplier
    read weather the new data do not give (the weather gate says why)."""
    from bayes_mmm.data.lake import weather_mask

    has = dict(zip(map(str, ds[TENANT].values), weather_mask(ds), strict=True))
    lost = [t for t, e in summary["tenants"].items() if e.get("weather") and not has.get(t, True)]
    if lost:
        raise DataError(f"tenant(s) {', '.join(lost)} were fitted with weather, and the lake has no usable weather for them",
                        file=Path(lake) / lost[0], hint="keep the weather columns (Open-Meteo gives past days), or refit "
                        "from scratch with `bayes-mmm fit`")


def load_extended(lake: str | Path, summary: dict) -> tuple[xr.Dataset, dict[str, list[str]]]:
    """The lake's tenants of the run, restricted to the run's channels; new channels per tenant."""
    from bayes_mmm.data.lake import list_tenants, load_lake

    tenants, channels = summary["data"]["tenants"], summary["data"]["channels"]
    present = set(list_tenants(lake))
    missing = [t for t in tenants if t not in present]
    if missing:
        raise DataError(f"tenants of the run missing from the lake: {', '.join(missing)}", file=lake,
                        hint="pass the lake that holds all the run's tenants, with their new periods")
    ds = load_lake(lake, tenants)
    have = [str(c) for c in ds[CHANNEL].values]
    gone = [c for c in channels if c not in have]
    if gone:
        raise DataError(f"channel(s) of the run missing from the lake: {', '.join(gone)}", file=lake,
                        column=f"spend_{gone[0]}", hint="the old rows must keep every spend column the run was fitted on")
    extra = [c for c in have if c not in channels]
    spend = ds["spend"]
    new_ch = {t: [c for c in extra if float(spend.sel({TENANT: t, CHANNEL: c}).sum()) > 0] for t in tenants}
    return ds.sel({CHANNEL: channels}), new_ch


def bias_stats(resid: np.ndarray, sigma: float) -> dict[str, float]:
    """Mean residual, its autocorrelation-adjusted z and its size in noise sds."""
    n = len(resid)
    mean, sd = float(resid.mean()), float(resid.std(ddof=1)) if n > 1 else 0.0
    n_eff = max(n / autocorrelation_inflation(resid), 1.0)
    z = mean / (sd / np.sqrt(n_eff)) if sd > 0 else 0.0
    return {"mean_residual": mean, "bias_z": float(z), "bias_sigma": mean / sigma if sigma > 0 else 0.0}


def score(y: np.ndarray, mu: np.ndarray, y_rep: np.ndarray, sigma: float) -> dict[str, float]:
    """R², MAPE, 90 % band coverage and bias of predictions ``mu`` (draws ``y_rep``) for ``y``."""
    m = metrics(y, mu)
    lo, hi = np.quantile(y_rep, [0.05, 0.95], axis=0)
    return {"r2": m["r2"], "mape": m["mape"], "mse": m["rmse"] ** 2, "coverage_90": float(np.mean((y >= lo) & (y <= hi))),
            "n": len(y), **bias_stats(y - mu, sigma)}


def model_drift(s: dict, ref: dict) -> list[str]:
    """Which model-drift rules fire (see the module docstring)."""
    out = []
    r2_ref = ref["r2_on_new_periods"]
    r2_bar = r2_ref - R2_DROP * abs(r2_ref)
    ratio = s["mse"] / ref["mse"] if ref["mse"] > 0 else float("inf")
    if np.isfinite(r2_ref) and not s["r2"] >= r2_bar and ratio > 1 + MSE_Z * np.sqrt(2 / s["n"]):
        out.append(f"r2 {s['r2']:.2f} < {r2_bar:.2f} (reference on these periods {r2_ref:.2f} − 10 %; MSE ×{ratio:.1f})")
    if np.isfinite(ref["mape"]) and s["mape"] > ref["mape"] + MAPE_RISE:
        out.append(f"mape {s['mape']:.1f} > reference {ref['mape']:.1f} + {MAPE_RISE:.0f}")
    if abs(s["bias_z"]) > BIAS_Z and abs(s["bias_sigma"]) > BIAS_SIGMA:
        out.append(f"bias: mean residual {s['bias_sigma']:+.2f} σ (z {s['bias_z']:+.1f})")
    if s["coverage_90"] < COVERAGE_MIN:
        out.append(f"coverage_90 {s['coverage_90']:.2f} < {COVERAGE_MIN:.2f}")
    return out


def autocorrelation_inflation(resid: np.ndarray) -> float:
    """Variance factor ``(1 + ρ)/(1 − ρ)`` of a mean of residuals with lag-1 autocorrelation ``ρ ∈ [0, 0.9]``."""
    sd = float(resid.std())
    rho = float(np.corrcoef(resid[:-1], resid[1:])[0, 1]) if len(resid) > 2 and sd > 0 else 0.0
    rho = float(np.clip(np.nan_to_num(rho), 0.0, 0.9))
    return (1 + rho) / (1 - rho)


def media_drift(resid: np.ndarray, contrib: np.ndarray, channels: list[str]) -> list[str]:
    """Channels whose effect moved: ``resid`` ``(n,)`` regressed on an intercept and predicted contributions ``contrib`` ``(C, n)``.

    The intercept takes a level shift of the baseline, so a channel with steady
    spend is not blamed for it. Columns are scaled to unit norm; a channel whose
    contribution is negligible (a paused channel's Hill floor) is left out.
    """
    n = len(resid)
    norms = np.linalg.norm(contrib, axis=1)
    use = [j for j in range(len(channels)) if norms[j] > 1e-6 * max(norms.max(), np.linalg.norm(resid), 1e-300)]
    if not use or n < MEDIA_MIN_PER_COLUMN * (len(use) + 1):
        return []
    x = np.column_stack([np.ones(n) / np.sqrt(n), *(contrib[j] / norms[j] for j in use)])
    xtx_inv = np.linalg.pinv(x.T @ x, rcond=1e-10)
    coef = xtx_inv @ x.T @ resid
    e = resid - x @ coef
    var = np.maximum(np.diag(xtx_inv), 1e-300) * (e @ e / (n - x.shape[1])) * autocorrelation_inflation(e)
    kappa = coef[1:] / norms[use]  # back to "share of the channel's predicted contribution"
    z = coef[1:] / np.sqrt(var[1:])
    return [f"media: {channels[j]}'s effect {k:+.0%} since the run (z {zz:+.1f})"
            for j, k, zz in zip(use, kappa, z, strict=True) if abs(zz) > MEDIA_Z and abs(k) > MEDIA_CHANGE]


def window_means_sd(x: np.ndarray, n: int) -> float:
    """Sd of the means of all windows of ``n`` consecutive values of ``x``."""
    if len(x) <= n:
        return float(np.std(x) / np.sqrt(max(n, 1)))
    c = np.concatenate([[0.0], np.cumsum(x)])
    return float(np.std((c[n:] - c[:-n]) / n))


def repeat_share(x: np.ndarray) -> float:
    """Share of values equal to the one before."""
    return float(np.mean(x[1:] == x[:-1])) if len(x) > 1 else 0.0


def feature_drift(name: str, x_train: np.ndarray, x_new: np.ndarray) -> list[str]:
    """Mean shift beyond :data:`SHIFT_SD` window sds, or a stuck series."""
    out = []
    # overlapping windows understate the sd of a mean; never below the iid value, plus the training mean's own noise
    n = len(x_new)
    sd = float(np.hypot(max(window_means_sd(x_train, n), np.std(x_train) / np.sqrt(n)), np.std(x_train) / np.sqrt(len(x_train))))
    shift = float(x_new.mean() - x_train.mean())
    if sd < 1e-9 and abs(shift) > 1e-9 * max(1.0, abs(float(x_train.mean()))):  # constant in training: no sd to count in
        what = "a channel that starts spending: the run knows nothing of its effect" if name.startswith("spend_") else (
            "the run never saw it vary")
        out.append(f"{name}: mean {x_new.mean():.1f} vs {x_train.mean():.1f}, constant in training ({what})")
    elif sd >= 1e-9 and abs(shift) > SHIFT_SD * sd:
        out.append(f"{name}: mean {x_new.mean():.1f} vs {x_train.mean():.1f} (shift {shift / sd:+.1f} sd)")
    rs_new, rs_train = repeat_share(x_new), repeat_share(x_train)
    if name in (TEMP, PRECIP) and rs_new > max(STUCK_SHARE, 2 * rs_train):
        out.append(f"{name}: stuck ({rs_new:.0%} of periods repeat the one before, {rs_train:.0%} in training)")
    return out


def data_drift(ds: xr.Dataset, i: int, w: Window, new_channels: list[str]) -> list[str]:
    """Data-drift findings of tenant ``i`` (see the module docstring)."""
    out = [f"new channel: {c}" for c in new_channels]
    spend, train, new = ds["spend"].values[i], w.train[i], w.new[i]
    for j, ch in enumerate(str(c) for c in ds[CHANNEL].values):
        out += feature_drift(f"spend_{ch}", spend[train, j], spend[new, j])
    for col in (TEMP, PRECIP, SNOW) if weather_mask(ds)[i] else ():
        if col in ds and np.isfinite(ds[col].values[i][new]).all():
            out += feature_drift(col, ds[col].values[i][train], ds[col].values[i][new])
    in_range = ds["in_range"].values[i]
    miss = ~ds["observed"].values[i] & in_range
    m_train, m_new = miss[train & in_range].mean(), miss[new & in_range].mean()
    if m_new > m_train + MISSING_RISE:
        out.append(f"missing revenue: {m_new:.0%} of new periods vs {m_train:.0%} in training")
    return out


def reference(tenant_summary: dict, in_sample: dict, y_new: np.ndarray) -> dict:
    """The run's CV means when present, else its in-sample fit; with the R² its error gives on ``y_new``."""
    cv = tenant_summary.get("cv") or {}
    vals = [cv.get(k) for k in ("r2_mean", "mape_mean", "rmse_mean")]
    if all(v is not None and np.isfinite(v) for v in vals):
        ref = {"r2": float(vals[0]), "mape": float(vals[1]), "mse": float(vals[2]) ** 2, "source": "cv"}
    else:
        ref = {"r2": in_sample["r2"], "mape": in_sample["mape"] * np.sqrt(IN_SAMPLE_OPTIMISM),
               "mse": in_sample["mse"] * IN_SAMPLE_OPTIMISM,
               "source": "in_sample"}
    var = float(np.var(y_new))
    ref["r2_on_new_periods"] = 1 - ref["mse"] / var if var > 0 else float("nan")
    return ref


def action(model: list[str], data: list[str]) -> str:
    """``retrain`` on model drift, ``investigate`` on data drift only, else ``ok``."""
    return RETRAIN if model else INVESTIGATE if data else OK


def _round(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def run_trend_centre(summary: dict) -> pd.Timestamp:
    """The run's trend zero, the middle of its dates: a design over an extended lake keeps it, so it is the fit's own."""
    from bayes_mmm.model.design import axis_centre

    data = summary["data"]
    return axis_centre(data["start"], data["end"], data.get("cadence", DAILY))


def monitor_run(run_dir: str | Path, lake: str | Path, seed: int = 0) -> dict:
    """Score the periods after a run's window; the content of monitor.json (contract §5).

    Parameters
    ----------
    run_dir
        A run folder (``bayes-mmm fit --out``).
    lake
        The extended lake: the run's data plus new periods after its window.
    seed
        Seed of the baseline-coefficient and predictive draws.

    Returns
    -------
    dict
        ``run_id``, ``checked`` (first and last new period with revenue, and how many
        periods have some), ``rules``, per tenant ``r2, mape, coverage_90, reference,
        model_drift, data_drift, action`` plus the reasons and bias statistics, and
        ``not_checked``: tenants without revenue after their own window yet, and why.
    """
    from bayes_mmm.model.design import build_design

    idata, summary = read_run(run_dir)
    ds, new_channels = load_extended(lake, summary)
    w = check_lake(ds, summary, lake)
    design = build_design(ds, ModelSpec.from_dict(summary["config"]["spec"]), w.train, run_trend_centre(summary))
    new = w.scored(ds)
    waiting = {tid: f"no revenue after its last fitted period {w.ends[i]}" for i, tid in enumerate(design.tenants) if not new[i].any()}
    if len(waiting) == len(design.tenants):
        raise DataError("no tenant has revenue in the periods after its window", file=lake, column="revenue",
                        hint="monitor needs observed revenue after the run's window")
    # A stream per tenant: its draws do not depend on the other tenants' rows or on the lake's length.
    streams = np.random.SeedSequence(seed).spawn(len(design.tenants))
    tenants = {tid: _tenant_report(design, idata.posterior, i, tid, np.random.default_rng(streams[i]), summary, ds, w,
                                   new_channels[tid])
               for i, tid in enumerate(design.tenants) if tid not in waiting}
    dates = ds[DATE].values.astype("datetime64[D]")[new.any(axis=0)]
    return {"run_id": summary["run_id"], "created_by": CREATED_BY, "run": str(Path(run_dir)), "lake": str(lake),
            "checked": {"start": str(dates[0]), "end": str(dates[-1]), "periods": len(dates)},
            # tenants of the run without new revenue yet: not scored (their window may end later than others')
            "not_checked": waiting,
            "rules": {"r2_drop": R2_DROP, "mape_rise": MAPE_RISE, "bias_z": BIAS_Z, "bias_sigma": BIAS_SIGMA,
                      "media_z": MEDIA_Z, "media_change": MEDIA_CHANGE,
                      "coverage_min": COVERAGE_MIN, "shift_sd": SHIFT_SD, "missing_rise": MISSING_RISE},
            "tenants": tenants}


def _tenant_report(design, posterior, i: int, tid: str, rng, summary: dict, ds, w: Window, new_ch: list[str]) -> dict:
    """monitor.json's entry of one tenant."""
    from bayes_mmm.inference.posterior import tenant_posterior
    from bayes_mmm.model.residual import t_sd

    tp = tenant_posterior(design, posterior, i, rng)
    # The noise's marginal sd: with AR(1) residuals σ is the innovation's, smaller by √(1−ρ²).
    # With Student-t noise σ is the t's scale: its sd is larger by t_sd(ν).
    sigma = float(posterior["sigma"].values[..., i].mean() * design.y_scale[i] / np.sqrt(1 - design.ar_rho[i] ** 2))
    sigma *= float(t_sd(design.noise_nu[i]))
    new = w.scored(ds)[i]
    y, tr = design.y_raw[i], design.train[i]

    def rms_sigma(days: np.ndarray) -> float:  # noise that grows with the level: its typical sd on these days
        return sigma * float(np.sqrt(np.mean(design.noise_scale[i][days] ** 2)))

    s = score(y[new], tp.mu_mean[new], tp.y_rep[:, new], rms_sigma(new))
    ref = reference(summary["tenants"][tid], score(y[tr], tp.mu_mean[tr], tp.y_rep[:, tr], rms_sigma(tr)), y[new])
    model = model_drift(s, ref) + media_drift(y[new] - tp.mu_mean[new], tp.media_mean[:, new], design.channels)
    data = data_drift(ds, i, w, new_ch)
    return {**_round(s), "reference": _round(ref), "model_drift": bool(model), "model_drift_reasons": model,
            "data_drift": data, "action": action(model, data)}
