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
    #: Per-tenant priors (warm start): ``loc``/``scale`` then carry a leading tenant axis in this order.
    tenants: list[str] | None = None

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
        axis = 0 if self.tenants is None else 1
        return PopulationPrior(
            list(channels),
            {k: np.take(v, idx, axis=axis) for k, v in self.loc.items()},
            {k: np.take(v, idx, axis=axis) for k, v in self.scale.items()},
            self.spec,
            hill,
            self.source,
            self.tenants,
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
        if self.tenants is not None:
            d["tenants"] = self.tenants
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
        log_shape = np.concatenate([log_hill_draws(p) for p in posteriors])
        hill = (log_shape.mean(axis=0), log_shape.std(axis=0))
    return PopulationPrior(channels, loc, scale, spec, hill, source)


def log_hill_draws(post: xr.Dataset) -> np.ndarray:
    """``(sample, channel)`` log Hill shape on the scale its prior applies to: before the ceiling, if the run had one.

    A prior built from the capped shape would be capped again by the new fit (a centre of 2.95
    became 2.50, and squeezed), so a run with ``log_hill_shape_raw`` gives that.
    """
    if "log_hill_shape_raw" in post:
        return stacked(post["log_hill_shape_raw"])
    return np.log(stacked(post["hill_shape"]))


#: Variance inflation of a warm-start prior: the old posterior counts the old data once more
#: than it should when the refit sees the old data again; doubling its variance halves that
#: weight (a power prior with a0 = 1/2 under a normal approximation).
WARM_INFLATE = 2.0
#: Model name of each warm-started parameter → (posterior variable, transform to the model's scale).
_WARM = {
    "log_roas": ("roas", lambda r: np.log(np.maximum(r, 1e-12))),
    "logit_alpha": ("adstock_alpha", lambda a: np.log(np.clip(a, 1e-9, 1 - 1e-9)) - np.log1p(-np.clip(a, 1e-9, 1 - 1e-9))),
    "log_half_sat": ("half_sat", lambda k: np.log(np.maximum(k, 1e-12))),
    "gamma": ("weather_gamma", lambda g: g),
}


def tenant_prior_from_posterior(post: xr.Dataset, spec: ModelSpec, source: dict, inflate: float = WARM_INFLATE) -> PopulationPrior:
    """Per-tenant×channel normal priors moment-matched to a run's own posterior, variance × ``inflate``.

    Each parameter is matched on the model's unconstrained scale (log ROAS,
    logit adstock, log half-saturation, weather γ); the Hill shape per channel
    on the log scale. Used to warm-start a refit on extended data.
    """
    if "roas" not in post:
        raise ValueError("the run has no media parameters to warm-start from")
    loc, scale = {}, {}
    for name, (var, fn) in _WARM.items():
        if var not in post:
            continue
        x = fn(stacked(post[var]))
        loc[name] = x.mean(axis=0)
        scale[name] = np.maximum(x.std(axis=0), 1e-3) * np.sqrt(inflate)
    hill = None
    if "hill_shape" in post:
        log_shape = log_hill_draws(post)
        hill = (log_shape.mean(axis=0), np.maximum(log_shape.std(axis=0), 1e-3) * np.sqrt(inflate))
    channels = [str(c) for c in post["channel"].values]
    tenants = [str(t) for t in post["tenant"].values]
    return PopulationPrior(channels, loc, scale, spec, hill, {**source, "inflate": inflate}, tenants)
