"""Residuals with memory: AR(1) noise by prewhitening (feasible GLS).

Revenue the model cannot explain (weather a tenant does not report, a slow
promotion, a competitor) lasts for days. With i.i.d. noise the likelihood reads
730 autocorrelated days as 730 independent facts, so intervals come out too
narrow and slow unexplained demand is free to load onto slow spend moves.

With ``ε_t = ρ ε_{t−1} + η_t``, ``η ~ N(0, σ²)``, the whitened series
``ε̃_t = ε_t − ρ ε_{t−1}`` is i.i.d. The first day of each run of consecutive
training days keeps the stationary scale instead, ``ε̃_t = √(1−ρ²) ε_t``
(Prais–Winsten); a gap in the training days starts a new run. Whitening is
linear, so it applies to the residual and to the baseline design alike, and the
baseline stays integrated out in closed form (:mod:`bayes_mmm.model.design`
whitens ``X`` before its QR; :func:`bayes_mmm.model.hierarchical.marginal_loglik`
whitens the residual). ρ is estimated once per tenant from a least-squares
residual (Cochrane–Orcutt), not sampled: it costs nothing at sampling time and
730 days pin it to about ±0.04.

Every function works on numpy arrays and PyTensor tensors alike.
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.model.response import Array, _lib, geometric_weights

#: Largest ρ used: beyond it a tenant's residual is a random walk the baseline should model instead.
RHO_MAX = 0.9
#: Geometric adstock rates of the media proxies in the least-squares fit that estimates ρ.
PROXY_ALPHAS = (0.0, 0.5, 0.8)


def runs(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(start, pair)`` masks like ``train``: first day of a run of training days, and days whose previous day trains too."""
    train = np.asarray(train, dtype=bool)
    prev = np.zeros_like(train)
    prev[..., 1:] = train[..., :-1]
    return train & ~prev, train & prev


def _shift(x: Array) -> Array:
    """``x`` moved one step later along the last axis (0 on the first)."""
    lib = _lib(x)
    return lib.concatenate([lib.zeros_like(x[..., :1]), x[..., :-1]], axis=-1)


def prewhiten(x: Array, rho: Array, train: np.ndarray) -> Array:
    """Whitened ``x`` (last axis = dates): ``x_t − ρ x_{t−1}`` inside a run, ``√(1−ρ²) x_t`` at its start, 0 off ``train``.

    ``rho`` broadcasts against ``x[..., 0]`` (a scalar, or ``(tenant,)`` for ``(tenant, date)``).
    """
    lib = _lib(x, rho)
    start, pair = runs(train)
    r = rho[..., None] if getattr(rho, "ndim", 0) else rho
    scale = lib.where(start, lib.sqrt(1.0 - r**2), 1.0)
    return lib.where(train, scale * x, 0.0) - r * pair * _shift(x)


def estimate_rho(y: np.ndarray, X: np.ndarray, proxies: np.ndarray, train: np.ndarray) -> float:
    """Lag-1 autocorrelation of the least-squares residual of ``y`` on ``X`` and media ``proxies``, in ``[0, RHO_MAX]``.

    ``y`` ``(date,)``, ``X`` ``(date, feature)``, ``proxies`` ``(date, m)``. Negative
    values are set to 0: they would make intervals narrower than i.i.d. noise does,
    and are within the estimate's noise on every data set we have seen.
    """
    rows = np.flatnonzero(train)
    A = np.concatenate([X[rows], proxies[rows]], axis=1)
    coef, *_ = np.linalg.lstsq(A, y[rows], rcond=None)
    e = np.zeros(len(y))
    e[rows] = y[rows] - A @ coef
    _, pair = runs(train)
    den = float(np.sum(e[train] ** 2))
    rho = float(np.sum((e * _shift(e))[pair]) / den) if den > 0 else 0.0
    return float(np.clip(rho, 0.0, RHO_MAX))


def media_proxies(lagged: np.ndarray) -> np.ndarray:
    """``(date, channel × alphas)`` geometric adstocks of one tenant's lagged spend ``(channel, date, lag)``."""
    cols = [lagged @ geometric_weights(np.float64(a), lagged.shape[-1]) for a in PROXY_ALPHAS]
    return np.concatenate(cols, axis=0).T


def ar_noise(rng: np.random.Generator, sigma: np.ndarray, rho: float, n_dates: int) -> np.ndarray:
    """``(S, n_dates)`` stationary AR(1) noise with innovation sd ``sigma`` ``(S,)``."""
    eta = rng.standard_normal((len(sigma), n_dates)) * sigma[:, None]
    if rho == 0:
        return eta
    from scipy.signal import lfilter

    eta[:, 0] /= np.sqrt(1.0 - rho**2)  # the stationary start
    return lfilter([1.0], [1.0, -rho], eta, axis=1)


def ar_loglik(resid: np.ndarray, sigma: np.ndarray, rho: float, train: np.ndarray) -> np.ndarray:
    """``(S, n_train)`` log density of each training day given all the others (the exact leave-one-out conditional).

    PSIS-LOO on a likelihood that does not factorise over days needs ``p(y_t | y_−t)``
    (Bürkner, Gabry & Vehtari 2020). For AR(1) noise only the neighbours matter: inside a
    run the mean is ``ρ(e_{t−1} + e_{t+1}) / (1 + ρ²)`` and the variance ``σ² / (1 + ρ²)``; at
    a run's end ``ρ`` times its one neighbour and ``σ²``; a day alone ``0`` and ``σ² / (1 − ρ²)``.
    ``resid`` ``(S, date)`` is revenue minus each draw's expected revenue, on the scaled axis.
    """
    _, prev = runs(train)
    nxt = np.zeros_like(prev)
    nxt[..., :-1] = prev[..., 1:]
    before, after = _shift(resid), np.concatenate([resid[:, 1:], np.zeros_like(resid[:, :1])], axis=1)
    both = prev & nxt
    mean = np.where(both, rho * (before + after) / (1 + rho**2), rho * (np.where(prev, before, 0.0) + np.where(nxt, after, 0.0)))
    var = np.where(both, 1 / (1 + rho**2), np.where(prev | nxt, 1.0, 1 / (1 - rho**2)))
    sd = sigma[:, None] * np.sqrt(var[train])
    return -0.5 * ((resid - mean)[:, train] / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def ar_tenants(choice: str, has_weather: np.ndarray) -> np.ndarray:
    """``(tenant,)`` which tenants get AR(1) residuals: ``"auto"`` = those without weather, ``"all"``, ``"none"``."""
    if choice == "all":
        return np.ones(len(has_weather), dtype=bool)
    if choice == "none":
        return np.zeros(len(has_weather), dtype=bool)
    return ~np.asarray(has_weather, dtype=bool)
