"""The hierarchical, weather-aware MMM as one PyMC model over all tenants.

Revenue (divided by each tenant's mean) is

    y[n, t] = baseline[n, t] + Σ_c β[n, c] · hill(adstock(spend[n, c]))[t] · exp(γ[n, c] · w[n, t]) + ε,

with ε ~ Normal(0, σ[n]) i.i.d., or AR(1) with innovation sd σ[n] for the tenants
``spec.residual_ar`` names (:mod:`bayes_mmm.model.residual`).

Two choices make it fast and well-behaved:

* **ROAS is the parameter.** β is derived so that the counterfactual ROAS
  over the training window equals ``roas[n, c]`` exactly (Meridian's idea):
  the prior speaks the analyst's language and regularises every channel the
  same way, and ROAS is no longer tangled with the Hill and adstock scales.
* **The baseline is integrated out.** It is linear in an orthonormal basis
  Q (per-tenant QR of trend, seasonality, day of week, holidays, lagged
  weather, controls) with independent Gaussian priors, so the likelihood
  marginalised over its coefficients has a closed form. NUTS then explores
  only the ~15 media parameters per tenant; the baseline coefficients are
  drawn exactly from their Gaussian conditional afterwards
  (:mod:`bayes_mmm.inference.posterior`). This removes the intercept-vs-ROAS and
  weather-vs-media correlations that make naive MMMs crawl.

Media parameters (ROAS, adstock, half-saturation, weather sensitivity γ) are
partially pooled across tenants per channel, non-centred.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_mmm.core.constants import CHANNEL, TENANT, WEATHER
from bayes_mmm.core.priors import MediaPriors, lognormal_dist_from_range
from bayes_mmm.model.design import MEDIA_WEATHER, Design
from bayes_mmm.model.levers import bounded_gamma, half_sat_floor, soft_ceiling, soft_floor, weather_span
from bayes_mmm.model.lift import LIFT_TEST, lift_ids, per_test, predicted_lift, share_before
from bayes_mmm.model.parameterisation import design_cells, fixed_scale_channels
from bayes_mmm.model.population import PopulationPrior
from bayes_mmm.model.response import effect, lag_weights, regime_scaled, roas_beta

#: Prior mean of the intercept on the scaled revenue axis (revenue / its training mean).
INTERCEPT_MEAN = 1.0


#: Log-normal (mu, sigma) whose central 90 % interval is ``[low, high]`` (moved to core.priors).
roas_prior_params = lognormal_dist_from_range


def roas_mu_sd(priors: MediaPriors, channels: list[str]) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Log-ROAS prior (mu, sd), per channel as arrays, or scalars when every channel shares one.

    Scalars when all agree keep the default graph (and so default fits) exactly as before
    per-channel priors existed. A channel named in the priors but absent from the data is
    an error: it is almost always a typo that would silently leave the default in place.
    """
    unknown = priors.unknown_channels(channels)
    if unknown:
        raise ValueError(f"the ROAS prior names channel {unknown}, which the data do not have (channels: {channels}); "
                         "fix the name or drop it")
    params = [priors.roas_params(c) for c in channels]
    if len(set(params)) == 1:
        return params[0]
    mu, sd = np.array(params).T
    return mu, sd


def _tenant_channel(
    name: str,
    mu: float | np.ndarray,
    sd: float | np.ndarray,
    pool_sd: float,
    pooled: bool,
    dims: tuple[str, ...] = (TENANT, CHANNEL),
    centered: bool | np.ndarray = False,
    prior: PopulationPrior | None = None,
    fixed: np.ndarray | None = None,
) -> pt.TensorVariable:
    """A tenant×channel parameter on an unconstrained scale.

    Pooled: ``mu_c + sigma_c · z`` (non-centred) with ``mu_c ~ N(mu, sd)`` and
    ``sigma_c ~ HalfNormal(pool_sd)``; ``mu`` and ``sd`` may be per-channel arrays. Unpooled: independent normals with the
    same prior variance a new tenant has under pooling, ``sd² + pool_sd²``, so
    the two differ only in whether tenants learn from each other. ``centered``
    (one flag, or a mask over tenants or tenant×channels, :mod:`bayes_mmm.model.parameterisation`)
    samples those tenants' values directly, better when the data pin them down.
    A population ``prior`` (cold start) replaces all of this with its per-channel
    normal for a new tenant. ``fixed`` (per channel) holds those channels' scale at ``pool_sd``
    (:func:`~bayes_mmm.model.parameterisation.fixed_scale_channels`).
    """
    if prior is not None and name in prior.loc:
        return pm.Normal(name, prior.loc[name], prior.scale[name], dims=dims)
    if not pooled or pool_sd == 0:  # a pool scale of 0: this parameter is not pooled
        return pm.Normal(name, mu, np.hypot(sd, pool_sd), dims=dims)
    loc = pm.Normal(f"{name}_mu", mu, sd, dims=dims[1:])
    scale = _pool_scale(f"{name}_sigma", pool_sd, fixed, dims[1:])
    mask = np.asarray(centered, dtype=bool)
    if mask.all():
        return pm.Normal(name, loc, scale, dims=dims)
    if not mask.any():
        z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
        return loc + scale * z
    # Mixed: one free variable, centred where the mask says so and standard normal elsewhere.
    m = mask.reshape(*mask.shape, *([1] * (len(dims) - mask.ndim)))  # per tenant, or per tenant×channel
    raw = pm.Normal(f"{name}_raw", pt.where(m, loc, 0.0), pt.where(m, scale, 1.0), dims=dims)
    return pt.where(m, raw, loc + scale * raw)


def _pool_scale(name: str, pool_sd: float, fixed: np.ndarray | None, dims: tuple[str, ...]) -> pt.TensorVariable:
    """``HalfNormal(pool_sd)`` per channel, held at ``pool_sd`` where ``fixed``; named ``name`` either way."""
    if fixed is None or not fixed.any():
        return pm.HalfNormal(name, pool_sd, dims=dims)
    if fixed.all():
        shape = tuple(len(pm.modelcontext(None).coords[d]) for d in dims)
        return pm.Deterministic(name, pt.as_tensor(np.full(shape, pool_sd)), dims=dims)
    # The learnt scale of the other channels; a fixed channel's entry follows its prior, touching nothing.
    learnt = pm.HalfNormal(f"{name}_free", pool_sd, dims=dims)
    m = fixed.reshape(fixed.shape + (1,) * (len(dims) - 1))
    return pm.Deterministic(name, pt.where(m, pool_sd, learnt), dims=dims)


def hill_shape(loc: float, scale: float, ceiling: float | None) -> pt.TensorVariable:
    """The shared Hill shape per channel: ``LogNormal(loc, scale)``, under a soft ``ceiling`` when the lever is on."""
    if ceiling is None:
        return pm.LogNormal("hill_shape", loc, scale, dims=CHANNEL)
    log_raw = pm.Normal("log_hill_shape_raw", loc, scale, dims=CHANNEL)
    return pm.Deterministic("hill_shape", pt.exp(soft_ceiling(log_raw, np.log(ceiling))), dims=CHANNEL)


def floored_log_half_sat(design: Design, log_k: pt.TensorVariable) -> pt.TensorVariable:
    """``log_k`` with the spec's soft floor (:mod:`bayes_mmm.model.levers`); unchanged when the lever is off."""
    q = design.spec.half_sat_floor
    if q is None:
        return log_k
    return soft_floor(log_k, np.log(half_sat_floor(design.spend, design.spend_scale, design.train, q)))


def bounded_weather_gamma(design: Design, gamma: pt.TensorVariable) -> pt.TensorVariable:
    """γ bounded so ``|γ·z| ≤ spec.media_weather_bound`` over training weather; unchanged when the lever is off."""
    bound = design.spec.media_weather_bound
    if bound is None:
        return gamma
    return bounded_gamma(gamma, weather_span(design.zw, design.train), bound)


def media_contribution(
    design: Design,
    roas: pt.TensorVariable,
    alpha: pt.TensorVariable,
    half_sat: pt.TensorVariable,
    shape: pt.TensorVariable,
    gamma: pt.TensorVariable | None,
    peak: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """Channel contributions ``(tenant, channel, date)`` on the scaled revenue axis (:mod:`bayes_mmm.model.response`)."""
    beta, eff = media_terms(design, roas, alpha, half_sat, shape, gamma, peak)
    return beta[..., None] * eff


def media_terms(
    design: Design,
    roas: pt.TensorVariable,
    alpha: pt.TensorVariable,
    half_sat: pt.TensorVariable,
    shape: pt.TensorVariable,
    gamma: pt.TensorVariable | None,
    peak: pt.TensorVariable | None = None,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """β ``(tenant, channel)`` and the effect before β ``(tenant, channel, date)``."""
    weights = lag_weights(design.spec.adstock, alpha, design.n_lags, peak)
    eff = effect(pt.as_tensor(design.lagged), weights, half_sat, shape, gamma, design.zw)
    # β makes Σ_train contribution / Σ_train spend equal roas (in currency units).
    beta = roas_beta(roas, eff, design.spend, design.train[:, None, :].astype(float), design.y_scale[:, None])
    return beta, eff


def lift_likelihood(
    design: Design,
    beta: pt.TensorVariable,
    alpha: pt.TensorVariable,
    half_sat: pt.TensorVariable,
    shape: pt.TensorVariable,
    gamma: pt.TensorVariable | None,
    peak: pt.TensorVariable | None = None,
    change: pt.TensorVariable | None = None,
) -> pt.TensorVariable | None:
    """Experiments as data: measured lift ~ Normal(model's lift, se) for each test in ``design.lift``.

    Adds ``lift_predicted`` (dims ``lift_test``, scaled revenue axis) and the Potential ``lift_loglik``.

    ``beta`` is the contributions' own β (:func:`media_terms`), so a test adds only its
    window's arithmetic to the graph. With a regime ``change``, a test's β is scaled by
    ``exp(−change × its share of days before the regime start)``.
    """
    lift = design.lift
    if lift is None or lift.n_tests == 0:
        return None
    shape = pt.broadcast_to(shape, (len(design.tenants), len(design.channels)))
    beta_t = per_test(lift, beta)
    before = share_before(lift, design.spec.regime_start)
    if change is not None and before is not None:
        beta_t = beta_t * pt.exp(-per_test(lift, change) * before)
    pred = predicted_lift(
        lift, design.spec.adstock, beta_t, per_test(lift, alpha), per_test(lift, half_sat),
        per_test(lift, shape), None if gamma is None else per_test(lift, gamma, trailing=True),
        None if peak is None else per_test(lift, peak),
    )
    model = pm.modelcontext(None)
    model.add_coord(LIFT_TEST, lift_ids(lift))
    pred = pm.Deterministic("lift_predicted", pred, dims=LIFT_TEST)
    # A Potential, not an observed variable: the run's observed_data stays revenue only.
    return pm.Potential("lift_loglik", pm.logp(pm.Normal.dist(pred, lift.se), lift.measured).sum())


def marginal_loglik(design: Design, resid: pt.TensorVariable, sigma: pt.TensorVariable) -> pt.TensorVariable:
    """Log-likelihood of the residual with the baseline coefficients integrated out.

    With ``resid = y − media`` (0 off the training days), orthonormal Q and
    prior variances d, ``resid ~ N(0, σ²I + Q diag(d) Qᵀ)``, whose inverse and
    determinant are closed-form because Q is orthonormal. With AR(1) noise the
    residual is whitened first (and divided by a noise scale that varies by day); ``Q`` is
    then already the whitened design's basis. The whitening's Jacobian is a constant (ρ and
    the scale are fixed), so it is left out.

    With Student-t noise the likelihood is raised to the power ``κ`` (:attr:`Design.tempering`):
    ``N(r | ·, σ²)^κ`` is ``N(r | ·, σ²/κ)`` times ``σ^{n(1−κ)}``, so the baseline still integrates
    out in closed form, with ``σ/√κ``.
    """
    if design.whitened:
        resid = design.whiten(resid)
    kappa = design.tempering
    tempered = bool(np.any(kappa < 1))  # only then: normal-noise fits keep exactly the graph they had
    if tempered:
        correction = pt.sum(0.5 * design.n_train * (1 - kappa) * pt.log(sigma**2))
        sigma = sigma / np.sqrt(kappa)
    d = design.prior_var
    s2 = sigma[:, None] ** 2
    u = pt.sum(design.Q * resid[:, :, None], axis=1)  # (tenant, feature)
    ssq = pt.sum(resid**2, axis=1)
    quad = (ssq - pt.sum(d / (s2 + d) * u**2, axis=1)) / sigma**2
    n = design.n_train
    k = (d > 0).sum(axis=1)
    logdet = (n - k) * pt.log(sigma**2) + pt.sum(pt.log(s2 + d) * (d > 0), axis=1)
    loglik = -0.5 * pt.sum(quad + logdet + n * np.log(2 * np.pi))
    return loglik + correction if tempered else loglik


def build_model(design: Design, prior: PopulationPrior | None = None) -> pm.Model:
    """The joint PyMC model of every tenant in ``design``.

    ``prior`` (from :func:`bayes_mmm.runs.population.population_prior`) replaces the
    default media priors by an earlier population's, for cold-starting tenants.

    Free variables, all named for what they are: ``roas`` (through
    ``log_roas*``), ``adstock_alpha``, ``half_sat``, ``hill_shape``, ``gamma``
    (weather sensitivity of media, dims tenant×channel×weather) and ``sigma``.
    """
    spec = design.spec
    pri = spec.priors
    centred = design_cells(design)
    fixed = fixed_scale_channels(design)
    coords = {TENANT: design.tenants, CHANNEL: design.channels, WEATHER: list(MEDIA_WEATHER)}
    with pm.Model(coords=coords) as model:
        sigma = pm.HalfNormal("sigma", pri.noise, dims=TENANT)
        # Revenue is scaled to mean 1, so the intercept's prior is centred on 1: subtract it here
        # and the baseline coefficients keep their zero-mean, closed-form prior.
        y = pt.as_tensor(design.y - INTERCEPT_MEAN * design.train)
        if spec.media:
            if prior is not None:
                prior = prior.for_channels(design.channels)
            # A population prior replaces the spec's ROAS prior, so its channel names need not match these data.
            mu_r, sd_r = roas_mu_sd(pri, design.channels) if prior is None else pri.roas_params("*")
            log_roas = _tenant_channel("log_roas", mu_r, sd_r, pri.roas_pool, spec.pooled, centered=centred["roas"], prior=prior,
                                       fixed=fixed_scale_channels(design, roas=True))
            change = None
            if design.before_regime is not None:
                # log_roas (the warm start's prior) is the earlier regime's; roas the current one's.
                # Pooled per channel (non-centred): where no tenant's channel moved, its scale shrinks
                # and the unchanged keep the warm start's precision.
                scale = pm.HalfNormal("roas_change_sigma", spec.regime_sd, dims=CHANNEL)
                z = pm.Normal("roas_change_z", 0.0, 1.0, dims=(TENANT, CHANNEL))
                change = pm.Deterministic("roas_change", scale * z, dims=(TENANT, CHANNEL))
                log_roas = log_roas + change
            roas = pm.Deterministic("roas", pt.exp(log_roas), dims=(TENANT, CHANNEL))
            logit_alpha = _tenant_channel("logit_alpha", *pri.adstock, pri.adstock_pool, spec.pooled, centered=centred["adstock"], prior=prior, fixed=fixed)
            alpha = pm.Deterministic("adstock_alpha", pm.math.sigmoid(logit_alpha), dims=(TENANT, CHANNEL))
            log_k = _tenant_channel("log_half_sat", *pri.half_sat, pri.half_sat_pool, spec.pooled, centered=centred["half_sat"], prior=prior, fixed=fixed)
            half_sat = pm.Deterministic("half_sat", pt.exp(floored_log_half_sat(design, log_k)), dims=(TENANT, CHANNEL))
            if spec.hill_shape == "channel":
                loc, scale = pri.hill if prior is None or prior.hill_shape is None else prior.hill_shape
                shape = hill_shape(loc, scale, spec.hill_shape_max)
            else:
                shape = pt.ones(len(design.channels))
            gamma = None
            if spec.weather_media:
                gamma = _tenant_channel("gamma", *pri.weather, pri.weather_pool, spec.pooled, (TENANT, CHANNEL, WEATHER), centred["gamma"], prior, fixed)
                gamma = pm.Deterministic("weather_gamma", bounded_weather_gamma(design, gamma), dims=(TENANT, CHANNEL, WEATHER))
            peak = None
            if spec.adstock == "delayed":
                peak_raw = pm.Normal("adstock_peak_raw", *pri.peak, dims=CHANNEL)
                peak = pm.Deterministic("adstock_peak", (design.n_lags / 2) * pm.math.sigmoid(peak_raw), dims=CHANNEL)
                peak = pt.broadcast_to(peak, (len(design.tenants), len(design.channels)))
            beta, eff = media_terms(design, roas, alpha, half_sat, shape, gamma, peak)
            eff = regime_scaled(eff, change, design.before_regime)
            y = y - (beta[..., None] * eff).sum(axis=1) * design.train
            lift_likelihood(design, beta, alpha, half_sat, shape, gamma, peak, change)
        pm.Potential("loglik", marginal_loglik(design, y, sigma))
    return model
