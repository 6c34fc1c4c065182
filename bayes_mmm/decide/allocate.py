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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import non_finite
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.decide.bounds import (
    bound_arrays,
    budget_groups,
    check_budget_scale,
    check_feasible,
    parse_channel_bounds,
)
from bayes_mmm.decide.objectives import Objective, objective_and_grad, parse_objective
from bayes_mmm.decide.plan import CURRENT_WINDOW, PlanInputs, current_plan, starting_plans, tenant_results, write_plan
from bayes_mmm.decide.problem import Problem, build_problem, posterior_problem, response, response_and_grad
from bayes_mmm.decide.solvers import optimise, optimise_spg, project, spg
from bayes_mmm.decide.weather import forecast_z, read_forecast, warn_extrapolation
from bayes_mmm.model.design import WeatherStats
from bayes_mmm.model.draws import stacked
from bayes_mmm.runs.folder import RunFolder

OPT_DRAWS = 300  # default posterior draws used inside the optimiser
MAX_PLAN_DAYS = 366


def _check_request(budget: float, days: int) -> int:
    """The plan length as an int, after checking budget and days."""
    if not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
        raise DataError(f"budget must be a positive amount, got {budget}", hint="pass --budget with the total to spend over the plan's days")
    if int(days) != days or not 1 <= days <= MAX_PLAN_DAYS:
        raise DataError(f"days must be a whole number from 1 to {MAX_PLAN_DAYS}, got {days}",
                        hint="plan at most a year ahead; the posterior says nothing about spend further out")
    return int(days)


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


def plan_inputs(
    idata: Any, spec: ModelSpec, tenant: str | None, days: int, forecast: str | Path | pd.DataFrame | None
) -> PlanInputs:
    """The posterior :class:`Problem` of a run and what the plan needs around it."""
    post, const = idata.posterior, idata.constant_data
    sel = _selected(const, tenant)
    tenants = [str(const["tenant"].values[i]) for i in sel]
    last = pd.DatetimeIndex(const["date"].values)[-1]
    plan_dates = pd.date_range(last + pd.Timedelta(days=1), periods=days, freq="D")
    horizon_dates = pd.date_range(plan_dates[0], periods=days + spec.l_max - 1, freq="D")
    stats = [WeatherStats(*(float(const[k].values[i]) for k in ("temp_mean", "temp_sd", "rain_mean", "rain_sd"))) for i in sel]
    fc = None if forecast is None else read_forecast(forecast, last, tenants, plan_dates)
    if fc is not None:
        warn_extrapolation(fc, tenants, stats)
    z, known = forecast_z(fc, horizon_dates, tenants, stats)
    gamma = stacked(post["weather_gamma"])[:, sel] if "weather_gamma" in post else None
    return PlanInputs(
        tenants=tenants, channels=[str(c) for c in const["channel"].values], prob=posterior_problem(post, const, spec, sel, z, days),
        spend=const["spend"].values[sel], gamma=gamma, z=z, known=known, plan_dates=plan_dates, l_max=spec.l_max,
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


def allocate_run(
    run_dir: str | Path,
    budget: float,
    tenant: str | None = None,
    days: int = 7,
    forecast: str | Path | pd.DataFrame | None = None,
    objective: str = "mean",
    channel_bounds: Mapping[str, Any] | None = None,
    tenant_budgets: Mapping[str, float] | None = None,
    draws: int | None = None,
    seed: int = 0,
    allow_unconverged: bool = False,
) -> dict[str, Any]:
    """Optimal spend plan for the days after a run's data (data contract §4, ``plan.json``).

    Parameters
    ----------
    run_dir
        A run folder written by ``bayes-mmm fit`` (for a grouped run, name a ``tenant``).
    budget
        Total spend over the plan's days: for ``tenant``, or across all tenants when None.
    tenant
        One tenant id, or None for the portfolio (the split across tenants is optimised
        unless ``tenant_budgets`` fixes it).
    days
        Plan length in days, starting the day after the data ends.
    forecast
        ``forecast.csv`` (or a DataFrame) with ``date, temp_c, precip_mm[, snow_cm][, tenant_id]``;
        days without a forecast get average weather.
    objective
        ``mean``, ``mean-sd:<lambda>`` or ``cvar:<alpha>``.
    channel_bounds
        Per channel (or ``"*"``): ``(min, max)`` per day in currency, or ``"20%"`` (± of current).
    tenant_budgets
        Fixed budgets for some tenants of a portfolio; the rest share what is left.
    draws
        Posterior draws used inside the optimiser (evenly spaced); all draws are used for the intervals.
    seed
        Seed of the random start.
    allow_unconverged
        Plan on a run whose ``convergence.ok`` is false (with a warning) instead of refusing.

    Returns
    -------
    dict
        The plan, ready for :func:`write_plan`.

    Raises
    ------
    DataError
        On bad input; the message says what to fix.
    """
    t_start = time.perf_counter()
    days = _check_request(budget, days)
    obj = parse_objective(objective)
    run, idata, summary, unconverged = _open_run(run_dir, tenant, allow_unconverged)
    inp = plan_inputs(idata, run.spec(summary), tenant, days, forecast)
    check_budget_scale(budget, inp.spend, days)
    groups = budget_groups(tenant_budgets, inp.tenants, budget)
    current, active = current_plan(inp.spend, groups, days)
    lower, upper = bound_arrays(channel_bounds, inp.channels, current.mean(axis=-1), active, days)
    check_feasible(lower, upper, groups, inp.tenants)
    plan, info = solve(inp.prob, obj, lower, upper, groups, starting_plans(current, active, groups, budget, seed), draws)
    info["budget_residual"] = float(plan.sum() - budget)
    out_tenants, portfolio = tenant_results(inp, plan, current)
    result = {
        "run_id": summary.get("run_id", run.path.name),
        "objective": str(obj),
        "budget": float(budget),
        "days": [d.strftime("%Y-%m-%d") for d in inp.plan_dates],
        "tenants": out_tenants,
        "portfolio": portfolio,
        "carryover_days": inp.l_max - 1,
        "forecast": None if forecast is None else (str(forecast) if not isinstance(forecast, pd.DataFrame) else "DataFrame"),
        "draws": {"optimiser": info["draws"], "intervals": inp.prob.n_draws},
        "optimiser": info,
        "unconverged_run": unconverged,
        "seconds": time.perf_counter() - t_start,
    }
    _check_finite(result, run.path)
    return result


def _check_finite(plan: dict[str, Any], run: Path) -> None:
    """Refuse to return a plan holding NaN or infinite numbers (plan.json would show them as null)."""
    bad = non_finite(plan)
    if bad:
        raise DataError(f"the plan came out with non-finite numbers ({', '.join(bad[:3])}); nothing was written", file=run,
                        hint="check --budget and the channel bounds against the spend in the data; report this if they are sensible")


__all__ = [
    "CURRENT_WINDOW",
    "OPT_DRAWS",
    "Objective",
    "Problem",
    "allocate_run",
    "build_problem",
    "objective_and_grad",
    "optimise",
    "optimise_spg",
    "parse_channel_bounds",
    "parse_objective",
    "plan_inputs",
    "project",
    "response",
    "response_and_grad",
    "spg",
    "write_plan",
]
