"""Walk-forward CV: folds never look ahead, preprocessing is fitted on training days only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.analysis.cv import (
    metrics,
    naive_seasonal,
    pass_rate,
    ridge_baseline,
    walk_forward,
    walk_forward_folds,
)
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import SamplerConfig
from bayes_mmm.model.design import build_design


def test_folds_expand_and_never_overlap() -> None:
    observed = np.ones((2, 100), dtype=bool)
    observed[1, :20] = False  # second tenant starts later
    folds = walk_forward_folds(observed, n_folds=5, first_train=0.5)
    assert len(folds) == 5
    prev = 0
    for f in folds:
        for i in range(2):
            tr, te = np.flatnonzero(f.train[i]), np.flatnonzero(f.test[i])
            assert tr.max() < te.min()  # train strictly before test
            assert not (f.train[i] & f.test[i]).any()
        assert f.train[0].sum() > prev
        prev = f.train[0].sum()
    assert folds[0].train[0].sum() == 50 and folds[0].train[1].sum() == 40
    assert sum(f.test[0].sum() for f in folds) == 50


def test_design_ignores_future_data(tiny_lake: Path) -> None:
    """Changing revenue, spend or weather after the training window must not change anything fitted on it."""
    ds = load_lake(tiny_lake)
    train = np.zeros(ds["observed"].shape, dtype=bool)
    train[:, :150] = True
    a = build_design(ds, ModelSpec(), train)
    future = ds.copy(deep=True)
    future["revenue"][:, 150:] *= 3.0
    future["temp_c"][:, 150:] += 10.0
    future["precip_mm"][:, 150:] *= 2.0
    b = build_design(future, ModelSpec(), train)
    np.testing.assert_allclose(a.y_scale, b.y_scale)
    np.testing.assert_allclose(a.spend_scale, b.spend_scale)
    assert a.weather_stats == b.weather_stats
    np.testing.assert_allclose(a.Q, b.Q)
    np.testing.assert_allclose(a.Rinv, b.Rinv)
    np.testing.assert_allclose(a.y, b.y)
    # ...while the full-window design does see the change (the test can fail).
    assert not np.allclose(build_design(ds).y_scale, build_design(future).y_scale)
    # The ridge baseline's holdout prediction cannot depend on holdout revenue.
    only_revenue = ds.copy(deep=True)
    only_revenue["revenue"][:, 150:] *= 3.0
    c = build_design(only_revenue, ModelSpec(), train)
    test = ~train[0]
    np.testing.assert_allclose(ridge_baseline(a, 0, test), ridge_baseline(c, 0, test))


def test_baselines_and_metrics() -> None:
    dates = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))
    y = 100 + 10 * (dates.astype("int64") % 7 == 3)
    train = np.arange(len(dates)) < 40
    pred = naive_seasonal(y.astype(float), dates, train, ~train)
    np.testing.assert_allclose(pred, y[~train])  # a purely weekly series is predicted exactly
    m = metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert m["r2"] == 1.0 and m["mape"] == 0.0


@pytest.fixture(scope="module")
def cv_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Over a year of training data: yearly seasonality cannot be extrapolated from less.
    from synthetic import simulate_universe, write_lake

    return write_lake(simulate_universe(n_tenants=2, n_days=540, seed=11), tmp_path_factory.mktemp("cv") / "lake")


@pytest.fixture(scope="module")
def cv_result(cv_lake: Path):
    sampler = SamplerConfig(chains=2, draws=150, tune=150, progress=False)
    return walk_forward(load_lake(cv_lake), sampler=sampler, n_folds=2, first_train=0.7, progress=False)


def test_walk_forward_meets_the_bar_and_beats_baselines(cv_result) -> None:
    rain, medium = cv_result["extreme_rain_gear"], cv_result["medium_clothing"]
    assert [f["fold"] for f in rain["folds"]] == [0, 1]
    assert rain["folds"][0]["train_days"] == 378 < rain["folds"][1]["train_days"]
    assert rain["r2_mean"] >= 0.65 and medium["r2_mean"] >= 0.45
    for t in (rain, medium):
        assert t["r2_mean"] > t["naive_r2_mean"]
        assert t["mape_mean"] < 15
    assert rain["rmse_mean"] < rain["baseline_rmse_mean"]
    assert pass_rate(cv_result) == np.mean([t["verdict"]["go"] for t in cv_result.values()])


@pytest.mark.slow  # a second full walk-forward CV; the CV path keeps a real run in cv_result
def test_model_without_media_scores_worse_in_cv(cv_lake: Path, cv_result) -> None:
    broken = walk_forward(load_lake(cv_lake), ModelSpec(media=False), SamplerConfig(chains=2, draws=150, tune=150, progress=False),
                          n_folds=2, first_train=0.7, progress=False)
    for t in ("extreme_rain_gear", "medium_clothing"):
        assert broken[t]["rmse_mean"] > cv_result[t]["rmse_mean"]
        assert broken[t]["r2_mean"] < cv_result[t]["r2_mean"]


@pytest.mark.slow  # heavy real fit; run with --run-slow (kept out of the 15-minute default suite)
def test_late_starting_tenant_sits_out_folds_without_enough_history(cv_lake: Path, tmp_path: Path) -> None:
    import shutil

    import pandas as pd

    lake = tmp_path / "lake"
    shutil.copytree(cv_lake, lake)
    short = lake / "medium_clothing" / "daily.csv"
    pd.read_csv(short).tail(160).to_csv(short, index=False)  # fold 0 would train on 112 days
    cv = walk_forward(load_lake(lake), sampler=SamplerConfig(chains=2, draws=60, tune=60, progress=False), n_folds=2,
                      first_train=0.7, progress=False)
    assert [f["fold"] for f in cv["extreme_rain_gear"]["folds"]] == [0, 1]
    assert [f["fold"] for f in cv["medium_clothing"]["folds"]] == [1]
    assert cv["medium_clothing"]["folds"][0]["train_days"] == 136


def test_cv_command_warns_about_unconverged_folds_and_sizes_fold_fits_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Plumbing: the CLI names the folds whose fit failed the gate (1-based); by default (or --draws 0) fold fits are sized as fit's."""
    from typer.testing import CliRunner

    import bayes_mmm.api
    from bayes_mmm.analysis.cv import unconverged_folds
    from bayes_mmm.surfaces.cli import app

    def fold(k: int, ok: bool) -> dict:
        return {"fold": k, "converged": ok, "r2": 0.5}

    entry = {"r2_mean": 0.5, "mape_mean": 9.0, "naive_r2_mean": 0.1, "ridge_r2_mean": 0.4, "verdict": {"go": True, "reasons": []}}
    cvs = {"a": entry | {"folds": [fold(0, True), fold(1, False), fold(2, False)]},
           "b": entry | {"folds": [fold(0, True), fold(1, False), fold(2, False)]}}
    assert unconverged_folds(cvs) == [1, 2]
    seen = {}

    def fake_cv_run(data, run, n_folds, sampler_kwargs, allow_gates, console):
        seen.update(sampler_kwargs)
        return {"tenants": {t: {"cv": e} for t, e in cvs.items()}}

    monkeypatch.setattr(bayes_mmm.api, "cv_run", fake_cv_run)
    res = CliRunner().invoke(app, ["cv", str(tmp_path), "--data", str(tmp_path), "--folds", "3"])
    assert res.exit_code == 0, res.output
    assert seen == {"draws": None, "tune": None}
    assert "2 of 3 fold fits did not converge (folds 2, 3)" in " ".join(res.output.split())
    assert "Try longer chains (--draws 2000;" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["cv", str(tmp_path), "--data", str(tmp_path), "--folds", "3", "--draws", "300", "--tune", "200"])
    assert res.exit_code == 0 and seen == {"draws": 300, "tune": 200} and "Try longer chains (--draws 600;" in " ".join(res.output.split())
    cvs = {"a": entry | {"folds": [fold(0, True)]}}
    res = CliRunner().invoke(app, ["cv", str(tmp_path), "--data", str(tmp_path), "--folds", "1", "--draws", "0"])
    assert res.exit_code == 0 and "did not converge" not in res.output and seen["draws"] is None


@pytest.mark.parametrize(("cadence", "periods", "refused"), [("weekly", 156, False), ("weekly", 78, True),
                                                             ("daily", 260, False), ("daily", 230, True)])
def test_cv_history_is_counted_in_the_lake_s_own_periods(cadence: str, periods: int, refused: bool) -> None:
    """A weekly lake needs 40 weeks in its first training window (half the weeks), a daily one 120 days."""
    import xarray as xr

    from bayes_mmm.api import check_cv_history
    from bayes_mmm.core.errors import DataError

    ds = xr.Dataset({"observed": (("tenant", "date"), np.ones((1, periods), bool))}, attrs={"cadence": cadence})
    if not refused:
        check_cv_history(ds, 5)
        return
    unit, need = ("weeks", 40) if cadence == "weekly" else ("days", 120)
    with pytest.raises(DataError, match=f"trains on the first 50% of each tenant's {unit}, and the longest tenant's has {periods // 2}, fewer than {need} {unit}") as exc:
        check_cv_history(ds, 5)
    assert exc.value.hint == f"CV needs {2 * need} {unit} of history or more, whatever the folds"


@pytest.mark.parametrize(("cadence", "folds", "block"), [("daily", 26, 7), ("daily", 27, 6), ("weekly", 19, 4), ("weekly", 20, 3)])
def test_cv_refuses_folds_too_short_to_score(cadence: str, folds: int, block: int) -> None:
    """365 days leave 183 test days (26 folds of 7 at most); 156 weeks 78 (19 folds of 4): one more fold is refused."""
    import xarray as xr

    from bayes_mmm.api import check_cv_history
    from bayes_mmm.core.errors import DataError

    periods = 365 if cadence == "daily" else 156
    ds = xr.Dataset({"observed": (("tenant", "date"), np.ones((2, periods), bool))}, attrs={"cadence": cadence})
    ds["observed"][1, 200:] = False  # a shorter tenant: the longest one decides
    if block >= (7 if cadence == "daily" else 4):
        check_cv_history(ds, folds)
        return
    unit = "days" if cadence == "daily" else "weeks"
    with pytest.raises(DataError, match=f"{folds} folds leave test blocks of {block} {unit}, fewer than") as exc:
        check_cv_history(ds, folds)
    assert exc.value.hint == f"use at most {folds - 1} folds (--folds)"
