"""Does a channel's spend vary enough to show its effect? A property of the data, used by the model and the checks.

A channel whose spend sits at one level on nearly every day (a daily cap, a fixed budget) and hardly
ever pauses shows no day that isolates its effect: its contribution is a constant the baseline can
absorb, and its curve above today's level is never observed. The checks name such channels
(:mod:`bayes_mmm.analysis.identification`); the model samples their ROAS non-centred, since the prior,
not the data, will shape it (:mod:`bayes_mmm.model.parameterisation`).

Spend set by revenue (a commission, a bid on a revenue target: :func:`follows_revenue`) rises with sales
whatever it causes: the checks name it too; the model, which reads spend alone, does not treat it apart.
"""

from __future__ import annotations

import numpy as np

#: Interquartile range of a channel's spend on its spend days, relative to the median, below which
#: the spend level never varies (ordinary daily spend: 0.3-0.9; a fixed budget ±2 %: 0.03; a cap: 0).
SPREAD_MIN = 0.1
#: … unless the channel is off on more than this share of the periods (on/off spend identifies its effect).
OFF_MAX = 0.1
#: |Correlation| of two channels' spend over the training periods above which they move together (or one
#: budget is split between them): r² > 0.8, so less than a fifth of either's variation is its own.
TOGETHER_MIN = 0.9


def spend_spread(spend: np.ndarray) -> float:
    """Interquartile range over median of ``spend`` on its days with spend.

    NaN (not judged) without spend, or when the channel is off on more than :data:`OFF_MAX` of the
    periods: its pauses then show its effect at today's level, as a holdout would.
    """
    x = np.asarray(spend, dtype=float)
    on = x[x > 0]
    if on.size == 0 or on.size < (1 - OFF_MAX) * x.size:
        return float("nan")
    q25, q50, q75 = np.quantile(on, [0.25, 0.5, 0.75])
    return float((q75 - q25) / q50)


def spreads(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """:func:`spend_spread` per tenant×channel ``(N, C)`` of ``spend (N, C, T)`` over the training periods ``train (N, T)``.

    Periods outside training (before a tenant's history, a holdout) are not pauses.
    """
    train = np.asarray(train, dtype=bool)
    return np.array([[spend_spread(row[train[i]]) for row in np.asarray(spend)[i]] for i in range(len(train))])


def unspent(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C)``: nothing spent on the channel in the tenant's training periods (``spend (N, C, T)``, ``train (N, T)``)."""
    s = np.nan_to_num(np.asarray(spend, dtype=float))
    return (s * np.asarray(train, dtype=bool)[:, None, :]).sum(axis=-1) <= 0


def uninformed(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C)``: no spend in training, or spend that never varies (:data:`SPREAD_MIN`): the data say little."""
    s = np.asarray(spend, dtype=float)
    t = np.asarray(train, dtype=bool)
    return unspent(s, t) | (spreads(s, t) < SPREAD_MIN)


def spend_correlations(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C, C)`` correlation of each tenant's channels' spend ``(N, C, T)`` over its training periods ``(N, T)``.

    NaN for a channel whose spend never changes there (no correlation to speak of).
    """
    s, t = np.asarray(spend, dtype=float), np.asarray(train, dtype=bool)
    out = np.full((s.shape[0], s.shape[1], s.shape[1]), np.nan)
    for i in range(s.shape[0]):
        x = np.nan_to_num(s[i][:, t[i]])
        varies = x.std(axis=1) > 0
        if varies.sum() > 1:
            idx = np.flatnonzero(varies)
            out[i][np.ix_(idx, idx)] = np.corrcoef(x[idx])
    return out


def moves_with_another(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C)``: the channel's training spend correlates beyond ±:data:`TOGETHER_MIN` with another channel's."""
    corr = np.abs(np.nan_to_num(spend_correlations(spend, train)))
    others = ~np.eye(corr.shape[1], dtype=bool)
    return ((corr > TOGETHER_MIN) & others).any(axis=2)


def informs_alone(spend: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C)``: the tenant's own data show the channel's effect: spend that varies and moves on its own.

    Not :func:`uninformed` and not :func:`moves_with_another` — two of the data-side reasons the
    identification checks give (:mod:`bayes_mmm.analysis.identification`); the third, spend that
    follows revenue (:func:`follows_revenue`), needs revenue, and the model's pooling reads spend only.
    """
    return ~uninformed(spend, train) & ~moves_with_another(spend, train)


#: A channel's spend follows revenue when, on its spend periods, it is a near-fixed share of the same period's
#: revenue (coefficient of variation of spend / revenue at most this) and moves with it (correlation of their
#: logs at least :data:`FOLLOWS_CORR`): a commission (affiliates, marketplaces) or a bid on a revenue target.
#: Among 1,981 tenant×channels of 33 simulated lakes only 7 passed, all built that way (an independent weekly
#: lake's affiliates paid 6–9 % of revenue, and search budgets set by demand; benchmarks/RESULTS.md §32).
FOLLOWS_CV = 0.15
FOLLOWS_CORR = 0.9
#: Fewest spend periods judged (a short flight's few points correlate by chance).
FOLLOWS_MIN_PERIODS = 20


def revenue_share(spend: np.ndarray, revenue: np.ndarray) -> tuple[float, float] | None:
    """``(median share of revenue, correlation of logs)`` when ``spend`` follows ``revenue`` period by period; None otherwise.

    Revenue then drives the spend as much as the spend drives revenue: the data cannot tell the
    channel's effect from revenue's pull on its budget (:data:`FOLLOWS_CV`, :data:`FOLLOWS_CORR`).
    """
    x, y = np.asarray(spend, dtype=float), np.asarray(revenue, dtype=float)
    on = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if on.sum() < FOLLOWS_MIN_PERIODS:
        return None
    share, lx, ly = x[on] / y[on], np.log(x[on]), np.log(y[on])
    if lx.std() == 0 or ly.std() == 0:
        return None
    corr = float(np.corrcoef(lx, ly)[0, 1])
    if share.std() / share.mean() <= FOLLOWS_CV and corr >= FOLLOWS_CORR:
        return float(np.median(share)), corr
    return None


def follows_revenue(spend: np.ndarray, revenue: np.ndarray, train: np.ndarray) -> np.ndarray:
    """``(N, C)`` correlation of logs where :func:`revenue_share` finds the channel's training spend following revenue; NaN elsewhere.

    ``spend (N, C, T)``, ``revenue (N, T)``, ``train (N, T)``.
    """
    s, y, t = np.asarray(spend, dtype=float), np.asarray(revenue, dtype=float), np.asarray(train, dtype=bool)
    out = np.full(s.shape[:2], np.nan)
    for i in range(s.shape[0]):
        for c in range(s.shape[1]):
            found = revenue_share(s[i, c, t[i]], y[i, t[i]])
            if found is not None:
                out[i, c] = found[1]
    return out
