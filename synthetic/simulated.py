"""The container of one simulated merchant: its data and its ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Forward", "SimulatedTenant"]

#: Noiseless daily revenue for a dict of daily spend per channel (the tenant's own generator).
Forward = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class SimulatedTenant:
    """One simulated merchant: its data and its ground truth.

    Attributes
    ----------
    tenant_id, meta : str, dict
        Id and ``tenant.json`` content.
    daily : pandas.DataFrame
        The data table at the tenant's ``cadence`` (daily rows, or weekly totals).
    truth, truth_daily : dict, pandas.DataFrame
        ``truth.json`` content and the true daily components (always daily).
    forward : callable or None
        The generator's noiseless revenue for other daily spend (counterfactuals).
    lift_tests : pandas.DataFrame or None
        ``lift_tests.csv`` content, when experiments were simulated.
    cadence : str
        ``daily`` or ``weekly``: the table's file name.
    """

    tenant_id: str
    meta: dict[str, Any]
    daily: pd.DataFrame
    truth: dict[str, Any]
    truth_daily: pd.DataFrame
    forward: Forward | None = field(default=None, repr=False, compare=False)
    lift_tests: pd.DataFrame | None = None
    cadence: str = "daily"
