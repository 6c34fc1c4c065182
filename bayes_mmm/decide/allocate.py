"""Budget allocation: the per-day, per-channel spend plan that maximises a posterior objective.

:func:`allocate_run` is the run-folder entry point the CLI and API call; it
orchestrates the pieces of this package:

* :mod:`~bayes_mmm.decide.problem` — the response of a plan per posterior draw,
  built on the model's forward model (:mod:`bayes_mmm.model.response`);
* :mod:`~bayes_mmm.decide.objectives` — mean, mean − λ·sd, CVaR with gradients;
* :mod:`~bayes_mmm.decide.solvers` — projection, spectral projected gradient, SLSQP;
* :mod:`~bayes_mmm.decide.bounds` — channel bounds and tenant budgets;
* :mod:`~bayes_mmm.decide.weather` — the forecast on the plan's horizon;
* :mod:`~bayes_mmm.decide.plan` — current and starting plans, plan.json.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import CADENCE_DAYS, DATE
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import non_finite
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.forecast import forecast_covers, in_periods, read_forecast
from bayes_mmm.data.lake import tenants_field
from bayes_mmm.decide.bounds import (
    FREE,
    TrustRegion,
    budget_groups,
    check_budget_scale,
    check_feasible,
    parse_caps,
    parse_channel_bounds,
    trust_bounds,
    user_named,
)
from bayes_mmm.decide.harm import MIN_GAIN, check_min_gain, guarded
from bayes_mmm.decide.horizon import n_periods, plan_dates
from bayes_mmm.decide.objectives import Objective, objective_and_grad, parse_objective
from bayes_mmm.decide.pacing import project_paced
from bayes_mmm.decide.plan import (
    CURRENT_WINDOW,
    PlanInputs,
    budget_notes,
    currency_notes,
    current_plan,
    cv_notes,
    recent_level,
    stale_notes,
    starting_plans,
    tenant_results,
    write_plan,
)
from bayes_mmm.decide.problem import Problem, build_problem, posterior_problem, response, response_and_grad
from bayes_mmm.decide.solvers import Groups, optimise, optimise_spg, project, spg
from bayes_mmm.decide.ties import NO_TIES, Ties, entangled_groups
from bayes_mmm.decide.weather import (
    find_lake,
    forecast_z,
    plan_cities,
    refuse_own_days,
    warn_extrapolation,
    warn_strangers,
    weatherless_z,
)
from bayes_mmm.model.design import WeatherStats, periods
from bayes_mmm.model.draws import stacked
from bayes_mmm.runs.folder import RunFolder

OPT_DRAWS = 300  # default posterior draws used inside the optimiser
MIN_BUDGET = 0.01
DEFAULT_TRUST = TrustRegion()


def _check_budget(budget: float) -> None:
    if not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
        raise DataError(f"budget must be a positive amount, got {budget}", hint="pass --budget with the total to spend over the plan's periods")
    if budget < MIN_BUDGET:  # 1e-320 passed as positive, then failed as "bounds add up to 0.00, below the budget 0.00"
        raise DataError(f"budget {budget:g} is below {MIN_BUDGET} (a cent of the revenue's currency)",
                        hint="pass --budget with the total to spend over the plan's periods")


def _open_run(run_dir: str | Path, tenant: str | None, allow_unconverged: bool) -> tuple[RunFolder, Any, dict[str, Any], bool]:
    """Run folder (the group holding ``tenant``), its idata and summary, and whether it is unconverged."""
    run = RunFolder(run_dir).group_of(tenant)  # a grouped run: the group folder holding the tenant
    idata, summary = run.load()
    unconverged = summary.get("convergence", {}).get("ok") is not True
    if unconverged:
        if not allow_unconverged:
            raise DataError("the run did not converge (summary.json convergence.ok is not true)", file=run.path,
                            hint="refit with more draws/tune, or pass allow_unconverged=True (CLI: --allow-unconverged) to plan anyway")
        warnings.warn(f"UNCONVERGED RUN {run.path}: the posterior is unreliable, and so is this plan", UserWarning, stacklevel=3)
    if "roas" not in idata.posterior:
        raise DataError("the run has no media effects (fitted without media), nothing to allocate", file=run.path)
    if "beta" not in idata.posterior:
        raise DataError("the run's posterior has no 'beta' (a run without media, or from an older version)",
                        file=run.idata_path, hint="refit with `bayes-mmm fit` (media on)")
    return run, idata, summary, unconverged


def _selected(const: xr.Dataset, tenant: str | None) -> list[int]:
    """Indices of the planned tenants: one, or all of the run's."""
    all_tenants = [str(t) for t in const["tenant"].values]
    if tenant is not None and tenant not in all_tenants:
        raise DataError(f"unknown tenant '{tenant}'; the run has {', '.join(all_tenants)}", hint="pass one of them or no tenant for the portfolio")
    return [all_tenants.index(tenant)] if tenant is not None else list(range(len(all_tenants)))


def _active(const: xr.Dataset, sel: list[int]) -> np.ndarray:
    """``(N, C)``: the tenant has the channel (``has_channel`` when the run records it) and spent on it at some point."""
    spent = const["spend"].values[sel].sum(axis=-1) > 0
    return spent & const["has_channel"].values[sel].astype(bool) if "has_channel" in const else spent


def tenant_ranges(idata: Any, sel: list[int]) -> np.ndarray | None:
    """``(N, T)``: each selected tenant's own first..last period of the run (None when the run cannot say).

    Runs record ``in_range``; older ones left their posterior predictive blank outside it.
    """
    const = idata.constant_data
    if "in_range" in const:
        return const["in_range"].values[sel].astype(bool)
    if "posterior_predictive" in idata.groups():
        return np.isfinite(idata.posterior_predictive["revenue"].isel(chain=0, draw=0).values[sel])
    return None


def _temp_range(const: Any, i: int) -> tuple[float, float] | None:
    """Tenant ``i``'s training temperature range (runs before it was recorded, or without weather: None)."""
    if "temp_min" not in const:
        return None
    lo, hi = float(const["temp_min"].values[i]), float(const["temp_max"].values[i])
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None


def own_periods(spend: np.ndarray, in_range: np.ndarray | None) -> np.ndarray:
    """``spend`` ``(N, C, T)`` moved so that each tenant's last period (``in_range`` ``(N, T)``) is the last column.

    Tenants of one run may end on different dates; the run's date axis ends at the latest. A tenant that
    ended earlier is zero after its end, so its "current" spend and carry-over would read as nothing: they
    are its own last periods instead (the first columns are then 0). Not the fitted days: a blank revenue
    at the end is still a period with spend. ``in_range`` None: unchanged.
    """
    if in_range is None or not in_range.any(axis=1).all():
        return spend
    t = spend.shape[-1]
    out = np.zeros_like(spend)
    for i, last in enumerate(last_periods(in_range)):
        end = int(last) + 1
        out[i, :, t - end:] = spend[i, :, :end]
    return out


def last_periods(in_range: np.ndarray) -> np.ndarray:
    """``(N,)`` index of each tenant's last period in ``in_range`` ``(N, T)`` (the run's last for a tenant without one)."""
    return in_range.shape[-1] - 1 - np.argmax(in_range[:, ::-1], axis=1) * in_range.any(axis=1)


def plan_inputs(
    idata: Any, spec: ModelSpec, tenant: str | None, days: int, forecast: str | Path | pd.DataFrame | None,
    *, cadence: str = "daily", n_lags: int | None = None, start: str | pd.Timestamp | None = None,
    cities: Mapping[str, str] | None = None, run_tenants: list[str] | None = None,
) -> PlanInputs:
    """The posterior :class:`Problem` of a run and what the plan needs around it (``days`` counts periods).

    ``run_tenants``: every tenant of the run (a grouped run's idata holds one group's), for the forecast's check.
    """
    post, const = idata.posterior, idata.constant_data
    sel = _selected(const, tenant)
    tenants = [str(const["tenant"].values[i]) for i in sel]
    n_lags = periods(spec.windowed(cadence).l_max, cadence) if n_lags is None else n_lags
    last = pd.DatetimeIndex(const["date"].values)[-1]
    dates, gap = plan_dates(last, cadence, days, start)
    horizon_dates = pd.date_range(dates[0], periods=days + n_lags - 1, freq=pd.Timedelta(days=CADENCE_DAYS[cadence]))
    stats = [WeatherStats(*(float(const[k].values[i]) for k in ("temp_mean", "temp_sd", "rain_mean", "rain_sd")),
                          clip=spec.media_weather_clip, temp_range=_temp_range(const, i)) for i in sel]
    # Runs written before has_weather was recorded: every tenant had weather (or a multiplier of 1).
    has_weather = const["has_weather"].values[sel].astype(bool) if "has_weather" in const else np.ones(len(sel), bool)
    ranges = tenant_ranges(idata, sel)
    run_dates = pd.DatetimeIndex(const["date"].values)
    last_idx = np.full(len(tenants), len(run_dates) - 1) if ranges is None else last_periods(ranges)
    fc = None
    if forecast is not None and has_weather.any():  # tenants fitted without weather ignore any forecast
        # A forecast may start after the earliest-ending tenant's data (rows before the plan are not used).
        raw = read_forecast(forecast, after=run_dates[last_idx].min())
        source = "forecast" if isinstance(forecast, pd.DataFrame) else str(forecast)
        refuse_own_days(raw, tenants, run_dates[last_idx], source)
        warn_strangers(raw, run_tenants or [str(t) for t in const["tenant"].values], source)
        fc = in_periods(raw, horizon_dates, cadence)
        # ... so they need not have rows, nor are they judged against their (absent) weather history
        weathered = [t for t, w in zip(tenants, has_weather, strict=True) if w]
        forecast_covers(fc, dates, weathered, cities, source)
        # Only the weather the plan uses is judged: rows before the plan (a tenant's gap) are not.
        warn_extrapolation(fc[fc[DATE] >= horizon_dates[0]], weathered, [st for st, w in zip(stats, has_weather, strict=True) if w])
    z, known = forecast_z(fc, horizon_dates, tenants, stats)
    weatherless_z(z, known, horizon_dates, has_weather, spec.seasonal_media, cadence)
    gamma = stacked(post["weather_gamma"])[:, sel] if "weather_gamma" in post else None
    spend = own_periods(const["spend"].values[sel], ranges)
    seen = None if ranges is None else own_periods(ranges[:, None, :].astype(float), ranges)[:, 0] > 0
    # A tenant's data end on its last period's last day (a week's seventh); without ranges, every tenant's on the run's.
    ends = run_dates[last_idx] + pd.Timedelta(days=CADENCE_DAYS[cadence] - 1)
    window = periods(CURRENT_WINDOW, cadence)
    # Between the data and a later start, and after the plan, spend is assumed to stay at its recent level.
    level = recent_level(spend, window)
    between = np.repeat(level[..., None], gap, axis=-1)
    return PlanInputs(
        tenants=tenants, channels=[str(c) for c in const["channel"].values],
        prob=posterior_problem(post, const, spec, sel, z, days, n_lags=n_lags, gap=between, spend=spend, after=level),
        spend=spend, gamma=gamma, z=z, known=known, plan_dates=dates, l_max=n_lags, active=_active(const, sel),
        cadence=cadence, window=window, has_weather=has_weather, ends=ends, seen=seen,
    )


def solve(
    prob: Problem, obj: Objective, lower: np.ndarray, upper: np.ndarray, groups: list, starts: dict[str, np.ndarray], draws: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Optimise on evenly spaced draws with the solver the objective needs."""
    s_all = prob.n_draws
    sub = prob.take(np.unique(np.linspace(0, s_all - 1, min(s_all, draws or OPT_DRAWS)).round().astype(int)))
    t_opt = time.perf_counter()
    if len(groups) > 1 and all(len(idx) == 1 for idx, _ in groups) and obj.kind == "cvar":
        # Every tenant has its own budget: the problems are independent, and solving them one
        # by one is far faster than one joint SLSQP. CVaR then applies to each tenant's own revenue.
        plan = np.zeros_like(starts["current"])
        per = []
        for idx, total in groups:
            plan[idx], info_i = optimise(sub.for_tenants(idx), obj, lower[idx], upper[idx], [(np.array([0]), total)],
                                         {k: v[idx] for k, v in starts.items()})
            per.append(info_i)
        info = {"method": "SLSQP", "separable": True, "per_tenant": per, "converged": all(p["converged"] for p in per)}
    elif obj.kind == "cvar":
        # CVaR is not smooth (the tail set changes with the plan): SLSQP's line search copes better.
        plan, info = optimise(sub, obj, lower, upper, groups, starts)
        info["method"] = "SLSQP"
    else:
        plan, info = optimise_spg(sub, obj, lower, upper, groups, {k: starts[k] for k in ("current", "equal")})
    info["seconds"] = time.perf_counter() - t_opt
    info["draws"] = sub.n_draws
    return plan, info


@dataclass
class Setup:
    """A run opened for planning: everything that does not depend on the budget."""

    run: RunFolder
    summary: dict[str, Any]
    inp: PlanInputs
    unconverged: bool
    forecast: str | None
    roas: np.ndarray  # (S, N, C) posterior ROAS of the planned tenants
    currencies: dict[str, str] = field(default_factory=dict)  # tenant → tenant.json currency, where the lake says


def prepare(
    run_dir: str | Path, tenant: str | None = None, days: int | None = None, periods: int | None = None,
    forecast: str | Path | pd.DataFrame | None = None, start: str | pd.Timestamp | None = None,
    allow_unconverged: bool = False, cities: Mapping[str, str] | None = None,
) -> Setup:
    """Open a run and build the plan's horizon, forecast and posterior problem (see :func:`allocate_run`)."""
    tenant = None if tenant is None else tenant.strip()  # as the files' ids are read
    run, idata, summary, unconverged = _open_run(run_dir, tenant, allow_unconverged)
    cadence = str((summary.get("data") or {}).get("cadence", "daily"))
    n = n_periods(days, periods, cadence)
    planned = [tenant] if tenant is not None else [str(t) for t in idata.constant_data["tenant"].values]
    # The lake may be recorded relative to where fit ran: find_lake also looks above the run.
    recorded = (summary.get("data") or {}).get("lake")
    lake = find_lake(recorded, run.path, planned)
    if cities is None:
        cities = plan_cities(lake, recorded, planned, forecast)
    inp = plan_inputs(idata, run.spec(summary), tenant, n, forecast, cadence=cadence, n_lags=run.n_lags(summary),
                      start=start, cities=cities, run_tenants=list(RunFolder(run_dir).summary()["data"]["tenants"]))
    roas = stacked(idata.posterior["roas"])[:, _selected(idata.constant_data, tenant)]
    name = None if forecast is None else (str(forecast) if not isinstance(forecast, pd.DataFrame) else "DataFrame")
    return Setup(run, summary, inp, unconverged, name, roas, _currencies(summary, lake, inp.tenants))


def _currencies(summary: dict, lake: Path | None, tenants: list[str]) -> dict[str, str]:
    """Each tenant's currency: as the run recorded it from ``tenant.json``, else (older runs, or none recorded) from
    the lake if found."""
    recorded = summary.get("tenants") or {}
    if any(recorded.get(t, {}).get("currency") for t in tenants):
        return {t: str(recorded[t].get("currency") or "") for t in tenants if t in recorded}
    return {} if lake is None else tenants_field(lake, [t for t in tenants if (lake / t).is_dir()], "currency")


def setup_notes(setup: Setup, groups: Groups, start: pd.Timestamp) -> list[str]:
    """Warnings any plan of a prepared run carries, ``allocate``'s and ``score-plan``'s alike: budgets far above the
    recent spend, tenants whose data are stale, that CV judged NO-GO, or that share a budget across currencies
    (``plan.json`` ``warnings``)."""
    inp = setup.inp
    return (budget_notes(inp.spend, groups, inp.tenants, len(inp.plan_dates), inp.window)
            + stale_notes(inp.ends, start, inp.tenants) + cv_notes(setup.summary, inp.tenants)
            + currency_notes(setup.currencies, groups, inp.tenants))


def wide_channels(setup: Setup, channel_bounds: Mapping[str, Any] | None) -> list[str]:
    """``tenant:channel`` pairs the user's bounds free whose posterior is too wide for a big move.

    Too wide: the central 90 % interval of ROAS is wider than its mean.
    """
    q05, q95 = np.quantile(setup.roas, [0.05, 0.95], axis=0)
    wide = setup.inp.active & user_named(channel_bounds, setup.inp.channels)[None, :] & (q95 - q05 > setup.roas.mean(axis=0))
    return pairs(wide, setup.inp.tenants, setup.inp.channels)


def pairs(mask: np.ndarray, tenants: list[str], channels: list[str]) -> list[str]:
    """``tenant:channel`` for every True cell of an ``(N, C)`` mask, tenant by tenant."""
    return [f"{tenants[i]}:{channels[j]}" for i, j in zip(*np.nonzero(mask), strict=True)]


def unidentified(
    setup: Setup, trust: TrustRegion, channel_bounds: Mapping[str, Any] | None, current: np.ndarray
) -> tuple[np.ndarray, Ties]:
    """Channels the run's identification checks flag, not named by the user: ``(N, C)`` held, and ties.

    A flagged channel entangled with another of the tenant's channels is tied to it (their split
    stays, their total may move, :mod:`~bayes_mmm.decide.ties`); a flagged channel alone keeps its
    current spend, and so does one whose spend follows revenue: the pair's total would carry the
    same pull of sales on the budget, so it is never tied.
    """
    inp = setup.inp
    if not trust.hold_unidentified:
        return np.zeros(inp.active.shape, dtype=bool), NO_TIES
    flagged, pinned = (_identification_mask(setup.summary, inp.tenants, inp.channels, key) for key in ("flagged", "follows_revenue"))
    free = inp.active & ~user_named(channel_bounds, inp.channels)[None, :]
    ties = Ties.of(entangled_groups(setup.summary, inp.tenants, inp.channels, flagged & ~pinned, free & ~pinned), current)
    tied = np.zeros_like(flagged)
    for i, members in ties.groups:
        tied[i, list(members)] = True
    return flagged & free & ~tied, ties


def _identification_mask(summary: Mapping[str, Any], tenants: list[str], channels: list[str], key: str) -> np.ndarray:
    """``(N, C)``: the run's identification entry of each tenant×channel has ``key`` true (False where absent)."""
    entries = summary.get("tenants") or {}
    idents = [(entries.get(t) or {}).get("identification") or {} for t in tenants]
    return np.array([[bool((e.get(c) or {}).get(key)) for c in channels] for e in idents], dtype=bool).reshape(len(tenants), len(channels))


def kept_dark(
    plan: np.ndarray, current: np.ndarray, free: np.ndarray, channel_bounds: Mapping[str, Any] | None, channels: list[str],
    trust: TrustRegion,
) -> np.ndarray:
    """``(N, C)`` channels at 0 today and in the plan because the band or pacing (both scale today's level) kept them there."""
    scaled = trust.pacing is not None or (trust.band is not None and ~user_named(channel_bounds, channels)[None, :])
    return free & scaled & (current.sum(axis=-1) == 0) & (plan.max(axis=-1) <= 1e-9 * max(float(plan.sum()), 1.0))


def plan_budget(
    setup: Setup, budget: float, objective: str = "mean", channel_bounds: Mapping[str, Any] | None = None,
    tenant_budgets: Mapping[str, float] | None = None, trust: TrustRegion = DEFAULT_TRUST,
    confidence: float | None = 0.9, draws: int | None = None, seed: int = 0, min_gain: float = MIN_GAIN,
    shape_check: bool = True,
) -> dict[str, Any]:
    """The plan for one budget on a prepared run (see :func:`allocate_run`)."""
    t_start = time.perf_counter()
    _check_budget(budget)
    if confidence is not None and not 0 < confidence < 1:
        raise DataError(f"confidence must lie in (0, 1), got {confidence}", hint="e.g. --confidence 0.9")
    check_min_gain(min_gain)
    obj, inp = parse_objective(objective), setup.inp
    check_budget_scale(budget, inp.spend, len(inp.plan_dates) * CADENCE_DAYS[inp.cadence])
    groups = budget_groups(tenant_budgets, inp.tenants, budget)
    current, _ = current_plan(inp.spend, groups, len(inp.plan_dates), inp.window)
    active = inp.active
    held, ties = unidentified(setup, trust, channel_bounds, current)
    try:
        lower, upper = ties.bounds(*trust_bounds(trust, channel_bounds, inp.channels, current, inp.spend, active, held, inp.seen))
        check_feasible(lower, upper, groups, inp.tenants)
    except DataError:  # holding or tying them leaves the budget no room: plan them like the others (held, tied empty)
        held[:], ties = False, NO_TIES
        lower, upper = trust_bounds(trust, channel_bounds, inp.channels, current, inp.spend, active, seen=inp.seen)
        check_feasible(lower, upper, groups, inp.tenants)
    # The optimiser, pacing and do-no-harm work on the reduced plan (one cell per tied group).
    prob, current_r = ties.problem(inp.prob), ties.reduce(current)
    optimum, info = solve(prob, obj, lower, upper, groups, starting_plans(current_r, active, groups, budget, seed), draws)
    paced = (lambda x: project_paced(x, lower, upper, groups, trust.pacing)) if trust.pacing is not None else (
        lambda x: project(x, lower, upper, groups))
    optimum, anchor = paced(optimum), paced(current_r)
    plan, steps = guarded(prob, anchor, optimum, current_r, groups, confidence, min_gain=min_gain, shape_check=shape_check)
    plan = ties.expand(plan)
    info["budget_residual"] = float(plan.sum() - budget)
    out_tenants, portfolio = tenant_results(inp, plan, current)
    for (idx, total), st in zip(groups, steps, strict=True):
        for i in idx:
            out_tenants[inp.tenants[i]]["step_toward_optimum"] = st["step"]
            if st.get("held_small_gain"):
                out_tenants[inp.tenants[i]]["held_small_gain"] = True
                out_tenants[inp.tenants[i]]["refused_step"] = {**st["refused"], "budget": float(total), "shared": len(idx) > 1}
            if "held_by_shape" in st:
                out_tenants[inp.tenants[i]]["held_by_shape"] = st["held_by_shape"]
    wide = wide_channels(setup, channel_bounds) if channel_bounds else []
    notes = [f"posterior too wide for a move beyond the trust region (90 % ROAS interval wider than its mean): {', '.join(wide)}"] if wide else []
    notes += setup_notes(setup, groups, inp.plan_dates[0])  # plan.json; the CLI prints them
    step = CADENCE_DAYS[inp.cadence]
    result = {
        "run_id": setup.summary.get("run_id", setup.run.path.name),
        "objective": str(obj),
        "budget": float(budget),
        "days": [d.strftime("%Y-%m-%d") for d in inp.plan_dates],
        "cadence": inp.cadence,
        "start": inp.plan_dates[0].strftime("%Y-%m-%d"),
        "tenants": out_tenants,
        "portfolio": portfolio,
        "carryover_days": (inp.l_max - 1) * step,
        "carryover_periods": inp.l_max - 1,
        "trust_region": {**trust.describe(), "held": pairs(held, inp.tenants, inp.channels),
                         "dark": pairs(kept_dark(plan, current, active & ~held, channel_bounds, inp.channels, trust), inp.tenants, inp.channels),
                         "tied": ties.describe(inp.tenants, inp.channels), "user_bounds": {k: list(v) if isinstance(v, tuple) else v for k, v in (channel_bounds or {}).items()}},
        "do_no_harm": {"confidence": confidence, "min_gain": min_gain if confidence is not None else None,
                       "shape_check": shape_check if confidence is not None else None, "steps": steps,
                       "explained": _harm_explained(confidence, min_gain, shape_check)},
        "warnings": notes,
        "forecast": setup.forecast,
        "draws": {"optimiser": info["draws"], "intervals": inp.prob.n_draws},
        "optimiser": info,
        "unconverged_run": setup.unconverged,
        "seconds": time.perf_counter() - t_start,
    }
    _check_finite(result, setup.run.path)
    return result


def _harm_explained(confidence: float | None, min_gain: float, shape_check: bool) -> str:
    """plan.json's words for the do-no-harm rule."""
    if confidence is None:
        return "off: the optimum is taken in full"
    gain = f" and whose expected gain beyond step 0 is at least {min_gain:.1%} of the budget" if min_gain > 0 else ""
    shape = (" (each draw's gain the smaller of its own and its concave twin's, which earns the same today without "
             "increasing returns)") if shape_check else ""
    return ("each budget moves from the current mix toward the optimum by the largest step (0, 0.1, …, 1) "
            f"whose P(beats current) ≥ {confidence}{gain}{shape}; step 0 keeps the current mix, or where caps, bounds or "
            "pacing exclude it the nearest plan they allow")


def _check_finite(plan: dict[str, Any], run: Path) -> None:
    """Refuse to return a plan holding NaN or infinite numbers (plan.json would show them as null)."""
    bad = non_finite(plan)
    if bad:
        raise DataError(f"the plan came out with non-finite numbers ({', '.join(bad[:3])}); nothing was written", file=run,
                        hint="check the budget, bounds and forecast for extreme values")


def allocate_run(
    run_dir: str | Path,
    budget: float,
    tenant: str | None = None,
    days: int | None = None,
    forecast: str | Path | pd.DataFrame | None = None,
    objective: str = "mean",
    channel_bounds: Mapping[str, Any] | None = None,
    tenant_budgets: Mapping[str, float] | None = None,
    draws: int | None = None,
    seed: int = 0,
    allow_unconverged: bool = False,
    *,
    periods: int | None = None,
    start: str | pd.Timestamp | None = None,
    trust: TrustRegion = DEFAULT_TRUST,
    confidence: float | None = 0.9,
    cities: Mapping[str, str] | None = None,
    min_gain: float = MIN_GAIN,
    shape_check: bool = True,
) -> dict[str, Any]:
    """Spend plan for the periods after a run's data (data contract §4, ``plan.json``).

    Parameters
    ----------
    run_dir
        A run folder written by ``bayes-mmm fit`` (for a grouped run, name a ``tenant``).
    budget
        Total spend over the plan's periods: for ``tenant``, or across all tenants when None.
    tenant
        One tenant id, or None for the portfolio (the split across tenants is optimised
        unless ``tenant_budgets`` fixes it).
    days, periods
        Plan length in periods of the run's cadence (default 7 days, or 4 weeks);
        ``days`` is an alias for daily runs.
    forecast
        ``forecast.csv`` (or a DataFrame) with ``date, temp_c, precip_mm[, snow_cm][, tenant_id]``
        covering every plan period (:func:`bayes_mmm.data.forecast.read_forecast`).
    objective
        ``mean``, ``mean-sd:<lambda>`` or ``cvar:<alpha>``.
    channel_bounds
        Per channel (``"*"``: every channel not named): ``(min, max)`` per period in currency, or ``"20%"`` (± of current);
        they replace the trust region's band for those channels.
    tenant_budgets
        Fixed budgets for some tenants of a portfolio; the rest share what is left.
    draws
        Posterior draws used inside the optimiser (evenly spaced); all draws are used for the intervals.
    seed
        Seed of the random start.
    allow_unconverged
        Plan on a run whose ``convergence.ok`` is false (with a warning) instead of refusing.
    start
        First plan date (default: the period after the data).
    trust
        Band, pacing and caps (:class:`~bayes_mmm.decide.bounds.TrustRegion`; ``FREE`` for none).
    confidence
        Do no harm: the least P(plan beats current) for a move (None: take the optimum in full).
    min_gain
        Do no harm: the least expected gain of a move beyond step 0 (the current mix, or the nearest plan
        the limits allow), as a share of its budget (default 1 %; 0: judged by ``confidence`` alone).
    shape_check
        Do no harm: judge each draw's gain also under its concave twin (no increasing returns at today's
        spend) and keep the smaller (:func:`~bayes_mmm.decide.harm.guarded`); False trusts the fitted shapes.
    cities
        Tenant → city, to refuse one forecast for many cities (default: ``tenant.json`` of the run's lake).

    Returns
    -------
    dict
        The plan, ready for :func:`write_plan`.

    Raises
    ------
    DataError
        On bad input; the message says what to fix.
    """
    _check_budget(budget)
    setup = prepare(run_dir, tenant, days, periods, forecast, start, allow_unconverged, cities)
    plan = plan_budget(setup, budget, objective, channel_bounds, tenant_budgets, trust, confidence, draws, seed, min_gain,
                       shape_check)
    for note in plan["warnings"]:  # said once per plan (a target search plans many budgets)
        warnings.warn(note, UserWarning, stacklevel=2)
    return plan


__all__ = [
    "CURRENT_WINDOW",
    "DEFAULT_TRUST",
    "FREE",
    "OPT_DRAWS",
    "Objective",
    "Problem",
    "TrustRegion",
    "allocate_run",
    "build_problem",
    "objective_and_grad",
    "optimise",
    "optimise_spg",
    "parse_caps",
    "parse_channel_bounds",
    "parse_objective",
    "plan_budget",
    "plan_inputs",
    "prepare",
    "project",
    "response",
    "response_and_grad",
    "spg",
    "write_plan",
]
