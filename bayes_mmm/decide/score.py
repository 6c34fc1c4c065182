"""``bayes-mmm score-plan``: any plan's expected incremental revenue, interval and P(beats current)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import CADENCE_DAYS, DATE
from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.allocate import prepare, setup_notes
from bayes_mmm.decide.bounds import check_budget_scale
from bayes_mmm.decide.horizon import StartError
from bayes_mmm.decide.plan import current_plan, tenant_results
from bayes_mmm.decide.whatif import ROW, TENANT_ID, plan_array, read_plan_csv
from bayes_mmm.runs.folder import RunFolder

SAME_BUDGET = ("portfolio", "tenant")


def score_plan(
    run_dir: str | Path, plan_csv: str | Path, forecast: str | Path | pd.DataFrame | None = None,
    same_budget: str = "portfolio", allow_unconverged: bool = False,
) -> dict[str, Any]:
    """:func:`plan_scores`, each of its ``warnings`` also said as a ``UserWarning`` (as ``allocate_run`` says its own)."""
    scores = plan_scores(run_dir, plan_csv, forecast, same_budget, allow_unconverged)
    for note in scores["warnings"]:
        warnings.warn(note, UserWarning, stacklevel=2)
    return scores


def plan_scores(
    run_dir: str | Path, plan_csv: str | Path, forecast: str | Path | pd.DataFrame | None = None,
    same_budget: str = "portfolio", allow_unconverged: bool = False,
) -> dict[str, Any]:
    """Score a plan CSV (:mod:`bayes_mmm.decide.whatif`) on all posterior draws, as ``allocate`` scores its own.

    ``same_budget``: "current" is the recent mix scaled to the plan's whole total
    (``portfolio``, as ``allocate`` without tenant budgets) or to each tenant's own
    total (``tenant``, as ``allocate`` with every tenant's budget fixed).
    Returns plan.json's ``tenants`` (plan, current, intervals, P) and ``portfolio`` entries.
    """
    if same_budget not in SAME_BUDGET:
        raise DataError(f"same_budget must be one of {', '.join(SAME_BUDGET)}, got '{same_budget}'")
    summary = RunFolder(run_dir).summary()
    cadence = str((summary.get("data") or {}).get("cadence", "daily"))
    channels = [str(c) for c in (summary.get("data") or {}).get("channels", [])]
    df, dates = read_plan_csv(plan_csv, channels, cadence) if channels else (None, None)
    if df is None:
        raise DataError("the run's summary lists no channels", file=RunFolder(run_dir).summary_path)
    named = sorted(set(df[TENANT_ID]))
    all_tenants = [str(t) for t in (summary.get("data") or {}).get("tenants", [])]
    unknown = [t for t in named if t not in all_tenants]
    if unknown:
        rows = sorted({int(r) for r in df.loc[df[TENANT_ID] == unknown[0], ROW]})
        raise DataError(f"tenant '{unknown[0]}' is not in the run, which has {', '.join(all_tenants)}", file=plan_csv,
                        column=TENANT_ID, rows=rows, hint="tenant_id must match the lake's folder names")
    if len(named) != 1 and set(named) != set(all_tenants):
        raise DataError(f"the plan covers {', '.join(named)}: score one tenant or all of the run's ({', '.join(all_tenants)})",
                        file=plan_csv, column=TENANT_ID)
    try:
        setup = prepare(run_dir, named[0] if len(named) == 1 else None, periods=len(dates), forecast=forecast,
                        start=dates[0], allow_unconverged=allow_unconverged)
    except StartError as exc:  # the plan's first date is its start: say so, in the plan file
        raise DataError(f"the plan's first date: {exc.problem}", file=plan_csv, column=DATE, hint=exc.hint) from None
    inp = setup.inp
    plan = plan_array(df, dates, inp.tenants, inp.channels, inp.active, str(plan_csv))
    if plan.sum() <= 0:
        raise DataError("the plan spends nothing", file=plan_csv)
    check_budget_scale(float(plan.sum()), inp.spend, len(dates) * CADENCE_DAYS[cadence], "the plan's total", plan_csv)  # as allocate
    if same_budget == "portfolio":
        groups = [(np.arange(len(inp.tenants)), float(plan.sum()))]
    else:
        groups = [(np.array([i]), float(plan[i].sum())) for i in range(len(inp.tenants))]
    current, _ = current_plan(inp.spend, groups, len(dates), inp.window)
    tenants, portfolio = tenant_results(inp, plan, current)
    notes = setup_notes(setup, groups, dates[0])  # as allocate's: in the result, which the CLI prints
    return {"run_id": summary.get("run_id"), "plan_file": str(plan_csv), "same_budget": same_budget,
            "days": [d.strftime("%Y-%m-%d") for d in dates], "cadence": cadence, "budget": float(plan.sum()),
            "tenants": tenants, "portfolio": portfolio, "warnings": notes}
