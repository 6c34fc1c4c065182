"""Which posterior draws the convergence checks judge: sampled parameters of cells the data reach.

A tenant that never spent on a channel in its training periods still has that channel's
parameters in the joint model (the arrays are tenant × channel), and a tenant without weather its
media-weather γ; they enter no likelihood: they are draws of the prior that nothing reads.
Judging them failed the gate on lakes whose tenants have different channels (an independent
pass, 2026-11-28: 67 of 115 parameters above the R-hat bar were such cells). ``fit``'s gate and
``diagnose``'s tables share this one definition.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np
import xarray as xr

from bayes_mmm.core.constants import CHANNEL, TENANT, WEATHER
from bayes_mmm.data.spend_variation import unspent

#: Derived draws (computed from the sampled ones), never judged on their own.
DERIVED = ("mroas", "beta", "lift_predicted")


def sampled_names(post: xr.Dataset) -> list[str]:
    """Posterior variables that NUTS sampled: not derived draws, not transformed copies (``*_log__``).

    Nor a pooling scale's ``*_sigma_free``: where some channels' scale is held
    (:func:`bayes_mmm.model.hierarchical._pool_scale`), its learnt entries are judged in ``*_sigma``
    and its held ones are prior draws that nothing reads.
    """
    return [v for v in post.data_vars
            if v not in DERIVED and not v.startswith("elasticity_") and not v.endswith(("__", "_sigma_free"))]


#: The masks of :func:`unlearnt_cells`, and the dimension besides ``tenant`` each one blanks.
MASKS = {"unspent": CHANNEL, "still_weather": WEATHER}


def unlearnt_cells(
    spend: np.ndarray, train: np.ndarray, tenants: list[str], channels: list[str], zw: np.ndarray | None = None,
) -> xr.Dataset:
    """``unspent`` ``(tenant, channel)``: :func:`~bayes_mmm.data.spend_variation.unspent`; and, given the media weather
    ``zw`` ``(tenant, date, weather)``, ``still_weather`` ``(tenant, weather)``: 0 on every training period (a tenant
    without weather), so exp(γ·0) = 1 and its γ draws are the prior's."""
    cells = xr.Dataset({"unspent": ((TENANT, CHANNEL), unspent(spend, train))}, coords={TENANT: list(tenants), CHANNEL: list(channels)})
    if zw is not None:
        cells["still_weather"] = ((TENANT, WEATHER), ~np.any((zw != 0) & train[..., None], axis=1))
    return cells


def run_unlearnt(idata) -> xr.Dataset | None:
    """:func:`unlearnt_cells` of a finished run (its ``constant_data``); None when the run does not record it."""
    const = getattr(idata, "constant_data", None)
    if const is None or "spend" not in const or "train" not in const:
        return None
    zw = const["media_weather"].values if "media_weather" in const else None
    return unlearnt_cells(const["spend"].values, const["train"].values,
                          [str(t) for t in const[TENANT].values], [str(c) for c in const[CHANNEL].values], zw)


def judged(post: xr.Dataset, names: list[str], unlearnt: xr.Dataset | None) -> xr.Dataset:
    """``post[names]`` with the unlearnt cells' draws blanked (NaN: their R-hat and ESS are not computed)."""
    out = post[names]
    if unlearnt is None:
        return out
    masks = [(unlearnt[m], dim) for m, dim in MASKS.items() if m in unlearnt and bool(unlearnt[m].any())]
    if not masks:
        return out

    def blank(v: xr.DataArray) -> xr.DataArray:
        for mask, dim in masks:
            v = v.where(~mask) if {TENANT, dim} <= set(v.dims) else v
        return v

    return out.map(blank)


@contextlib.contextmanager
def quiet_arviz() -> Iterator[None]:
    """ArviZ's log quiet for a moment: it says "Array contains NaN-value" of the cells :func:`judged` blanked."""
    import arviz

    # ArviZ logs through its own Logger instance, not one registered with logging.getLogger.
    log = getattr(arviz, "_log", None) or logging.getLogger("arviz")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)
