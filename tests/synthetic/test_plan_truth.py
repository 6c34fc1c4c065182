"""True plan revenue rebuilt from truth.json: the mechanism reproduces the data, and plan scores match full counterfactuals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.constants import DATE, PRECIP, SPEND_PREFIX, TEMP
from synthetic import simulate_universe, write_lake
from synthetic.mechanism import forward
from synthetic.media import CHANNELS, geometric_adstock, hill
from synthetic.plan_truth import TruePlanRevenue, mechanism_from_truth, read_tenant

SCENARIOS = ["weibull_adstock", "multiplicative", "heavy_tails", "weather_media_link", "mixed"]
DAYS = 5


def _lake(tmp_path: Path, scenario: str) -> Path:
    return write_lake(simulate_universe(3, 150, seed=2, scenario=scenario), tmp_path / scenario)


def _weather(daily: pd.DataFrame, td: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({TEMP: daily[TEMP].to_numpy(float), PRECIP: daily[PRECIP].to_numpy(float),
                         "shock": td["shock"].fillna("").to_numpy()}, index=pd.DatetimeIndex(daily[DATE]))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rebuilt_mechanism_reproduces_expected_revenue(tmp_path: Path, scenario: str) -> None:
    for d in sorted(p for p in _lake(tmp_path, scenario).iterdir() if p.is_dir()):
        daily, truth = read_tenant(d)
        td = pd.read_parquet(d / "truth_daily.parquet")
        demand = (td["base"] + td["weather"]).to_numpy()
        m = mechanism_from_truth(truth, td["promotion"].to_numpy() / demand)
        spend = {c: daily[SPEND_PREFIX + c].to_numpy(float) for c in CHANNELS}
        got = forward(pd.DatetimeIndex(daily[DATE]), _weather(daily, td), spend, m)["expected_revenue"]
        np.testing.assert_allclose(got, td["expected_revenue"].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("scenario", ["multiplicative", "weibull_adstock", "weather_media_link"])
def test_plan_revenue_matches_full_counterfactual(tmp_path: Path, scenario: str) -> None:
    """Same as forward() over the whole history + plan + carry-over, with average future weather."""
    rng = np.random.default_rng(0)
    for d in sorted(p for p in _lake(tmp_path, scenario).iterdir() if p.is_dir()):
        daily, truth = read_tenant(d)
        scorer = TruePlanRevenue(truth, daily, list(CHANNELS), DAYS)
        plan = rng.uniform(50, 400, (len(CHANNELS), DAYS))
        dates = pd.DatetimeIndex(daily[DATE])
        lag = scorer.lag
        fut = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=DAYS + lag)
        w = pd.concat([_weather(daily, daily.assign(shock="")),
                       pd.DataFrame({TEMP: daily[TEMP].mean(), PRECIP: daily[PRECIP].mean(), "shock": ""}, index=fut)])
        m = mechanism_from_truth(truth, np.zeros(len(w)))
        # After the plan, spend goes on at the last 28 days' mean (the allocator's "today's level").
        tail = {c: np.full(lag, daily[SPEND_PREFIX + c].to_numpy(float)[-28:].mean()) for c in CHANNELS}

        def total(p: np.ndarray, m=m, w=w, fut=fut, tail=tail, daily=daily, dates=dates) -> float:
            s = {c: np.concatenate([daily[SPEND_PREFIX + c].to_numpy(float), p[j], tail[c]]) for j, c in enumerate(CHANNELS)}
            return float(forward(dates.append(fut), w, s, m)["expected_revenue"][-len(fut):].sum())

        want = total(plan) - total(np.zeros_like(plan))
        assert want > 0
        assert scorer(plan) == pytest.approx(want, rel=1e-9)


def test_default_universe_plan_revenue(tmp_path: Path) -> None:
    """Default universe: the full-history Hill-of-geometric-adstock sum, channel by channel."""
    lake = write_lake(simulate_universe(2, 120, seed=1), tmp_path / "lake")
    plan = np.full((len(CHANNELS), DAYS), 150.0)
    for d in sorted(p for p in lake.iterdir() if p.is_dir()):
        daily, truth = read_tenant(d)
        want = 0.0
        for j, c in enumerate(CHANNELS):
            v = truth["channels"][c]
            hist = daily[SPEND_PREFIX + c].to_numpy(float)
            pad = np.full(v["l_max"] - 1, hist[-28:].mean())  # spend goes on at today's level after the plan
            r = [hill(geometric_adstock(np.concatenate([hist, x, pad]), v["adstock_alpha"], v["l_max"]) / v["spend_scale"],
                      v["half_sat"], v["hill_shape"])[len(hist):] for x in (plan[j], np.zeros(DAYS))]
            want += v["beta"] * (r[0] - r[1]).sum()
        assert TruePlanRevenue(truth, daily, list(CHANNELS), DAYS)(plan) == pytest.approx(want, rel=1e-9)
