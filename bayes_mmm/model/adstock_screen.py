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
* a tenant's evidence for a delay at peak p is the profile log-likelihood of the best delayed
  shape with that peak (α free) over the best geometric one, ``n/2 · log(SSE_geometric /
  SSE_delayed)``. The model's delayed adstock shares one peak per channel across tenants, so
  the channel's evidence is that gain summed over tenants at the best shared peak: tenants that
  peak late on different days, or not at all, do not add up (on the ``mixed`` lake a peak chosen
  per tenant summed to a delay that no shared peak fits, and the shared peak split the chains);
* the two shapes are not nested and the delayed family is the larger, so that gain is
  positive on noise alone (about +0.6 to +0.9 per tenant for a null or weak channel). Its
  distribution without a timing relation comes from what the baseline leaves unexplained,
  shifted circularly against spend (no effect is the least favourable case: a geometric
  effect makes the gain smaller);
* one adstock serves every channel, so the delayed adstock is used when the pooled gains summed
  over channels pass the 99 % quantile of their null (per channel the same maximum over shared
  peaks of the null draws summed over tenants; normal approximation): a channel that fits worse
  with a delay counts against it.

A linear adstock ignores saturation, but the timing of the response does not depend on
it. Measured on the scenario lakes (benchmarks/RESULTS.md §21, ``bench_adstock_screen.py``):
delayed on the Weibull lake, geometric on the 13 lakes of geometric carry-over and on ``mixed``
(a third of its tenant×channels geometric, the others peaking on different days).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.residual import media_proxies
from bayes_mmm.model.response import delayed_weights, geometric_weights

#: Geometric decay rates and delayed peaks (in periods) tried; the delayed shape uses the same α.
SCREEN_ALPHAS = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)
SCREEN_PEAKS = (1, 2, 3, 4, 5, 6)
#: Significance of the bar the evidence summed over channels must pass (one-sided, against no timing relation).
SCREEN_LEVEL = 0.01
#: Key of a channel's per-peak evidence (peaks, gains, null draws), kept in memory for groups, never written.
BY_PEAK = "_by_peak"
#: Shifted copies per tenant×channel for the gain's null distribution, and their seed.
NULL_DRAWS = 99
SCREEN_SEED = 20261127


def candidate_weights(n_lags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights (K, n_lags), is_delayed (K,), peak (K,))`` of every shape tried (peaks the model can reach only)."""
    rows, delayed, peaks = [], [], []
    for a in SCREEN_ALPHAS:
        rows.append(geometric_weights(np.float64(a), n_lags))
        delayed.append(False)
        peaks.append(0.0)
        for p in (p for p in SCREEN_PEAKS if p < n_lags / 2):  # the model's peak lies in (0, n_lags / 2)
            rows.append(delayed_weights(np.float64(a), np.float64(p), n_lags))
            delayed.append(True)
            peaks.append(float(p))
    return np.array(rows), np.array(delayed), np.array(peaks)


def _column_space(A: np.ndarray) -> np.ndarray:
    """Orthonormal basis of ``A``'s columns (rank-revealing: padded or collinear columns drop out)."""
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    return u[:, s > s.max() * 1e-10] if s.size and s.max() > 0 else u[:, :0]


@dataclass(frozen=True)
class Evidence:
    """One tenant×channel's evidence for a delayed peak, and what the same statistic gives without one."""

    gain: float  #: log-likelihood of the best delayed shape over the best geometric one
    best: int  #: index of the best delayed candidate
    null_mean: float  #: mean of ``gain`` over the shifted copies (no timing relation with spend)
    null_var: float  #: its variance
    by_peak: np.ndarray  #: ``(P,)`` the gain of the best delayed shape at each peak (α free), as the model pools it
    null_by_peak: np.ndarray  #: ``(NULL_DRAWS, P)`` the same on each shifted copy


def null_shifts(rng: np.random.Generator, n: int, n_lags: int) -> np.ndarray:
    """:data:`NULL_DRAWS` circular shifts of ``n`` days, beyond twice the adstock window from either end.

    A shift within the window would move the effect a few days late: a delayed peak, not a null.
    One set per tenant serves all its channels, so their null gains stay as correlated as their observed ones.
    """
    if n > 4 * n_lags + 1:
        return rng.integers(2 * n_lags, n - 2 * n_lags, NULL_DRAWS)
    return rng.integers(1, max(n, 2), NULL_DRAWS)


def delay_evidence(y: np.ndarray, base: np.ndarray, lagged: np.ndarray, weights: np.ndarray,
                   delayed: np.ndarray, peak: np.ndarray, shifts: np.ndarray) -> Evidence:
    """The gain of the best delayed shape over the best geometric one, and its distribution without a timing relation.

    ``y`` ``(n,)`` and ``base`` ``(n, k)`` are the training days' revenue and baseline (with
    the other channels' proxies), ``lagged`` ``(n, n_lags)`` the channel's lagged spend.
    One added column's least-squares fit is a projection, so every shape costs a dot product.
    The two families are not nested and the delayed one is larger, so the gain is positive
    on noise alone; its null distribution comes from :data:`NULL_DRAWS` copies of what the
    baseline leaves unexplained, each shifted circularly (which keeps its autocorrelation and
    drops its alignment with spend).
    """
    n = len(y)
    u = _column_space(base)
    cand = lagged @ weights.T
    cand = cand - u @ (u.T @ cand)
    den = np.einsum("nk,nk->k", cand, cand)
    ok = den > 1e-12 * max(float(den.max()), 1e-300)
    safe = np.where(ok, den, 1.0)

    def gains(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per column of ``Y``: the gain at each peak ``(P, m)``, the shapes' SSE ``(K, m)`` and the baseline's residuals."""
        Yr = Y - u @ (u.T @ Y)  # (n, m): residuals of the baseline alone
        explained = np.where(ok[:, None], (cand.T @ Yr) ** 2 / safe[:, None], 0.0)
        sse = np.maximum((Yr**2).sum(axis=0)[None, :] - explained, 1e-300)
        at_peak = np.stack([sse[peak == p].min(axis=0) for p in peak_values])
        return 0.5 * n * np.log(sse[~delayed].min(axis=0)[None, :] / at_peak), sse, Yr

    peak_values = np.unique(peak[delayed])
    by_peak, sse, yr = gains(y[:, None])
    gain = by_peak.max(axis=0)
    # What the baseline leaves, shifted circularly (:func:`null_shifts`): the same series, autocorrelation and any
    # effect of spend included, out of step with spend. No effect is the least favourable null: a geometric effect
    # makes the gain smaller, not larger (simulating from the fitted geometric shape instead read noise as an
    # effect and let 1 in 4 lakes of 50 null channels through).
    null_by_peak, _, _ = gains(np.stack([np.roll(yr[:, 0], k) for k in shifts], axis=1))
    null = null_by_peak.max(axis=0)
    d_idx = np.flatnonzero(delayed)
    return Evidence(float(gain[0]), int(d_idx[np.argmin(sse[d_idx, 0])]), float(null.mean()), float(null.var()),
                    by_peak[:, 0], null_by_peak.T)


def screen_adstock(y: np.ndarray, X: np.ndarray, lagged: np.ndarray, train: np.ndarray,
                   channels: list[str]) -> dict:
    """The adstock the data ask for, and the evidence: summary.json's ``adstock_screen``.

    ``y`` ``(tenant, date)``, ``X`` ``(tenant, date, feature)``, ``lagged``
    ``(tenant, channel, date, lag)``, ``train`` ``(tenant, date)`` as in :class:`~bayes_mmm.model.design.Design`.
    A tenant's channel whose spend never varies over its training days gives no evidence.
    Returns ``chosen`` (``"geometric"`` or ``"delayed"``) and per channel the pooled ``gain`` at
    the best shared ``peak`` (:func:`pooled`), the ``bar`` it had to pass, its null's ``null_mean``
    and ``null_var`` and the ``tenants`` that gave evidence.
    """
    n_lags = lagged.shape[-1]
    weights, delayed, peaks = candidate_weights(n_lags)
    out: dict = {"chosen": "geometric", "channels": {}}
    if not delayed.any():  # a window too short for the model's peak (below half the window) to reach a later period
        out["reason"] = f"an adstock window of {n_lags} period(s) leaves no room for a later peak"
        return out
    rng = np.random.default_rng(SCREEN_SEED)  # the same data give the same choice
    shifts = [null_shifts(rng, int(train[i].sum()), n_lags) for i in range(len(y))]
    for c, name in enumerate(channels):
        found = []
        for i in range(len(y)):
            rows = np.flatnonzero(train[i])
            own = lagged[i, c][rows]
            if own[:, 0].std() == 0:
                continue
            base = np.concatenate([X[i][rows], media_proxies(np.delete(lagged[i], c, axis=0))[rows]], axis=1)
            found.append(delay_evidence(y[i, rows], base, own, weights, delayed, peaks, shifts[i]))
        out["channels"][name] = pooled(np.unique(peaks[delayed]), [e.by_peak for e in found], [e.null_by_peak for e in found])
    return _judged(out)


def pooled(peak_values: np.ndarray, by_peak: list[np.ndarray], null_by_peak: list[np.ndarray]) -> dict:
    """A channel's evidence at the one peak its tenants share, as the model's delayed adstock has it.

    ``by_peak`` holds each tenant's (or group's) gains per peak, ``null_by_peak`` their null draws
    ``(NULL_DRAWS, P)``. The gains add up over tenants at each peak and the best peak is taken; the
    null takes the same maximum of the draws added up draw by draw (tenants' shifts are independent).
    Tenants whose best peaks disagree do not add up, as one shared peak cannot serve them.
    """
    if not by_peak:
        return {"gain": 0.0, "null_mean": 0.0, "null_var": 0.0, "tenants": 0, "peak": None}
    total, null = np.sum(by_peak, axis=0), np.sum(null_by_peak, axis=0).max(axis=1)
    return {"gain": float(total.max()), "null_mean": float(null.mean()), "null_var": float(null.var()),
            "tenants": len(by_peak), "peak": float(peak_values[int(np.argmax(total))]),
            BY_PEAK: (peak_values, total, np.sum(null_by_peak, axis=0))}


def _judged(out: dict) -> dict:
    """``out`` with each channel's ``bar``, the ``total`` over channels and the ``chosen`` shape.

    One adstock serves every channel, so the choice weighs all of them: delayed when the gains
    summed over channels pass the null's 1 − :data:`SCREEN_LEVEL` quantile (normal; the channels'
    nulls add up). A channel that fits worse with a delay (a negative gain) counts against it.
    Each channel's own ``bar`` is for the record.
    """
    z = float(norm.ppf(1 - SCREEN_LEVEL))
    live = [v for v in out["channels"].values() if v["tenants"]]
    total = sum(v["gain"] for v in live)
    # A tenant's channels share its null shifts, so the channels' null statistics add up draw by draw
    # (they are correlated where spend is); a record without draws adds its mean and variance.
    draws = sum((v[BY_PEAK][2].max(axis=1) for v in live if BY_PEAK in v), np.zeros(NULL_DRAWS))
    mean = float(draws.mean()) + sum(v["null_mean"] for v in live if BY_PEAK not in v)
    var = float(draws.var()) + sum(v["null_var"] for v in live if BY_PEAK not in v)
    bar = mean + z * np.sqrt(var)
    out["chosen"] = "delayed" if live and total > bar else "geometric"
    out["total"] = {"gain": round(float(total), 2), "bar": round(float(bar), 2)}
    for v in out["channels"].values():
        own = v["null_mean"] + z * np.sqrt(v["null_var"]) if v["tenants"] else 0.0
        v.update(gain=round(v["gain"], 2), bar=round(float(own), 2), null_mean=round(v["null_mean"], 3),
                 null_var=round(v["null_var"], 3))
    return out


def combine_screens(screens: list[dict]) -> dict:
    """One verdict from the screens of disjoint groups of tenants: their gains and null draws add up peak by peak."""
    if not screens:
        return {"chosen": "geometric", "channels": {}, "reason": "no group's data could be screened"}
    parts: dict[str, list] = {}
    for sc in screens:
        for name, v in sc["channels"].items():
            parts.setdefault(name, [])
            if v.get(BY_PEAK) is not None:
                parts[name].append(v[BY_PEAK])
    channels = {}
    for name, got in parts.items():
        if any(not np.array_equal(g[0], got[0][0]) for g in got):  # groups share l_max and cadence, so their peaks
            raise ValueError(f"groups screened channel '{name}' on different peak grids")
        v = pooled(got[0][0], [g[1] for g in got], [g[2] for g in got]) if got else pooled(np.zeros(0), [], [])
        v["tenants"] = sum(sc["channels"].get(name, {}).get("tenants", 0) for sc in screens)
        channels[name] = v
    reasons = {sc["reason"] for sc in screens if "reason" in sc}
    return _judged({"chosen": "geometric", "channels": channels} | ({"reason": reasons.pop()} if reasons and not channels else {}))


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


def written(screen: dict) -> dict:
    """The screen as summary.json records it: without the per-peak arrays kept for combining groups."""
    return {**screen, "channels": {k: {f: x for f, x in v.items() if f != BY_PEAK} for k, v in screen.get("channels", {}).items()}}
