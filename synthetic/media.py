"""Media spend generation and the true media transforms (numpy).

Spend per channel and day is either 0 (off-flight or dark day) or within
[``MIN_SPEND``, ``MAX_SPEND``]. Meta and google run in flights (1-4 week
blocks with their own level, mostly on) with pulses and day-to-day noise;
email is pulsy (sends on some days, occasional multi-day campaigns).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CHANNELS",
    "MAX_SPEND",
    "MIN_SPEND",
    "SHARE_RANGES",
    "geometric_adstock",
    "hill",
    "simulate_spend",
]

CHANNELS: tuple[str, ...] = ("meta", "google", "email")
MIN_SPEND, MAX_SPEND = 50.0, 500.0
#: Range of each channel's share of total spend over the window.
SHARE_RANGES: dict[str, tuple[float, float]] = {
    "meta": (0.40, 0.50), "google": (0.30, 0.40), "email": (0.10, 0.20)
}


def geometric_adstock(x: np.ndarray, alpha: float, l_max: int = 14) -> np.ndarray:
    """Normalised geometric adstock along the first (time) axis.

    Parameters
    ----------
    x : numpy.ndarray
        Spend, time on axis 0; spend before the first day is taken as 0.
    alpha : float
        Retention rate in [0, 1).
    l_max : int, default 14
        Number of lags, ``l = 0 .. l_max - 1``.

    Returns
    -------
    numpy.ndarray
        ``y_t = sum_l w_l x_{t-l}`` with ``w_l = alpha**l / sum_l alpha**l``.
    """
    x = np.asarray(x, dtype=float)
    w = float(alpha) ** np.arange(l_max)
    w /= w.sum()
    out = np.zeros_like(x)
    for lag in range(min(l_max, len(x))):
        out[lag:] += w[lag] * x[: len(x) - lag]
    return out


def hill(x: np.ndarray, half_sat: float, shape: float) -> np.ndarray:
    """Hill saturation ``x**shape / (x**shape + half_sat**shape)``.

    Parameters
    ----------
    x : numpy.ndarray
        Non-negative input.
    half_sat : float
        Input at which the response is one half.
    shape : float
        Hill exponent (> 0).

    Returns
    -------
    numpy.ndarray
        Response in [0, 1).
    """
    xs = np.power(np.asarray(x, dtype=float), shape)
    return xs / (xs + half_sat**shape)


def _blocks(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Label consecutive days with block ids of random length in [lo, hi]."""
    lengths = rng.integers(lo, hi + 1, size=n // lo + 1)
    return np.repeat(np.arange(len(lengths)), lengths)[:n]


def _pattern(rng: np.random.Generator, n: int, channel: str) -> np.ndarray:
    """Relative spend shape (0 on off days) before scaling to a budget."""
    noise = np.exp(rng.normal(0.0, 0.25, n))  # ~ +-30 % day to day
    if channel == "email":
        on = rng.uniform(size=n) < 0.3
        campaign = np.repeat(rng.uniform(size=n // 5 + 1) < 0.12, 5)[:n]
        on |= campaign
        level = rng.lognormal(0.0, 0.4, n)
    else:
        flight = _blocks(rng, n, 7, 28)
        nf = flight[-1] + 1
        flight_on = rng.uniform(size=nf) < 0.8
        flight_on[0] = True
        on = flight_on[flight] & (rng.uniform(size=n) > 0.03)  # dark days
        level = rng.uniform(0.5, 1.5, nf)[flight]
        pulse = np.zeros(n)
        for start in np.flatnonzero(rng.uniform(size=n) < 1 / 30):
            pulse[start:start + rng.integers(2, 6)] = rng.uniform(0.5, 1.5)
        level = level * (1.0 + pulse)
    return np.where(on, level * noise, 0.0)


def _scale_to(pattern: np.ndarray, total: float) -> np.ndarray:
    """Scale a pattern, clipped to [MIN_SPEND, MAX_SPEND] on its on-days, to ``total``."""
    on = pattern > 0
    n_on = on.sum()
    total = float(np.clip(total, MIN_SPEND * n_on * 1.02, MAX_SPEND * n_on * 0.9))
    lo, hi = 0.0, MAX_SPEND / pattern[on].min()
    for _ in range(60):
        k = 0.5 * (lo + hi)
        s = np.clip(k * pattern[on], MIN_SPEND, MAX_SPEND).sum()
        lo, hi = (k, hi) if s < total else (lo, k)
    return np.where(on, np.clip(k * pattern, MIN_SPEND, MAX_SPEND), 0.0)


def simulate_spend(
    rng: np.random.Generator, n_days: int, daily_budget: float
) -> dict[str, np.ndarray]:
    """Simulate daily spend per channel.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n_days : int
        Number of days.
    daily_budget : float
        Mean total spend per day across channels (about 250-650 is feasible).

    Returns
    -------
    dict of str to numpy.ndarray
        Spend per channel in :data:`CHANNELS`, rounded to cents; every value
        is 0 or within [MIN_SPEND, MAX_SPEND] and the channel shares of total
        spend lie within :data:`SHARE_RANGES`.
    """
    while True:
        meta, google = rng.uniform(0.42, 0.48), rng.uniform(0.32, 0.38)
        if 0.12 <= 1.0 - meta - google <= 0.18:
            break
    shares = {"meta": meta, "google": google, "email": 1.0 - meta - google}
    total = daily_budget * n_days
    return {
        c: np.round(_scale_to(_pattern(rng, n_days, c), shares[c] * total), 2) for c in CHANNELS
    }
