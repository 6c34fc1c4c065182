"""write_lake: round trip and atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthetic.universe import SimulatedTenant, write_lake


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip(small_universe: list[SimulatedTenant], tmp_path: Path, fmt: str) -> None:
    lake = write_lake(small_universe[:2], tmp_path / "lake", fmt=fmt)
    assert sorted(p.name for p in lake.iterdir()) == sorted(t.tenant_id for t in small_universe[:2])
    assert [p.name for p in tmp_path.iterdir()] == ["lake"]  # no temporary leftovers
    for t in small_universe[:2]:
        d = lake / t.tenant_id
        assert sorted(p.name for p in d.iterdir()) == sorted(
            [f"daily.{fmt}", "tenant.json", "truth.json", "truth_daily.parquet"])
        if fmt == "csv":
            back = pd.read_csv(d / "daily.csv")
            assert back["date"].iloc[0] == str(t.daily["date"].iloc[0].date())
            back["date"] = pd.to_datetime(back["date"])
        else:
            back = pd.read_parquet(d / "daily.parquet")
        pd.testing.assert_frame_equal(back, t.daily, check_dtype=False, check_exact=False, rtol=1e-12)
        assert json.loads((d / "tenant.json").read_text()) == t.meta
        truth = json.loads((d / "truth.json").read_text())
        assert truth["channels"]["meta"]["roas"] == t.truth["channels"]["meta"]["roas"]
        td = pd.read_parquet(d / "truth_daily.parquet")
        np.testing.assert_array_equal(td["expected_revenue"], t.truth_daily["expected_revenue"])


def test_existing_nonempty_raises_and_overwrite(small_universe: list[SimulatedTenant], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_lake(small_universe[:1], lake)
    assert [p.name for p in lake.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]
    write_lake(small_universe[:1], lake, overwrite=True)
    assert [p.name for p in lake.iterdir()] == [small_universe[0].tenant_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake"]
    empty = tmp_path / "empty"
    empty.mkdir()
    write_lake(small_universe[:1], empty, fmt="parquet")
    assert (empty / small_universe[0].tenant_id / "daily.parquet").exists()


def test_failure_leaves_nothing(small_universe: list[SimulatedTenant], tmp_path: Path) -> None:
    bad = SimulatedTenant("bad", {"x": object()}, small_universe[0].daily, {}, small_universe[0].truth_daily)
    with pytest.raises(TypeError):
        write_lake([small_universe[0], bad], tmp_path / "lake")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        write_lake([small_universe[0], small_universe[0]], tmp_path / "lake")
