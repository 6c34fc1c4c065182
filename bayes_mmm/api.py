"""The public workflow functions that the CLI and the notebooks share."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayes_mmm.core import atomic
from bayes_mmm.core.constants import (
    DAILY,
    DEMO_CHAINS,
    DEMO_DRAWS,
    DEMO_TUNE,
    PERIOD_UNIT,
    REFRESH_ROAS_CHANGE_SD,
)
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import list_tenants, load_lake
from bayes_mmm.runs.folder import not_a_run

if TYPE_CHECKING:  # PyMC loads with the fitting code only: import, validate and simulate start in a second or two
    from bayes_mmm.inference.fit import FitResult


def gate_lake(
    data: str | Path, tenants: str | Sequence[str] = "all", allow: Sequence[str] = (), console: Any | None = None
) -> None:
    """Run the data-quality gates before work that trusts the data; stop on an error gate not in ``allow``.

    Warnings (and allowed errors) are printed to ``console`` and the work goes on.
    """
    from bayes_mmm.data.validate import check_lake, warned

    table = check_lake(data, tenants, allow)
    if console is not None:
        for row in warned(table).itertuples():
            console.print(f"[yellow]warn[/] {row.tenant} {row.check}: {row.detail}", highlight=False)


def fit_lake(
    data: str | Path,
    tenants: str | list[str] = "all",
    out: str | Path | None = None,
    spec_kwargs: dict[str, Any] | None = None,
    sampler_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    console: Any | None = None,
    prior_from: str | Path | None = None,
    allow_gates: Sequence[str] = (),
    choose_adstock: bool = False,
) -> dict:
    """Load a lake, fit the MMM and (optionally) write the run folder.

    Parameters
    ----------
    data
        Lake folder.
    tenants
        ``"all"`` or tenant ids.
    out
        Run folder to write (atomically); ``None`` writes nothing.
    spec_kwargs, sampler_kwargs
        Fields of :class:`~bayes_mmm.core.spec.ModelSpec` and
        :class:`~bayes_mmm.inference.fit.SamplerConfig`.
    prior_from
        Run folder of an earlier pooled fit: cold-start these tenants with its
        population posterior as their priors (its model settings replace ``spec_kwargs``).
        Short history is what a cold start is for, so the ``history`` gate is allowed then.
    allow_gates
        Names of data-quality gates whose errors do not stop the fit (see :func:`gate_lake`).
    choose_adstock
        Fit the geometric and the delayed adstock and keep the one PSIS-LOO prefers clearly
        (:mod:`bayes_mmm.analysis.adstock_choice`; twice the time). The summary's
        ``adstock_choice`` records both fits and the reason.

    Returns
    -------
    dict
        The run summary (summary.json's content).
    """
    from bayes_mmm.inference.fit import SamplerConfig, effective_spec, fit

    spec = ModelSpec(**(spec_kwargs or {}))
    sampler = SamplerConfig(**(sampler_kwargs or {}))
    if choose_adstock and (prior_from is not None or not spec.media):
        # A cold start takes its model, adstock included, from the earlier run; without media there is no adstock.
        raise ValueError("--adstock auto needs media and its own model: it cannot be combined with --prior-from or --no-media")
    if out is not None:
        atomic.ensure_writable(out, overwrite, inputs=(data, prior_from), foreign=not_a_run)  # before a fit of minutes, not after
    prior = None
    if prior_from is not None:
        from bayes_mmm.runs.population import population_prior

        prior = population_prior(prior_from)
        if console is not None:
            console.print(f"cold start: media priors from the population of {prior.source['tenants']} tenants in {prior_from}")
    gate_lake(data, tenants, [*allow_gates, *(["history"] if prior is not None else [])], console)
    ds = load_lake(data, tenants)
    spec = spec.windowed(ds.attrs.get("cadence", DAILY))
    if prior is not None and (was := prior.source.get("cadence", DAILY)) != (now := ds.attrs.get("cadence", DAILY)):
        raise DataError(f"the run was fitted on {was} data and this lake is {now}: its carry-over and saturation "
                        "priors are per period", file=prior_from, hint="cold-start from a run of the same cadence")
    if console is not None and prior is None and spec.pooled and not effective_spec(spec, ds.sizes["tenant"]).pooled:
        console.print("one tenant: fitted without pooling (use --prior-from RUN to borrow from earlier tenants)")
    if console is not None:
        console.print(
            f"fitting {ds.sizes['tenant']} tenants × {ds.sizes['date']} {PERIOD_UNIT[ds.attrs.get('cadence', DAILY)]}s"
            f" × {ds.sizes['channel']} channels "
            f"with {sampler.sampler} ({sampler.chains} chains × {sampler.tune or 'sized'} warm-up + {sampler.draws or 'sized'} draws)"
        )
    if not choose_adstock:
        return save_fit(fit(ds, spec, sampler, prior=prior), out, data, overwrite)
    from bayes_mmm.analysis.adstock_choice import CANDIDATES
    from bayes_mmm.analysis.adstock_choice import choose_adstock as choose

    results: dict[str, FitResult] = {}
    for k, shape in enumerate(CANDIDATES, 1):
        if console is not None:
            console.print(f"adstock {shape} ({k} of {len(CANDIDATES)}; the other is compared by LOO)")
        results[shape] = fit(ds, dataclasses.replace(spec, adstock=shape), sampler, prior=prior)
    choice = choose({k: r.idata for k, r in results.items()}, {k: bool(r.convergence["ok"]) for k, r in results.items()})
    for k, r in results.items():  # the run's sampler time is the kept fit's; both are what the choice cost
        choice["fits"][k]["seconds"] = r.sampler.get("seconds")
    return save_fit(results[choice["chosen"]], out, data, overwrite, extra={"adstock_choice": choice})


def save_fit(
    result: FitResult, out: str | Path | None, lake: str | Path, overwrite: bool = False, extra: dict | None = None
) -> dict:
    """The fit's summary (identification checks and any ``extra`` keys included), written with its draws to ``out`` when given."""
    from bayes_mmm.runs.folder import RunFolder

    summary = identified_summary(result, lake) | (extra or {})
    return summary if out is None else RunFolder(out).save(result.idata, summary, overwrite=overwrite)


def identified_summary(result: FitResult, lake: str | Path | None = None) -> dict:
    """The run summary with each tenant's identification checks (``identification``, ``roas_correlation``)."""
    from bayes_mmm.analysis.identification import attach
    from bayes_mmm.runs.summary import build_summary

    population = result.prior.to_dict() if result.prior is not None else None
    return attach(build_summary(result, lake), result.idata, result.design.spec, population)


def import_exports(
    lake: str | Path,
    mapping: str | Path | None = None,
    force: bool = False,
    **overrides: Any,
) -> Any:
    """Build ``<lake>/<tenant_id>/`` from raw exports (shop, ad platforms, Open-Meteo).

    ``mapping`` is the TOML mapping file; ``overrides`` are the keyword arguments of
    :func:`bayes_mmm.data.importers.make_spec` (``tenant_id``, ``revenue``, ``channels``,
    ``cost_per``, ``weather``, ``forecast``, ``missing_revenue``, ...). Returns the
    :class:`~bayes_mmm.data.importers.Imported` tables that were written.
    """
    from bayes_mmm.data.importers import import_tenant, make_spec

    return import_tenant(make_spec(mapping, **overrides), lake, force=force)


def diagnose_run(run_dir: str | Path, evaluation: dict | None = None, force: bool = False) -> dict:
    """Add PPC calibration, LOO by tenant, sampler health, verdicts and the model card to a run.

    Updates ``summary.json`` (keys ``diagnostics``, ``verdicts``, ``model_card``)
    and writes ``model_card.md`` (a ``model_card.md`` bayes-mmm did not write only with ``force``), with a
    recovery section from ``evaluation`` or the run's ``evaluation.json``; returns the updated summary.
    """
    from bayes_mmm.analysis.card import model_card
    from bayes_mmm.analysis.diagnostics import loo_by_tenant, ppc_calibration, sampler_health
    from bayes_mmm.analysis.verdict import tenant_verdicts
    from bayes_mmm.runs.folder import RunFolder

    run = RunFolder(run_dir)
    run.check_model_card(force)
    evaluation = evaluation or run.evaluation()  # read (and checked) before the work
    idata, summary = run.load(need_tenants=True, groups=("posterior_predictive", "observed_data", "log_likelihood", "sample_stats"))
    diag = {
        "sampler_health": sampler_health(idata),
        "ppc": ppc_calibration(idata).to_dict(orient="index"),
        "loo_by_tenant": loo_by_tenant(idata).to_dict(orient="index"),
    }
    verdicts = tenant_verdicts(summary)
    card = model_card({**summary, "diagnostics": diag, "verdicts": verdicts}, evaluation)
    run.write_model_card(card)
    return run.update_summary(diagnostics=diag, verdicts=verdicts, model_card=card)


def check_same_data(data: str | Path, summary: dict, summary_path: Path) -> None:
    """Refuse a lake whose files are not the ones the run was fitted on (summary ``data.hash``)."""
    from bayes_mmm.runs.summary import data_hash

    stored = (summary.get("data") or {}).get("hash")
    if stored and data_hash(data, summary["data"]["tenants"]) != stored:
        raise DataError(f"the lake {data} is not the data this run was fitted on (data hash differs)", file=summary_path,
                        hint="pass the run's own lake (summary.json data.lake), or fit a new run on this one")


def check_cv_history(ds: Any, n_folds: int) -> None:
    """Refuse walk-forward CV before any fit when no tenant has enough history for its first fold, or when the folds
    cut the longest tenant's test periods into blocks too short to score (:data:`MIN_TEST_PERIODS`)."""
    from bayes_mmm.analysis.cv import FIRST_TRAIN, MIN_TEST_PERIODS, walk_forward_folds
    from bayes_mmm.core.constants import history_need, min_history

    if n_folds < 1:
        raise DataError(f"folds must be ≥ 1, got {n_folds}")
    cadence = str(ds.attrs.get("cadence", DAILY))
    unit = PERIOD_UNIT[cadence]
    folds = walk_forward_folds(ds["observed"].values, n_folds)
    first = folds[0].train.sum(axis=1)
    if first.max() < min_history(cadence):
        raise DataError(f"too little history for walk-forward CV: the first fold trains on the first {FIRST_TRAIN:.0%} of each "
                        f"tenant's {unit}s, and the longest tenant's has {int(first.max())}, fewer than {history_need(cadence)}; "
                        "nothing was written",
                        hint=f"CV needs {math.ceil(min_history(cadence) / FIRST_TRAIN)} {unit}s of history or more, whatever the folds")
    shortest = min(int(f.test.sum(axis=1).max()) for f in folds)  # of the longest tenant's test blocks
    need = MIN_TEST_PERIODS[cadence]
    if shortest < need:
        most = max(1, int(sum(f.test.sum(axis=1) for f in folds).max()) // need)
        raise DataError(f"{n_folds} folds leave test blocks of {shortest} {unit}s, fewer than {need}: a holdout R² needs "
                        f"more; nothing was written", hint=f"use at most {most} folds (--folds)")


def cv_run(
    data: str | Path,
    run_dir: str | Path,
    n_folds: int = 5,
    sampler_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
    allow_gates: Sequence[str] = (),
    console: Any | None = None,
) -> dict:
    """Walk-forward CV of a run's model on its lake; results go into summary.json under each tenant's ``cv``.

    The lake passes the same data-quality gates as ``fit`` first (errors stop unless in ``allow_gates``).
    """
    from bayes_mmm.analysis.cv import walk_forward
    from bayes_mmm.inference.fit import SamplerConfig
    from bayes_mmm.runs.folder import RunFolder

    run = RunFolder(run_dir)
    _, summary = run.load(need_tenants=True)
    check_same_data(data, summary, run.summary_path)
    gate_lake(data, summary["data"]["tenants"], allow_gates, console)
    ds = load_lake(data, summary["data"]["tenants"])
    check_cv_history(ds, n_folds)
    # Two chains per fold, each as long as a fit's (draws sized to the data, topped up when slow): a CV of 5 folds
    # is 5 fits, and split R-hat's noise falls with each chain's length, not with the number of chains.
    kwargs = {"chains": 2, "progress": False, **(sampler_kwargs or {})}
    # The bar of each tenant is the weather class recorded at fit time, when the run has it.
    recorded = {t: e["sensitivity"]["class"] for t, e in summary["tenants"].items() if e.get("sensitivity")}
    # A refreshed run's regime change is left out: a fold ending before it would learn the change from its prior alone.
    spec = dataclasses.replace(run.spec(summary), regime_start=None)
    if summary.get("adstock_screen"):
        # The run's carry-over shape was screened on every day, holdout included: each fold screens its own days.
        spec = dataclasses.replace(spec, adstock="screen")
    cv = walk_forward(ds, spec, SamplerConfig(**kwargs), n_folds=n_folds,
                      progress=progress, classes=recorded if len(recorded) == len(summary["tenants"]) else None)
    for tid, entry in cv.items():
        summary["tenants"][tid]["cv"] = entry
    return run.write_summary(summary)


DEMO_MARK = ".bayes-mmm-demo.json"


def claim_demo_paths(root: Path, paths: list[Path]) -> None:
    """Refuse paths that exist and were not written by an earlier demo; then record them as the demo's.

    The record (``root/.bayes-mmm-demo.json``) lists what the demo created, so a rerun may replace
    its own outputs but never a lake, run or report that someone else put there.
    """
    mark = root / DEMO_MARK
    owned: set[str] = set()
    if mark.is_file():
        try:
            owned = set(json.loads(mark.read_text(encoding="utf-8")))
        except (ValueError, TypeError, UnicodeDecodeError):
            raise DataError("is not the demo's record of its outputs", file=mark, hint="remove it, or run the demo in an empty folder") from None
    rel = [p.relative_to(root).as_posix() for p in paths]
    foreign = [p for p, r in zip(paths, rel, strict=True) if (p.exists() or p.is_symlink()) and r not in owned]
    if foreign:
        raise DataError("exists and was not written by the demo; the demo never replaces your data", file=foreign[0],
                        hint="run the demo in another folder (bayes-mmm demo --root NEW_FOLDER) or move it away")
    atomic.write_text(mark, json.dumps(sorted(owned | set(rel))))


def run_demo(
    root: str | Path = ".",
    tenants: int = 20,
    days: int = 730,
    draws: int | None = DEMO_DRAWS,
    tune: int | None = DEMO_TUNE,
    cv_folds: int = 0,
    seed: int = 0,
    console: Any | None = None,
) -> dict[str, Path]:
    """The whole path on the synthetic universe: simulate → validate → fit → diagnose → evaluate → allocate → report.

    Writes ``data/lake``, ``runs/demo`` and ``reports/demo-report.html`` under
    ``root`` and returns their paths. Earlier outputs of the demo are replaced;
    anything else at those paths (a user's own lake above all) is never touched:
    the demo refuses before it starts (:func:`claim_demo_paths`).
    """
    import shutil

    from bayes_mmm.analysis.evaluate import evaluate_run
    from bayes_mmm.data.validate import failed, validate_lake
    from bayes_mmm.surfaces.report import write_report
    from synthetic import simulate_universe, write_lake

    root = Path(root)
    lake, run, report = root / "data" / "lake", root / "runs" / "demo", root / "reports" / "demo-report.html"
    claim_demo_paths(root, [lake, run, report])

    def step(msg: str) -> None:
        if console is not None:
            console.rule(f"[bold]{msg}")

    step(f"1/7 simulate {tenants} tenants × {days} days (seed {seed})")
    write_lake(simulate_universe(tenants, days, seed=seed), lake, overwrite=True)
    step("2/7 validate the lake")
    table = validate_lake(lake)
    if len(failed(table)):
        raise ValueError(f"the simulated lake fails a data-quality gate: {failed(table).iloc[0].to_dict()}")
    if console is not None:
        console.print(f"all {table['check'].nunique()} gates pass for {table['tenant'].nunique()} tenants")
    step(f"3/7 fit the hierarchical MMM ({DEMO_CHAINS} chains × {draws or 'data-sized'} draws, nutpie)")
    summary = fit_lake(lake, "all", run, sampler_kwargs={"chains": DEMO_CHAINS, "draws": draws, "tune": tune, "seed": seed, "progress": True},
                       overwrite=True, console=console)
    if console is not None:
        c = summary["convergence"]
        console.print(f"R-hat max {c['rhat_max']}, bulk ESS min {c['ess_bulk_min']}, divergences {c['divergences']}: "
                      f"{'[green]converged' if c['ok'] else '[bold red]NOT converged'}[/] in {summary['sampler']['seconds']} s")
    if cv_folds:
        step(f"3b walk-forward CV ({cv_folds} folds)")
        cv_run(lake, run, n_folds=cv_folds)
    step("4/7 evaluate against the synthetic ground truth")
    ev = evaluate_run(run, lake)
    if console is not None:
        o = ev["overall"]
        console.print(f"true ROAS inside the 90 % interval for {o['coverage_90']:.0%} of {o['pairs']} pairs; "
                      f"median |relative error| {o['median_abs_rel_error']:.1%}")
    step("5/7 diagnose (PPC calibration, LOO, model card)")
    diagnose_run(run, ev)
    step("6/7 allocate next week's budget")
    allocate_demo(run, console)
    step("7/7 HTML report")
    path = write_report(run)
    report.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, report)
    if console is not None:
        console.print(f"report: [bold]{report.resolve()}[/]")
    return {"lake": lake, "run": run, "report": report}


def allocate_demo(run: Path, console: Any | None = None) -> dict | None:
    """Re-allocate each tenant's own current weekly budget across channels and days."""
    import warnings

    from bayes_mmm.decide.allocate import allocate_run, own_periods, tenant_ranges
    from bayes_mmm.decide.plan import recent_level
    from bayes_mmm.runs.folder import RunFolder

    idata, summary = RunFolder(run).load()
    everyone = list(range(idata.constant_data.sizes["tenant"]))
    spend = own_periods(idata.constant_data["spend"].values, tenant_ranges(idata, everyone))  # (tenant, channel, day)
    weekly = {t: 7 * float(level.sum()) for t, level in zip(summary["data"]["tenants"], recent_level(spend), strict=True)}
    budget = sum(weekly.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if summary["convergence"]["ok"] else "default")
        plan = allocate_run(run, budget, days=7, tenant_budgets=weekly, allow_unconverged=True)
    RunFolder(run).write_allocation(plan)
    if console is not None:
        steps = [t.get("step_toward_optimum", 0.0) for t in plan["tenants"].values()]
        moved = sum(s > 0 for s in steps)
        console.print(f"portfolio plan for a ${budget:,.0f} week written to allocation.json: {moved} of {len(steps)} tenants "
                      f"move toward their optimum (do no harm keeps the others at today's mix); uplift "
                      f"{plan['portfolio']['uplift']['mean']:+,.0f}")
    return plan


def monitor_lake(run_dir: str | Path, data: str | Path, out: str | Path | None = None, force: bool = False) -> dict:
    """Score the periods of ``data`` after the run's window and write monitor.json (contract §5).

    ``out`` defaults to ``<run_dir>/monitor.json``. An existing file is replaced only if an
    earlier ``monitor`` of the same run wrote it, or with ``force``. Returns the report.
    """
    import json

    from bayes_mmm.analysis.monitor import CREATED_BY, MONITOR_JSON, monitor_run
    from bayes_mmm.data.lake import tenant_folders
    from bayes_mmm.runs.folder import RunFolder, refuse_foreign
    from bayes_mmm.runs.summary import to_json

    path = Path(out) if out is not None else Path(run_dir) / MONITOR_JSON
    run_id = RunFolder(run_dir).summary().get("run_id")

    def ours(p: Path) -> bool:
        try:
            old = json.loads(p.read_text())
        except (OSError, ValueError):
            return False
        return isinstance(old, dict) and old.get("created_by") == CREATED_BY and old.get("run_id") == run_id

    refuse_foreign(path, force, ours, "a monitor.json of this run", "choose another --out", own=MONITOR_JSON,  # before the work
                   inputs=tenant_folders(data))
    report = monitor_run(run_dir, data)
    atomic.write_text(path, to_json(report))
    return report


def refresh_run(
    run_dir: str | Path,
    data: str | Path,
    out: str | Path,
    sampler_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    console: Any | None = None,
    roas_change_sd: float | None = REFRESH_ROAS_CHANGE_SD,
    allow_gates: Sequence[str] = (),
) -> dict:
    """Refit a run's tenants on extended data, warm-started from the run's own posterior.

    The extended lake passes the same data-quality gates as ``fit`` (errors stop unless in ``allow_gates``); a
    tenant fitted with weather must still have it; tenants of the lake the run does not hold are named, not refitted.

    Priors: the old posterior moment-matched per tenant×channel, variance doubled
    (:data:`bayes_mmm.model.population.WARM_INFLATE`). Warm-up defaults to half the old
    run's (at least 100). The new summary records ``parent`` (run id and path).

    Unless ``roas_change_sd`` is None, each tenant×channel's ROAS may have changed
    since the parent's last day, by a factor ``exp(roas_change)`` with prior
    ``N(0, τ_c)``, ``τ_c ~ HalfNormal(roas_change_sd)`` per channel (``ModelSpec.regime_start``): the warm start then speaks
    for the earlier regime, and the new run's ROAS is the current one.
    """
    import time

    import pandas as pd

    from bayes_mmm.inference.fit import SamplerConfig, fit
    from bayes_mmm.runs.population import tenant_prior
    from bayes_mmm.runs.summary import read_summary, update_summary

    atomic.ensure_writable(out, overwrite, inputs=(run_dir, data), foreign=not_a_run)
    parent = read_summary(run_dir)
    prior = tenant_prior(run_dir)
    old = parent["sampler"]
    kwargs = {"chains": old.get("chains", 2), "draws": old.get("draws", 1000), "tune": max(100, int(old.get("tune", 1000)) // 2),
              "seed": old.get("seed", 0), **(sampler_kwargs or {})}
    from bayes_mmm.analysis.monitor import check_lake as check_window
    from bayes_mmm.analysis.monitor import load_extended

    # As monitor reads it: every channel of the parent, its window unchanged, and new periods after it.
    ds, new_channels = load_extended(data, parent)
    extra = sorted({c for cs in new_channels.values() for c in cs})
    if extra:
        raise DataError(f"new channel(s) {', '.join(extra)} have no warm-start prior", file=data,
                        column=f"spend_{extra[0]}", hint="refit from scratch with `bayes-mmm fit` to add a channel")
    window = check_window(ds, parent, data)
    # After the window's checks (a missing tenant is named there); a warm start waives the history gate, as fit's does.
    gate_lake(data, parent["data"]["tenants"], [*allow_gates, "history"], console)
    if console is not None and (others := sorted(set(list_tenants(data)) - set(parent["data"]["tenants"]))):
        console.print(f"[yellow]not refreshed[/]: {', '.join(others)} — not in the run; fit them (`bayes-mmm fit`, or "
                      "`--prior-from` this run for a new tenant)", highlight=False)
    if not window.scored(ds).any():  # e.g. only a tenant that ended early runs on to the run's end
        raise DataError("no tenant has revenue in the periods after its window: nothing new to refit on", file=data,
                        column="revenue", hint="append the new periods to the lake, or pass the extended lake")
    if console is not None:
        console.print(f"refreshing {len(prior.tenants)} tenants from run {parent['run_id']} ({kwargs['tune']}+{kwargs['draws']} per chain)")
    # The fit takes a prior's settings as they are; a refreshed parent's own regime start is history.
    start = None if roas_change_sd is None else f"{pd.Timestamp(parent['data']['end']) + pd.Timedelta(days=1):%Y-%m-%d}"
    regime = {"regime_start": start} if start is None else {"regime_start": start, "regime_sd": roas_change_sd}
    prior = dataclasses.replace(prior, spec=dataclasses.replace(prior.spec, **regime))
    t0 = time.perf_counter()
    result = fit(ds, prior.spec, SamplerConfig(**kwargs), prior=prior)
    save_fit(result, out, data, overwrite)
    return update_summary(out, parent={"run_id": parent["run_id"], "path": str(Path(run_dir).resolve()),
                                       "data_end": parent["data"]["end"], "refit_seconds": round(time.perf_counter() - t0, 1)})


def track_run(
    command: str,
    run_dir: str | Path,
    experiment: str | None = None,
    artifacts: str = "default",
    monitor_report: dict | None = None,
    monitor_path: str | Path | None = None,
    settings: dict[str, Any] | None = None,
) -> str:
    """Log a run folder after ``fit``, ``cv`` or ``monitor`` to MLflow (see :mod:`bayes_mmm.runs.tracking`).

    Every command logs the run's parameters and files; ``fit`` adds convergence, LOO and
    in-sample fit metrics, ``cv`` the walk-forward metrics and pass rate, ``monitor`` the
    report's per-tenant metrics and action counts (``monitor_report``, written at
    ``monitor_path``). A grouped run adds each group's status and files, and after ``fit``
    each group's own convergence, timing and LOO (``group.<g>.<key>``). ``settings`` are the command's own options, logged as ``<command>.<name>``.
    Returns the MLflow run id.
    """
    from bayes_mmm.runs import tracking
    from bayes_mmm.runs.folder import RunFolder

    tracking.require_mlflow()
    summary = RunFolder(run_dir).summary()
    params = {**tracking.run_params(summary), **tracking.flatten(settings or {}, command)}
    if command == "fit":
        metrics = tracking.fit_metrics(summary)
    elif command == "cv":
        from bayes_mmm.analysis.cv import pass_rate

        cvs = {t: e["cv"] for t, e in summary["tenants"].items() if e.get("cv")}
        metrics = tracking.cv_metrics(summary, pass_rate(cvs) if cvs else None)
    elif command == "monitor" and monitor_report is not None:
        from bayes_mmm.analysis.monitor import INVESTIGATE, OK, RETRAIN

        params.update(tracking.monitor_params(monitor_report))
        metrics = tracking.monitor_metrics(monitor_report, (OK, INVESTIGATE, RETRAIN))
    else:
        raise ValueError(f"cannot track command {command!r} (fit, cv, or monitor with its report)")
    files: list = tracking.run_artifacts(run_dir, artifacts, [monitor_path] if monitor_path is not None else [])
    if summary.get("groups"):  # a grouped fit: each group's own settings, fit and files too
        params.update(tracking.group_params(summary))
        metrics.update(tracking.group_metrics(run_dir) if command == "fit" else {})
        files += tracking.group_artifacts(run_dir, artifacts)
    tags = {"bayes_mmm.command": command, "bayes_mmm.run_dir": str(Path(run_dir).resolve())}
    return tracking.log_run(params, metrics, files, experiment, run_name=f"{command} {summary.get('run_id', '')}".strip(), tags=tags)
