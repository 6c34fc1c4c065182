"""The population prior of a run folder: cold-start a new tenant from an earlier joint or grouped fit."""

from __future__ import annotations

from pathlib import Path

from bayes_mmm.model.population import PopulationPrior, population_prior_from_posteriors
from bayes_mmm.runs.folder import RunFolder


def population_prior(run_dir: str | Path) -> PopulationPrior:
    """The population prior of a run folder (a joint fit or a grouped fit).

    A grouped run (see :mod:`bayes_mmm.runs.groups`) pools every group's
    hyper-parameters into one mixture.
    """
    run = RunFolder(run_dir)
    summary = run.summary()
    spec = run.spec(summary)
    posteriors = [folder.idata().posterior for folder in run.run_folders()]
    source = {"run_id": summary.get("run_id"), "path": str(run.path.resolve()), "tenants": len(summary["data"]["tenants"])}
    if not summary["convergence"].get("ok", False):
        import warnings

        warnings.warn(f"the source run {run.path} is not converged: its population prior may be off", stacklevel=2)
    return population_prior_from_posteriors(posteriors, spec, source)
