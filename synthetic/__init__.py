"""Synthetic multi-tenant marketing-mix data with exact ground truth."""

from synthetic.scenarios import SCENARIOS, Scenario
from synthetic.universe import SimulatedTenant, simulate_universe, write_lake

__all__ = ["SCENARIOS", "Scenario", "SimulatedTenant", "simulate_universe", "write_lake"]
