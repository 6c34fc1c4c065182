"""Numbers read back from summary.json: a metric that could not be computed is stored as null (NaN on the way in)."""

from __future__ import annotations

import math

#: What a table or sentence shows for a metric that could not be computed.
MISSING = "–"


def value(x: float | None) -> float:
    """``x`` as a float, NaN for None: comparisons with NaN are False, so a missing metric passes no bar."""
    return math.nan if x is None else float(x)


def fmt(x: float | None, spec: str = ".2f") -> str:
    """``x`` formatted with ``spec``; :data:`MISSING` for None, NaN or infinity."""
    return format(x, spec) if math.isfinite(value(x)) else MISSING  # x itself: an int stays an int
