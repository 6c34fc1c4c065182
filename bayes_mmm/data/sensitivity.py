"""Weather sensitivity of a tenant estimated from its data alone (never from its id or name)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bayes_mmm.data.lake import daily_file, read_daily


def weather_scores(lake: str | Path, tenants: Sequence[str]) -> dict[str, float]:
    """Weather sensitivity per tenant from its data alone.

    The share of revenue variance that temperature (linear and squared) and
    log-rain explain beyond trend and day of week: the partial R² of a
    least-squares fit. Seasonal products score high because their season is
    the weather.
    """
    scores = {}
    for tid in tenants:
        df = read_daily(daily_file(Path(lake) / tid)).dropna(subset=["revenue"])
        y = df["revenue"].to_numpy() / max(df["revenue"].mean(), 1e-9)
        t = np.arange(len(df)) / 365.0
        dow = np.eye(7)[df.index.day_of_week][:, 1:]
        base = np.column_stack([np.ones(len(df)), t, dow])
        temp = df["temp_c"].interpolate(limit_direction="both").to_numpy()
        temp = (temp - temp.mean()) / (temp.std() or 1.0)
        rain = np.log1p(df["precip_mm"].fillna(0.0).to_numpy())
        full = np.column_stack([base, temp, temp**2, rain])

        def rss(X: np.ndarray, y: np.ndarray = y) -> float:
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
            return float(np.sum((y - X @ coef) ** 2))

        r0 = rss(base)
        scores[tid] = 1 - rss(full) / r0 if r0 > 0 else 0.0
    return scores


def weather_class(lake: str | Path, tenants: Sequence[str]) -> dict[str, str]:
    """Weather-sensitivity class per tenant: ``low``, ``mid`` or ``high`` terciles of :func:`weather_scores`."""
    scores = weather_scores(lake, tenants)
    cuts = np.quantile(list(scores.values()), [1 / 3, 2 / 3]) if scores else [0, 0]
    return {t: "low" if s <= cuts[0] else "mid" if s <= cuts[1] else "high" for t, s in scores.items()}
