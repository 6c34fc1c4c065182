"""PSIS-LOO of a fitted run: the one place ``az.loo`` is called.

Summary (at fit time), diagnostics (per tenant) and the report (Pareto k per
day) all read the same pointwise result, so their numbers cannot disagree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np


@dataclass(frozen=True)
class PointwiseLoo:
    """Pointwise PSIS-LOO over the run's ``obs`` dim, with each observation's tenant and date."""

    elpd: float
    se: float
    p_loo: float
    elpd_i: np.ndarray  # (obs,)
    pareto_k: np.ndarray  # (obs,)
    obs_tenant: np.ndarray | None  # (obs,) str
    obs_date: np.ndarray | None  # (obs,) datetime64

    def summary(self) -> dict:
        """The ``loo`` entry of summary.json: elpd, its se, p_loo and Pareto-k counts."""
        return {
            "elpd": round(self.elpd, 2),
            "se": round(self.se, 2),
            "p_loo": round(self.p_loo, 2),
            "pareto_k_over_0_7": int((self.pareto_k > 0.7).sum()),
            "n": int(self.pareto_k.size),
        }


def pointwise_loo(idata: az.InferenceData) -> PointwiseLoo | None:
    """PSIS-LOO of ``idata`` (``None`` without a ``log_likelihood`` group).

    ArviZ's warnings (high Pareto k) are silenced: the k values are returned
    and every caller reports them.
    """
    if "log_likelihood" not in idata.groups():
        return None
    # Quantities that do not exist for a tenant (weather elasticities without weather) are NaN draws:
    # ArviZ's relative efficiency would warn on them, so only the defined ones enter it.
    post = idata.posterior
    defined = [v for v in post.data_vars if not bool(post[v].isnull().any())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = az.loo(az.InferenceData(posterior=post[defined], log_likelihood=idata.log_likelihood), pointwise=True)
    ll = idata.log_likelihood
    has_obs = "obs_tenant" in ll.coords
    return PointwiseLoo(
        elpd=float(loo.elpd_loo),
        se=float(loo.se),
        p_loo=float(loo.p_loo),
        elpd_i=np.asarray(loo.loo_i).ravel(),
        pareto_k=np.asarray(loo.pareto_k).ravel(),
        obs_tenant=ll["obs_tenant"].values.astype(str) if has_obs else None,
        obs_date=ll["obs_date"].values if has_obs else None,
    )
