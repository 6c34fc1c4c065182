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

Noise that grows with the level (``spec.noise_scale = "level"``): revenue noise is
often multiplicative (a busy day varies more in currency than a quiet one), and a
media multiplier the data do not show (weather a tenant does not report) adds noise
in proportion to media. Then ``ε_t = s_t u_t`` with ``s_t ∝ level_t^p``: the level is
the least-squares fit, ``p`` its maximum-likelihood power on a grid, both estimated
once per tenant like ρ. Dividing by a fixed ``s_t`` is linear too, so it is applied
before whitening, to the residual and the design alike (weighted least squares).

Heavy tails (``spec.noise_tails = "student"``): promotion spikes, outages and stock-outs
the data do not flag make a few days far off. Student-t noise is normal noise whose
variance varies by day; with each day's variance fixed at its E-step value
(:func:`student_weights`, once per tenant like ρ and ``p``) the whitened residual and
design are divided by ``1/√w_t``, and the likelihood is tempered so it claims the t's
information, not more (:func:`t_tempering`). The baseline stays integrated out.

The whitening and scaling functions work on numpy arrays and PyTensor tensors alike;
the estimators (``lag_one``, ``noise_scale``, ``student_weights``) and the t helpers on numpy.
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.model.response import Array, _lib, geometric_weights

#: Largest ρ used: beyond it a tenant's residual is a random walk the baseline should model instead.
RHO_MAX = 0.9
#: Geometric adstock rates of the media proxies in the least-squares fit that estimates ρ.
PROXY_ALPHAS = (0.0, 0.5, 0.8)
#: Powers ``p`` tried for noise sd ∝ level^p: 0 is constant noise, 1 multiplicative (log-normal-like).
POWER_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
#: The least-squares level is floored at this fraction of its mean (a fit near 0 would claim no noise).
LEVEL_FLOOR = 0.2


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


def least_squares(y: np.ndarray, X: np.ndarray, proxies: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(residual, fitted)`` ``(date,)`` of ``y`` on ``X`` and media ``proxies`` fitted on ``train``; residual 0 off it."""
    rows = np.flatnonzero(train)
    A = np.concatenate([X, proxies], axis=1)
    coef, *_ = np.linalg.lstsq(A[rows], y[rows], rcond=None)
    fitted = A @ coef
    return np.where(train, y - fitted, 0.0), fitted


def lag_one(e: np.ndarray, train: np.ndarray) -> float:
    """Lag-1 autocorrelation of a residual ``e`` over consecutive training days, in ``[0, RHO_MAX]``.

    Negative values are set to 0: they would make intervals narrower than i.i.d. noise
    does, and are within the estimate's noise on every data set we have seen.
    """
    _, pair = runs(train)
    den = float(np.sum(e[train] ** 2))
    rho = float(np.sum((e * _shift(e))[pair]) / den) if den > 0 else 0.0
    return float(np.clip(rho, 0.0, RHO_MAX))


def noise_scale(e: np.ndarray, fitted: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, float]:
    """``(scale, p)``: noise sd per day ``∝ level^p`` (geometric mean 1 over ``train``) and the power ``p``.

    ``p`` maximises the Gaussian likelihood of the residual ``e`` with variance ``c·level^{2p}``,
    ``c`` profiled out: ``−n log ĉ(p) − 2p Σ log level``. The level is the least-squares
    ``fitted`` value, floored at :data:`LEVEL_FLOOR` of its mean over ``train`` and kept within
    its range over ``train``. A level whose mean is not positive gives constant noise.
    """
    typical = fitted[train].mean()
    if not np.isfinite(typical) or typical <= 0:  # no positive level to scale by (e.g. revenue ≤ 0 throughout)
        return np.ones_like(fitted), 0.0
    # Off the training days the fit extrapolates: keep the level within what training saw.
    level = np.clip(fitted, max(LEVEL_FLOOR * typical, fitted[train].min()), fitted[train].max())
    log_level = np.log(level)
    log_level = log_level - log_level[train].mean()  # geometric mean 1: σ keeps meaning "typical noise"
    et, lt = e[train], log_level[train]
    score = [-len(et) * np.log(np.mean(et**2 * np.exp(-2 * p * lt))) - 2 * p * lt.sum() for p in POWER_GRID]
    p = float(POWER_GRID[int(np.argmax(score))])
    return np.exp(p * log_level), p


def media_proxies(lagged: np.ndarray) -> np.ndarray:
    """``(date, channel × alphas)`` geometric adstocks of one tenant's lagged spend ``(channel, date, lag)``."""
    cols = [lagged @ geometric_weights(np.float64(a), lagged.shape[-1]) for a in PROXY_ALPHAS]
    return np.concatenate(cols, axis=0).T


def ar_noise(rng: np.random.Generator, sigma: np.ndarray, rho: float, n_dates: int, nu: float = np.inf) -> np.ndarray:
    """``(S, n_dates)`` stationary AR(1) noise with innovation scale ``sigma`` ``(S,)``, Student-t ``nu`` (normal: inf)."""
    shape = (len(sigma), n_dates)
    eta = (rng.standard_normal(shape) if np.isinf(nu) else rng.standard_t(nu, shape)) * sigma[:, None]
    if rho == 0:
        return eta
    from scipy.signal import lfilter

    eta[:, 0] /= np.sqrt(1.0 - rho**2)  # the stationary start
    return lfilter([1.0], [1.0, -rho], eta, axis=1)


def ar_loglik(resid: np.ndarray, sigma: np.ndarray, rho: float, train: np.ndarray, nu: float = np.inf) -> np.ndarray:
    """``(S, n_train)`` log density of each training day given all the others (the exact leave-one-out conditional).

    PSIS-LOO on a likelihood that does not factorise over days needs ``p(y_t | y_−t)``
    (Bürkner, Gabry & Vehtari 2020). For AR(1) noise only the neighbours matter: inside a
    run the mean is ``ρ(e_{t−1} + e_{t+1}) / (1 + ρ²)`` and the variance ``σ² / (1 + ρ²)``; at
    a run's end ``ρ`` times its one neighbour and ``σ²``; a day alone ``0`` and ``σ² / (1 − ρ²)``.
    ``resid`` ``(S, date)`` is revenue minus each draw's expected revenue, on the scaled axis.
    With Student-t noise (finite ``nu``) the same location and scale enter a t density: exact
    for i.i.d. noise, and for AR(1) the t innovation's conditional taken as t, an approximation.
    The posterior itself was sampled with the tempered, reweighted normal likelihood, so PSIS-LOO
    on these densities is an approximation too: compare a Student-t run with a normal one by LOO
    as a guide, not to the last standard error.
    """
    _, prev = runs(train)
    nxt = np.zeros_like(prev)
    nxt[..., :-1] = prev[..., 1:]
    before, after = _shift(resid), np.concatenate([resid[:, 1:], np.zeros_like(resid[:, :1])], axis=1)
    both = prev & nxt
    mean = np.where(both, rho * (before + after) / (1 + rho**2), rho * (np.where(prev, before, 0.0) + np.where(nxt, after, 0.0)))
    var = np.where(both, 1 / (1 + rho**2), np.where(prev | nxt, 1.0, 1 / (1 - rho**2)))
    sd = sigma[:, None] * np.sqrt(var[train])
    return t_logpdf((resid - mean)[:, train] / sd, nu) - np.log(sd)


def ar_tenants(choice: str, has_weather: np.ndarray) -> np.ndarray:
    """``(tenant,)`` which tenants get AR(1) residuals: ``"auto"`` = those without weather, ``"all"``, ``"none"``."""
    if choice == "all":
        return np.ones(len(has_weather), dtype=bool)
    if choice == "none":
        return np.zeros(len(has_weather), dtype=bool)
    return ~np.asarray(has_weather, dtype=bool)


#: Degrees of freedom tried for Student-t noise; ``inf`` is normal noise, chosen where the tails do not call for less.
NU_GRID = (3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 25.0, 50.0, np.inf)
#: EM iterations for the t scale at each ν (the weights settle in far fewer on every residual we tried).
EM_STEPS = 50
#: Log-likelihood a finite ν must gain over normal noise to be used: about a 1 % likelihood-ratio test
#: (χ²₁ 99 %: 6.6 / 2). Normal noise then keeps scale 1 instead of a ν of 25–50 that chases a few 3–4 sd days.
TAILS_MIN_GAIN = 3.3


def t_logpdf(z: np.ndarray, nu: float) -> np.ndarray:
    """Log density of standard Student-t ``nu`` at ``z`` (the normal for ``nu = inf``)."""
    if np.isinf(nu):  # the normal, written out: every default run's pointwise log-likelihood passes here
        return -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    from scipy import stats

    return stats.t.logpdf(z, nu)


def student_weights(e: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, float]:
    """``(scale, ν)``: per-day noise sd multipliers ``1/√w_t`` on ``train`` (1 elsewhere) and Student-t ``ν``.

    Student-t noise is normal noise whose variance varies by day, ``σ²/λ_t`` with
    ``λ_t ~ Gamma(ν/2, ν/2)``. Given a residual ``e``, the E-step's ``w_t = E[λ_t | e_t] =
    (ν+1) / (ν + e_t²/σ²)`` is small on outlying days, so a normal likelihood with sd
    ``σ/√w_t`` follows the t fit (EM for the t scale on the least-squares residual, fixed
    like ρ and ``p`` once per tenant). ``σ`` is fitted by EM for each ``ν`` of :data:`NU_GRID` and ``ν``
    is the one of highest t likelihood; it must beat normal noise by :data:`TAILS_MIN_GAIN`,
    so normal-looking noise keeps ``ν = inf`` and scale 1.
    """
    et = e[train]
    best = (-np.inf, np.inf, np.ones_like(et))
    for nu in sorted(NU_GRID, reverse=True):  # inf first: the bar finite ν must clear
        s2 = float(np.mean(et**2))
        if s2 <= 0:
            break
        w = np.ones_like(et)
        for _ in range(EM_STEPS if np.isfinite(nu) else 0):
            w = (nu + 1) / (nu + et**2 / s2)
            s2 = float(np.mean(w * et**2))
        ll = float(np.sum(t_logpdf(et / np.sqrt(s2), nu))) - 0.5 * len(et) * np.log(s2)
        if ll > best[0] + (TAILS_MIN_GAIN if np.isinf(best[1]) else 0.0):
            best = (ll, nu, w)
    scale = np.ones_like(e, dtype=float)
    scale[train] = 1.0 / np.sqrt(best[2])
    return scale, float(best[1])


def t_sd(nu: np.ndarray | float) -> np.ndarray:
    """Standard deviation of a standard Student-t ``nu`` (1 for the normal, ``nu = inf``; ``nu > 2``)."""
    return np.sqrt(1.0 + 2.0 / (np.asarray(nu, dtype=float) - 2.0))


def t_tempering(nu: np.ndarray) -> np.ndarray:
    """Power ``κ = (ν+1)/(ν+3)`` of the likelihood of reweighted noise (1 for normal noise).

    Weights fixed at their E-step values treat each day's variance as known, which claims
    ``(ν+3)/(ν+1)`` times the information the t likelihood has about the mean (its Fisher
    information is ``(ν+1)/((ν+3)σ²)`` per day). Raising the likelihood to ``κ`` gives that
    information back, so intervals are as wide as a full t model's rather than 1.2× too narrow at ν = 3.
    """
    return 1.0 - 2.0 / (np.asarray(nu, dtype=float) + 3.0)  # = (ν+1)/(ν+3), and 1 at ν = inf
