"""Synthetic multi-tenant marketing-mix data with exact ground truth."""

from synthetic.universe import SimulatedTenant, simulate_universe, write_lake

__all__ = ["SimulatedTenant", "simulate_universe", "write_lake"]
