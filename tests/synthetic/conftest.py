"""Shared synthetic universes (built once per session)."""

from __future__ import annotations

import pytest

from synthetic.universe import SimulatedTenant, simulate_universe


@pytest.fixture(scope="session")
def small_universe() -> list[SimulatedTenant]:
    """6 tenants x 400 days, seed 0."""
    return simulate_universe(n_tenants=6, n_days=400, seed=0)


@pytest.fixture(scope="session")
def full_universe() -> list[SimulatedTenant]:
    """The default 20 tenants x 730 days, seed 0."""
    return simulate_universe(n_tenants=20, n_days=730, seed=0)
