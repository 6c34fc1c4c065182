"""Adstock and saturation shapes of the scenario simulators (numpy, independent of the model).

Every adstock is a normalised lag kernel (weights sum to 1) applied by
:func:`carry_over`; every saturation maps scaled, adstocked spend ``x >= 0``
to a response with ``f(0) = 0``. Parameters are plain dicts so that they can
be written to ``truth.json`` as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import weibull_min

__all__ = ["ADSTOCKS", "SATURATIONS", "adstock_weights", "carry_over", "saturate"]


def _geometric(p: dict[str, float]) -> np.ndarray:
    return float(p["alpha"]) ** np.arange(int(p["l_max"]))


def _weibull(p: dict[str, float]) -> np.ndarray:
    # pdf at mid-lag: a little same-day effect, the peak several days later
    lags = np.arange(int(p["l_max"])) + 0.5
    return weibull_min.pdf(lags, c=p["shape"], scale=p["scale"])


def _delayed(p: dict[str, float]) -> np.ndarray:
    lags = np.arange(int(p["l_max"]))
    return float(p["alpha"]) ** ((lags - p["theta"]) ** 2)


ADSTOCKS: dict[str, Callable[[dict[str, float]], np.ndarray]] = {
    "geometric": _geometric, "weibull": _weibull, "delayed": _delayed,
}


def adstock_weights(kind: str, params: dict[str, float]) -> np.ndarray:
    """Normalised lag weights ``w_0 .. w_{l_max-1}`` of an adstock kind."""
    w = np.asarray(ADSTOCKS[kind](params), dtype=float)
    return w / w.sum()


def carry_over(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``y_t = sum_l w_l x_{t-l}`` with spend before the first day taken as 0."""
    return np.convolve(np.asarray(x, dtype=float), weights)[: len(x)]


def _hill(x: np.ndarray, p: dict[str, float]) -> np.ndarray:
    xs = np.power(x, p["shape"])
    return xs / (xs + p["half_sat"] ** p["shape"])


def _exponential(x: np.ndarray, p: dict[str, float]) -> np.ndarray:
    return 1.0 - np.exp(-x / p["k"])


def _logistic(x: np.ndarray, p: dict[str, float]) -> np.ndarray:
    # S-curve with a threshold at ``mid``, shifted and rescaled so f(0) = 0, f(inf) = 1
    s0 = 1.0 / (1.0 + np.exp(p["mid"] / p["width"]))
    s = 1.0 / (1.0 + np.exp(-(x - p["mid"]) / p["width"]))
    return (s - s0) / (1.0 - s0)


def _michaelis_menten(x: np.ndarray, p: dict[str, float]) -> np.ndarray:
    return x / (p["k"] + x)


SATURATIONS: dict[str, Callable[[np.ndarray, dict[str, float]], np.ndarray]] = {
    "hill": _hill, "exponential": _exponential, "logistic": _logistic,
    "michaelis_menten": _michaelis_menten,
}


def saturate(kind: str, x: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """Saturation ``kind`` of non-negative input ``x``."""
    return SATURATIONS[kind](np.asarray(x, dtype=float), params)
