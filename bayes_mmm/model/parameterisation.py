"""Centred or non-centred, per tenant, from how much data each tenant has.

A pooled tenant×channel parameter can be sampled centred (``x ~ N(μ_c, σ_c)``) or
non-centred (``x = μ_c + σ_c·z``). Centred mixes better where the likelihood pins a
tenant's value down; non-centred where the prior still matters, because a centred
parameter with little data forms a funnel with its pooling scale σ_c.

Measured (benchmarks/RESULTS.md §7, §12): on the default universe's 730 daily
periods the centred log-ROAS halves the leapfrog steps. The centred half-saturation
is the funnel that keeps failing: on 104 weekly periods (R-hat 1.33, 343 steps per
draw against 31 non-centred), at 8 tenants × 365 days on two independent scenarios
(R-hat 1.06 / 1.09 with 9 / 29 divergences, against 1.006 / 1.013 and 0 / 3
non-centred) and on 730 days with the weather hidden; on the default universe at
730 days non-centred half-saturation converges with the same steps per draw (31.3).
So the default decides per tenant: a tenant with at least :data:`CENTRE_MIN_PERIODS`
training periods (a full seasonal year of daily data) has its ``roas`` centred;
everything else is non-centred. Within such a tenant, a channel the data cannot
inform (no spend, or spend that never varies: :mod:`bayes_mmm.data.spend_variation`)
stays non-centred: on the flat-spend scenario at 8 × 365 its centred ROAS made a
funnel with the pooling scale (R-hat 1.06 on ``log_roas_sigma[email]``, 42 divergences).
An explicit ``ModelSpec.centered`` overrides the rule for every tenant and channel.

The rule can still be wrong: with few tenants a pooling scale may drift towards 0, where a
centred log-ROAS forms a funnel with it (measured on independent scenarios at 8 × 365). A fit
whose round diverges therefore starts over on :func:`non_centred` (:func:`bayes_mmm.inference.fit.sample`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from bayes_mmm.data.spend_variation import informs_alone, uninformed, unspent

if TYPE_CHECKING:
    from bayes_mmm.model.design import Design

#: Training periods from which a tenant's ROAS is sampled centred.
CENTRE_MIN_PERIODS = 365

#: Parameters the rule centres for data-rich tenants.
AUTO_CENTRED = ("roas",)

#: Every parameter that may be centred.
CENTRABLE = ("roas", "half_sat", "adstock", "gamma")


def centred_tenants(centered: tuple[str, ...] | None, n_train: np.ndarray) -> dict[str, np.ndarray]:
    """Per parameter of :data:`CENTRABLE`, a boolean mask over tenants: sample centred?

    Parameters
    ----------
    centered
        ``ModelSpec.centered``: the parameters to centre for every tenant, or ``None``
        for the data-driven rule above.
    n_train
        Training periods per tenant.
    """
    n = np.asarray(n_train)
    rich = n >= CENTRE_MIN_PERIODS
    if centered is None:
        return {p: rich.copy() if p in AUTO_CENTRED else np.zeros(n.shape, bool) for p in CENTRABLE}
    return {p: np.full(n.shape, p in centered) for p in CENTRABLE}


def centred_cells(
    centered: tuple[str, ...] | None, n_train: np.ndarray, uninformed: np.ndarray,
) -> dict[str, np.ndarray]:
    """:func:`centred_tenants` per tenant×channel ``(N, C)``: the rule's uninformed cells stay non-centred."""
    per_tenant = centred_tenants(centered, n_train)
    keep = np.ones_like(uninformed, dtype=bool) if centered is not None else ~np.asarray(uninformed, dtype=bool)
    return {p: mask[:, None] & keep for p, mask in per_tenant.items()}


def design_cells(design: Design) -> dict[str, np.ndarray]:
    """:func:`centred_cells` of a design: its spec's choice, its training periods and its uninformed channels."""
    return centred_cells(design.spec.centered, design.n_train, uninformed(design.spend, design.train))


def fixed_scale_channels(design: Design, roas: bool = False) -> np.ndarray:
    """``(C,)``: channels fewer than ``spec.pool_min_tenants`` tenants spend on, whose pooling scales are fixed.

    A spread between tenants cannot be learnt from two or three of them: its posterior is the
    prior's, and sampling it made a funnel on an independent lake (tiktok, a channel three of six
    tenants have: R-hat 1.024 on ``log_roas_sigma[tiktok]`` after a diverged round, and one
    tenant's ROAS interval wider than its prior; benchmarks/RESULTS.md §30). Fixed at the prior's
    scale, a tenant's prior variance stays what it was (``sd² + pool²``) and the channel's mean is
    still learnt from its tenants.

    ``roas=True``: the channels whose ROAS scale is fixed. With ``spec.pool_informed`` a tenant
    counts there only where its own data show the channel's effect
    (:func:`~bayes_mmm.data.spend_variation.informs_alone`: spend that varies and does not move with
    another channel's). Twenty tenants whose meta and google are flighted together give twenty
    splits of the pair's ROAS that the prior, not the data, places: learning their spread did not
    converge on weekly data (R-hat 1.10 on ``log_roas_sigma[meta]``, RESULTS.md §28; held: 1.0115,
    what is left being the pair's split itself, §31). Holding the pair's other scales too (adstock,
    half-saturation, weather) converged there (1.0098) but left the weather mean of the daily lake
    unmixed (R-hat 1.027, §31), so they count every tenant that spends.
    """
    spend, train = design.spend, design.train
    counted = informs_alone(spend, train) if roas and design.spec.pool_informed else ~unspent(spend, train)
    return counted.sum(axis=0) < design.spec.pool_min_tenants


def non_centred(design: Design) -> Design | None:
    """``design`` with every parameter non-centred, the fallback after a diverged round; None if nothing was centred.

    Measured (benchmarks/RESULTS.md §14): the divergences left on independent scenarios sit where a
    centred log-ROAS meets a pooling scale near 0, a funnel that smaller steps do not remove.
    """
    if not any(mask.any() for mask in design_cells(design).values()):
        return None
    return replace(design, spec=replace(design.spec, centered=()))
