"""Data-quality gates: each fails on the data it is meant to catch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_mmm.data.validate import FAIL, OK, WARN, check_frame, robust_z, validate_lake
from tests.bayes_mmm.test_data import good_frame, write_tenant


def status(table, check: str, tenant: str = "t") -> str:
    return table[(table.tenant == tenant) & (table.check == check)].status.item()


def test_synthetic_lake_passes_every_gate(tiny_lake: Path) -> None:
    table = validate_lake(tiny_lake)
    assert set(table.status) == {OK}
    assert table.tenant.nunique() == 3


def test_gates_fail_on_bad_data(tmp_path: Path) -> None:
    df = good_frame(100)  # < 120 days
    df.loc[:9, "revenue"] = np.nan  # 10 % missing
    df.loc[20:25, "spend_meta"] = 50_000.0  # ~180× the median: a unit slip, reported but not an error
    df.loc[40:45, "revenue"] = 100_000.0  # 6 % of days a hundredfold: a data error
    df["spend_google"] = 0.0  # channel without spend
    write_tenant(tmp_path, "t", df)
    table = validate_lake(tmp_path)
    assert status(table, "history") == FAIL
    assert status(table, "missing") == FAIL
    assert "column 'revenue' 10.0% missing, rows 1, 2, 3, 4, 5 and 5 more" in table[table.check == "missing"].detail.item()
    assert status(table, "revenue_outliers") == FAIL
    assert "column 'revenue' 6.0% of periods beyond robust z 10, rows 41, 42, 43, 44, 45 and 1 more" in table[
        table.check == "revenue_outliers"].detail.item()
    assert status(table, "spend_scale") == WARN
    assert "column 'spend_meta' above 50× its median" in table[table.check == "spend_scale"].detail.item()
    assert status(table, "zero_spend_channels") == WARN
    assert set(table[table.status == FAIL].level) == {"error"}
    assert set(table[table.status == WARN].level) == {"warning"}


def test_constant_revenue_fails(tmp_path: Path) -> None:
    df = good_frame(150)
    df["revenue"] = 1000.0
    path = write_tenant(tmp_path, "t", df)
    from bayes_mmm.data.lake import read_daily

    checks = {c.check: c for c in check_frame("t", read_daily(path))}
    assert checks["constant_revenue"].status == FAIL
    assert checks["history"].status == OK


def test_robust_z_flags_only_the_outlier() -> None:
    x = np.r_[np.linspace(90, 110, 99), 1000.0]
    z = robust_z(x)
    assert np.flatnonzero(np.abs(z) > 3.5).tolist() == [99]
