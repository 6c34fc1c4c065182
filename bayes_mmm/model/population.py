"""Population priors: cold-start a new tenant from an earlier joint fit.

A hierarchical fit learns, per channel, where tenants' media parameters sit
(``*_mu``) and how much they differ (``*_sigma``). For a tenant the fit never
saw, its parameter is ``mu + sigma · z``; averaging over the posterior of
``mu`` and ``sigma`` gives the population's predictive distribution for a new
tenant, which we moment-match by a normal on the same unconstrained scale
(log ROAS, logit adstock, log half-saturation, weather γ). Fitted with these
priors, a merchant with 60–120 days of data gets ROAS intervals informed by
every tenant before it rather than by the generic defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.draws import stacked

#: Tenant×channel parameters that a population prior replaces: model name → pooled prefix.
POOLED = ("log_roas", "logit_alpha", "log_half_sat", "gamma")


@dataclass(frozen=True)
class PopulationPrior:
    """Normal priors per channel (and weather variable, for γ) learned from a population.

    Attributes
    ----------
    channels
        Channel order of every array.
    loc, scale
        ``name → array`` for each name in :data:`POOLED`: shape ``(channel,)``,
        or ``(channel, weather)`` for ``gamma``.
    hill_shape
        ``(log-mean, log-sd)`` per channel for the Hill shape, or ``None``.
    spec
        The model settings of the source run (the new fit must use the same).
    source
        Where it came from (run ids and paths), recorded in the new run.
    """

    channels: list[str]
    loc: dict[str, np.ndarray]
    scale: dict[str, np.ndarray]
    spec: ModelSpec
    hill_shape: tuple[np.ndarray, np.ndarray] | None = None
    source: dict = field(default_factory=dict)

    def for_channels(self, channels: list[str]) -> PopulationPrior:
        """The same prior re-ordered for ``channels``; every channel must be known."""
        missing = [c for c in channels if c not in self.channels]
        if missing:
            raise ValueError(
                f"the population prior has no channel {missing} (it knows {self.channels}); "
                "fit the new tenant without --prior-from or drop that spend column"
            )
        idx = [self.channels.index(c) for c in channels]
        hill = None if self.hill_shape is None else (self.hill_shape[0][idx], self.hill_shape[1][idx])
        return PopulationPrior(
            list(channels),
            {k: v[idx] for k, v in self.loc.items()},
            {k: v[idx] for k, v in self.scale.items()},
            self.spec,
            hill,
            self.source,
        )

    def to_dict(self) -> dict:
        """Plain-JSON form for summary.json (``config.population_prior``)."""

        def r(a: np.ndarray) -> list:
            return np.round(a, 4).tolist()

        d = {
            "source": self.source,
            "channels": self.channels,
            "loc": {k: r(v) for k, v in self.loc.items()},
            "scale": {k: r(v) for k, v in self.scale.items()},
        }
        if self.hill_shape is not None:
            d["hill_shape_log"] = {"loc": r(self.hill_shape[0]), "scale": r(self.hill_shape[1])}
        return d


def population_prior_from_posteriors(posteriors: list[xr.Dataset], spec: ModelSpec, source: dict) -> PopulationPrior:
    """Moment-matched new-tenant priors from one or more pooled posteriors (pooled as a mixture).

    For each parameter, a new tenant's value is ``mu + sigma·z``: its mean is
    ``E[mu]`` and its variance ``Var[mu] + E[sigma²]`` over every draw of every
    posterior given.
    """
    first = posteriors[0]
    if "log_roas_mu" not in first:
        raise ValueError(
            "the source run has no population-level parameters (log_roas_mu, …): it was fitted "
            "unpooled or without media; --prior-from needs a pooled joint fit"
        )
    channels = [str(c) for c in first["channel"].values]
    loc, scale = {}, {}
    for name in POOLED:
        if f"{name}_mu" not in first:
            continue
        mu = np.concatenate([stacked(p[f"{name}_mu"]) for p in posteriors])
        sig = np.concatenate([stacked(p[f"{name}_sigma"]) for p in posteriors])
        loc[name] = mu.mean(axis=0)
        scale[name] = np.sqrt(mu.var(axis=0) + (sig**2).mean(axis=0))
    hill = None
    if "hill_shape" in first:
        log_shape = np.log(np.concatenate([stacked(p["hill_shape"]) for p in posteriors]))
        hill = (log_shape.mean(axis=0), log_shape.std(axis=0))
    return PopulationPrior(channels, loc, scale, spec, hill, source)
