"""Weather class of a tenant: tenant.json when given, else fixed cuts of its own weather score; never its id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_mmm.analysis.verdict import derived_verdict
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.lake import load_lake
from bayes_mmm.data.sensitivity import (
    THRESHOLDS,
    class_of_score,
    dataset_sensitivity,
    sensitivity,
    weather_score,
    weather_scores,
)


def test_thresholds_are_pinned() -> None:
    # Changing them changes every go/no-go: re-derive them with tests/fixtures/sensitivity_scores.py first.
    assert THRESHOLDS == (("extreme", 0.66), ("high", 0.45), ("medium", 0.15))
    cases = {0.9: "extreme", 0.66: "extreme", 0.6599: "high", 0.45: "high", 0.3: "medium", 0.15: "medium", 0.149: "none", 0.0: "none"}
    assert {s: class_of_score(s) for s in cases} == cases
    assert class_of_score(None) == "medium"


def test_score_is_the_partial_r2_of_weather() -> None:
    # Revenue = weekday pattern + trend + 2 °C-driven units per sd + noise of sd 1: weather explains 4 / (4 + 1) beyond the rest.
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=3000, freq="D")
    temp = rng.normal(15, 8, len(dates))
    y = 100 + 3 * (dates.day_of_week == 5) + 0.002 * np.arange(len(dates)) + 2 * (temp - 15) / 8 + rng.normal(0, 1, len(dates))
    assert weather_score(y, dates, temp, np.zeros(len(dates))) == pytest.approx(0.8, abs=0.02)
    no_weather = 100 + rng.normal(0, 1, len(dates))
    assert weather_score(no_weather, dates, temp, np.zeros(len(dates))) < 0.01
    assert weather_score(y, dates, np.full(len(dates), np.nan), np.zeros(len(dates))) is None
    assert sensitivity(None, None) == {"class": "medium", "source": "default", "score": None}


@pytest.fixture(scope="module")
def year_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A strongly weather-driven tenant (rain gear in Seattle) and a weather-blind one, 365 days, ids without a class."""
    from synthetic import simulate_universe, write_lake

    tenants = simulate_universe(3, 365, seed=0)
    lake = write_lake([tenants[0], tenants[2]], tmp_path_factory.mktemp("sens") / "lake")
    for old, new in (("extreme_rain_gear", "shop-a"), ("none_books", "shop-b")):
        (lake / old).rename(lake / new)
        meta = json.loads((lake / new / "tenant.json").read_text())
        (lake / new / "tenant.json").write_text(json.dumps({**meta, "tenant_id": new}))
    return lake


def test_class_estimated_from_the_data_when_tenant_json_is_silent(year_lake: Path) -> None:
    rec = dataset_sensitivity(load_lake(year_lake))
    scores = weather_scores(year_lake, ["shop-a", "shop-b"])
    assert rec["shop-a"] == {"class": "extreme", "source": "estimated", "score": round(scores["shop-a"], 4)}
    assert rec["shop-b"]["class"] == "none" and rec["shop-b"]["source"] == "estimated"
    assert scores["shop-a"] == pytest.approx(0.738, abs=0.002)
    # Training days only: the class of a CV fold cannot look ahead.
    ds = load_lake(year_lake)
    train = np.zeros(ds["observed"].shape, bool)
    train[:, :200] = True
    assert dataset_sensitivity(ds, train)["shop-a"]["score"] != rec["shop-a"]["score"]


def test_tenant_json_wins_over_id_and_data(small_lake_copy: Path) -> None:
    meta = small_lake_copy / "extreme_rain_gear" / "tenant.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "sensitivity": "none"}))
    rec = dataset_sensitivity(load_lake(small_lake_copy))
    assert rec["extreme_rain_gear"]["class"] == "none" and rec["extreme_rain_gear"]["source"] == "tenant.json"
    assert rec["medium_clothing"]["source"] == "estimated"
    # In-sample R² 0.3 passes the none bar (0.15); the id's "extreme" would ask 0.65.
    summary = {"convergence": {"ok": True}, "tenants": {"extreme_rain_gear": {"fit": {"r2": 0.3}, "sensitivity": rec["extreme_rain_gear"]}}}
    assert derived_verdict(summary, "extreme_rain_gear")["go"] is True


def test_bad_sensitivity_in_tenant_json_names_file_and_column(small_lake_copy: Path) -> None:
    meta = small_lake_copy / "none_books" / "tenant.json"
    meta.write_text(json.dumps({"tenant_id": "none_books", "sensitivity": "very"}))
    with pytest.raises(DataError) as err:
        dataset_sensitivity(load_lake(small_lake_copy))
    msg = str(err.value)
    assert "none_books/tenant.json" in msg and "sensitivity" in msg and "'very' is not one of extreme, high, medium, none" in msg


@pytest.fixture
def small_lake_copy(stored_lake: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(stored_lake, tmp_path / "lake"))


def test_run_records_the_class_at_fit_time(stored_run: Path, stored_lake: Path) -> None:
    summary = json.loads((stored_run / "summary.json").read_text())
    scores = weather_scores(stored_lake, summary["data"]["tenants"])
    for t, entry in summary["tenants"].items():
        assert entry["sensitivity"] == {"class": class_of_score(scores[t]), "source": "estimated", "score": round(scores[t], 4)}
