"""Data-quality gates for a lake, one row per tenant and check.

Structural problems (unreadable dates, negative spend, gaps, duplicates)
already raise :class:`~bayes_mmm.core.errors.DataError` while reading; the gates
here judge data that *can* be read but may not be fit to model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import MIN_HISTORY_DAYS, REVENUE, SPEND_PREFIX
from bayes_mmm.core.errors import describe_rows
from bayes_mmm.data.lake import daily_file, read_daily, resolve_tenants

MAX_MISSING_SHARE = 0.05
MAX_OUTLIER_SHARE = 0.02
#: Cut-off of the modified z-score. Iglewicz & Hoaglin's 3.5 assumes normal data;
#: weather shocks and holidays make revenue heavy-tailed, so we use 5.
ROBUST_Z = 5.0
#: The MAD is floored at this share of the median, so spend pinned at a cap
#: (MAD 0) does not turn every other day into an outlier.
MAD_FLOOR = 0.25

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """One gate's verdict for one tenant."""

    tenant: str
    check: str
    status: str
    detail: str


def robust_z(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Modified z-score 0.6745·(x − median)/max(MAD, floor); 0 where that scale is 0."""
    if np.isnan(x).all():  # e.g. a channel that never spent
        return np.zeros_like(x)
    med = np.nanmedian(x)
    mad = max(np.nanmedian(np.abs(x - med)), floor)
    if not np.isfinite(mad) or mad == 0:
        return np.zeros_like(x)
    return 0.6745 * (x - med) / mad


def outlier_z(x: np.ndarray, is_spend: bool) -> np.ndarray:
    """Robust z of a column: revenue against its 15-day rolling median, spend against its median."""
    if is_spend:
        x = np.where(x > 0, x, np.nan)  # dark days are a choice, not an outlier
        return robust_z(x, MAD_FLOOR * np.nanmedian(x)) if not np.isnan(x).all() else np.zeros_like(x)
    s = pd.Series(x)
    resid = (s - s.rolling(15, center=True, min_periods=3).median()).to_numpy()
    return robust_z(resid, 0.05 * abs(np.nanmedian(x)))


def check_frame(tenant: str, df: pd.DataFrame) -> list[Check]:
    """Run every gate on one tenant's daily frame (as returned by ``read_daily``)."""
    src = df.attrs.get("source", tenant)
    checks: list[Check] = []
    n = len(df)
    checks.append(
        Check(
            tenant,
            "history",
            OK if n >= MIN_HISTORY_DAYS else FAIL,
            f"{n} days ({df.index[0]:%Y-%m-%d} to {df.index[-1]:%Y-%m-%d}); need ≥ {MIN_HISTORY_DAYS}",
        )
    )
    # read_daily already refuses duplicates, gaps and negatives; the rows keep the table complete.
    checks.append(Check(tenant, "duplicates", OK, "0 duplicated dates"))
    checks.append(Check(tenant, "contiguous", OK, "no gaps"))
    checks.append(Check(tenant, "non_negative", OK, "spend and revenue ≥ 0"))

    missing = df.isna().mean()
    worst = missing.idxmax()
    bad = missing[missing >= MAX_MISSING_SHARE]
    detail = f"worst {worst} {missing[worst]:.1%}"
    if len(bad):
        col = bad.index[0]
        rows = [int(i) + 1 for i in np.flatnonzero(df[col].isna().to_numpy())]
        detail = f"{src}: column '{col}' {bad.iloc[0]:.1%} missing, {describe_rows(rows)}"
    checks.append(Check(tenant, "missing", FAIL if len(bad) else OK, detail))

    spend_cols = [c for c in df.columns if c.startswith(SPEND_PREFIX)]
    out_detail, out_fail = [], False
    for col in [REVENUE, *spend_cols]:
        z = np.abs(outlier_z(df[col].to_numpy(dtype=float), col != REVENUE))
        share = float(np.mean(z > ROBUST_Z))
        if share >= MAX_OUTLIER_SHARE:
            out_fail = True
            rows = [int(i) + 1 for i in np.flatnonzero(z > ROBUST_Z)]
            out_detail.append(f"{src}: column '{col}' {share:.1%} outliers, {describe_rows(rows)}")
    checks.append(
        Check(
            tenant,
            "outliers",
            FAIL if out_fail else OK,
            "; ".join(out_detail) or f"< {MAX_OUTLIER_SHARE:.0%} per column (robust z > {ROBUST_Z:g})",
        )
    )

    zero = [c[len(SPEND_PREFIX) :] for c in spend_cols if np.nansum(df[c].to_numpy()) == 0]
    checks.append(
        Check(
            tenant,
            "zero_spend_channels",
            WARN if zero else OK,
            f"no spend on {', '.join(zero)}: their effect cannot be estimated" if zero else "every channel has spend",
        )
    )
    rev = df[REVENUE].dropna()
    constant = rev.nunique() <= 1
    checks.append(
        Check(
            tenant,
            "constant_revenue",
            FAIL if constant else OK,
            f"{src}: column 'revenue' is constant ({rev.iloc[0] if len(rev) else 'empty'})" if constant else "revenue varies",
        )
    )
    return checks


def validate_lake(lake: str | Path, tenants: str | list[str] | None = None) -> pd.DataFrame:
    """Run every gate on every tenant of a lake.

    Returns
    -------
    pandas.DataFrame
        Columns ``tenant, check, status, detail``; ``status`` is ``ok``,
        ``warn`` or ``fail``. Unreadable input raises ``DataError`` instead.
    """
    lake = Path(lake)
    rows: list[Check] = []
    for tid in resolve_tenants(lake, tenants):
        rows.extend(check_frame(tid, read_daily(daily_file(lake / tid))))
    return pd.DataFrame([asdict(c) for c in rows])


def failed(table: pd.DataFrame) -> pd.DataFrame:
    """The failing rows of a validation table."""
    return table[table["status"] == FAIL]
