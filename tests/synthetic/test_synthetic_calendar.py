"""US holiday calendar: exact dates and shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.data.calendar import HOLIDAY_COLUMNS, any_holiday, us_holidays

DATES = pd.date_range("2024-01-01", "2025-12-31")


def _days(col: str) -> list[str]:
    h = us_holidays(DATES)
    return list(h.index[h[col] == 1].strftime("%Y-%m-%d"))


@pytest.mark.parametrize(
    ("col", "expected"),
    [
        ("black_friday", ["2024-11-29", "2025-11-28"]),
        ("cyber_monday", ["2024-12-02", "2025-12-01"]),
        ("memorial_day", ["2024-05-27", "2025-05-26"]),
        ("mothers_day", ["2024-05-12", "2025-05-11"]),
        ("labor_day", ["2024-09-02", "2025-09-01"]),
        ("christmas", ["2024-12-25", "2025-12-25"]),
        ("new_year", ["2024-01-01", "2025-01-01"]),
    ],
)
def test_exact_dates(col: str, expected: list[str]) -> None:
    assert _days(col) == expected


def test_columns_and_christmas_rush() -> None:
    h = us_holidays(DATES)
    assert list(h.columns) == list(HOLIDAY_COLUMNS)
    assert set(np.unique(h.to_numpy())) == {0.0, 1.0}
    assert _days("christmas_rush")[:7] == [f"2024-12-{d}" for d in range(18, 25)]
    assert h["christmas_rush"].sum() == 14


def test_any_holiday_is_max_over_columns() -> None:
    flags = any_holiday(DATES)
    assert flags.shape == (len(DATES),)
    np.testing.assert_array_equal(flags, us_holidays(DATES).max(axis=1).to_numpy())
    assert flags.sum() == 2 * (9 + 7)
