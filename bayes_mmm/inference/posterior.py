"""Per-draw quantities after sampling, in numpy, one tenant at a time.

The model integrates the baseline out; here its coefficients are drawn from
their exact Gaussian conditional, and everything an analyst wants per
posterior draw (channel contributions, fitted revenue, pointwise
log-likelihood, marginal ROAS, weather elasticities) is computed with the
same forward model the sampler used (:mod:`bayes_mmm.model.response`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from bayes_mmm.core.constants import CHANNEL, TENANT
from bayes_mmm.model.design import Design, media_weather, weather_features
from bayes_mmm.model.draws import stacked
from bayes_mmm.model.hierarchical import INTERCEPT_MEAN
from bayes_mmm.model.residual import ar_loglik, ar_noise
from bayes_mmm.model.response import effect, lag_weights, regime_scaled, roas_beta, weather_multiplier

CHUNK = 128  # draws per block: bounds the (draw, channel, date, lag) temporary


@dataclass
class TenantDraws:
    """Media parameters of one tenant, one row per posterior draw."""

    roas: np.ndarray  # (S, C)
    alpha: np.ndarray  # (S, C)
    half_sat: np.ndarray  # (S, C)
    shape: np.ndarray  # (S, C)
    gamma: np.ndarray | None  # (S, C, 2)
    peak: np.ndarray | None  # (S, C)
    sigma: np.ndarray  # (S,)
    change: np.ndarray | None = None  # (S, C) log ROAS change since spec.regime_start

    @classmethod
    def from_posterior(cls, posterior: xr.Dataset, i: int, n_channels: int) -> TenantDraws:
        """Pick tenant ``i`` out of a posterior dataset."""
        sigma = stacked(posterior["sigma"])[:, i]
        s = len(sigma)
        if "roas" not in posterior:
            zeros = np.zeros((s, n_channels))
            return cls(zeros, zeros, np.ones_like(zeros), np.ones_like(zeros), None, None, sigma)
        change = stacked(posterior["roas_change"])[:, i] if "roas_change" in posterior else None
        shape = stacked(posterior["hill_shape"]) if "hill_shape" in posterior else np.ones((s, n_channels))
        peak = None
        if "adstock_peak" in posterior:
            peak = stacked(posterior["adstock_peak"])
        gamma = stacked(posterior["weather_gamma"])[:, i] if "weather_gamma" in posterior else None
        return cls(
            roas=stacked(posterior["roas"])[:, i],
            alpha=stacked(posterior["adstock_alpha"])[:, i],
            half_sat=stacked(posterior["half_sat"])[:, i],
            shape=shape,
            gamma=gamma,
            peak=peak,
            sigma=sigma,
            change=change,
        )

    def take(self, sl: slice) -> TenantDraws:
        """A block of draws."""
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[sl]

        return TenantDraws(*(cut(getattr(self, f)) for f in self.__dataclass_fields__))


def saturation(design: Design, i: int, p: TenantDraws, spend_factor: np.ndarray | None = None, zw: np.ndarray | None = None) -> np.ndarray:
    """Adstocked, saturated, weather-scaled media ``(S, C, T)`` before β.

    ``spend_factor`` ``(C,)`` multiplies spend (adstock is linear, so the
    adstocked series scales the same); ``zw`` replaces the media weather.
    """
    spec = design.spec
    z = design.zw[i] if zw is None else zw
    out = []
    for start in range(0, len(p.roas), CHUNK):
        q = p.take(slice(start, start + CHUNK))
        w = lag_weights(spec.adstock, q.alpha, design.n_lags, q.peak)
        if spend_factor is not None:
            w = w * spend_factor[None, :, None]  # adstock is linear: scaling weights scales spend
        out.append(effect(design.lagged[i][None], w, q.half_sat, q.shape, q.gamma, z))
    return np.concatenate(out)


def beta_of(design: Design, i: int, p: TenantDraws, effect: np.ndarray) -> np.ndarray:
    """β ``(S, C)`` that makes the training-window ROAS equal ``p.roas``."""
    return roas_beta(p.roas, effect, design.spend[i], design.train[i].astype(float), design.y_scale[i])


@dataclass
class TenantPosterior:
    """Per-draw results of one tenant (revenue in currency units).

    Full (draw, channel, date) arrays are reduced here, so memory stays at a
    few (draw, date) arrays per tenant even for 20 tenants × 730 days.
    """

    media_mean: np.ndarray  # (C, T) posterior mean channel contributions
    baseline_mean: np.ndarray  # (T,)
    mu_mean: np.ndarray  # (T,) posterior mean expected revenue
    media_train: np.ndarray  # (S, C) channel contribution summed over training days
    mu_train: np.ndarray  # (S,) expected revenue summed over training days
    y_rep: np.ndarray  # (S, T) posterior predictive draws, float32
    loglik: np.ndarray  # (S, n_train) pointwise log-likelihood on training days
    beta: np.ndarray  # (S, C)
    coef: np.ndarray  # (S, K) baseline coefficients of X[:, keep]
    mroas: np.ndarray  # (S, C)
    elasticity: dict[str, np.ndarray]  # name -> (S,)


def tenant_posterior(
    design: Design, posterior: xr.Dataset, i: int, rng: np.random.Generator, prior: bool = False
) -> TenantPosterior:
    """Everything per draw for tenant ``i`` of ``design``.

    With ``prior=True`` the draws are prior draws and the baseline
    coefficients come from their prior too (prior predictive check).
    """
    n_c = len(design.channels)
    p = TenantDraws.from_posterior(posterior, i, n_c)
    scale = design.y_scale[i]
    train = design.train[i]
    s = len(p.sigma)
    if "roas" in posterior:
        effect = saturation(design, i, p)
        beta = beta_of(design, i, p, effect)
        media = beta[..., None] * effect  # the current regime's, on every day
    else:
        effect = np.zeros((s, n_c, len(design.dates)))
        beta = np.zeros((s, n_c))
        media = effect
    # What the data saw: earlier days under the earlier regime (identical without a regime change).
    past = regime_scaled(effect, p.change, design.before_regime)
    fitted = beta[..., None] * past
    media_sum = fitted.sum(axis=1)

    # Baseline coefficients: exact Gaussian conditional given the media draw.
    d = design.prior_var[i]
    active = d > 0
    resid = (design.y[i] - INTERCEPT_MEAN - media_sum) * train
    rho, noise, nu = float(design.ar_rho[i]), design.noise_scale[i], float(design.noise_nu[i])
    if design.reweighted[i]:  # Q is the whitened design's basis (model.residual)
        resid = design.whiten(resid, i)
    u = resid @ design.Q[i][:, active]
    s2 = p.sigma[:, None] ** 2 / design.tempering[i]  # the tempered likelihood's (model.hierarchical.marginal_loglik)
    dd = d[active]
    mean = dd / (s2 + dd) * u
    sd = np.sqrt(s2 * dd / (s2 + dd))
    if prior:
        mean, sd = np.zeros_like(mean), np.broadcast_to(np.sqrt(dd), mean.shape)
    theta = mean + sd * rng.standard_normal(mean.shape)
    k = active.sum()
    coef = theta @ design.Rinv[i][:k, :k].T
    coef[:, 0] += INTERCEPT_MEAN  # column 0 of X is always the intercept
    xk = design.X[i][:, design.keep[i]]
    baseline = coef @ xk.T

    mu = baseline + media_sum
    # Predictive noise is the model's own: Student-t of scale σ where the tails are t, not the reweighted normal.
    y_rep = mu + noise * ar_noise(rng, p.sigma, rho, mu.shape[1], nu)
    loglik = ar_loglik((design.y[i] - mu) / noise, p.sigma, rho, train, nu) - np.log(noise[train]) - np.log(scale)

    mroas = np.zeros((s, n_c))
    spend_train = (design.spend[i] * train).sum(axis=-1)
    if "roas" in posterior:
        base_total = (media * train).sum(axis=-1)
        for c in range(n_c):
            factor = np.ones(n_c)
            factor[c] = 1.01
            bumped = beta[:, c, None] * saturation(design, i, p, factor)[:, c]
            extra = ((bumped * train).sum(axis=-1) - base_total[:, c]) * scale
            mroas[:, c] = np.where(spend_train[c] > 0, extra / (0.01 * max(spend_train[c], 1e-12)), np.nan)

    elasticity = weather_elasticity(design, i, p, beta, past, coef, mu)
    return TenantPosterior(
        media_mean=fitted.mean(axis=0) * scale,
        baseline_mean=baseline.mean(axis=0) * scale,
        mu_mean=mu.mean(axis=0) * scale,
        media_train=fitted[..., train].sum(axis=-1) * scale,
        mu_train=mu[:, train].sum(axis=-1) * scale,
        y_rep=(y_rep * scale).astype(np.float32),
        loglik=loglik,
        beta=beta,
        coef=coef,
        mroas=mroas,
        elasticity=elasticity,
    )


def weather_elasticity(
    design: Design, i: int, p: TenantDraws, beta: np.ndarray, effect: np.ndarray, coef: np.ndarray, mu: np.ndarray
) -> dict[str, np.ndarray]:
    """Relative change of mean expected revenue for +1 °C and for +1 mm rain every day.

    Both the baseline (lagged weather terms) and the media multiplier move;
    standardisation constants stay fixed, as in the synthetic truth.
    """
    if not design.has_weather[i]:  # no weather data: nothing to differentiate, say so rather than guess
        nan = np.full(len(mu), np.nan)
        return {"temp_c": nan, "precip_mm": nan}
    train = design.train[i]
    # Unclipped: the model's slope on every training day, also on those at the edge of the weather range.
    stats = replace(design.weather_stats[i], temp_range=None, precip_max=None, snow_max=None)
    temp, precip, snow = design.weather[i]
    keep = design.keep[i]
    n_cal = design.calendar[i].shape[1] + 1
    w0, _ = weather_features(temp, precip, snow, stats, design.weather_lags)
    base_mean = mu[:, train].mean(axis=1)
    out = {}
    for name, dt, dp in (("temp_c", 1.0, 0.0), ("precip_mm", 0.0, 1.0)):
        w1, _ = weather_features(temp + dt, precip + dp, snow, stats, design.weather_lags)
        dx = np.zeros_like(design.X[i])
        dx[:, n_cal : n_cal + w0.shape[1]] = w1 - w0
        delta = coef @ dx[:, keep].T
        if p.gamma is not None:
            z1 = media_weather(temp + dt, precip + dp, stats)
            shift = weather_multiplier(p.gamma, z1 - design.zw[i])
            delta = delta + (beta[..., None] * effect * (shift - 1)).sum(axis=1)
        out[name] = delta[:, train].mean(axis=1) / base_mean
    return out


def posterior_arrays(design: Design, tenants_post: list[TenantPosterior], chains: int) -> dict[str, xr.DataArray]:
    """Stack per-tenant results into labelled arrays with (chain, draw) dims."""
    s = tenants_post[0].mroas.shape[0]
    draws = s // chains

    def cd(a: np.ndarray, dims: tuple[str, ...], coords: dict) -> xr.DataArray:
        return xr.DataArray(a.reshape(chains, draws, *a.shape[1:]), dims=("chain", "draw", *dims), coords=coords)

    coords = {TENANT: design.tenants, CHANNEL: design.channels}
    mroas = np.stack([t.mroas for t in tenants_post], axis=1)
    beta = np.stack([t.beta for t in tenants_post], axis=1)
    return {
        "mroas": cd(mroas, (TENANT, CHANNEL), coords),
        "beta": cd(beta, (TENANT, CHANNEL), coords),
        **{
            f"elasticity_{k}": cd(np.stack([t.elasticity[k] for t in tenants_post], axis=1), (TENANT,), {TENANT: design.tenants})
            for k in tenants_post[0].elasticity
        },
    }


def prior_predictive(design: Design, model, draws: int = 500, seed: int = 0) -> xr.DataArray:
    """Revenue simulated from the priors alone, ``(draw, tenant, date)`` in currency units.

    The check that the priors are sensible on the data's scale: the bulk of
    these series should lie within a few times the observed revenue.
    """
    import pymc as pm

    with model:
        prior = pm.sample_prior_predictive(draws=draws, random_seed=seed).prior
    rng = np.random.default_rng(seed)
    reps = [tenant_posterior(design, prior, i, rng, prior=True).y_rep for i in range(len(design.tenants))]
    return xr.DataArray(
        np.stack(reps, axis=1),
        dims=("draw", TENANT, "date"),
        coords={TENANT: design.tenants, "date": design.dates},
        name="revenue",
    )
