"""Simulate a universe of merchants with exact ground truth, and write it as a lake.

Revenue model, per tenant and day ``t`` (see :func:`expected_components`)::

    revenue_t = max(base_t + weather_t + sum_c media_{c,t} + noise_t, 0)
    base_t    = level (1 + trend t/365) seasonality_t dow_t prod_h (1 + u_h holiday_{h,t})
    weather_t = level swing (g_t - center) / scale        # g: category weather responses
    media_c,t = beta_c hill(adstock(spend_c)_t / spend_scale_c) exp(gamma_c . z_t)

Holidays are the :func:`bayes_mmm.data.calendar.us_holidays` columns. ``beta_c`` is
solved so that the true ROAS equals its target exactly.

Signal to noise: ``noise_sd = noise_frac * level`` with ``noise_frac`` 0.10
(extreme, high), 0.12 (medium) and 0.15 (none). Over the default 20 tenants x
730 days (seeds 0-5) the full-window SNR (variance of expected revenue /
noise variance) is about 11-48 (extreme), 4-27 (high), 2.7-10 (medium) and
1.1-3.8 (none), and the oracle holdout R^2 (last 20 % of days, stored as
``oracle_r2_holdout``) is 0.91-0.98 (extreme), 0.82-0.97 (high), 0.71-0.92
(medium) and 0.52-0.82 (none). Media is 13-32 % of expected revenue (mean
about 21 %); the daily budget is capped at $700 by the $500/channel/day limit.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core import atomic
from bayes_mmm.core.constants import (
    DATE,
    PRECIP,
    REVENUE,
    SNOW,
    SPEND_PREFIX,
    TEMP,
    TENANT_JSON,
    TRUTH_DAILY,
    TRUTH_JSON,
)
from bayes_mmm.data.calendar import HOLIDAY_COLUMNS, us_holidays
from synthetic.cadence import hide_weather, to_weekly
from synthetic.lift import simulate_lift_tests
from synthetic.media import CHANNELS, geometric_adstock, hill, simulate_spend
from synthetic.scenario_sim import simulate_scenario_tenant
from synthetic.scenarios import Scenario, get_scenario
from synthetic.simulated import SimulatedTenant
from synthetic.tenants import CITIES, TenantProfile, select_profiles
from synthetic.weather import WEATHER_COLUMNS, simulate_weather

__all__ = [
    "NOISE_FRAC",
    "SimulatedTenant",
    "TruthParams",
    "expected_components",
    "simulate_universe",
    "write_lake",
]

L_MAX = 14
MIN_DAYS = 60
HOLDOUT_FRAC = 0.2
NOISE_FRAC: dict[str, float] = {"extreme": 0.10, "high": 0.10, "medium": 0.12, "none": 0.15}
#: Half-range (q05-q95) of weather_t / level per sensitivity.
SWING: dict[str, tuple[float, float]] = {
    "extreme": (0.40, 0.60), "high": (0.25, 0.40), "medium": (0.10, 0.20), "none": (0.0, 0.0)
}
ALPHA: dict[str, tuple[float, float]] = {"meta": (0.3, 0.7), "google": (0.1, 0.5), "email": (0.0, 0.3)}
GAMMA: dict[str, tuple[float, float]] = {"meta": (0.15, 0.30), "google": (0.08, 0.20), "email": (0.0, 0.08)}
WEATHER_LAGS = np.array([1.0, 0.5, 0.25, 0.125]) / 1.875
_WEATHER_KEY = 1_000_003  # spawn-key namespace of the per-city weather streams
_LIFT_KEY = 1_000_033  # ... of the per-tenant lift-test streams
_MIX_KEY = 1_000_037  # ... of the choice of tenants without weather columns
CADENCES = ("daily", "weekly")
WEATHER_MODES = ("all", "none", "mixed")


@dataclass
class ChannelTruth:
    """True response parameters of one channel."""

    alpha: float
    half_sat: float
    shape: float
    gamma_temp: float
    gamma_rain: float
    roas_target: float
    spend_scale: float = 1.0
    beta: float = 1.0


@dataclass
class TruthParams:
    """All true parameters needed to compute noiseless revenue.

    Attributes
    ----------
    level, trend : float
        Base level ($/day) and relative trend per year.
    fourier : numpy.ndarray
        Yearly seasonality coefficients ``(sin1, cos1, sin2, cos2)``.
    dow : numpy.ndarray
        Day-of-week factors, Monday first, mean 1.
    holiday_uplift : dict
        Multiplicative uplift per :data:`HOLIDAY_COLUMNS` event.
    categories : list of dict
        ``{"name", "affinity", "share"}``.
    swing, weather_center, weather_scale : float
        Weather term ``level * swing * (g - center) / scale``.
    z : dict
        ``temp_mean, temp_std, rain_mean, rain_std`` of the standardisation
        used by the media-weather interaction (fixed in counterfactuals).
    channels : dict of str to ChannelTruth
        Media parameters per channel.
    """

    level: float
    trend: float
    fourier: np.ndarray
    dow: np.ndarray
    holiday_uplift: dict[str, float]
    categories: list[dict[str, Any]]
    swing: float
    weather_center: float = 0.0
    weather_scale: float = 1.0
    z: dict[str, float] = field(default_factory=dict)
    channels: dict[str, ChannelTruth] = field(default_factory=dict)


def _weather_signal(weather: pd.DataFrame, categories: list[dict[str, Any]]) -> np.ndarray:
    """Category-weighted weather response ``g_t`` with a 0-3 day distributed lag."""
    temp = weather[TEMP].to_numpy(float)
    rain = np.log1p(weather[PRECIP].to_numpy(float)) / np.log1p(20.0)
    snow = np.log1p(weather[SNOW].to_numpy(float)) / np.log1p(10.0)
    cold = np.tanh(np.maximum(15.0 - temp, 0.0) / 10.0)
    warm = np.tanh(np.maximum(temp - 22.0, 0.0) / 8.0)
    resp = {
        "cold": cold + 0.5 * snow + 0.5 * rain * cold - 0.3 * warm,
        "warm": warm - 0.3 * cold - 0.3 * rain,
        "rain": rain + 0.5 * snow + 0.5 * rain * cold,
        "neutral": np.zeros_like(temp),
    }
    g = sum(c["share"] * resp[c["affinity"]] for c in categories)
    padded = np.concatenate([np.full(len(WEATHER_LAGS) - 1, g[0]), g])
    return np.convolve(padded, WEATHER_LAGS, mode="valid")


def zscores(weather: pd.DataFrame, z: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Standardised temperature and log-rain of ``weather`` with a tenant's constants ``z`` (the media multiplier's inputs)."""
    zt = (weather[TEMP].to_numpy(float) - z["temp_mean"]) / z["temp_std"]
    zr = (np.log1p(weather[PRECIP].to_numpy(float)) - z["rain_mean"]) / z["rain_std"]
    return zt, zr


def _base(dates: pd.DatetimeIndex, p: TruthParams) -> np.ndarray:
    t = np.arange(len(dates), dtype=float)
    ang = 2 * np.pi * dates.day_of_year.to_numpy(float) / 365.25
    a = p.fourier
    seas = 1 + a[0] * np.sin(ang) + a[1] * np.cos(ang) + a[2] * np.sin(2 * ang) + a[3] * np.cos(2 * ang)
    hol = us_holidays(dates)
    factor = np.prod([1 + p.holiday_uplift[h] * hol[h].to_numpy() for h in HOLIDAY_COLUMNS], axis=0)
    return p.level * (1 + p.trend * t / 365.0) * seas * p.dow[dates.day_of_week.to_numpy()] * factor


def expected_components(
    dates: pd.DatetimeIndex,
    weather: pd.DataFrame,
    spend: dict[str, np.ndarray],
    p: TruthParams,
) -> dict[str, np.ndarray]:
    """Noiseless daily revenue components: the one revenue function.

    Used both for the data and for counterfactuals (mROAS, weather elasticity).

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Consecutive days.
    weather : pandas.DataFrame
        ``temp_c``, ``precip_mm``, ``snow_cm`` per day.
    spend : dict of str to numpy.ndarray
        Daily spend per channel.
    p : TruthParams
        True parameters (standardisation and scaling constants included).

    Returns
    -------
    dict of str to numpy.ndarray
        ``base``, ``weather``, ``media_<channel>`` and ``expected_revenue``
        (their sum).
    """
    out = {"base": _base(dates, p)}
    g = _weather_signal(weather, p.categories)
    out["weather"] = p.level * p.swing * (g - p.weather_center) / p.weather_scale
    zt, zr = zscores(weather, p.z)
    for c, ch in p.channels.items():
        resp = hill(geometric_adstock(spend[c], ch.alpha, L_MAX) / ch.spend_scale, ch.half_sat, ch.shape)
        out[f"media_{c}"] = ch.beta * resp * np.exp(ch.gamma_temp * zt + ch.gamma_rain * zr)
    out["expected_revenue"] = out["base"] + out["weather"] + sum(out[f"media_{c}"] for c in p.channels)
    return out


def _draw_params(rng: np.random.Generator, prof: TenantProfile) -> TruthParams:
    """Draw a tenant's true parameters (scaling constants are set later)."""
    sens = prof.sensitivity
    shares = rng.dirichlet(np.full(len(prof.categories), 3.0))
    cats = [{"name": n, "affinity": a, "share": float(s)} for (n, a), s in zip(prof.categories, shares, strict=False)]
    dow = 1 + rng.normal(0.0, 0.08, 7)
    uplift = {h: float(rng.choice([-1, 1]) * rng.uniform(0.05, 0.25)) for h in HOLIDAY_COLUMNS}
    uplift |= {"black_friday": rng.uniform(0.6, 1.5), "cyber_monday": rng.uniform(0.4, 1.0),
               "christmas_rush": rng.uniform(0.2, 0.5), "christmas": rng.uniform(-0.45, -0.35)}
    channels = {}
    for c in CHANNELS:
        lo, hi = GAMMA[c]
        signs = (prof.temp_sign, prof.rain_sign)
        gammas = [s * rng.uniform(lo, hi) if s and sens != "none" else rng.uniform(-0.02, 0.02)
                  for s in signs]
        channels[c] = ChannelTruth(
            alpha=rng.uniform(*ALPHA[c]), half_sat=rng.uniform(0.5, 2.0), shape=rng.uniform(1.0, 2.0),
            gamma_temp=gammas[0], gamma_rain=gammas[1], roas_target=rng.uniform(1.5, 4.0),
        )
    return TruthParams(
        level=rng.uniform(2000.0, 8000.0), trend=rng.uniform(-0.05, 0.15),
        fourier=np.array([rng.normal(0, 0.08), rng.normal(0, 0.08), rng.normal(0, 0.04), rng.normal(0, 0.04)]),
        dow=dow / dow.mean(), holiday_uplift={k: float(v) for k, v in uplift.items()},
        categories=cats, swing=rng.uniform(*SWING[sens]), channels=channels,
    )


def _simulate_tenant(
    tenant_id: str, prof: TenantProfile, rng: np.random.Generator, weather: pd.DataFrame, seed: int
) -> SimulatedTenant:
    dates = pd.DatetimeIndex(weather.index)
    n = len(dates)
    p = _draw_params(rng, prof)
    # scaling constants, fixed from here on (also in counterfactuals)
    g = _weather_signal(weather, p.categories)
    q05, q20, q95 = np.quantile(g, [0.05, 0.2, 0.95])
    p.weather_center, p.weather_scale = float(q20), float(max((q95 - q05) / 2, 1e-9))
    log_rain = np.log1p(weather[PRECIP].to_numpy(float))
    p.z = {"temp_mean": float(weather[TEMP].mean()), "temp_std": float(weather[TEMP].std() or 1.0),
           "rain_mean": float(log_rain.mean()), "rain_std": float(log_rain.std() or 1.0)}
    media_target = rng.uniform(0.22, 0.34)
    w_roas = sum(s * p.channels[c].roas_target for c, s in zip(CHANNELS, (0.45, 0.35, 0.20), strict=False))
    budget = float(np.clip(media_target / (1 - media_target) * p.level / w_roas, 280.0, 700.0))
    spend = simulate_spend(rng, n, budget)
    for c, ch in p.channels.items():
        ch.spend_scale = float(spend[c][spend[c] > 0].mean())
    unit = expected_components(dates, weather, spend, p)
    for c, ch in p.channels.items():
        ch.beta = float(ch.roas_target * spend[c].sum() / unit[f"media_{c}"].sum())
    comp = expected_components(dates, weather, spend, p)
    exp_rev = comp["expected_revenue"]
    noise_frac = NOISE_FRAC[prof.sensitivity]
    noise_sd = noise_frac * p.level
    observed = np.round(exp_rev + rng.normal(0.0, noise_sd, n), 2)
    noise = observed - exp_rev  # so that revenue == max(expected + noise, 0) exactly
    revenue = np.maximum(exp_rev + noise, 0.0)

    hold = slice(n - max(1, round(HOLDOUT_FRAC * n)), n)
    rh = revenue[hold]
    oracle = 1 - np.sum(noise[hold] ** 2) / np.sum((rh - rh.mean()) ** 2)
    total_exp = exp_rev.sum()
    channels = {}
    for c, ch in p.channels.items():
        bumped = expected_components(dates, weather, spend | {c: spend[c] * 1.01}, p)
        contrib = comp[f"media_{c}"].sum()
        channels[c] = {
            "roas": float(contrib / spend[c].sum()),
            "mroas": float((bumped[f"media_{c}"].sum() - contrib) / (0.01 * spend[c].sum())),
            "beta": ch.beta, "adstock_alpha": ch.alpha, "l_max": L_MAX, "half_sat": ch.half_sat,
            "hill_shape": ch.shape, "spend_scale": ch.spend_scale,
            "gamma": {"temp_c": ch.gamma_temp, "precip_mm": ch.gamma_rain},
            "total_spend": float(spend[c].sum()), "total_contribution": float(contrib),
            "contribution_share": float(contrib / total_exp),
        }
    elasticity = {}
    for col in (TEMP, PRECIP):
        shifted = weather.assign(**{col: weather[col] + 1.0})
        cf = expected_components(dates, shifted, spend, p)["expected_revenue"].mean()
        elasticity[col] = float((cf - exp_rev.mean()) / exp_rev.mean())
    media_total = sum(comp[f"media_{c}"] for c in CHANNELS)
    total_spend = sum(spend[c].sum() for c in CHANNELS)
    meta = {"tenant_id": tenant_id, "name": prof.name.replace("_", " ").title(), "city": prof.city,
            "category": prof.category, "currency": "USD"}
    truth = {
        **{k: meta[k] for k in ("tenant_id", "name", "city", "category")},
        "sensitivity": prof.sensitivity, "seed": seed, "level": p.level, "noise_sd": noise_sd,
        "noise_frac": noise_frac, "oracle_r2_holdout": float(oracle), "categories": p.categories,
        "channels": channels, "weather_elasticity": elasticity,
        "signal": {
            "start": str(dates[0].date()), "end": str(dates[-1].date()), "n_days": n,
            "holdout_days": hold.stop - hold.start, "trend_per_year": p.trend,
            "fourier_yearly": p.fourier.tolist(), "dow_factors": p.dow.tolist(),
            "holiday_uplift": p.holiday_uplift, "weather_swing": p.swing,
            "weather_center": p.weather_center, "weather_scale": p.weather_scale,
            "weather_lag_weights": WEATHER_LAGS.tolist(), "z": p.z, "daily_budget": budget,
            "spend_share": {c: float(spend[c].sum() / total_spend) for c in CHANNELS},
            "roas_target": {c: p.channels[c].roas_target for c in CHANNELS},
            "media_share": float(media_total.sum() / total_exp),
            "weather_share_abs": float(np.abs(comp["weather"]).sum() / total_exp),
            "snr": float(exp_rev.var() / noise_sd**2),
            "min_base_plus_weather_over_level": float((comp["base"] + comp["weather"]).min() / p.level),
            "clipped_days": int((exp_rev + noise < 0).sum()),
        },
    }
    daily = pd.DataFrame({DATE: dates, REVENUE: revenue})
    for c in CHANNELS:
        daily[SPEND_PREFIX + c] = spend[c]
    for col in WEATHER_COLUMNS:
        daily[col] = weather[col].to_numpy()
    truth_daily = pd.DataFrame({DATE: dates, **{k: comp[k] for k in ("base", "weather")},
                                **{f"media_{c}": comp[f"media_{c}"] for c in CHANNELS},
                                "expected_revenue": exp_rev, "noise": noise,
                                "shock": weather["shock"].to_numpy()})
    return SimulatedTenant(tenant_id, meta, daily, truth, truth_daily,
                           forward=lambda s: expected_components(dates, weather, s, p)["expected_revenue"])


def _city_weather(seed: int, city: str, dates: pd.DatetimeIndex, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Weather of a city: one stream per city and seed, shared by its tenants."""
    if city not in cache:
        ss = np.random.SeedSequence(seed, spawn_key=(_WEATHER_KEY, CITIES.index(city)))
        cache[city] = simulate_weather(city, dates, np.random.default_rng(ss))
    return cache[city]


def _legacy_universe(n_tenants: int, dates: pd.DatetimeIndex, seed: int) -> list[SimulatedTenant]:
    """The original universe (scenario ``default``), unchanged."""
    children = np.random.SeedSequence(seed).spawn(n_tenants)
    weather: dict[str, pd.DataFrame] = {}
    return [_simulate_tenant(tid, prof, np.random.default_rng(children[k]),
                             _city_weather(seed, prof.city, dates, weather), seed)
            for k, (tid, prof) in enumerate(select_profiles(n_tenants))]


def _scenario_universe(sc: Scenario, n_tenants: int, dates: pd.DatetimeIndex, seed: int) -> list[SimulatedTenant]:
    """Tenants ``shop_000 ..`` of a scenario; tenant ``k`` does not depend on ``n_tenants``."""
    children = np.random.SeedSequence([seed, zlib.crc32(sc.name.encode())]).spawn(n_tenants)
    weather: dict[str, pd.DataFrame] = {}
    out = []
    for k, child in enumerate(children):
        rng = np.random.default_rng(child)
        city = CITIES[int(rng.integers(len(CITIES)))]
        out.append(simulate_scenario_tenant(k, sc, rng, _city_weather(seed, city, dates, weather), city, seed))
    return out


def _history(sc: Scenario, n_days: int, seed: int, cadence: str) -> int:
    """Days to simulate: the scenario's forced range if any, whole weeks for weekly output."""
    if sc.history:
        rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(sc.name.encode()), 1]))
        n_days = int(rng.integers(sc.history[0], sc.history[1] + 1))
    return n_days - n_days % 7 if cadence == "weekly" else n_days


def _finish(tenants: list[SimulatedTenant], seed: int, cadence: str, weather: str, lift_tests: int) -> None:
    """Lift tests (on the daily data), hidden weather and weekly tables, in place."""
    for k, t in enumerate(tenants):
        if lift_tests:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_LIFT_KEY, k)))
            t.lift_tests, t.truth["lift_tests"] = simulate_lift_tests(rng, t.daily, t.forward, lift_tests)
    hidden = range(len(tenants)) if weather == "none" else ()
    if weather == "mixed":  # a random half (seeded, not by id) without weather columns
        perm = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_MIX_KEY,))).permutation(len(tenants))
        hidden = perm[: len(tenants) // 2]
    for k in hidden:
        hide_weather(tenants[k])
    if cadence == "weekly":
        for t in tenants:
            to_weekly(t)


def simulate_universe(
    n_tenants: int = 20, n_days: int = 730, seed: int = 0, start: str = "2024-01-01",
    scenario: str = "default", cadence: str = "daily", weather: str = "all", lift_tests: int = 0,
) -> list[SimulatedTenant]:
    """Simulate ``n_tenants`` merchants over ``n_days`` days.

    Scenario ``default``: tenant ``k`` gets the child seed
    ``SeedSequence(seed).spawn(...)[k]`` and the profile
    :func:`synthetic.tenants.select_profiles` puts at position ``k``, so it is
    identical whatever ``n_tenants`` is. Weather is shared by the tenants of a
    city (one stream per city and seed). Other scenarios
    (:data:`synthetic.scenarios.SCENARIOS`) draw ``shop_<k>`` tenants from
    their own generator, see ``docs/scenarios.md``.

    Parameters
    ----------
    n_tenants : int, default 20
        Number of tenants.
    n_days : int, default 730
        Number of days, >= 60 (a scenario may force its own; weekly rounds down to whole weeks).
    seed : int, default 0
        Seed of the universe.
    start : str, default "2024-01-01"
        First day.
    scenario : str, default "default"
        Name of the data-generating process.
    cadence : {"daily", "weekly"}
        Table written per tenant (weekly: totals over 7-day blocks from ``start``).
    weather : {"all", "none", "mixed"}
        Which tenants keep their weather columns (mixed: a random half lose them).
    lift_tests : int, default 0
        Experiments per tenant written as ``lift_tests.csv``.

    Returns
    -------
    list of SimulatedTenant
        One per tenant, in order.
    """
    if n_days < MIN_DAYS:
        raise ValueError(f"n_days must be >= {MIN_DAYS}, got {n_days}")
    if cadence not in CADENCES or weather not in WEATHER_MODES or lift_tests < 0:
        raise ValueError(f"cadence must be one of {CADENCES}, weather one of {WEATHER_MODES}, "
                         f"lift_tests >= 0; got {cadence!r}, {weather!r}, {lift_tests}")
    sc = get_scenario(scenario)
    dates = pd.date_range(start, periods=_history(sc, n_days, seed, cadence), freq="D", name=DATE)
    if sc.legacy:
        out = _legacy_universe(n_tenants, dates, seed)
    else:
        out = _scenario_universe(sc, n_tenants, dates, seed)
    _finish(out, seed, cadence, weather, lift_tests)
    return out


LIFT_TESTS = "lift_tests.csv"
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def write_lake(
    tenants: list[SimulatedTenant], out: Path | str, fmt: str = "csv", overwrite: bool = False
) -> Path:
    """Write tenants as a data lake, atomically.

    Everything is written into a temporary sibling directory which is then
    renamed to ``out``; on error nothing is left behind.

    Parameters
    ----------
    tenants : list of SimulatedTenant
        Output of :func:`simulate_universe`.
    out : pathlib.Path or str
        Lake directory: ``<out>/<tenant_id>/{daily|weekly.{csv|parquet},
        tenant.json, truth.json, truth_daily.parquet[, lift_tests.csv]}``.
    fmt : {"csv", "parquet"}
        Format of the data table.
    overwrite : bool, default False
        Replace an existing non-empty ``out``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    FileExistsError
        If ``out`` exists, is not empty and ``overwrite`` is false.
    ValueError
        On an unknown ``fmt``, an invalid or duplicate tenant id.
    """
    out = Path(out)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    ids = [t.tenant_id for t in tenants]
    if len(set(ids)) != len(ids) or not all(_ID.match(i) for i in ids):
        raise ValueError(f"invalid or duplicate tenant ids: {ids}")
    with atomic.folder(out, overwrite=overwrite) as tmp:
        for t in tenants:
            d = tmp / t.tenant_id
            d.mkdir()
            if fmt == "csv":
                t.daily.to_csv(d / f"{t.cadence}.csv", index=False, date_format="%Y-%m-%d")
            else:
                t.daily.to_parquet(d / f"{t.cadence}.parquet", index=False)
            if t.lift_tests is not None:
                t.lift_tests.to_csv(d / LIFT_TESTS, index=False)
            (d / TENANT_JSON).write_text(json.dumps(t.meta, indent=2))
            (d / TRUTH_JSON).write_text(json.dumps(t.truth, indent=2))
            t.truth_daily.to_parquet(d / TRUTH_DAILY, index=False)
    return out
