"""The TRUE incremental revenue of a future spend plan, for a tenant of a synthetic lake.

Rebuilt from the tenant's ``truth.json`` and data table with the generator's own
functions (default universe: :mod:`synthetic.media`; other scenarios:
:mod:`synthetic.mechanism`), so benchmarks can score any plan — and optimise on
the truth — whatever the scenario's adstock, saturation or combination rule.

A plan covers ``days`` days right after the data; its incremental revenue is
revenue with the plan minus revenue with no spend on those days, summed over the
plan days and the carry-over days after them (spend then at today's level, the last 28
days' mean, in both). Future weather is
average: the history's mean temperature and rain, no shock (what the allocator
assumes without a forecast).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, SPEND_PREFIX, TEMP, TRUTH_JSON
from synthetic.mechanism import ChannelMechanism, Mechanism, forward, response
from synthetic.media import geometric_adstock, hill

__all__ = ["TruePlanRevenue", "mechanism_from_truth", "read_tenant"]


def read_tenant(tenant_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A synthetic tenant's daily table (csv or parquet) and ``truth.json``."""
    pq = tenant_dir / "daily.parquet"
    daily = pd.read_parquet(pq) if pq.exists() else pd.read_csv(tenant_dir / "daily.csv", parse_dates=[DATE])
    return daily, json.loads((tenant_dir / TRUTH_JSON).read_text())


def mechanism_from_truth(truth: dict[str, Any], promo: np.ndarray) -> Mechanism:
    """A scenario tenant's :class:`~synthetic.mechanism.Mechanism` from its ``truth.json`` (``promo`` per day)."""
    s = truth["signal"]
    channels = {c: ChannelMechanism(adstock=v["adstock"], saturation=v["saturation"], link=v["weather_link"],
                                    roas_target=v["roas_target"], spend_scale=v["spend_scale"], beta=v["beta"])
                for c, v in truth["channels"].items()}
    return Mechanism(level=truth["level"], trend=s["trend_per_year"], fourier=np.asarray(s["fourier_yearly_log"]),
                     dow=np.asarray(s["dow_factors"]), holiday_uplift=s["holiday_uplift"], combine=s["combine"],
                     weather=s["weather"], promo=promo, channels=channels)


def _l_max(v: dict[str, Any]) -> int:
    return int(v["l_max"]) if "l_max" in v else int(v["adstock"]["l_max"])


class TruePlanRevenue:
    """Callable: a plan ``(C, D)`` (channels in ``channels`` order) → its true incremental revenue.

    Parameters
    ----------
    truth, daily
        The tenant's ``truth.json`` content and data table (daily).
    channels
        Channel order of the plans; channels the truth lacks earn nothing.
    days
        Plan length in days.
    """

    def __init__(self, truth: dict[str, Any], daily: pd.DataFrame, channels: list[str], days: int) -> None:
        self.channels, self.days = channels, days
        self.legacy = "adstock_alpha" in next(iter(truth["channels"].values()))
        self.params = truth["channels"]
        self.lag = max(_l_max(v) for v in self.params.values()) - 1
        self.hist = {c: daily[SPEND_PREFIX + c].to_numpy(float)[-self.lag:] if SPEND_PREFIX + c in daily else
                     np.zeros(self.lag) for c in channels}
        # After the plan the merchant goes on spending at today's level (the last 28 days' mean), as the allocator assumes.
        self.after = {c: float(np.nan_to_num(daily[SPEND_PREFIX + c].to_numpy(float)[-28:]).mean()) if SPEND_PREFIX + c in daily
                      else 0.0 for c in channels}
        if not self.legacy:
            self._scenario_setup(truth, daily)
        self.zero = self._revenue(np.zeros((len(channels), days)))

    def _scenario_setup(self, truth: dict[str, Any], daily: pd.DataFrame) -> None:
        """Future dates and average weather; demand on the future days (spend-free, so media-free)."""
        dates = pd.DatetimeIndex(daily[DATE])
        future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=self.days + self.lag, freq="D")
        avg = {TEMP: float(daily[TEMP].mean()), PRECIP: float(daily[PRECIP].mean()), "shock": ""}
        weather = pd.DataFrame({TEMP: daily[TEMP].to_numpy(float), PRECIP: daily[PRECIP].to_numpy(float),
                                "shock": ""}, index=dates)
        weather = pd.concat([weather, pd.DataFrame(avg, index=future)])
        all_dates = dates.append(future)
        self.mech = mechanism_from_truth(truth, np.zeros(len(all_dates)))
        none = {c: np.zeros(len(all_dates)) for c in self.mech.channels}
        n_fut = len(future)
        self.demand = forward(all_dates, weather, none, self.mech)["expected_revenue"][-n_fut:]
        # The tail window (carry-over lags + plan + carry-over days) and its weather, for the responses.
        self.tail_weather = weather.iloc[-(n_fut + self.lag):]

    def _series(self, c: str, row: np.ndarray) -> np.ndarray:
        """Spend of channel ``c``: the history's last lags, the plan, then today's level on the carry-over days."""
        return np.concatenate([self.hist[c], row, np.full(self.lag, self.after[c])])

    def _revenue(self, plan: np.ndarray) -> float:
        """Media-driven revenue on the plan and carry-over days (plus demand when multiplicative)."""
        n_fut = self.days + self.lag
        terms = []
        for j, c in enumerate(self.channels):
            v = self.params.get(c)
            if v is None:
                continue
            x = self._series(c, plan[j])
            if self.legacy:  # the default universe at average weather (z = 0: media multiplier 1)
                r = hill(geometric_adstock(x, v["adstock_alpha"], v["l_max"]) / v["spend_scale"], v["half_sat"], v["hill_shape"])
                terms.append(v["beta"] * r[-n_fut:])
            else:
                terms.append(self.mech.channels[c].beta * response(x, self.mech.channels[c], self.tail_weather)[-n_fut:])
        if self.legacy or self.mech.combine != "multiplicative":
            return float(np.sum(terms))
        return float((self.demand * np.prod([1 + t for t in terms], axis=0)).sum())

    def __call__(self, plan: np.ndarray) -> float:
        """True incremental revenue of ``plan`` ``(C, D)`` over the plan and carry-over days."""
        return self._revenue(np.asarray(plan, float)) - self.zero

