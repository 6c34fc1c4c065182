"""Data-quality gates for a lake, one row per tenant and gate.

Structural problems (unreadable dates, impossible values, gaps, duplicates)
already raise :class:`~bayes_mmm.core.errors.DataError` while reading; the gates
here judge data that *can* be read but may not be fit to model. Every gate has
a stable name and a level: an ``error`` stops ``fit``/``cv`` (unless allowed by
name), a ``warning`` is reported and the work goes on. The gates are meant not
to cry wolf: spend is never an outlier (a Black-Friday push is a decision, not
an error), and revenue is judged against its own local weekday level with a
tolerance that heavy-tailed noise and weather shocks pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import (
    CADENCE_DAYS,
    CONTROL_PREFIX,
    DAILY,
    EVENT,
    HOLIDAY,
    MIN_HISTORY_DAYS,
    MIN_HISTORY_WEEKS,
    PERIOD_UNIT,
    REVENUE,
    SPEND_PREFIX,
    TENANT_JSON,
    WEATHER_COLUMNS,
    history_need,
    min_history,
)
from bayes_mmm.core.errors import DataError, describe_rows
from bayes_mmm.data.calendar import known_country, modelled_holidays
from bayes_mmm.data.lake import read_frames, read_tenant_meta, resolve_tenants, weather_problem
from bayes_mmm.data.lift_tests import load_lift_tests, refuse_unspent
from bayes_mmm.data.sensitivity import check_class
from bayes_mmm.data.spend_timing import (
    LUMP_GAP_DAYS,
    SHIFT_ROAS,
    UNIT_STEP_RATIO,
    booking_lumps,
    launch_shift,
    unit_step,
)
from bayes_mmm.data.spend_variation import FOLLOWS_CORR, FOLLOWS_CV, revenue_share

MAX_MISSING_SHARE = 0.05
MAX_OUTLIER_SHARE = 0.02
#: Cut-off of the modified z-score of revenue around its local weekday level. Far beyond
#: Iglewicz & Hoaglin's 3.5: Student-t(3) noise exceeds 10 on about 0.2 % of days, a
#: misplaced decimal point (×10, ×100) exceeds it by far.
ROBUST_Z = 10.0
#: Same-weekday periods in the rolling median that sets revenue's local level.
LEVEL_WINDOW = 5
#: A weekly outlier must also lie beyond this multiple of its local level, or under its inverse: a decimal slip
#: (×10, ÷100) or a closed week does; a holiday or weather week does not (weekly totals are smooth, so their robust
#: z exceeds 10 at 1.7–1.9× the level: Cyber Monday and Valentine's weeks of an independent weekly lake). Daily
#: data keep the z rule alone: a day exported twice is exactly 2×.
OUTLIER_RATIO = 2.0
#: A period's spend above this multiple of the channel's median spend (on days it spends) is
#: reported: more often a unit mistake (cents) than a campaign.
SPEND_SCALE = 50.0
#: Total media spend above this multiple of total revenue is reported: no business runs ads at a tenth of a
#: unit of revenue per unit spent for long, while revenue in thousands or spend in cents does exactly this,
#: and the ROAS prior (0.5–10 by default) then forces media to explain far more revenue than there is.
SPEND_TO_REVENUE = 10.0
#: Total media spend below this share of total revenue is reported too: revenue in cents or spend in thousands
#: (PyMC-Marketing's ROAS example in its raw units: 0.3 %) makes the true ROAS 100× the prior's; and if the share
#: is right, media's effect is at most a few percent of revenue, hard to tell from noise.
SPEND_MIN_SHARE = 0.01
#: Total media spend from this multiple of total revenue up is refused, not only reported: no shop spends a
#: hundred units per unit of revenue, spend in cents against revenue in units does, and a fit on it wrecks the
#: other tenants too (pooling spread one tenant's 12,730× to a clean tenant's ROAS of 15,000 in an adversarial pass).
SPEND_UNITS_RATIO = 100.0
#: A non-event period's revenue at this multiple of its local level or more fails the outlier gate whatever the
#: share of such periods: a decimal slip by two places (cents) or a test order of 1e9 does, Black Friday does not.
#: One-sided: a period at a hundredth of its level is as often a shop closed for a day as a slip.
EXTREME_RATIO = 100.0
#: A holiday the fit models (its own regressor) within this multiple of its local level (or its inverse) is not
#: counted by the outlier gate: Black Friday at 3 × a seasonal shop's level is fitted, not an error (an independent
#: lake's knitwear shop failed on its Black Fridays and Christmas days alone); a slip by a decimal place is not.
HOLIDAY_RATIO = 10.0

ERROR, WARNING = "error", "warning"
OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Gate:
    """A named data-quality gate: its level and threshold, as documented in README.md."""

    name: str
    level: str
    threshold: str


#: Share of periods with zero revenue from which the normal noise model misleads: an independent pass's shops
#: with 31-57 % zero days got 13-26 % of their predictive draws below zero and a MAPE of 195 %.
ZERO_REVENUE_SHARE = 0.2


GATES = {
    g.name: g
    for g in (
        Gate("history", ERROR, f"≥ {MIN_HISTORY_DAYS} days of data (weekly data: ≥ {MIN_HISTORY_WEEKS} weeks)"),
        Gate("missing", ERROR, f"< {MAX_MISSING_SHARE:.0%} missing revenue or spend per column"),
        Gate("constant_revenue", ERROR, "revenue takes more than one value"),
        Gate("revenue_outliers", ERROR,
             f"< {MAX_OUTLIER_SHARE:.0%} of non-event periods with robust z > {ROBUST_Z:g} around the rolling "
             f"same-weekday median ({LEVEL_WINDOW} weeks); weekly data: also over {OUTLIER_RATIO:g}× (or under "
             f"1/{OUTLIER_RATIO:g}) of it; a holiday the model fits within {HOLIDAY_RATIO:g}× of it not counted; "
             f"and no such period at {EXTREME_RATIO:g}× its local level or more"),
        Gate("spend_scale", WARNING, f"no period's spend above {SPEND_SCALE:g}× the channel's median spend, and no step "
             f"of {UNIT_STEP_RATIO:g}× in its level (a change of unit mid-history)"),
        Gate("spend_units", ERROR, f"total media spend below {SPEND_UNITS_RATIO:g}× total revenue (else spend and revenue are "
             "in different units: cents against units, units against thousands)"),
        Gate("spend_vs_revenue", WARNING,
             f"total media spend between {SPEND_MIN_SHARE:.0%} of and {SPEND_TO_REVENUE:g}× total revenue"),
        Gate("zero_spend_channels", WARNING, "every channel spends at some point"),
        Gate("weather", WARNING, "temp_c and precip_mm present and not (near-)constant"),
        Gate("missing_weather", WARNING, f"< {MAX_MISSING_SHARE:.0%} missing weather (interpolated)"),
        Gate("tenant_id", WARNING, "tenant.json's tenant_id, when given, is the folder's name"),
        Gate("country", WARNING, "tenant.json's country, when given, is a code with a holiday calendar (DE, GB-ENG)"),
        Gate("channel_is_total", ERROR, "no spend column is the sum of the others (spend counted twice)"),
        Gate("channel_names", WARNING, "no two channels of the lake differ only in case (TikTok, tiktok)"),
        Gate("blank_spend", WARNING, "no blank spend cell (below the missing gate's bar, each is read as no spend)"),
        Gate("missing_controls", WARNING, f"< {MAX_MISSING_SHARE:.0%} missing values per control column (interpolated)"),
        Gate("zero_revenue", WARNING, f"< {ZERO_REVENUE_SHARE:.0%} of periods with zero revenue (the noise model is normal)"),
        Gate("spend_lumps", WARNING, f"no daily channel's spend lies mostly on days {LUMP_GAP_DAYS}+ days apart (invoices)"),
        Gate("launch_shift", WARNING,
             f"no channel starts or stops where revenue's level moves by more than {SHIFT_ROAS:g}× its spend"),
        Gate("spend_follows_revenue", WARNING,
             f"no channel's spend is a near-fixed share of each period's revenue (variation ≤ {FOLLOWS_CV:.0%}, correlation "
             f"≥ {FOLLOWS_CORR:g}): a commission or a bid on a revenue target"),
    )
}


@dataclass(frozen=True)
class Check:
    """One gate's verdict for one tenant: ``status`` ok/warn/fail, ``level`` the gate's error/warning."""

    tenant: str
    check: str
    level: str
    status: str
    detail: str


def verdict(tenant: str, name: str, bad: bool, detail: str) -> Check:
    """A gate's row: a problem fails an error gate and warns on a warning gate."""
    level = GATES[name].level
    return Check(tenant, name, level, OK if not bad else FAIL if level == ERROR else WARN, detail)


def robust_z(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Modified z-score 0.6745·(x − median)/max(MAD, floor); 0 where that scale is 0 or x is NaN."""
    if np.isnan(x).all():
        return np.zeros_like(x)
    med = np.nanmedian(x)
    mad = max(np.nanmedian(np.abs(x - med)), floor)
    if not np.isfinite(mad) or mad == 0:
        return np.zeros_like(x)
    return np.nan_to_num(0.6745 * (x - med) / mad)


def local_level(y: np.ndarray, period_days: int) -> np.ndarray:
    """Rolling median of the same weekday (daily data) or of neighbouring weeks (weekly data)."""
    s = pd.Series(y)
    season = 7 if period_days == 1 else 1
    level = np.full(len(y), np.nan)
    for k in range(season):  # rows k, k+7, ... are one weekday: the tables have no gaps
        part = s.iloc[k::season]
        level[k::season] = part.rolling(LEVEL_WINDOW, center=True, min_periods=2).median().to_numpy()
    return level


def revenue_z(y: np.ndarray, event: np.ndarray, period_days: int = 1, level: np.ndarray | None = None) -> np.ndarray:
    """Robust z of revenue around its local level (``level``, else :func:`local_level`); event periods are exempt
    (z 0) and do not set the level."""
    y = np.where(event, np.nan, y)
    resid = y - (local_level(y, period_days) if level is None else level)
    if np.isnan(resid).all():
        return np.zeros_like(y)
    # Floors keep a flat or sparse series from turning every change into an outlier.
    floor = max(0.05 * abs(np.nanmedian(y)), 0.5 * np.nanmean(np.abs(resid - np.nanmedian(resid))))
    return robust_z(resid, floor)


def _missing(tenant: str, df: pd.DataFrame, src: str, cols: list[str], name: str) -> Check:
    cols = [c for c in cols if c in df.columns]
    if not cols:
        return verdict(tenant, name, False, "no such columns")
    share = df[cols].isna().mean()
    bad = share[share >= MAX_MISSING_SHARE]
    if len(bad):
        col = bad.index[0]
        rows = [int(i) + 1 for i in np.flatnonzero(df[col].isna().to_numpy())]
        return verdict(tenant, name, True, f"{src}: column '{col}' {bad.iloc[0]:.1%} missing, {describe_rows(rows)}")
    return verdict(tenant, name, False, f"worst {share.idxmax()} {share.max():.1%}")


def revenue_outliers(y: np.ndarray, event: np.ndarray, period_days: int = 1, level: np.ndarray | None = None) -> np.ndarray:
    """Periods far from revenue's local level (``level``, else :func:`local_level` without the events) in robust z
    (> :data:`ROBUST_Z`) and, for weekly data, as a ratio (:data:`OUTLIER_RATIO`); event periods never are."""
    level = local_level(np.where(event, np.nan, y), period_days) if level is None else level
    far = np.abs(revenue_z(y, event, period_days, level)) > ROBUST_Z
    if period_days > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = y / level
        far &= (ratio > OUTLIER_RATIO) | (ratio < 1 / OUTLIER_RATIO)
    return far & ~event


def _outliers(tenant: str, df: pd.DataFrame, src: str, days: int, country: str | None = None) -> Check:
    event = df[EVENT].fillna(0).to_numpy() == 1 if EVENT in df else np.zeros(len(df), dtype=bool)
    y = df[REVENUE].to_numpy(dtype=float)
    level = local_level(np.where(event, np.nan, y), days)
    out = revenue_outliers(y, event, days, level)
    with np.errstate(invalid="ignore"):  # a level of 0 or NaN exempts none and judges none extreme
        plausible = (y < HOLIDAY_RATIO * level) & (y * HOLIDAY_RATIO > level)
        extreme = [int(i) + 1 for i in np.flatnonzero(out & (level > 0) & (y >= EXTREME_RATIO * level))]
    holiday = out & plausible & modelled_holidays(df.index, days, country, df[HOLIDAY].to_numpy() if HOLIDAY in df else None)
    counted = out & ~holiday
    share = float(np.mean(counted[~event])) if (~event).any() else 0.0
    beyond = f"robust z {ROBUST_Z:g}" + (f" and {OUTLIER_RATIO:g}× (or 1/{OUTLIER_RATIO:g}) of the local level" if days > 1 else "")
    if extreme:
        detail = f"{describe_rows(extreme)} at {EXTREME_RATIO:g}× the local level or more (a decimal slip, a test order?), "
        detail += f"{share:.1%} of periods beyond {beyond}"
    else:
        rows = [int(i) + 1 for i in np.flatnonzero(counted)]
        detail = f"{share:.1%} of periods beyond {beyond}" + (f", {describe_rows(rows)}" if rows else "")
    if holiday.any():
        detail += f" (not counted: {int(holiday.sum())} holiday periods the model fits, within {HOLIDAY_RATIO:g}× of their level)"
    bad = share >= MAX_OUTLIER_SHARE or bool(extreme)
    hint = (" — a shop closed: leave its revenue blank; a promotion: mark `event` 1; real: --allow-gate revenue_outliers"
            if bad else "")
    return verdict(tenant, "revenue_outliers", bad, f"{src}: column 'revenue' {detail}{hint}")


def _spend_scale(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str], days: int = 1) -> Check:
    for col in spend_cols:
        x = df[col].to_numpy(dtype=float)
        positive = x[x > 0]
        if len(positive) == 0:
            continue
        big = x > SPEND_SCALE * np.median(positive)
        if big.any():
            return verdict(tenant, "spend_scale", True,
                           f"{src}: column '{col}' above {SPEND_SCALE:g}× its median {np.median(positive):,.2f}, "
                           f"{describe_rows([int(i) + 1 for i in np.flatnonzero(big)])} — cents instead of units?")
    for col in spend_cols:
        step = unit_step(df[col].to_numpy(dtype=float), days)
        if step:
            return verdict(tenant, "spend_scale", True,
                           f"{src}: column '{col}' moves from a median {step[1]:,.2f} to {step[2]:,.2f} per spend period at "
                           f"row {step[0] + 1} ({df.index[step[0]]:%Y-%m-%d}) — a change of unit (cents, thousands) in the "
                           "export? if the budget really moved so far, ignore this")
    return verdict(tenant, "spend_scale", False, f"no spend above {SPEND_SCALE:g}× its median")


def _spend_totals(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str]) -> list[Check]:
    """The ``spend_units`` error and the ``spend_vs_revenue`` warning, from the totals computed once."""
    spend, revenue = float(np.nansum(df[spend_cols].to_numpy())), float(np.nansum(df[REVENUE].to_numpy()))
    ratio = spend / revenue if revenue > 0 else float("inf")
    times = f"total spend {spend:,.2f} is " + (f"{ratio:,.0f}× total revenue {revenue:,.2f}" if revenue > 0
                                               else f"spent against a total revenue of {revenue:,.2f}")
    units = "spend and revenue in different units (cents, thousands)?"
    wrong_units = spend > 0 and spend >= SPEND_UNITS_RATIO * max(revenue, 0.0)
    high = SPEND_TO_REVENUE * revenue < spend and not wrong_units  # said once, by the error
    low = 0 < spend < SPEND_MIN_SHARE * revenue
    detail = (f"{src}: {times} — {units} The ROAS priors assume one currency unit" if high
              else f"{src}: total spend {spend:,.2f} is only {ratio:.2%} of total revenue {revenue:,.2f} — {units} The ROAS "
                   "priors assume one currency unit; if the units agree, media's effect is a few percent of revenue at most" if low
              else f"total spend {ratio:.2f}× total revenue" if revenue > 0
              else "spent against no revenue (the spend_units gate judges it)" if spend > 0 else "no spend and no revenue")
    return [
        verdict(tenant, "spend_units", wrong_units, f"{src}: {times} — {units} Export both in the shop's currency units"
                if wrong_units else f"total spend below {SPEND_UNITS_RATIO:g}× total revenue"),
        verdict(tenant, "spend_vs_revenue", high or low, detail),
    ]


def check_frame(tenant: str, df: pd.DataFrame, country: str | None = None) -> list[Check]:
    """Run every gate on one tenant's frame (as returned by :func:`~bayes_mmm.data.lake.read_daily`).

    ``country`` (``tenant.json``) picks the holiday calendar the outlier gate exempts, as the fit models it.
    """
    src = df.attrs.get("source", tenant)
    cadence = df.attrs.get("cadence", DAILY)
    days = CADENCE_DAYS[cadence]
    spend_cols = [c for c in df.columns if c.startswith(SPEND_PREFIX)]
    zero = [c[len(SPEND_PREFIX) :] for c in spend_cols if np.nansum(df[c].to_numpy()) == 0]
    rev = df[REVENUE].dropna()
    constant = rev.nunique() <= 1
    weather = weather_problem(df)
    return [
        verdict(tenant, "history", len(df) < min_history(cadence),
                f"{len(df)} {PERIOD_UNIT[cadence]}s ({df.index[0]:%Y-%m-%d} to {df.index[-1]:%Y-%m-%d}); "
                f"need ≥ {history_need(cadence)}"),
        _missing(tenant, df, src, [REVENUE, *spend_cols], "missing"),
        verdict(tenant, "constant_revenue", constant,
                f"{src}: column 'revenue' is constant ({rev.iloc[0] if len(rev) else 'empty'})" if constant else "revenue varies"),
        _outliers(tenant, df, src, days, country),
        _spend_scale(tenant, df, src, spend_cols, days),
        *_spend_totals(tenant, df, src, spend_cols),
        verdict(tenant, "zero_spend_channels", bool(zero),
                f"no spend on {', '.join(zero)}: their effect cannot be estimated" if zero else "every channel has spend"),
        verdict(tenant, "weather", weather is not None,
                f"{weather}: modelled without weather" if weather else "temp_c and precip_mm usable"),
        _missing(tenant, df, src, list(WEATHER_COLUMNS), "missing_weather"),
        _channel_is_total(tenant, df, src, spend_cols),
        _blank_spend(tenant, df, src, spend_cols),
        _missing_controls(tenant, df, src),
        _zero_revenue(tenant, rev, src),
        _spend_lumps(tenant, df, src, spend_cols, cadence),
        _launch_shift(tenant, df, src, spend_cols, days),
        _follows_revenue(tenant, df, src, spend_cols),
    ]


def _zero_revenue(tenant: str, rev: pd.Series, src: str) -> Check:
    """Many periods without sales (a tiny shop, a B2B shop's weekends): the noise around them is not normal."""
    share = float((rev == 0).mean()) if len(rev) else 0.0
    bad = share >= ZERO_REVENUE_SHARE
    return verdict(tenant, "zero_revenue", bad,
                   f"{src}: column 'revenue' is 0 in {share:.0%} of periods — the model's noise is normal around expected "
                   "revenue, so it predicts revenue below 0 there and the fit's MAPE means little; ROAS and plans read "
                   "totals and stay usable (weekly data — `bayes-mmm import --weeks monday` sums daily exports — or leaving "
                   "closed days blank fits such a shop better)"
                   if bad else f"{share:.0%} of periods at 0")


def _spend_lumps(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str], cadence: str) -> Check:
    """Daily spend booked on a few days far apart (:func:`bayes_mmm.data.spend_timing.booking_lumps`)."""
    for col in spend_cols if cadence == DAILY else []:
        found = booking_lumps(df[col].to_numpy(dtype=float))
        if found:
            return verdict(tenant, "spend_lumps", True,
                           f"{src}: column '{col}' puts {found[2]:.0%} of its spend on {found[0]} days, a median {found[1]:.0f} days apart — the model "
                           "reads spend on the day it is written: if these are invoices or monthly bookings, spread each "
                           "over the days its ads ran")
    return verdict(tenant, "spend_lumps", False, "")


def _launch_shift(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str], days: int) -> Check:
    """A channel starting or stopping where revenue's level moves beyond its spend (:func:`~bayes_mmm.data.spend_timing.launch_shift`)."""
    ctl = [c for c in df.columns if c.startswith(CONTROL_PREFIX)]
    controls = df[ctl].to_numpy(dtype=float).T if ctl else None
    for col in spend_cols:
        found = launch_shift(df[REVENUE].to_numpy(dtype=float), df[col].to_numpy(dtype=float), days, controls)
        if found:
            kind, i, shift, level = found
            when = f"{df.index[i]:%Y-%m-%d}"
            return verdict(tenant, "launch_shift", True,
                           f"{src}: column '{col}' {'starts' if kind == 'launch' else 'stops'} on {when} (row {i + 1}), where "
                           f"revenue's level moves by {shift:+,.0f} a period against {level:,.0f} of its spend: the channel would "
                           f"take the move as its effect — if something else changed then (a relaunch, a new range, a price "
                           f"change), add a column control_<name> that is 0 before {when} and 1 from it (1 only while "
                           "it lasts, for a season the channel runs in)")
    return verdict(tenant, "launch_shift", False, "")


def _follows_revenue(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str]) -> Check:
    """Spend set by revenue (:func:`~bayes_mmm.data.spend_variation.revenue_share`): cause and effect run both ways."""
    found = [(col, *share) for col in spend_cols
             if (share := revenue_share(df[col].to_numpy(dtype=float), df[REVENUE].to_numpy(dtype=float))) is not None]
    if not found:
        return verdict(tenant, "spend_follows_revenue", False, "")
    said = "; ".join(f"column '{col}' is {share:.1%} of revenue period by period (correlation {r:+.2f})" for col, share, r in found)
    return verdict(tenant, "spend_follows_revenue", True,
                   f"{src}: {said} — revenue sets that budget (a commission, a bid on a revenue target), so the model "
                   "may credit it with sales that paid for it; a fit will flag its ROAS not identified (not a grouped fit), "
                   "and plans then hold it at today's spend: a lift test, or weeks at a budget set apart from sales, "
                   "would show its effect")


def _channel_is_total(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str]) -> Check:
    """A column equal to the sum of the other spend columns (an export's "spend_total") within 0.5 % in every period."""
    x = df[spend_cols].fillna(0.0).to_numpy(dtype=float)
    for j, col in enumerate(spend_cols):
        others = np.delete(x, j, axis=1)
        if (others > 0).any(axis=0).sum() < 2:  # the sum of one channel is that channel: a copy, not a total
            continue
        if np.allclose(x[:, j], others.sum(axis=1), rtol=0.005, atol=1e-9):
            return verdict(tenant, "channel_is_total", True,
                           f"{src}: column '{col}' is the sum of the other spend columns in every period: spend would be "
                           "counted twice; drop it (or rename it without the spend_ prefix)")
    return verdict(tenant, "channel_is_total", False, "")


def _missing_controls(tenant: str, df: pd.DataFrame, src: str) -> Check:
    """Blank control values are filled in between known ones: a control given only where it is non-zero reads as constant."""
    check = _missing(tenant, df, src, [c for c in df.columns if c.startswith(CONTROL_PREFIX)], "missing_controls")
    if check.status == OK:
        return check
    return replace(check, detail=check.detail + " — blanks are filled in between known values: write 0 where 0 is "
                                               "meant (a promotion day belongs in `event`)")


def _blank_spend(tenant: str, df: pd.DataFrame, src: str, spend_cols: list[str]) -> Check:
    """Blank spend cells, too few for the ``missing`` gate: the model reads each as no spend, which may not be so."""
    for col in spend_cols:
        blank = np.flatnonzero(df[col].isna().to_numpy())
        if len(blank):
            return verdict(tenant, "blank_spend", True,
                           f"{src}: column '{col}' is blank in {describe_rows([int(i) + 1 for i in blank])}: each is read "
                           "as no spend; write 0 where nothing was spent, or the amount")
    return verdict(tenant, "blank_spend", False, "")


def _channels(frames: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Each tenant's channel names (its ``spend_*`` columns without the prefix)."""
    return {tid: [c[len(SPEND_PREFIX):] for c in df.columns if c.startswith(SPEND_PREFIX)] for tid, df in frames.items()}


def _channel_names(channels: dict[str, list[str]]) -> list[Check]:
    """Per tenant: its channels that another tenant spells in another case (fitted as two channels, not pooled)."""
    spell: dict[str, dict[str, list[str]]] = {}
    for tid, names in channels.items():
        for name in names:
            spell.setdefault(name.casefold(), {}).setdefault(name, []).append(tid)
    clashes = {k: v for k, v in spell.items() if len(v) > 1}
    out = []
    for tid, own in channels.items():
        hit = [clashes[n.casefold()] for n in own if n.casefold() in clashes]
        detail = "; ".join(" vs ".join(f"'{name}' ({', '.join(ts[:3])}{' …' if len(ts) > 3 else ''})"
                                       for name, ts in h.items()) for h in hit)
        out.append(verdict(tid, "channel_names", bool(hit),
                           f"channels spelled in another case by other tenants: {detail}: they are fitted as different "
                           "channels; rename the columns to one spelling" if hit else ""))
    return out


def validate_lake(lake: str | Path, tenants: str | list[str] | None = None) -> pd.DataFrame:
    """Run every gate on every tenant of a lake.

    Returns
    -------
    pandas.DataFrame
        Columns ``tenant, check, level, status, detail``: ``check`` the gate's
        name, ``level`` its ``error``/``warning``, ``status`` ``ok``, ``warn`` or
        ``fail``. Unreadable input raises ``DataError`` instead.
    """
    frames = read_frames(lake, resolve_tenants(lake, tenants))
    metas = check_side_files(Path(lake), frames)
    names = {c.tenant: c for c in _channel_names(_channels(frames))}
    rows = [c for tid, df in frames.items()
            for c in [*check_frame(tid, df, metas[tid].get("country")), _tenant_id(tid, metas[tid]), _country(tid, metas[tid]), names[tid]]]
    return pd.DataFrame([asdict(c) for c in rows])


def _tenant_id(tid: str, meta: dict) -> Check:
    """A tenant.json naming another tenant: a folder copied from another shop, whose city and category it still carries."""
    named = meta.get("tenant_id")
    other = named is not None and str(named) != tid  # null counts as absent (data contract §1)
    return verdict(tid, "tenant_id", other,
                   f"tenant.json says tenant_id '{named}': was the folder copied from another tenant? its city decides "
                   "which forecast fits it" if other else "")


def _country(tid: str, meta: dict) -> Check:
    """A ``country`` the holiday calendars do not know ("Germany", "UK"): the built-in US calendar is used instead."""
    given = meta.get("country")
    bad = bool(given) and not known_country(str(given))
    return verdict(tid, "country", bad,
                   f"tenant.json says country '{given}', which has no holiday calendar: the built-in US calendar is used; "
                   "write an ISO 3166 code such as \"DE\", \"AU\" or \"GB-ENG\"" if bad else "")


def check_side_files(lake: Path, frames: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """Read each tenant's ``tenant.json`` and ``lift_tests.csv`` as ``fit`` will, so ``validate`` refuses what ``fit`` would.

    Returns each tenant's ``tenant.json`` as read (for the gates that look at it).

    Raises
    ------
    DataError
        The first bad file, naming its column and rows.
    """
    metas = {tid: read_tenant_meta(lake / tid) for tid in frames}
    for tid, meta in metas.items():
        if meta.get("sensitivity") is not None:  # null counts as absent (data contract §1)
            check_class(meta["sensitivity"], lake / tid / TENANT_JSON)
    tests = load_lift_tests(lake, list(frames), _channels(frames), {tid: df.index for tid, df in frames.items()})
    refuse_unspent(tests, lambda t, c: frames[t][SPEND_PREFIX + c].fillna(0.0), lake)
    return metas


def failed(table: pd.DataFrame) -> pd.DataFrame:
    """The failing rows (errors) of a validation table."""
    return table[table["status"] == FAIL]


def warned(table: pd.DataFrame) -> pd.DataFrame:
    """The warning rows of a validation table."""
    return table[table["status"] == WARN]


def check_lake(lake: str | Path, tenants: str | list[str] | None = None, allow: Iterable[str] = ()) -> pd.DataFrame:
    """The gates ``fit`` and ``cv`` run: raise on an error gate unless it is allowed by name.

    Parameters
    ----------
    allow
        Gate names whose failures become warnings (CLI ``--allow-gate NAME``).

    Returns
    -------
    pandas.DataFrame
        The validation table, allowed failures turned into ``warn``; print its warnings.
    """
    allow = set(allow)
    unknown = sorted(allow - set(GATES))
    if unknown:
        raise DataError(f"unknown gate '{unknown[0]}'", hint=f"gates are: {', '.join(GATES)}")
    table = validate_lake(lake, tenants)
    allowed = (table["status"] == FAIL) & table["check"].isin(allow)
    table.loc[allowed, "status"] = WARN
    table.loc[allowed, "detail"] = "allowed: " + table.loc[allowed, "detail"]
    bad = failed(table)
    if len(bad):
        first = bad.iloc[0]
        more = f" (and {len(bad) - 1} more failing gate(s))" if len(bad) > 1 else ""
        raise DataError(f"gate '{first.check}' fails for tenant {first.tenant}: {first.detail}{more}", file=lake,
                        hint=f"fix the data, or pass --allow-gate {first.check} to go on anyway")
    return table
