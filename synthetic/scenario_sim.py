"""Simulate the tenants of a non-default scenario with exact counterfactual truth.

A channel's true contribution is ``revenue - revenue with that channel's
spend set to zero`` (so ROAS is contribution / spend over the window);
under a multiplicative mechanism the contributions do not add up to the
total media effect and the rest is reported as ``interaction``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, REVENUE, SPEND_PREFIX
from synthetic.mechanism import Mechanism, draw_mechanism, forward, response
from synthetic.media import CHANNELS
from synthetic.scenarios import Scenario
from synthetic.simulated import SimulatedTenant
from synthetic.spend_patterns import NOT_IDENTIFIED, make_spend
from synthetic.weather import WEATHER_COLUMNS

__all__ = ["CATEGORIES", "simulate_scenario_tenant"]

CATEGORIES: tuple[str, ...] = ("apparel", "home", "beauty", "outdoor", "electronics", "food", "toys", "books")
HOLDOUT_FRAC = 0.2
Spend = dict[str, np.ndarray]


def _calibrate(m: Mechanism, sc: Scenario, rng: np.random.Generator, spend: Spend, run: Any) -> None:
    """Set spend scales, the base level (media share target) and betas (ROAS targets)."""
    total = sum(s.sum() for s in spend.values())
    for c, ch in m.channels.items():
        on = spend[c][spend[c] > 0]
        ch.spend_scale = float(on.mean()) if len(on) else 1.0
    w_roas = sum(spend[c].sum() / total * ch.roas_target for c, ch in m.channels.items())
    share = rng.uniform(*sc.media_share)
    m.level = float(total / len(spend[CHANNELS[0]]) * w_roas * (1 - share) / share)
    for ch in m.channels.values():
        ch.beta = 0.0
    demand = run(spend)["expected_revenue"]
    for c, ch in m.channels.items():
        r = run.response(c, spend[c]) * (demand if m.combine == "multiplicative" else 1.0)
        ch.beta = float(ch.roas_target * spend[c].sum() / r.sum()) if r.sum() > 0 else 0.0


def _noise(rng: np.random.Generator, kind: str, frac: float, level: float, expected: np.ndarray) -> np.ndarray:
    """Noise of scale ``frac`` (of the level, or of each day's revenue when log-normal)."""
    n = len(expected)
    if kind == "lognormal":
        return expected * (np.exp(rng.normal(-frac**2 / 2, frac, n)) - 1)
    if kind == "student_t":
        return frac * level / np.sqrt(3.0) * rng.standard_t(3, n)  # df 3: var = 3 scale^2, sd = frac level
    return rng.normal(0.0, frac * level, n)


def _observe(
    rng: np.random.Generator, kind: str, frac: float, level: float, exp_rev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Revenue (cents, >= 0) and the noise with ``revenue == max(expected + noise, 0)`` exactly."""
    observed = np.round(exp_rev + _noise(rng, kind, frac, level, exp_rev), 2)
    noise = observed - exp_rev
    return np.maximum(exp_rev + noise, 0.0), noise


def _oracle_r2(revenue: np.ndarray, noise: np.ndarray) -> tuple[float, int]:
    n = len(revenue)
    hold = slice(n - max(1, round(HOLDOUT_FRAC * n)), n)
    rh = revenue[hold]
    return float(1 - np.sum(noise[hold] ** 2) / np.sum((rh - rh.mean()) ** 2)), hold.stop - hold.start


def _channel_truth(run: Any, spend: Spend, comp: dict[str, np.ndarray], m: Mechanism) -> dict[str, Any]:
    """Counterfactual contribution, ROAS and mROAS per channel, with the channel's parameters."""
    exp_rev = comp["expected_revenue"]
    out = {}
    for c, ch in m.channels.items():
        contrib = exp_rev - run(spend | {c: np.zeros_like(spend[c])})["expected_revenue"]
        bumped = run(spend | {c: spend[c] * 1.01})["expected_revenue"]
        out[c] = {
            "daily": contrib,
            "roas": float(contrib.sum() / spend[c].sum()),
            "mroas": float((bumped - exp_rev).sum() / (0.01 * spend[c].sum())),
            "beta": ch.beta, "spend_scale": ch.spend_scale, "roas_target": ch.roas_target,
            "adstock": ch.adstock, "saturation": ch.saturation, "weather_link": ch.link,
            "total_spend": float(spend[c].sum()), "total_contribution": float(contrib.sum()),
            "contribution_share": float(contrib.sum() / exp_rev.sum()),
        }
    return out


class _Runner:
    """The tenant's forward model bound to its dates, weather and mechanism."""

    def __init__(self, dates: pd.DatetimeIndex, weather: pd.DataFrame, m: Mechanism) -> None:
        self.dates, self.weather, self.m = dates, weather, m

    def __call__(self, spend: Spend, weather: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
        return forward(self.dates, self.weather if weather is None else weather, spend, self.m)

    def response(self, c: str, x: np.ndarray) -> np.ndarray:
        return response(x, self.m.channels[c], self.weather)


def _elasticity(run: _Runner, spend: Spend, exp_rev: np.ndarray) -> dict[str, float]:
    """Relative change of mean revenue for +1 degC / +1 mm every day."""
    out = {}
    for col in ("temp_c", "precip_mm"):
        shifted = run.weather.assign(**{col: run.weather[col] + 1.0})
        out[col] = float(run(spend, shifted)["expected_revenue"].mean() / exp_rev.mean() - 1)
    return out


def _tables(
    dates: pd.DatetimeIndex, weather: pd.DataFrame, spend: Spend, revenue: np.ndarray, m: Mechanism,
    comp: dict[str, np.ndarray], channels: dict[str, Any], noise: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data table (``event`` only when there are promotions) and ``truth_daily``."""
    daily = pd.DataFrame({DATE: dates, REVENUE: revenue})
    for c in CHANNELS:
        daily[SPEND_PREFIX + c] = spend[c]
    for col in WEATHER_COLUMNS:
        daily[col] = weather[col].to_numpy()
    if m.promo.any():
        daily["event"] = (m.promo > 0).astype(int)
    media = {f"media_{c}": ch["daily"] for c, ch in channels.items()}
    truth_daily = pd.DataFrame({
        DATE: dates, "base": comp["base"], "weather": comp["weather"], "promotion": comp["promotion"],
        **media, "interaction": comp["media"] - sum(media.values()),
        "expected_revenue": comp["expected_revenue"], "noise": noise, "shock": weather["shock"].to_numpy(),
    })
    return daily, truth_daily


def _signal(dates: pd.DatetimeIndex, spend: Spend, m: Mechanism, comp: dict[str, np.ndarray]) -> dict[str, Any]:
    total = sum(s.sum() for s in spend.values())
    corr = np.corrcoef([spend[c] for c in CHANNELS])
    return {
        "start": str(dates[0].date()), "end": str(dates[-1].date()), "n_days": len(dates),
        "combine": m.combine, "trend_per_year": m.trend, "fourier_yearly_log": m.fourier.tolist(),
        "dow_factors": m.dow.tolist(), "holiday_uplift": m.holiday_uplift, "weather": m.weather,
        "daily_budget": float(total / len(dates)),
        "spend_share": {c: float(spend[c].sum() / total) for c in CHANNELS},
        "spend_correlation": {f"{a}~{b}": float(corr[i, j]) for i, a in enumerate(CHANNELS)
                              for j, b in enumerate(CHANNELS) if i < j},
        "spend_max": {c: float(spend[c].max()) for c in CHANNELS},
        "media_share": float(comp["media"].sum() / comp["expected_revenue"].sum()),
        "promotion_days": int((m.promo > 0).sum()),
    }


def simulate_scenario_tenant(
    k: int, sc: Scenario, rng: np.random.Generator, weather: pd.DataFrame, city: str, seed: int
) -> SimulatedTenant:
    """Simulate tenant ``k`` of scenario ``sc`` over the days of ``weather`` (id ``shop_<k>``)."""
    dates = pd.DatetimeIndex(weather.index)
    m = draw_mechanism(rng, sc, weather, CHANNELS)
    pattern = str(rng.choice(sc.spend))
    spend = make_spend(pattern, rng, len(dates), rng.uniform(300.0, 600.0))
    run = _Runner(dates, weather, m)
    _calibrate(m, sc, rng, spend, run)
    comp = run(spend)
    exp_rev = comp["expected_revenue"]
    channels = _channel_truth(run, spend, comp, m)
    noise_kind, noise_frac = str(rng.choice(sc.noise)), float(rng.uniform(*sc.noise_frac))
    revenue, noise = _observe(rng, noise_kind, noise_frac, m.level, exp_rev)
    oracle, hold = _oracle_r2(revenue, noise)
    daily, truth_daily = _tables(dates, weather, spend, revenue, m, comp, channels, noise)
    tid = f"shop_{k:03d}"
    meta = {"tenant_id": tid, "name": f"Shop {k:03d}", "city": city,
            "category": str(rng.choice(CATEGORIES)), "currency": "USD"}
    if sc.weatherless:  # known exactly only when weather moves nothing
        meta["sensitivity"] = "none"
    truth = {
        **{key: meta[key] for key in ("tenant_id", "name", "city", "category")},
        "scenario": sc.name, "seed": seed, "level": m.level, "noise": noise_kind, "noise_frac": noise_frac,
        "noise_sd": float(noise.std()), "oracle_r2_holdout": oracle, "holdout_days": hold,
        "spend_pattern": pattern, "weather_observed": True,
        # channels the spend pattern leaves confounded or without variation (a note: no number depends on it)
        "identification": {"not_identified": dict(NOT_IDENTIFIED.get(pattern, {}))},
        "channels": {c: {k2: v for k2, v in ch.items() if k2 != "daily"} for c, ch in channels.items()},
        "weather_elasticity": _elasticity(run, spend, exp_rev), "signal": _signal(dates, spend, m, comp),
    }
    if "sensitivity" in meta:
        truth["sensitivity"] = meta["sensitivity"]
    return SimulatedTenant(tid, meta, daily, truth, truth_daily,
                           forward=lambda s: run(s)["expected_revenue"])
