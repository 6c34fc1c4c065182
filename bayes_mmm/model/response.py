"""The media forward model, written once: lag weights → adstock → Hill → weather → β.

For tenant n, channel c and day t the contribution of spend is

    β[n, c] · hill(adstock(spend / spend_scale)[t]; k, s) · exp(γ[n, c] · z[n, t]),

with β chosen so that the counterfactual ROAS over the training window equals
``roas[n, c]``. Every function uses operators that numpy arrays and PyTensor
tensors share (:func:`_lib` picks the library where they differ), so the
sampled graph (:mod:`bayes_mmm.model.hierarchical`), the per-draw numpy
post-processing (:mod:`bayes_mmm.inference.posterior`), the allocator
(:mod:`bayes_mmm.decide.problem`) and the report's curves run the very same
arithmetic. The choice between adstock kinds is made here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # numpy array or PyTensor tensor

#: Offset inside the Hill curve's log: keeps ``log 0`` finite on days without spend.
HILL_EPS = 1e-12
#: Guard of β's denominator for a channel without effect in the training window.
BETA_EPS = 1e-12


def _lib(*xs: Array):
    """numpy, or pytensor.tensor if any argument is a PyTensor variable."""
    import pytensor.tensor as pt

    return pt if any(isinstance(x, pt.Variable) for x in xs) else np


# --------------------------------------------------------------------------- adstock


def lag_matrix(x: np.ndarray, l_max: int) -> np.ndarray:
    """Stack lagged copies of ``x`` along a new last axis.

    ``out[..., t, l] = x[..., t - l]`` and 0 before the first day, so a
    convolution with adstock weights is one multiply-and-sum.

    Parameters
    ----------
    x
        Array whose last axis is time, shape ``(..., T)``.
    l_max
        Number of lags, including lag 0.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., T, l_max)``.
    """
    x = np.asarray(x, dtype=float)
    out = np.zeros((*x.shape, l_max))
    t = x.shape[-1]
    for lag in range(min(l_max, t)):
        out[..., lag:, lag] = x[..., : t - lag]
    return out


def geometric_weights(alpha: Array, l_max: int) -> Array:
    """Normalised geometric adstock weights ``alpha**l / sum(alpha**l)``.

    ``alpha`` of shape ``(...)`` gives weights of shape ``(..., l_max)``;
    normalising keeps the adstocked series on the scale of spend.
    """
    lags = np.arange(l_max, dtype=float)
    w = alpha[..., None] ** lags
    return w / w.sum(axis=-1, keepdims=True)


def delayed_weights(alpha: Array, peak: Array, l_max: int) -> Array:
    """Normalised delayed-peak adstock weights ``alpha**((l - peak)**2)``."""
    lags = np.arange(l_max, dtype=float)
    w = alpha[..., None] ** ((lags - peak[..., None]) ** 2)
    return w / w.sum(axis=-1, keepdims=True)


def lag_weights(kind: str, alpha: Array, l_max: int, peak: Array | None = None) -> Array:
    """Adstock weights ``(..., l_max)`` of the model's adstock ``kind`` (``ModelSpec.adstock``).

    Raises
    ------
    ValueError
        For an unknown kind, or ``"delayed"`` without a ``peak``.
    """
    if kind == "geometric":
        return geometric_weights(alpha, l_max)
    if kind == "delayed":
        if peak is None:
            raise ValueError("delayed adstock needs the peak lag")
        return delayed_weights(alpha, peak, l_max)
    raise ValueError(f"unknown adstock kind '{kind}'")


def adstock(lagged: Array, weights: Array) -> Array:
    """Convolve lagged spend ``(..., T, L)`` with weights ``(..., L)`` → ``(..., T)``."""
    return (lagged * weights[..., None, :]).sum(axis=-1)


def convolve(x: np.ndarray, weights: np.ndarray, n_out: int) -> np.ndarray:
    """:func:`adstock` of a raw series, without the ``(T, L)`` lag matrix (numpy only).

    ``x`` ``(..., T)`` is zero-padded (or cut) to ``n_out`` days; weights ``(..., L)``
    broadcast against ``x``'s leading axes. Equals ``adstock(lag_matrix(x, L), weights)``
    but needs memory for the output only, which matters over thousands of draws.
    """
    t = x.shape[-1]
    out = np.zeros((*np.broadcast_shapes(weights.shape[:-1], x.shape[:-1]), n_out))
    for lag in range(min(weights.shape[-1], n_out)):
        m = min(t, n_out - lag)
        out[..., lag : lag + m] += weights[..., lag, None] * x[..., :m]
    return out


def convolve_transpose(q: np.ndarray, weights: np.ndarray, n_in: int) -> np.ndarray:
    """Adjoint of :func:`convolve`: pulls ``∂R/∂out`` ``(..., n_out)`` back to ``(..., n_in)`` input days."""
    n_out = q.shape[-1]
    out = np.zeros((*q.shape[:-1], n_in))
    for lag in range(min(weights.shape[-1], n_out)):
        m = min(n_in, n_out - lag)
        out[..., :m] += weights[..., lag, None] * q[..., lag : lag + m]
    return out


# --------------------------------------------------------------------------- saturation and weather


def hill(x: Array, half_sat: Array, shape: Array) -> Array:
    """Hill saturation ``x**s / (x**s + k**s)``: 0 at 0, 1/2 at ``k``, → 1.

    Computed as ``sigmoid(s · (log x − log k))``, the same function with one
    log and one exp per element (a third of the cost of two powers and their
    gradients). :data:`HILL_EPS` keeps ``log 0`` finite on days without spend;
    it moves the curve by less than 1e-12.
    """
    lib = _lib(x, half_sat, shape)
    z = shape * (lib.log(x + HILL_EPS) - lib.log(half_sat))
    if lib is np:
        from scipy.special import expit

        return expit(z)
    return lib.sigmoid(z)


def hill_slope(x: np.ndarray, h: np.ndarray, shape: np.ndarray, coef: np.ndarray | float = 1.0) -> np.ndarray:
    """``d(coef · hill)/dx`` given ``h = hill(x, k, shape)``: ``coef · h(1 − h)·s / (x + HILL_EPS)``.

    hill = expit(s·(log(x + ε) − log k)), so the derivative needs the same ε as :func:`hill`.
    """
    return coef * h * (1 - h) * shape / (x + HILL_EPS)


def weather_multiplier(gamma: Array, z: Array) -> Array:
    """Media effectiveness ``exp(γ · z)`` ``(..., C, T)`` from γ ``(..., C, W)`` and weather z ``(..., T, W)``.

    Leading axes broadcast. numpy contracts with einsum (no ``(C, T, W)``
    temporary); the PyTensor graph multiplies and sums, which it differentiates cheaply.
    """
    lib = _lib(gamma, z)
    if lib is np:
        return np.exp(np.einsum("...cw,...tw->...ct", gamma, z))
    return lib.exp(lib.sum(gamma[..., :, None, :] * z[..., None, :, :], axis=-1))


def effect(
    lagged: Array, weights: Array, half_sat: Array, shape: Array, gamma: Array | None = None, z: Array | None = None
) -> Array:
    """Adstocked, saturated, weather-scaled media ``(..., C, T)`` before β.

    Parameters
    ----------
    lagged
        ``(..., C, T, L)`` spend / spend_scale, lagged (:func:`lag_matrix`).
    weights
        ``(..., C, L)`` adstock weights (:func:`lag_weights`).
    half_sat, shape
        Hill parameters broadcasting against ``(..., C)``.
    gamma, z
        Weather sensitivity ``(..., C, W)`` and standardised weather ``(..., T, W)``; None for none.
    """
    out = hill(adstock(lagged, weights), half_sat[..., None], shape[..., None])
    if gamma is not None:
        out = out * weather_multiplier(gamma, z)
    return out


def regime_scaled(effect: Array, change: Array | None, before: Array | None) -> Array:
    """``effect`` ``(..., C, T)`` on the days before a regime change scaled by ``exp(−change)``.

    ``change`` ``(..., C)`` is the log ROAS change since then and ``before`` ``(T,)``
    is 1 on the earlier days: β describes the current regime, so only the past is rescaled.
    """
    if change is None or before is None:
        return effect
    lib = _lib(effect, change)
    return effect * lib.exp(-change[..., None] * before)


def roas_beta(roas: Array, effect: Array, spend: Array, train: Array, y_scale: Array) -> Array:
    """β ``(..., C)`` such that Σ_train β·effect · y_scale / Σ_train spend equals ``roas``.

    ``effect`` and ``spend`` are ``(..., C, T)``; ``train`` (0/1 floats) and
    ``y_scale`` broadcast against them and against ``(..., C)``.
    """
    lib = _lib(roas, effect)
    spend_total = (spend * train).sum(axis=-1) / y_scale
    return roas * spend_total / (lib.sum(effect * train, axis=-1) + BETA_EPS)


def steady_state(spend: np.ndarray, spend_scale: float, half_sat: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Hill output ``(S, G)`` of a constant daily spend grid ``spend`` (G,) at average weather.

    Adstock weights sum to one, so a constant spend ``u`` has adstock ``u`` and
    model input ``u / spend_scale``.
    """
    return hill(spend[None, :] / spend_scale, half_sat[:, None], shape[:, None])
