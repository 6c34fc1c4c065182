"""Weather sensitivity of a tenant: from its tenant.json, else estimated from its data (never from its id)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import PRECIP, REVENUE, TEMP, TENANT, TENANT_JSON
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lake import daily_file, read_daily

#: Weather-sensitivity classes of data contract §1, most sensitive first.
CLASSES = ("extreme", "high", "medium", "none")
#: Lowest :func:`weather_score` of each class; below the last cut a tenant is ``none``.
#: Chosen from the scores of 720 simulated tenants (generator seeds 0–5 × 20 tenants × 200,
#: 365 and 730 days, each started in January and in July; tests/fixtures/sensitivity_scores.py)
#: against the class the generator drew them from. With a year or more of data the median
#: score is about 0.72 (extreme), 0.58 (high), 0.35 (medium) and 0.04 (none); each cut sits
#: between the upper quartile of the class below and the lower quartile of the class above,
#: which gives the generator's class for 69 % of those tenants and a neighbour for the rest.
#: With under a year (200 days) scores run lower (part of a season) and classes lean one
#: lower, i.e. a laxer bar. Fixed cuts, not terciles: a tenant's class depends on its own
#: data only, never on who else is in the lake.
THRESHOLDS = (("extreme", 0.66), ("high", 0.45), ("medium", 0.15))
#: Class of a tenant whose data carry no weather (it cannot be estimated).
DEFAULT_CLASS = "medium"


def weather_score(revenue: np.ndarray, dates: pd.DatetimeIndex, temp: np.ndarray, precip: np.ndarray) -> float | None:
    """Partial R² of weather beyond trend and day of week, on the days with revenue.

    The share of revenue variance that temperature (linear and squared) and
    log-rain explain beyond trend and weekday in a least-squares fit. Seasonal
    products score high because their season is the weather. ``None`` when
    the days carry no temperature.
    """
    ok = np.isfinite(revenue)
    temp = pd.Series(np.asarray(temp, float)[ok]).interpolate(limit_direction="both").to_numpy()
    if not np.isfinite(temp).all() or ok.sum() < 10:
        return None
    y = revenue[ok] / max(float(np.mean(revenue[ok])), 1e-9)
    t = np.arange(len(y)) / 365.0
    dow = np.eye(7)[pd.DatetimeIndex(dates)[ok].day_of_week][:, 1:]
    base = np.column_stack([np.ones(len(y)), t, dow])
    temp = (temp - temp.mean()) / (temp.std() or 1.0)
    rain = np.log1p(np.nan_to_num(np.asarray(precip, float)[ok], nan=0.0))
    full = np.column_stack([base, temp, temp**2, rain])

    def rss(x: np.ndarray) -> float:
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        return float(np.sum((y - x @ coef) ** 2))

    r0 = rss(base)
    return 1 - rss(full) / r0 if r0 > 0 else 0.0


def class_of_score(score: float | None) -> str:
    """Weather class of a :func:`weather_score` by the fixed :data:`THRESHOLDS`."""
    if score is None:
        return DEFAULT_CLASS
    return next((name for name, cut in THRESHOLDS if score >= cut), "none")


def check_class(value: object, path: str | Path) -> str:
    """A ``sensitivity`` value of the tenant.json at ``path``, or a :class:`DataError` naming it."""
    if value not in CLASSES:
        raise DataError(
            f"sensitivity {value!r} is not one of {', '.join(CLASSES)}",
            file=path,
            column="sensitivity",
            hint="fix the value or drop the key to have the class estimated from the data",
        )
    return str(value)


def sensitivity(given: str | None, score: float | None) -> dict:
    """The record of summary.json: ``{"class", "source", "score"}``.

    ``given`` (tenant.json's ``sensitivity``) wins; otherwise the class of the
    score; ``source`` is ``"default"`` when the data carry no weather.
    """
    rounded = None if score is None else round(float(score), 4)
    if given:
        return {"class": given, "source": "tenant.json", "score": rounded}
    return {"class": class_of_score(score), "source": "estimated" if score is not None else "default", "score": rounded}


def dataset_sensitivity(ds: xr.Dataset, train: np.ndarray | None = None) -> dict[str, dict]:
    """:func:`sensitivity` of every tenant of a loaded lake, scored on its observed (training) days."""
    mask = ds["observed"].values if train is None else ds["observed"].values & train
    dates = pd.DatetimeIndex(ds["date"].values)
    given = ds["sensitivity"].values if "sensitivity" in ds.coords else [""] * ds.sizes[TENANT]
    out = {}
    for i, tid in enumerate(ds[TENANT].values):
        tid, cls = str(tid), str(given[i]) or None
        if cls:
            check_class(cls, Path(ds.attrs.get("lake", "<lake>")) / tid / TENANT_JSON)
        m = mask[i]
        score = weather_score(ds[REVENUE].values[i, m], dates[m], ds[TEMP].values[i, m], ds[PRECIP].values[i, m])
        out[tid] = sensitivity(cls, score)
    return out


def weather_scores(lake: str | Path, tenants: Sequence[str]) -> dict[str, float]:
    """:func:`weather_score` per tenant of a lake, from its data alone (0 without weather)."""
    scores = {}
    for tid in tenants:
        df = read_daily(daily_file(Path(lake) / tid)).dropna(subset=[REVENUE])
        temp = df[TEMP].to_numpy() if TEMP in df else np.full(len(df), np.nan)
        precip = df[PRECIP].to_numpy() if PRECIP in df else np.zeros(len(df))
        scores[tid] = weather_score(df[REVENUE].to_numpy(), df.index, temp, precip) or 0.0
    return scores


def weather_class(lake: str | Path, tenants: Sequence[str]) -> dict[str, str]:
    """Weather-sensitivity class per tenant: ``low``, ``mid`` or ``high`` terciles of :func:`weather_scores`.

    For grouping tenants of one lake into similar fits only; the go/no-go uses
    the fixed classes of :func:`dataset_sensitivity`.
    """
    scores = weather_scores(lake, tenants)
    cuts = np.quantile(list(scores.values()), [1 / 3, 2 / 3]) if scores else [0, 0]
    return {t: "low" if s <= cuts[0] else "mid" if s <= cuts[1] else "high" for t, s in scores.items()}
