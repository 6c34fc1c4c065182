"""Real fits of lakes the model was not first written for: weekly data, tenants without weather."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.api import fit_lake


def true_roas(lake: Path, tid: str) -> dict[str, float]:
    return {ch: v["roas"] for ch, v in json.loads((lake / tid / "truth.json").read_text())["channels"].items()}


@pytest.fixture(scope="module")
def mixed_weather_fit(tmp_path_factory: pytest.TempPathFactory):
    from synthetic import simulate_universe, write_lake

    lake = tmp_path_factory.mktemp("mixed") / "lake"
    write_lake(simulate_universe(n_tenants=4, n_days=365, seed=21, weather="mixed"), lake)
    out = tmp_path_factory.mktemp("run") / "run"
    summary = fit_lake(lake, "all", out, sampler_kwargs={"chains": 2, "draws": 300, "tune": 300, "seed": 2, "progress": False})
    return lake, summary


def test_tenants_without_weather_fit_jointly_and_say_so(mixed_weather_fit) -> None:
    lake, summary = mixed_weather_fit
    for tid, entry in summary["tenants"].items():
        header = (lake / tid / "daily.csv").read_text().splitlines()[0].split(",")
        has = "temp_c" in header
        assert entry["weather"] is has, tid
        el = entry["weather_elasticity"]["temp_c"]
        assert (el is None or np.isnan(el)) if not has else np.isfinite(el)
    assert {e["weather"] for e in summary["tenants"].values()} == {True, False}  # the lake really mixes both


def test_weather_less_tenants_still_recover_roas(mixed_weather_fit) -> None:
    lake, summary = mixed_weather_fit
    errs = []
    for tid, entry in summary["tenants"].items():
        for ch, truth in true_roas(lake, tid).items():
            errs.append(abs(entry["roas"][ch]["mean"] - truth) / truth)
    assert np.median(errs) < 0.25, errs


def test_a_weekly_lake_fits_end_to_end(tmp_path: Path) -> None:
    from synthetic import simulate_universe, write_lake

    lake = tmp_path / "lake"
    write_lake(simulate_universe(n_tenants=3, n_days=728, seed=8, cadence="weekly"), lake)
    summary = fit_lake(lake, "all", tmp_path / "run", sampler_kwargs={"chains": 2, "draws": 300, "tune": 300, "seed": 1, "progress": False})
    assert summary["data"]["cadence"] == "weekly"
    assert summary["tenants"][next(iter(summary["tenants"]))]["n_days"] == 104  # periods, not days
    errs = [abs(summary["tenants"][t]["roas"][ch]["mean"] - r) / r for t in summary["tenants"] for ch, r in true_roas(lake, t).items()]
    assert np.median(errs) < 0.35, errs
