"""Identification levers: bounded transforms that keep media parameters where the data can speak.

Three ways a channel stops being identified (issue 17) are closed here, each as an
option of :class:`~bayes_mmm.core.spec.ModelSpec`:

* **Half-saturation floor** (``half_sat_floor = q``). A half-saturation far below
  the tenant's own spend turns the Hill curve into an on/off switch, which can
  imitate anything that correlates with "spent today". The floor is the
  ``q``-quantile of the channel's positive training-day spend, on the model's
  scale (divided by ``spend_scale``). The sampled log half-saturation ``r`` is
  mapped smoothly to ``log f + softplus(s·(r − log f))/s``: above the floor it is
  ``r`` (within 1 % once ``r`` is 1.2 log units above it), below it flattens onto
  ``log f``. A smooth map keeps NUTS' gradients finite where a hard cut would not.
* **Bounded weather × media** (``media_weather_bound = B``). With γ free, the
  multiplier ``exp(Σ_w γ_w z_w)`` can swing by orders of magnitude over a
  tenant's weather range. Each γ_w is mapped to ``c_w · tanh(γ_w / c_w)`` with
  ``c_w = B / (W · max|z_w|)`` over the tenant's training days, so that
  ``|Σ_w γ_w z_w| ≤ B`` on every training day; near 0 the map is the identity, so
  the prior on small γ is unchanged.
* **Hill shape ceiling** (``hill_shape_max = m``). A steep shared shape turns every
  tenant's curve for the channel into a threshold switch. The sampled log shape is
  mapped to :func:`soft_ceiling` at ``log m``: near the prior's centre it is the
  identity (1.3 stays 1.29 at ``m = 3``), and it never exceeds ``m``.

Every function works on numpy arrays and PyTensor tensors alike.
"""

from __future__ import annotations

import numpy as np

from bayes_mmm.model.response import Array, _lib

#: Sharpness s of the soft floor: at the floor itself the value is lifted by log(2)/s (×1.19).
FLOOR_SHARPNESS = 4.0


def half_sat_floor(spend: np.ndarray, spend_scale: np.ndarray, train: np.ndarray, q: float) -> np.ndarray:
    """``(tenant, channel)`` floor: the ``q``-quantile of positive training-day spend / ``spend_scale``.

    ``spend`` is ``(tenant, channel, date)``, ``train`` ``(tenant, date)``. A channel
    without positive spend gets 1e-6 (no floor to speak of: nothing to saturate).
    """
    out = np.full(spend_scale.shape, 1e-6)
    for i in range(spend.shape[0]):
        for j in range(spend.shape[1]):
            pos = spend[i, j, train[i]]
            pos = pos[pos > 0]
            if len(pos):
                out[i, j] = max(float(np.quantile(pos, q)) / spend_scale[i, j], 1e-6)
    return out


def soft_floor(raw: Array, log_floor: Array, sharpness: float = FLOOR_SHARPNESS) -> Array:
    """``log_floor + softplus(s·(raw − log_floor))/s``: smooth, increasing, never below ``log_floor``."""
    lib = _lib(raw, log_floor)
    x = sharpness * (raw - log_floor)
    # log1p(exp(x)) overflows for large x; softplus = max(x, 0) + log1p(exp(−|x|)) does not.
    softplus = lib.maximum(x, 0.0) + lib.log1p(lib.exp(-abs(x)))
    return log_floor + softplus / sharpness


def soft_ceiling(raw: Array, log_ceiling: Array, sharpness: float = FLOOR_SHARPNESS) -> Array:
    """:func:`soft_floor` mirrored: smooth, increasing, never above ``log_ceiling`` (the Hill shape's ceiling)."""
    return -soft_floor(-raw, -log_ceiling, sharpness)


def weather_span(zw: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(tenant, weather)`` largest |standardised weather| over training days (1 where there is none)."""
    span = np.array([np.abs(zw[i, train[i]]).max(axis=0) if train[i].any() else np.zeros(zw.shape[-1]) for i in range(zw.shape[0])])
    # A tenant without weather has z ≡ 0: any γ leaves its multiplier at 1, so the bound is moot.
    return np.where(span > 0, span, 1.0)


def bounded_gamma(raw: Array, span: Array, bound: float) -> Array:
    """γ ``(tenant, channel, weather)`` with ``|Σ_w γ_w z_w| ≤ bound`` whenever ``|z_w| ≤ span_w``.

    ``span`` is ``(tenant, weather)`` (:func:`weather_span`); each of the W terms gets ``bound / W``.
    """
    lib = _lib(raw, span)
    cap = bound / (raw.shape[-1] * span[:, None, :])
    return cap * lib.tanh(raw / cap)
