"""Choosing the carry-over shape from the data before sampling: does spend act days later than it is spent?

The geometric adstock puts its largest weight on the day of spend; the delayed one,
``α^((l − peak)²)``, can peak days later (Weibull-type carry-over, slow shipping, TV).
Neither contains the other, and a geometric fit of delayed carry-over does not just lose
accuracy: its half-saturations grow heavy tails and the chains stop mixing
(benchmarks/RESULTS.md §18). Comparing two full fits by LOO (``fit --adstock auto``)
doubles the cost, so the default asks the data first, the way the noise's AR(1) and
tails are chosen (:mod:`bayes_mmm.model.residual`):

* per tenant and channel, revenue is regressed by least squares on the baseline design,
  the other channels' spend proxies and one adstocked series of the channel, for every
  shape on a grid (geometric α; delayed α × peak ≥ 1 period);
* the channel's evidence for a delay is the profile log-likelihood of the best delayed
  shape over the best geometric one, ``n/2 · log(SSE_geometric / SSE_delayed)``, summed
  over tenants;
* the delayed adstock is used when some channel's evidence passes a 1 % likelihood-ratio
  test (χ² with one degree of freedom per tenant, halved).

A linear adstock ignores saturation, but the timing of the response does not depend on
it. Measured on the scenario lakes (RESULTS.md §20): the Weibull lake's channels give
+286 to +393, every other lake's are below the bar.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import chi2

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.residual import media_proxies
from bayes_mmm.model.response import delayed_weights, geometric_weights

#: Geometric decay rates and delayed peaks (in periods) tried; the delayed shape uses the same α.
SCREEN_ALPHAS = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)
SCREEN_PEAKS = (1, 2, 3, 4, 5, 6)
#: Significance of the likelihood-ratio bar a channel's summed evidence must pass.
SCREEN_LEVEL = 0.01


def candidate_weights(n_lags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights (K, n_lags), is_delayed (K,), peak (K,))`` of every shape tried (peaks below ``n_lags`` only)."""
    rows, delayed, peaks = [], [], []
    for a in SCREEN_ALPHAS:
        rows.append(geometric_weights(np.float64(a), n_lags))
        delayed.append(False)
        peaks.append(0.0)
        for p in (p for p in SCREEN_PEAKS if p < n_lags):
            rows.append(delayed_weights(np.float64(a), np.float64(p), n_lags))
            delayed.append(True)
            peaks.append(float(p))
    return np.array(rows), np.array(delayed), np.array(peaks)


def _column_space(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of ``A``'s columns (rank-revealing: padded or collinear columns drop out)."""
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    return u[:, s > s.max() * 1e-10] if s.size and s.max() > 0 else u[:, :0]


def delay_evidence(y: np.ndarray, base: np.ndarray, lagged: np.ndarray, weights: np.ndarray,
                   delayed: np.ndarray) -> tuple[float, int]:
    """``(log-likelihood gain, candidate index)`` of the best delayed shape over the best geometric one.

    ``y`` ``(n,)`` and ``base`` ``(n, k)`` are the training days' revenue and baseline (with
    the other channels' proxies), ``lagged`` ``(n, n_lags)`` the channel's lagged spend.
    One added column's least-squares fit is a projection, so every shape costs a dot product.
    """
    u = _column_space(base)
    yr = y - u @ (u.T @ y)
    cand = lagged @ weights.T
    cand = cand - u @ (u.T @ cand)
    den = np.einsum("nk,nk->k", cand, cand)
    explained = np.where(den > 1e-12 * max(den.max(), 1e-300), (cand.T @ yr) ** 2 / np.where(den > 0, den, 1.0), 0.0)
    sse = np.maximum(float(yr @ yr) - explained, 1e-300)
    g, d = np.flatnonzero(~delayed), np.flatnonzero(delayed)
    best_d = int(d[np.argmin(sse[d])])
    return 0.5 * len(y) * float(np.log(sse[g].min() / sse[best_d])), best_d


def screen_adstock(y: np.ndarray, X: np.ndarray, lagged: np.ndarray, train: np.ndarray,
                   channels: list[str]) -> dict:
    """The adstock the data ask for, and the evidence: summary.json's ``adstock_screen``.

    ``y`` ``(tenant, date)``, ``X`` ``(tenant, date, feature)``, ``lagged``
    ``(tenant, channel, date, lag)``, ``train`` ``(tenant, date)`` as in :class:`~bayes_mmm.model.design.Design`.
    A tenant's channel whose spend never varies over its training days gives no evidence.
    Returns ``chosen`` (``"geometric"`` or ``"delayed"``) and per channel the summed ``gain``,
    the ``bar`` it had to pass, the ``tenants`` that gave evidence and the median best ``peak``.
    """
    n_lags = lagged.shape[-1]
    weights, delayed, peaks = candidate_weights(n_lags)
    out: dict = {"chosen": "geometric", "channels": {}}
    if not delayed.any():  # a one-period window has no room for a later peak
        out["reason"] = f"an adstock window of {n_lags} period cannot peak later"
        return out
    for c, name in enumerate(channels):
        gains, best = [], []
        for i in range(len(y)):
            rows = np.flatnonzero(train[i])
            own = lagged[i, c][rows]
            if own[:, 0].std() == 0:
                continue
            base = np.concatenate([X[i][rows], media_proxies(np.delete(lagged[i], c, axis=0))[rows]], axis=1)
            gain, k = delay_evidence(y[i, rows], base, own, weights, delayed)
            gains.append(gain)
            best.append(peaks[k])
        out["channels"][name] = {"gain": float(np.sum(gains)), "tenants": len(gains),
                                 "peak": float(np.median(best)) if best else None}
    return _judged(out)


def _judged(out: dict) -> dict:
    """``out`` with each channel's likelihood-ratio ``bar`` and the ``chosen`` shape; gains rounded for the record."""
    for v in out["channels"].values():
        bar = 0.5 * float(chi2.ppf(1 - SCREEN_LEVEL, v["tenants"])) if v["tenants"] else 0.0
        if v["tenants"] and v["gain"] > bar:
            out["chosen"] = "delayed"
        v.update(gain=round(v["gain"], 1), bar=round(bar, 1))
    return out


def combine_screens(screens: list[dict]) -> dict:
    """One verdict from the screens of disjoint groups of tenants (evidence adds up over tenants).

    The peak is the median of the groups' medians, weighted by nothing: it is for the record only.
    """
    channels: dict[str, dict] = {}
    for sc in screens:
        for name, v in sc["channels"].items():
            acc = channels.setdefault(name, {"gain": 0.0, "tenants": 0, "peaks": []})
            acc["gain"] += v["gain"]
            acc["tenants"] += v["tenants"]
            acc["peaks"] += [] if v["peak"] is None else [v["peak"]]
    out = {"chosen": "geometric", "channels": {
        name: {"gain": v["gain"], "tenants": v["tenants"], "peak": float(np.median(v["peaks"])) if v["peaks"] else None}
        for name, v in channels.items()}}
    reasons = {sc["reason"] for sc in screens if "reason" in sc}
    return _judged(out | ({"reason": reasons.pop()} if reasons and not channels else {}))


def resolve_adstock(spec: ModelSpec, y: np.ndarray, X: np.ndarray, lagged: np.ndarray, train: np.ndarray,
                    channels: list[str]) -> tuple[ModelSpec, dict | None]:
    """``spec`` with ``adstock = "screen"`` replaced by the shape the data ask for, and the screen's evidence.

    Any other ``spec`` comes back unchanged with None; a model without media takes geometric unscreened.
    """
    if spec.adstock != "screen":
        return spec, None
    if not spec.media:
        return replace(spec, adstock="geometric"), None
    found = screen_adstock(y, X, lagged, train, channels)
    return replace(spec, adstock=found["chosen"]), found
