"""The population prior of a run folder: cold-start a new tenant from an earlier joint or grouped fit."""

from __future__ import annotations

from pathlib import Path

from bayes_mmm.core.constants import DAILY
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
    source = {"run_id": summary.get("run_id"), "path": str(run.path.resolve()), "tenants": len(summary["data"]["tenants"]),
              "cadence": summary["data"].get("cadence", DAILY)}  # adstock and saturation are per period
    if not summary["convergence"].get("ok", False):
        import warnings

        warnings.warn(f"the source run {run.path} is not converged: its population prior may be off", stacklevel=2)
    return population_prior_from_posteriors(posteriors, spec, source)


def tenant_prior(run_dir: str | Path, inflate: float | None = None) -> PopulationPrior:
    """Warm-start priors from a (joint) run's own posterior, per tenant and channel, tempered.

    See :func:`bayes_mmm.model.population.tenant_prior_from_posterior`.
    """
    from bayes_mmm.model.population import WARM_INFLATE, tenant_prior_from_posterior

    run = RunFolder(run_dir)
    idata, summary = run.load()
    source = {"run_id": summary.get("run_id"), "path": str(run.path.resolve()), "kind": "warm_start"}
    return tenant_prior_from_posterior(idata.posterior, run.spec(summary), source, WARM_INFLATE if inflate is None else inflate)
