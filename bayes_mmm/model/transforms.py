"""Media transforms: adstock and Hill saturation.

Each function is written once with operators that numpy arrays and
PyTensor tensors share, so the model graph and the numpy post-processing
(ROAS, response curves, allocation) run the very same arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # numpy array or PyTensor tensor


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


def adstock(lagged: Array, weights: Array) -> Array:
    """Convolve lagged spend ``(..., T, L)`` with weights ``(..., L)`` → ``(..., T)``."""
    return (lagged * weights[..., None, :]).sum(axis=-1)


def _lib(*xs: Array):
    """numpy, or pytensor.tensor if any argument is a PyTensor variable."""
    import pytensor.tensor as pt

    return pt if any(isinstance(x, pt.Variable) for x in xs) else np


def hill(x: Array, half_sat: Array, shape: Array) -> Array:
    """Hill saturation ``x**s / (x**s + k**s)``: 0 at 0, 1/2 at ``k``, → 1.

    Computed as ``sigmoid(s · (log x − log k))``, the same function with one
    log and one exp per element (a third of the cost of two powers and their
    gradients). A 1e-12 offset keeps ``log 0`` finite on days without spend;
    it moves the curve by less than 1e-12.
    """
    lib = _lib(x, half_sat, shape)
    z = shape * (lib.log(x + 1e-12) - lib.log(half_sat))
    if lib is np:
        from scipy.special import expit

        return expit(z)
    return lib.sigmoid(z)
