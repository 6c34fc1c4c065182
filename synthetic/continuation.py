"""Continue a default-scenario universe past its end, optionally with a regime change.

The old rows are copied unchanged; the new days come from the same true
parameters (rebuilt from each tenant's ``truth.json``), the same city weather
stream for the old part (so the reconstruction is exact) and fresh, seeded
streams for the new weather, spend and noise. Expected revenue is computed
over old + new days together, so carry-over from old spend and the trend
continue without a seam.

Regime changes (on chosen tenants, from a date inside the new period):

* ``roas_halves:CHANNEL@DATE`` — the channel's contribution is halved on and
  after DATE (carry-over of earlier spend into those days included);
* ``new_channel:NAME@DATE`` — a new channel starts spending on DATE with true
  ROAS 2.5 over its new days (column ``spend_NAME``, 0 before DATE);
* ``weather_station_breaks@DATE`` — the weather columns repeat the value of
  the day before DATE (revenue still follows the real weather).

The changed tenants and what changed are recorded in ``truth.json`` under
``continuation``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, REVENUE, SPEND_PREFIX, TENANT_JSON, TRUTH_DAILY, TRUTH_JSON
from synthetic.media import CHANNELS, simulate_spend
from synthetic.simulated import SimulatedTenant
from synthetic.tenants import CITIES
from synthetic.universe import L_MAX, ChannelTruth, TruthParams, _city_weather, expected_components
from synthetic.weather import WEATHER_COLUMNS, simulate_weather

__all__ = ["REGIMES", "Regime", "continue_lake", "parse_regime", "truth_params"]

REGIMES = ("roas_halves", "new_channel", "weather_station_breaks")
_CONT_KEY = 1_000_039  # spawn-key namespace of the continuation streams (tenants)
_CONT_WEATHER_KEY = 1_000_081  # ... and of the new city weather
NEW_CHANNEL_ROAS = 2.5
_REGIME = re.compile(r"^(?P<kind>[a-z_]+)(?::(?P<channel>[A-Za-z0-9_]+))?@(?P<date>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Regime:
    """A regime change: what, on which channel (if any), from which date."""

    kind: str
    date: pd.Timestamp
    channel: str | None = None

    def to_dict(self) -> dict:
        """Plain-JSON form for truth.json."""
        return {"kind": self.kind, "channel": self.channel, "date": f"{self.date:%Y-%m-%d}"}


def parse_regime(text: str) -> Regime:
    """Parse ``roas_halves:CHANNEL@DATE``, ``new_channel:NAME@DATE`` or ``weather_station_breaks@DATE``."""
    m = _REGIME.match(text.strip())
    if not m or m["kind"] not in REGIMES or (m["kind"] != "weather_station_breaks") != bool(m["channel"]):
        raise ValueError(f"--regime must be roas_halves:CHANNEL@DATE, new_channel:NAME@DATE or "
                         f"weather_station_breaks@DATE, got {text!r}")
    return Regime(m["kind"], pd.Timestamp(m["date"]), m["channel"])


def truth_params(truth: dict) -> TruthParams:
    """Rebuild a default-scenario tenant's :class:`TruthParams` from its ``truth.json``."""
    if "signal" not in truth or "fourier_yearly" not in truth["signal"]:
        raise ValueError(f"tenant {truth.get('tenant_id')!r}: only default-scenario lakes can be continued")
    s = truth["signal"]
    channels = {
        c: ChannelTruth(alpha=v["adstock_alpha"], half_sat=v["half_sat"], shape=v["hill_shape"],
                        gamma_temp=v["gamma"]["temp_c"], gamma_rain=v["gamma"]["precip_mm"],
                        roas_target=s["roas_target"].get(c, v["roas"]), spend_scale=v["spend_scale"], beta=v["beta"])
        for c, v in truth["channels"].items()
    }
    return TruthParams(
        level=truth["level"], trend=s["trend_per_year"], fourier=np.array(s["fourier_yearly"]),
        dow=np.array(s["dow_factors"]), holiday_uplift=s["holiday_uplift"], categories=truth["categories"],
        swing=s["weather_swing"], weather_center=s["weather_center"], weather_scale=s["weather_scale"],
        z=s["z"], channels=channels,
    )


def _read_old(tenant_dir: Path) -> tuple[pd.DataFrame, dict, dict, pd.DataFrame]:
    """A tenant's daily table, tenant.json, truth.json and truth_daily of a synthetic lake."""
    if not (tenant_dir / "daily.csv").is_file() and not (tenant_dir / "daily.parquet").is_file():
        raise ValueError(f"{tenant_dir}: only daily lakes can be continued")
    daily = (pd.read_csv(tenant_dir / "daily.csv", parse_dates=[DATE]) if (tenant_dir / "daily.csv").is_file()
             else pd.read_parquet(tenant_dir / "daily.parquet"))
    for name in (TRUTH_JSON, TRUTH_DAILY):
        if not (tenant_dir / name).is_file():
            raise ValueError(f"{tenant_dir}: no {name}; only lakes written by `bayes-mmm simulate` can be continued")
    meta = json.loads((tenant_dir / TENANT_JSON).read_text())
    truth = json.loads((tenant_dir / TRUTH_JSON).read_text())
    return daily, meta, truth, pd.read_parquet(tenant_dir / TRUTH_DAILY)


def _stream_key(*key: int, replicate: int) -> tuple[int, ...]:
    """Spawn key of a continuation stream; replicate 0 keeps the key of the first continuation ever drawn."""
    return key if replicate == 0 else (*key, replicate)


def _new_weather(seed: int, city: str, dates: pd.DatetimeIndex, n_old: int, cache: dict, replicate: int = 0) -> pd.DataFrame:
    """New-period weather of a city: its own stream per (seed, city, old length, replicate), shared by the city's tenants."""
    if city not in cache:
        ss = np.random.SeedSequence(seed, spawn_key=_stream_key(_CONT_WEATHER_KEY, CITIES.index(city), n_old, replicate=replicate))
        cache[city] = simulate_weather(city, dates, np.random.default_rng(ss))
    return cache[city]


def _add_channel(p: TruthParams, name: str, spend: dict[str, np.ndarray], new_days: np.ndarray,
                 rng: np.random.Generator, budget: float, dates, weather) -> None:
    """A new channel (meta-like flights) from the regime date, its β solved for :data:`NEW_CHANNEL_ROAS`."""
    s = np.zeros(len(dates))
    s[new_days] = simulate_spend(rng, int(new_days.sum()), 0.3 * budget)["meta"]
    spend[name] = s
    p.channels[name] = ChannelTruth(alpha=0.4, half_sat=1.0, shape=1.5, gamma_temp=0.0, gamma_rain=0.0,
                                    roas_target=NEW_CHANNEL_ROAS, spend_scale=float(s[s > 0].mean()), beta=1.0)
    unit = expected_components(dates, weather, spend, p)[f"media_{name}"]
    p.channels[name].beta = float(NEW_CHANNEL_ROAS * s.sum() / unit.sum())


def _continue_tenant(k: int, tenant_dir: Path, days: int, regime: Regime | None, changed: bool,
                     weather_cache: dict, replicate: int = 0) -> SimulatedTenant:
    """One tenant: old rows unchanged, ``days`` new rows after them."""
    daily, meta, truth, truth_daily = _read_old(tenant_dir)
    seed, city, n_old = int(truth["seed"]), truth["city"], len(daily)
    p = truth_params(truth)
    old_dates = pd.DatetimeIndex(daily[DATE])
    new_dates = pd.date_range(old_dates[-1] + pd.Timedelta(days=1), periods=days, freq="D", name=DATE)
    dates = old_dates.append(new_dates)
    weather = pd.concat([_city_weather(seed, city, old_dates, {}),
                         _new_weather(seed, city, new_dates, n_old, weather_cache, replicate)])
    weather.index = dates
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_stream_key(_CONT_KEY, k, n_old, replicate=replicate)))
    new_spend = simulate_spend(rng, days, truth["signal"]["daily_budget"])
    spend = {c: np.concatenate([daily[SPEND_PREFIX + c].to_numpy(float), new_spend[c]]) for c in CHANNELS}
    if changed:
        _check_regime(regime, new_dates, set(p.channels))
    after = np.zeros(len(dates), dtype=bool) if not changed else np.asarray(dates >= regime.date)
    if changed and regime.kind == "new_channel":
        _add_channel(p, regime.channel, spend, after, rng, truth["signal"]["daily_budget"], dates, weather)
    comp = expected_components(dates, weather, spend, p)
    if changed and regime.kind == "roas_halves":
        comp[f"media_{regime.channel}"] = np.where(after, 0.5 * comp[f"media_{regime.channel}"], comp[f"media_{regime.channel}"])
        comp["expected_revenue"] = comp["base"] + comp["weather"] + sum(comp[f"media_{c}"] for c in p.channels)
    exp_new = comp["expected_revenue"][n_old:]
    observed = np.round(exp_new + rng.normal(0.0, truth["noise_sd"], days), 2)
    noise = observed - exp_new
    new = pd.DataFrame({DATE: new_dates, REVENUE: np.maximum(exp_new + noise, 0.0)})
    for c in spend:
        new[SPEND_PREFIX + c] = spend[c][n_old:]
    shown = weather.copy()
    if changed and regime.kind == "weather_station_breaks":
        shown.loc[after, list(WEATHER_COLUMNS)] = shown.loc[~after, list(WEATHER_COLUMNS)].iloc[-1].to_numpy()
    for col in WEATHER_COLUMNS:
        if col in daily.columns:
            new[col] = shown[col].to_numpy()[n_old:]
    table = pd.concat([daily, new], ignore_index=True).fillna({SPEND_PREFIX + c: 0.0 for c in spend})
    table = table[[*daily.columns, *(col for col in new.columns if col not in daily.columns)]]
    tail = {k2: comp[k2][n_old:] for k2 in ("base", "weather", *(f"media_{c}" for c in p.channels), "expected_revenue")}
    td_new = pd.DataFrame({DATE: new_dates, **tail, "noise": noise, "shock": weather["shock"].to_numpy()[n_old:]})
    truth_daily = pd.concat([truth_daily, td_new], ignore_index=True)
    truth = {**truth, "continuation": {**_record(new_dates, spend, comp, n_old, regime if changed else None, truth),
                                       "replicate": replicate}}
    return SimulatedTenant(meta["tenant_id"], meta, table, truth, truth_daily,
                           forward=lambda s: expected_components(dates, weather, s, p)["expected_revenue"])


def _record(new_dates: pd.DatetimeIndex, spend: dict, comp: dict, n_old: int, regime: Regime | None, truth: dict) -> dict:
    """truth.json's ``continuation``: the new window, the change (or none), true ROAS over the new days."""
    roas = {}
    for c, s in spend.items():
        total = float(s[n_old:].sum())
        roas[c] = {"roas_new": float(comp[f"media_{c}"][n_old:].sum() / total) if total > 0 else None,
                   "roas_old": truth["channels"].get(c, {}).get("roas")}
    return {"start": f"{new_dates[0]:%Y-%m-%d}", "end": f"{new_dates[-1]:%Y-%m-%d}", "days": len(new_dates),
            "l_max": L_MAX, "changed": regime is not None, "regime": None if regime is None else regime.to_dict(),
            "channels": roas}


def continue_lake(
    lake: str | Path, days: int, regime: Regime | str | None = None, tenants: list[str] | None = None,
    replicate: int = 0,
) -> list[SimulatedTenant]:
    """Continue every tenant of a synthetic (default-scenario, daily) lake by ``days`` days.

    Parameters
    ----------
    lake : str or pathlib.Path
        A lake written by :func:`synthetic.write_lake` (scenario ``default``, daily).
    days : int
        New days after each tenant's last day (>= 1).
    regime : Regime or str, optional
        A regime change (see the module docstring), applied to ``tenants``.
    tenants : list of str, optional
        Tenants that undergo the regime change; all of them when omitted.
    replicate : int, default 0
        Which of many independent continuations of the same lake (new weather,
        spend and noise streams; the true parameters are the lake's). 0 is the
        continuation drawn before replicates existed.

    Returns
    -------
    list of SimulatedTenant
        Old rows unchanged plus the new ones, with ``truth["continuation"]``;
        write them with :func:`synthetic.write_lake`.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if replicate < 0:
        raise ValueError(f"replicate must be >= 0, got {replicate}")
    regime = parse_regime(regime) if isinstance(regime, str) else regime
    dirs = sorted(d for d in Path(lake).iterdir() if d.is_dir() and (d / TENANT_JSON).is_file())
    if not dirs:
        raise ValueError(f"{lake}: no tenants to continue")
    unknown = sorted(set(tenants or ()) - {d.name for d in dirs})
    if unknown:
        raise ValueError(f"--regime-tenants not in {lake}: {unknown}")
    cache: dict = {}
    return [_continue_tenant(k, d, days, regime, regime is not None and (tenants is None or d.name in tenants), cache, replicate)
            for k, d in enumerate(dirs)]


def _check_regime(regime: Regime, new_dates: pd.DatetimeIndex, known: set[str]) -> None:
    """The regime date lies in the new period; its channel exists (roas_halves) or is new (new_channel)."""
    if not new_dates[0] <= regime.date <= new_dates[-1]:
        raise ValueError(f"regime date {regime.date:%Y-%m-%d} is outside the new period "
                         f"{new_dates[0]:%Y-%m-%d}..{new_dates[-1]:%Y-%m-%d}")
    if regime.kind == "roas_halves" and regime.channel not in known:
        raise ValueError(f"roas_halves: unknown channel {regime.channel!r} (channels: {sorted(known)})")
    if regime.kind == "new_channel" and regime.channel in known:
        raise ValueError(f"new_channel: {regime.channel!r} already exists")
