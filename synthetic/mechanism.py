"""The scenario simulator's own revenue function and its random parameters.

Per tenant and day ``t`` (every constant fixed once, also in counterfactuals)::

    base_t    = level (1 + trend t/365) seasonality_t dow_t prod_h (1 + u_h holiday_{h,t})
    demand_t  = base_t exp(swing (g_t - center) / scale) (1 + shock effect_t) (1 + promo_t)
    r_{c,t}   = saturation_c(adstock_c(spend_c)_t / spend_scale_c) link_c(weather_t)
    additive:       revenue_t = demand_t + sum_c beta_c r_{c,t}
    multiplicative: revenue_t = demand_t prod_c (1 + beta_c r_{c,t})

``g_t`` is a non-linear weather signal (temperature through tanh, rain
through log1p), ``link_c`` is 1, a temperature threshold or linear in rain.
Nothing here is shared with :mod:`bayes_mmm.model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import PRECIP, TEMP
from bayes_mmm.data.calendar import HOLIDAY_COLUMNS, us_holidays
from synthetic.scenarios import Scenario
from synthetic.shapes import adstock_weights, carry_over, saturate

__all__ = ["ChannelMechanism", "Mechanism", "draw_channel", "draw_mechanism", "forward"]

_ADSTOCK_DRAWS = {
    "geometric": lambda r: {"alpha": r.uniform(0.1, 0.7), "l_max": 14},
    "weibull": lambda r: {"shape": r.uniform(1.5, 4.0), "scale": r.uniform(3.0, 9.0), "l_max": 28},
    "delayed": lambda r: {"alpha": r.uniform(0.5, 0.85), "theta": r.uniform(1.0, 5.0), "l_max": 21},
}
_SATURATION_DRAWS = {
    "hill": lambda r: {"half_sat": r.uniform(0.5, 2.0), "shape": r.uniform(1.5, 3.0)},
    "exponential": lambda r: {"k": r.uniform(0.4, 1.5)},
    "logistic": lambda r: {"mid": r.uniform(0.6, 1.4), "width": r.uniform(0.15, 0.35)},
    "michaelis_menten": lambda r: {"k": r.uniform(0.5, 2.0)},
}


@dataclass
class ChannelMechanism:
    """True response of one channel (``beta`` and ``spend_scale`` set after spend is known)."""

    adstock: dict[str, Any]
    saturation: dict[str, Any]
    link: dict[str, Any]
    roas_target: float
    spend_scale: float = 1.0
    beta: float = 1.0


@dataclass
class Mechanism:
    """All true parameters of one scenario tenant."""

    level: float
    trend: float
    fourier: np.ndarray
    dow: np.ndarray
    holiday_uplift: dict[str, float]
    combine: str
    weather: dict[str, Any]
    promo: np.ndarray
    channels: dict[str, ChannelMechanism] = field(default_factory=dict)


def draw_channel(rng: np.random.Generator, sc: Scenario, weather: pd.DataFrame) -> ChannelMechanism:
    """Draw one channel's shapes, weather link and ROAS target."""
    ad, sat, link = (str(rng.choice(k)) for k in (sc.adstock, sc.saturation, sc.weather_links))
    links = {
        "none": {"kind": "none"},
        # threshold at the window's 75th temperature percentile, lift or drop above it
        "threshold": {"kind": "threshold", "temp_c": float(np.quantile(weather[TEMP], 0.75)),
                      "kappa": float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.6))},
        "linear": {"kind": "linear", "precip_cap_mm": 30.0, "kappa": float(rng.uniform(-0.6, 1.0))},
    }
    return ChannelMechanism(
        adstock={"kind": ad, **_ADSTOCK_DRAWS[ad](rng)}, saturation={"kind": sat, **_SATURATION_DRAWS[sat](rng)},
        link=links[link], roas_target=float(rng.uniform(*sc.roas)),
    )


def _weather_signal(weather: pd.DataFrame, w: dict[str, Any]) -> np.ndarray:
    temp = weather[TEMP].to_numpy(float)
    rain = np.log1p(weather[PRECIP].to_numpy(float)) / np.log1p(20.0)
    return w["temp_sign"] * np.tanh((temp - 18.0) / 8.0) + w["rain_sign"] * rain


def _draw_weather(rng: np.random.Generator, sc: Scenario, weather: pd.DataFrame) -> dict[str, Any]:
    w: dict[str, Any] = {"swing": float(rng.uniform(*sc.weather_swing)), "temp_sign": int(rng.choice([-1, 1])),
                         "rain_sign": int(rng.choice([-1, 0, 1])), "shock_effect": {}}
    g = _weather_signal(weather, w)
    w["center"], w["scale"] = float(g.mean()), float(g.std() or 1.0)
    if rng.uniform() < sc.weather_shocks:
        kinds = sorted(set(weather["shock"]) - {""})
        w["shock_effect"] = {k: float(rng.uniform(-0.3, 0.4)) for k in kinds}
    return w


def _promotions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Relative demand uplift per day: 6-10 promotions a year of 1-4 days, +30-120 %."""
    promo = np.zeros(n)
    for start in rng.choice(n, size=max(1, round(rng.uniform(6, 10) * n / 365)), replace=False):
        promo[start:start + int(rng.integers(1, 5))] = rng.uniform(0.3, 1.2)
    return promo


def draw_mechanism(
    rng: np.random.Generator, sc: Scenario, weather: pd.DataFrame, channels: tuple[str, ...]
) -> Mechanism:
    """Draw a tenant's mechanism (``level`` is set later from its spend and media share)."""
    n = len(weather)
    dow = 1 + rng.normal(0.0, 0.08, 7)
    uplift = {h: float(rng.uniform(-0.1, 0.6)) for h in HOLIDAY_COLUMNS}
    promo = _promotions(rng, n) if rng.uniform() < sc.promotions else np.zeros(n)
    return Mechanism(
        level=1.0, trend=float(rng.uniform(-0.1, 0.2)), fourier=rng.normal(0.0, [0.1, 0.1, 0.05, 0.05]),
        dow=dow / dow.mean(), holiday_uplift=uplift, combine=str(rng.choice(sc.combine)),
        weather=_draw_weather(rng, sc, weather), promo=promo,
        channels={c: draw_channel(rng, sc, weather) for c in channels},
    )


def _base(dates: pd.DatetimeIndex, m: Mechanism) -> np.ndarray:
    t = np.arange(len(dates), dtype=float)
    ang = 2 * np.pi * dates.day_of_year.to_numpy(float) / 365.25
    a = m.fourier
    seas = np.exp(a[0] * np.sin(ang) + a[1] * np.cos(ang) + a[2] * np.sin(2 * ang) + a[3] * np.cos(2 * ang))
    hol = us_holidays(dates)
    factor = np.prod([1 + m.holiday_uplift[h] * hol[h].to_numpy() for h in HOLIDAY_COLUMNS], axis=0)
    return m.level * np.maximum(1 + m.trend * t / 365.0, 0.2) * seas * m.dow[dates.day_of_week.to_numpy()] * factor


def _link(weather: pd.DataFrame, link: dict[str, Any]) -> np.ndarray | float:
    if link["kind"] == "threshold":
        return 1.0 + link["kappa"] * (weather[TEMP].to_numpy(float) > link["temp_c"])
    if link["kind"] == "linear":
        rain = np.minimum(weather[PRECIP].to_numpy(float), link["precip_cap_mm"]) / link["precip_cap_mm"]
        return np.maximum(1.0 + link["kappa"] * rain, 0.1)
    return 1.0


def response(spend: np.ndarray, ch: ChannelMechanism, weather: pd.DataFrame) -> np.ndarray:
    """Unscaled media response ``r_{c,t}`` (multiply by ``beta``)."""
    ad = {k: v for k, v in ch.adstock.items() if k != "kind"}
    sat = {k: v for k, v in ch.saturation.items() if k != "kind"}
    x = carry_over(spend, adstock_weights(ch.adstock["kind"], ad)) / ch.spend_scale
    return saturate(ch.saturation["kind"], x, sat) * _link(weather, ch.link)


def forward(
    dates: pd.DatetimeIndex, weather: pd.DataFrame, spend: dict[str, np.ndarray], m: Mechanism
) -> dict[str, np.ndarray]:
    """Noiseless components: ``base``, ``weather``, ``promotion``, ``media`` (total) and ``expected_revenue``."""
    base = _base(dates, m)
    w = m.weather
    shock = weather["shock"].map(lambda k: w["shock_effect"].get(k, 0.0)).to_numpy(float)
    wfac = np.exp(w["swing"] * (_weather_signal(weather, w) - w["center"]) / w["scale"]) * (1 + shock)
    demand = base * wfac * (1 + m.promo)
    terms = [ch.beta * response(spend[c], ch, weather) for c, ch in m.channels.items()]
    if m.combine == "multiplicative":
        total = demand * np.prod([1 + r for r in terms], axis=0)
    else:
        total = demand + np.sum(terms, axis=0)
    return {"base": base, "weather": base * (wfac - 1), "promotion": base * wfac * m.promo,
            "media": total - demand, "expected_revenue": total}
