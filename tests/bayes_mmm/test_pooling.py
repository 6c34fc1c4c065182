"""Partial pooling lets a short-history tenant borrow strength from the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import SamplerConfig, fit


@pytest.fixture(scope="module")
def lake_with_short_tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthetic import simulate_universe, write_lake

    # The others over a year, so only the short tenant's yearly terms are shrunk (session 21's prior).
    lake = write_lake(simulate_universe(n_tenants=8, n_days=400, seed=5), tmp_path_factory.mktemp("pool") / "lake")
    short = lake / "none_books" / "daily.csv"
    pd.read_csv(short).tail(120).to_csv(short, index=False)
    return lake


def roas_width(result, tenant: str) -> np.ndarray:
    q = result.idata.posterior["roas"].sel(tenant=tenant).quantile([0.05, 0.95], dim=("chain", "draw")).values
    return q[1] - q[0]


def test_pooling_narrows_the_short_tenant(lake_with_short_tenant: Path) -> None:
    ds = load_lake(lake_with_short_tenant)
    assert int(ds["observed"].sel(tenant="none_books").sum()) == 120
    sampler = SamplerConfig(chains=2, draws=300, tune=300, seed=2, progress=False)
    pooled = fit(ds, ModelSpec(), sampler)
    unpooled = fit(ds, ModelSpec(pooled=False), sampler)
    w_pooled, w_unpooled = roas_width(pooled, "none_books"), roas_width(unpooled, "none_books")
    assert w_pooled.mean() < 0.8 * w_unpooled.mean(), (w_pooled, w_unpooled)
    # The long tenants barely change: pooling matters where data is scarce.
    long_ratio = roas_width(pooled, "extreme_rain_gear").mean() / roas_width(unpooled, "extreme_rain_gear").mean()
    assert long_ratio > w_pooled.mean() / w_unpooled.mean()
