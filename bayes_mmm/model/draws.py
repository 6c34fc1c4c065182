"""Posterior draws as plain arrays: the one way (chain, draw) become a single sample axis."""

from __future__ import annotations

import numpy as np
import xarray as xr


def stacked(da: xr.DataArray, idx: np.ndarray | None = None) -> np.ndarray:
    """Draws of ``da`` with (chain, draw) merged into a first ``sample`` axis, chain-major.

    The other dims keep their order. ``idx`` picks a subset of samples (e.g.
    evenly spaced ones for plots).
    """
    out = da.transpose("chain", "draw", ...).values
    out = out.reshape(-1, *out.shape[2:])
    return out if idx is None else out[idx]
