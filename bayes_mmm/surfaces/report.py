"""The self-contained HTML diagnostic report of a run folder.

:func:`render_report` returns the HTML string (so tests can read it) and
:func:`write_report` writes it atomically. Figures are inline PNG data URIs
and the CSS is inline: the file opens offline and can be mailed as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from rich.progress import track

from bayes_mmm.analysis.diagnostics import KEY_PARAMS, parameter_diagnostics
from bayes_mmm.analysis.verdict import tenant_verdict
from bayes_mmm.core import atomic
from bayes_mmm.core.constants import CHANNEL, DAILY, DATE, PERIOD_UNIT, TENANT
from bayes_mmm.core.numbers import fmt
from bayes_mmm.core.priors import NORMAL_FIELDS, range_of_normal
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.inference.loo import pointwise_loo
from bayes_mmm.model.design import periods
from bayes_mmm.model.draws import stacked
from bayes_mmm.runs.folder import REPORT, RunFolder, check_out_file, file_head, refuse_foreign
from bayes_mmm.surfaces import plots
from bayes_mmm.surfaces.monitoring import monitoring, parent_moves

#: Draws used for bands and curves: enough for stable 5–95 % quantiles, cheap at 20 tenants × 730 days.
MAX_DRAWS = 200
#: Parameters whose ranks are shown per tenant (convergence rows: diagnostics.KEY_PARAMS).
RANK_PARAMS = ("roas", "adstock_alpha")
#: Shown prior against posterior: posterior variable → (MediaPriors field, population-prior key, title, log axis).
PRIOR_PARAMS = {
    "roas": ("roas", "log_roas", "ROAS", True),
    "adstock_alpha": ("adstock", "logit_alpha", "adstock α (carry-over per period)", False),
    "half_sat": ("half_sat", "log_half_sat", "half-saturation (× mean spend per period)", True),
    "weather_gamma": ("weather", "gamma", "weather γ", False),
}


@dataclass
class Figure:
    """One inline figure of the report."""

    kind: str
    title: str
    caption: str
    uri: str


@dataclass
class TenantSection:
    """Everything the template shows for one tenant."""

    tenant: str
    anchor: str
    verdict: dict
    fit: dict
    roas: dict
    conv_rows: list[dict]
    figures: list[Figure] = field(default_factory=list)
    allocation: dict | None = None
    cv: dict | None = None
    #: Per channel ``{contraction, flagged, reasons, fixes}`` and the log-ROAS correlation matrix, when recorded.
    identification: dict | None = None
    correlation: dict | None = None


def anchor_of(tenant: str) -> str:
    """HTML id of a tenant's section (tenant ids are already ``[A-Za-z0-9_-]``)."""
    return "tenant-" + re.sub(r"[^A-Za-z0-9_-]", "-", tenant)


def _draw_index(n_total: int, n: int = MAX_DRAWS) -> np.ndarray:
    """Evenly spaced draws: deterministic, and spread over all chains."""
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).astype(int))


def tenant_conv_rows(table: pd.DataFrame, tenant: str, thresholds: dict) -> list[dict]:
    """One row per scalar parameter of ``tenant`` in a :func:`parameter_diagnostics` table, flagged when it misses a threshold."""
    rows = []
    for r in table[table["tenant"] == tenant].itertuples():
        row = {"name": r.param, "mean": r.mean, "r_hat": r.r_hat, "ess_bulk": r.ess_bulk, "ess_tail": r.ess_tail}
        row["bad"] = bool(row["r_hat"] > thresholds.get("rhat_max", 1.01) or row["ess_bulk"] < thresholds.get("ess_bulk_min", 400))
        rows.append(row)
    return rows


def _roas_cells(entry: dict, channels: list[str]) -> dict[str, dict]:
    return {ch: entry.get("roas", {}).get(ch) or {"mean": None} for ch in channels}


def _tenant_figures(
    idata: az.InferenceData,
    summary: dict,
    tenant: str,
    idx: np.ndarray,
    pareto_k: np.ndarray | None,
    obs_tenant: np.ndarray | None,
    obs_date: np.ndarray | None,
    evaluation: dict | None,
    allocation: dict | None,
    spec: ModelSpec,
) -> list[Figure]:
    """Every figure of one tenant, in report order (``spec``: the run's model settings, from its summary)."""
    post, const = idata.posterior, idata.constant_data
    channels = [str(c) for c in post[CHANNEL].values]
    figs: list[Figure] = []

    def add(kind: str, title: str, caption: str, fig) -> None:
        figs.append(Figure(kind, title, caption, plots.fig_to_data_uri(fig)))

    ranked = {v: post[v].sel({TENANT: tenant}).transpose("chain", "draw", CHANNEL).values for v in RANK_PARAMS if v in post}
    if ranked:
        add("rank", "Rank plots of ROAS and adstock", "Every line (one chain of one channel) should stay inside the grey band around 1: ranks spread evenly means the chains agree. Lines sloping or piling up at one end mean a chain got stuck or drifted; distrust this tenant's numbers until re-run with more tuning.", plots.fig_rank(ranked, channels))

    panels = prior_posterior_panels(idata, summary, tenant)
    if panels:
        add("priors", "Prior against posterior", "Grey is what the model assumed before seeing this tenant's data (the 90 % prior range), colour what it concluded. A posterior much narrower than the grey band means the data spoke; one that looks like the grey band means the number is the prior's, not the data's; a posterior pressed against an edge of the band means the prior may be fighting the data.", plots.fig_prior_posterior(panels, channels))

    unit = PERIOD_UNIT[str(summary["data"].get("cadence", DAILY))]
    dates = idata.observed_data[DATE].values
    observed = idata.observed_data["revenue"].sel({TENANT: tenant}).values
    train = const["train"].sel({TENANT: tenant}).values.astype(bool) if "train" in const else None
    if "posterior_predictive" in idata.groups():
        pp = stacked(idata.posterior_predictive["revenue"].sel({TENANT: tenant}), idx)
        add("ppc", "Posterior predictive check over time", "Black dots should sit inside the bands: about half inside the dark 50 % band and 9 in 10 inside the light 90 % band. Runs of dots outside mean a missing driver (promotion, stock-out, holiday).", plots.fig_ppc_time(dates, observed, pp, train, unit))
        add("ppc_density", f"Distribution of revenue per {unit}", "The black observed histogram should look like one of the blue simulated ones. A shifted or narrower blue cloud means the noise model or the level is off.", plots.fig_ppc_density(observed, pp, unit=unit))

    if pareto_k is not None and obs_tenant is not None:
        sel = obs_tenant == tenant
        add("loo_k", f"LOO Pareto k per {unit}", f"{unit.capitalize()}s above the dashed line (k > 0.7) are influential: LOO is unreliable there and the model may be surprised by them. A few isolated {unit}s are normal; clusters point at a misfit period.", plots.fig_loo_k(obs_date[sel], pareto_k[sel], unit))

    cv = summary["tenants"][tenant].get("cv")
    if cv and cv.get("folds"):
        add("cv", "Walk-forward cross-validation", "The MMM's bar should beat the grey baseline in most folds; if not, the media and weather terms add nothing out of sample.", plots.fig_cv(cv["folds"]))

    if "contribution_mean" in const and "baseline_mean" in const:
        contrib = const["contribution_mean"].sel({TENANT: tenant}).transpose(CHANNEL, DATE).values
        add("contributions", "Revenue decomposition", "Coloured layers are what each channel adds on top of the grey baseline. Check the media layers are plausible in size (usually a minority of revenue) and move with spend.", plots.fig_contributions(dates, const["baseline_mean"].sel({TENANT: tenant}).values, contrib, channels, observed, unit))

    if {"beta", "half_sat"} <= set(post.data_vars) and "spend" in const:
        spend = const["spend"].sel({TENANT: tenant}).transpose(CHANNEL, DATE).values
        mask = train if train is not None else np.ones(spend.shape[1], bool)
        current = spend[:, mask].mean(axis=1)
        beta = stacked(post["beta"].sel({TENANT: tenant}), idx)
        k = stacked(post["half_sat"].sel({TENANT: tenant}), idx)
        shape = stacked(post["hill_shape"], idx) if "hill_shape" in post else np.ones_like(k)
        y_scale = float(const["y_scale"].sel({TENANT: tenant}))
        scale = const["spend_scale"].sel({TENANT: tenant}).values
        grids = [np.linspace(0, 2.5 * max(c, 1e-9), 80) for c in current]
        curves = [plots.response_curves(g, scale[j], y_scale, beta[:, j], k[:, j], shape[:, j]) for j, g in enumerate(grids)]
        add("response", "Response curves", f"Steady-state revenue per {unit} for a constant spend per {unit}, at average weather. Where the dashed current spend sits on the flat part, extra budget returns little; on the steep part, more spend pays.", plots.fig_response(grids, curves, list(current), channels, unit))

    if "adstock_alpha" in post:
        l_max = periods(spec.l_max, str(summary["data"].get("cadence", "daily")))  # days → periods
        alpha = stacked(post["adstock_alpha"].sel({TENANT: tenant}), idx)
        kind = spec.adstock
        peak = stacked(post["adstock_peak"], idx) if kind == "delayed" and "adstock_peak" in post else None
        weights = [plots.adstock_weights(kind, alpha[:, j], l_max, None if peak is None else peak[:, j]) for j in range(len(channels))]
        add("adstock", "Adstock decay", f"How long a {unit}'s spend keeps working. Most weight at lag 0 = immediate effect; a long tail = carry-over that a short test would miss. Wide bands mean the data cannot tell.", plots.fig_adstock(weights, channels, unit))

    if "weather_gamma" in post and "media_weather" in const:
        gamma = stacked(post["weather_gamma"].sel({TENANT: tenant}).transpose(..., CHANNEL, "weather"), idx)
        z = const["media_weather"].sel({TENANT: tenant}).transpose(DATE, "weather").values
        t_mean, t_sd = float(const["temp_mean"].sel({TENANT: tenant})), float(const["temp_sd"].sel({TENANT: tenant}))
        r_mean, r_sd = float(const["rain_mean"].sel({TENANT: tenant})), float(const["rain_sd"].sel({TENANT: tenant}))
        # Invert the model's standardisation: z_temp = (°C − mean)/sd, z_rain = (log1p(mm) − mean)/sd.
        temp_obs = z[:, 0] * t_sd + t_mean
        rain_obs = np.expm1(z[:, 1] * r_sd + r_mean)
        temp = np.linspace(np.nanmin(temp_obs), np.nanmax(temp_obs), 60)
        rain = np.linspace(0.0, max(float(np.nanmax(rain_obs)), 1.0), 60)
        zt = (temp - t_mean) / t_sd
        zr = (np.log1p(rain) - r_mean) / r_sd
        tm = [np.exp(gamma[:, j, 0, None] * zt[None, :]) for j in range(len(channels))]
        rm = [np.exp(gamma[:, j, 1, None] * zr[None, :]) for j in range(len(channels))]
        add("weather", "Media effectiveness vs weather", "A multiplier above 1 means the channel works better in that weather. Bands that straddle 1 across the whole range mean no detectable weather effect for that channel.", plots.fig_weather(temp, tm, rain, rm, channels))

    if allocation and tenant in allocation.get("tenants", {}):
        a = allocation["tenants"][tenant]
        chs = [c for c in channels if c in a.get("plan", {})] or list(a.get("plan", {}))
        cur = [float(np.sum(a.get("current", {}).get(c, [0.0]))) for c in chs]
        plan = [float(np.sum(a["plan"][c])) for c in chs]
        add("allocation", "Allocation plan", "Grey is the current mix scaled to the same budget, coloured the recommendation. Large shifts towards a channel with a wide ROAS interval are risky; check the probability the plan beats current below.", plots.fig_allocation(chs, cur, plan))

    tests = [t for t in summary["tenants"].get(tenant, {}).get("lift_tests", []) if "predicted" in t]
    if tests:
        add("lift", "Lift tests against the model", "Black squares are what each experiment measured (± its standard error), blue dots the model's prediction for the same test with its 90 % interval. Used tests are part of the fit, so they should overlap; a test far from the model means the experiment and the observational data disagree (check its window and channel).", plots.fig_lift(tests))
    if evaluation:
        pairs = [p for p in evaluation.get("pairs", []) if p.get("tenant") == tenant and p.get("mean") is not None]
        if pairs:
            add("truth", "Comparison with ground truth", "Red crosses are the true ROAS of the simulation. They should fall inside the blue 90 % intervals about 9 times in 10; a cross far outside is a recovery failure.", plots.fig_truth(pairs))
    return figs


def _prior_interval(spec: ModelSpec, population: dict | None, name: str, key: str, channel: str, w: int | None,
                    tenant: str) -> tuple[float, float]:
    """A tenant's prior 90 % range: the population prior's when the run used one (cold start: per channel;
    warm start, ``refresh``: per tenant and channel), else the spec's."""
    warm = (population or {}).get("tenants")  # a warm start's priors have a leading tenant axis
    if (population and key in population.get("loc", {}) and channel in population.get("channels", [])
            and (warm is None or tenant in warm)):  # a tenant new since the parent run gets the spec's prior
        loc, scale = (np.asarray(population[part][key]) for part in ("loc", "scale"))
        if warm is not None:
            loc, scale = loc[warm.index(tenant)], scale[warm.index(tenant)]
        j = population["channels"].index(channel)
        loc, scale = loc[j], scale[j]
        if w is not None:
            loc, scale = loc[w], scale[w]
        kind = "log" if name == "roas" else NORMAL_FIELDS[name]
        return range_of_normal(float(loc), float(scale), kind)
    return spec.priors.tenant_interval(name, channel, spec.pooled)


def prior_posterior_panels(idata: az.InferenceData, summary: dict, tenant: str) -> list[dict]:
    """Per parameter (and weather variable for γ): each channel's prior 90 % range and ``tenant``'s posterior 5/50/95 %."""
    config = summary.get("config") or {}
    spec = ModelSpec.from_dict(config.get("spec") or {})
    post = idata.posterior
    channels = [str(c) for c in post[CHANNEL].values]
    panels = []
    for var, (name, key, title, log) in PRIOR_PARAMS.items():
        if var not in post:
            continue
        q = post[var].sel({TENANT: tenant}).quantile([0.05, 0.5, 0.95], dim=("chain", "draw"))
        weathers = [str(w) for w in q["weather"].values] if "weather" in q.dims else [None]
        for w, wname in enumerate(weathers):
            sel = q if wname is None else q.sel(weather=wname)
            widx = None if wname is None else w
            panels.append({
                "title": title if wname is None else f"{title}: {wname}",
                "prior": [_prior_interval(spec, config.get("population_prior"), name, key, ch, widx, tenant) for ch in channels],
                "post": sel.transpose(CHANNEL, "quantile").values,
                "log": log,
            })
    return panels


def _loo(idata: az.InferenceData) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Pointwise Pareto k with each observation's tenant and date."""
    loo = pointwise_loo(idata)
    return (None, None, None) if loo is None else (loo.pareto_k, loo.obs_tenant, loo.obs_date)


def _allocation_info(allocation: dict | None, tenant: str) -> dict | None:
    if not allocation or tenant not in allocation.get("tenants", {}):
        return None
    a = allocation["tenants"][tenant]
    return {
        "expected": a.get("expected_incremental_revenue", {}),
        "prob": a.get("prob_plan_beats_current"),
        "kept": bool(a.get("plan_is_current")),
        "days": allocation.get("days", []),
        "objective": allocation.get("objective"),
        "budget": allocation.get("budget"),
    }


def render_report(run_dir: Path, max_tenants: int | None = None, progress: bool = True) -> str:
    """Render the diagnostic report of a run folder as one self-contained HTML string.

    Parameters
    ----------
    run_dir
        A run folder (``idata.nc`` and ``summary.json``; ``evaluation.json``,
        ``allocation.json`` and ``monitor.json`` are shown when present, and a
        refreshed run's ROAS moves vs its parent).
    max_tenants
        Render sections for the first ``max_tenants`` tenants only (all are in the index).
    progress
        Show a rich progress bar over tenants.
    """
    run = RunFolder(run_dir)
    run_dir = run.path
    idata, summary = run.load(need_tenants=True, groups=("observed_data",))  # every section reads its tenant's entry
    spec = run.spec(summary)
    evaluation = run.evaluation()
    allocation = run.allocation()
    tenants = [str(t) for t in summary["data"]["tenants"]]
    channels = [str(c) for c in summary["data"]["channels"]]
    shown = tenants if max_tenants is None else tenants[:max_tenants]

    n_samples = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    idx = _draw_index(n_samples)
    pareto_k, obs_tenant, obs_date = _loo(idata)
    stats = parameter_diagnostics(idata, KEY_PARAMS)
    conv = summary.get("convergence", {})

    sections = []
    for t in track(shown, description="Rendering report", disable=not progress, transient=True):
        entry = summary["tenants"][t]
        sections.append(
            TenantSection(
                tenant=t,
                anchor=anchor_of(t),
                verdict=tenant_verdict(summary, t),
                fit=entry.get("fit", {}),
                roas=_roas_cells(entry, channels),
                conv_rows=tenant_conv_rows(stats, t, conv.get("thresholds", {})),
                figures=_tenant_figures(idata, summary, t, idx, pareto_k, obs_tenant, obs_date, evaluation, allocation, spec),
                allocation=_allocation_info(allocation, t),
                cv=entry.get("cv"),
                identification=entry.get("identification"),
                correlation=entry.get("roas_correlation"),
            )
        )

    pairs = [(t, j, ch, summary["tenants"][t]["roas"].get(ch) or {}) for t in tenants for j, ch in enumerate(channels)]
    pairs = [p for p in pairs if p[3].get("mean") is not None]
    forest = None
    if pairs:
        forest = plots.fig_to_data_uri(
            plots.fig_roas_forest(
                [f"{t} · {ch}" for t, _, ch, _ in pairs],
                np.array([p[3]["mean"] for p in pairs], float),
                np.array([p[3]["q05"] for p in pairs], float),
                np.array([p[3]["q95"] for p in pairs], float),
                [j for _, j, _, _ in pairs],
            )
        )
    index = [
        {"tenant": t, "anchor": anchor_of(t) if t in shown else None, "roas": _roas_cells(summary["tenants"][t], channels),
         "fit": summary["tenants"][t].get("fit", {}), "verdict": tenant_verdict(summary, t)}
        for t in tenants
    ]
    env = Environment(loader=PackageLoader("bayes_mmm.surfaces", "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    return env.get_template("report.html").render(
        summary=summary,
        run_dir=str(run_dir),
        channels=channels,
        conv=conv,
        loo=summary.get("loo"),
        index=index,
        sections=sections,
        n_hidden=len(tenants) - len(shown),
        forest=forest,
        evaluation=evaluation,
        allocation=allocation,
        model_card=summary.get("model_card"),
        spec=spec.to_dict(),
        monitor=monitoring(run_dir, summary),
        moves=parent_moves(summary),
    )


def _num(x: Any, digits: int = 2) -> str:
    """Format a number for the report; missing or non-finite values become :data:`~bayes_mmm.core.numbers.MISSING`."""
    if isinstance(x, str | bool):
        return str(x)
    try:
        return fmt(x, f",.{digits}f")
    except (TypeError, ValueError):
        return str(x)


#: What marks a file as a report this package wrote (older reports: their title).
OWN_MARKS = ('<meta name="generator" content="bayes-mmm">', "<title>bayes-mmm report")


def is_own_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report bayes-mmm wrote (so regenerating it replaces nobody's file)."""
    return any(mark in file_head(path) for mark in OWN_MARKS)


def report_target(run_dir: Path, out: Path | None = None, force: bool = False) -> Path:
    """Where the report of ``run_dir`` goes, checked before any work.

    ``--out`` must be new (or ``force``); the default ``run_dir/report.html`` may be replaced when it
    is a report this package wrote, and its folder must be writable.

    Raises
    ------
    FileExistsError
        The default path holds a file bayes-mmm did not write (and not ``force``).
    DataError
        The place cannot be written.
    """
    if out is not None:
        return check_out_file(out, force, own=REPORT)
    path = RunFolder(run_dir).report_path
    refuse_foreign(path, force, is_own_report, "a report bayes-mmm wrote", "choose another --out", own=REPORT)
    return path


def write_report(run_dir: Path, out: Path | None = None, max_tenants: int | None = None, progress: bool = True) -> Path:
    """Render the report of ``run_dir`` and write it atomically to ``out`` (default ``run_dir/report.html``)."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else RunFolder(run_dir).report_path
    return atomic.write_text(out, render_report(run_dir, max_tenants=max_tenants, progress=progress))


__all__ = ["anchor_of", "prior_posterior_panels", "render_report", "tenant_verdict", "write_report"]
