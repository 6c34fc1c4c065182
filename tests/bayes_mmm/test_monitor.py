"""Drift monitoring on a tiny real fit: a regime change is flagged, a plain continuation is not; bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.analysis.monitor import bias_stats, feature_drift, media_drift, window_means_sd
from bayes_mmm.surfaces.cli import app
from synthetic import simulate_universe, write_lake
from synthetic.continuation import continue_lake

runner = CliRunner()
NEW_DAYS = 60


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """3 tenants × 365 days fitted (2 × 200 draws); a plain and a roas-halves continuation of 60 days."""
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference.fit import SamplerConfig, fit
    from bayes_mmm.runs.summary import save_run

    root = tmp_path_factory.mktemp("monitor")
    lake = write_lake(simulate_universe(n_tenants=3, n_days=365, seed=11), root / "lake")
    run = root / "run"
    save_run(fit(load_lake(lake), sampler=SamplerConfig(chains=2, draws=200, tune=200, seed=1, progress=False)), run, lake=lake)
    first = sorted(p.name for p in lake.iterdir())[0]
    plain = write_lake(continue_lake(lake, NEW_DAYS), root / "plain")
    changed = write_lake(continue_lake(lake, NEW_DAYS, "roas_halves:meta@2024-12-31", [first]), root / "changed")
    return {"root": root, "lake": lake, "run": run, "plain": plain, "changed": changed, "first": first}


def test_regime_change_is_flagged_retrain_and_plain_continuation_is_not(setting: dict) -> None:
    out = setting["root"] / "m_changed.json"
    res = runner.invoke(app, ["monitor", str(setting["run"]), "--data", str(setting["changed"]), "--out", str(out)])
    assert res.exit_code == 3, res.output
    report = json.loads(out.read_text())
    assert report["checked"] == {"start": "2024-12-31", "end": "2025-02-28", "periods": NEW_DAYS}
    first = report["tenants"][setting["first"]]
    assert first["action"] == "retrain" and first["model_drift"] is True
    assert first["bias_sigma"] < -0.5  # revenue below the forecast: meta earns half
    others = {t: e["model_drift"] for t, e in report["tenants"].items() if t != setting["first"]}
    assert others == {t: False for t in others}

    plain = runner.invoke(app, ["monitor", str(setting["run"]), "--data", str(setting["plain"])])
    report = json.loads((setting["run"] / "monitor.json").read_text())
    assert [e["model_drift"] for e in report["tenants"].values()] == [False, False, False], plain.output
    assert report["run_id"] == json.loads((setting["run"] / "summary.json").read_text())["run_id"]


def test_metrics_match_an_independent_computation(setting: dict) -> None:
    from bayes_mmm.api import monitor_lake

    rep = monitor_lake(setting["run"], setting["plain"], setting["root"] / "m.json")
    # the unchanged tenants score identically on the changed lake (their rows are the same)
    rep2 = monitor_lake(setting["run"], setting["changed"], setting["root"] / "m2.json")
    for t in rep["tenants"]:
        if t != setting["first"]:
            assert rep["tenants"][t]["r2"] == rep2["tenants"][t]["r2"]
    for e in rep["tenants"].values():
        assert 0.75 <= e["coverage_90"] <= 1.0  # a calibrated band on data from the same process
        assert e["reference"]["source"] == "in_sample"


def test_a_tenant_with_fewer_new_periods_than_the_others_is_judged_on_its_own_rows(setting: dict) -> None:
    """Periods the lake's other tenants add are not this tenant's: no spend there is not a drop in its spend."""
    from bayes_mmm.api import monitor_lake

    first, root = setting["first"], setting["root"]
    ten = _edit(setting["plain"], root / "ten_all", None, lambda d: d.iloc[:-(NEW_DAYS - 10)])
    ten_first = _edit(setting["plain"], root / "ten_first", first, lambda d: d.iloc[:-(NEW_DAYS - 10)])
    alone = monitor_lake(setting["run"], ten, root / "m_ten.json")["tenants"][first]
    beside = monitor_lake(setting["run"], ten_first, root / "m_ten_first.json")["tenants"][first]
    assert beside["n"] == alone["n"] == 10
    assert not [d for d in beside["data_drift"] if d.startswith("spend_")], beside["data_drift"]
    assert beside["data_drift"] == alone["data_drift"]
    # the same rows score the same: the tenant's own draws, and the run's trend, whatever else the lake holds
    for key in ("r2", "mape", "coverage_90", "bias_sigma"):
        assert beside[key] == pytest.approx(alone[key], rel=1e-9, abs=1e-12), key


def test_the_monitors_design_on_the_runs_window_is_the_fits_own(setting: dict) -> None:
    """An extended lake moves the middle of the date axis; the trend keeps the run's zero, so its coefficients mean the same."""
    from bayes_mmm.analysis.monitor import check_lake, load_extended, run_trend_centre
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.model.design import build_design

    summary = json.loads((setting["run"] / "summary.json").read_text())
    spec = ModelSpec.from_dict(summary["config"]["spec"])
    fitted = build_design(load_lake(setting["lake"]), spec)
    ds, _ = load_extended(setting["plain"], summary)
    w = check_lake(ds, summary, setting["plain"])
    extended = build_design(ds, spec, w.train, run_trend_centre(summary))
    n = fitted.X.shape[1]
    np.testing.assert_allclose(extended.X[:, :n], fitted.X, rtol=0, atol=1e-12)
    assert np.allclose(extended.X[:, n:, 1], extended.X[:, n - 1, 1][:, None] + np.arange(1, NEW_DAYS + 1) / 365.25)  # runs on
    drifted = build_design(ds, spec, w.train)  # the old way: the trend's zero at the extended lake's middle
    assert not np.allclose(drifted.X[:, :n, 1], fitted.X[:, :, 1])


def test_never_overwrites_a_foreign_file(setting: dict) -> None:
    target = setting["root"] / "foreign.json"
    target.write_text('{"mine": true}')
    res = runner.invoke(app, ["monitor", str(setting["run"]), "--data", str(setting["plain"]), "--out", str(target)])
    assert res.exit_code == 2 and "exists and is not a monitor.json of this run; pass --force" in " ".join(res.output.split())
    assert json.loads(target.read_text()) == {"mine": True}
    res = runner.invoke(app, ["monitor", str(setting["run"]), "--data", str(setting["plain"]), "--out", str(target), "--force"])
    assert res.exit_code in (0, 3), res.output  # 3 when some tenant shows data drift (investigate)
    assert json.loads(target.read_text())["created_by"] == "bayes-mmm monitor"


def _edit(src: Path, dst: Path, tenant: str | None, fn) -> Path:
    """Copy a lake and rewrite one tenant's table (every tenant's with ``None``)."""
    shutil.copytree(src, dst)
    for path in [dst / tenant / "daily.csv"] if tenant else sorted(dst.glob("*/daily.csv")):
        fn(pd.read_csv(path)).to_csv(path, index=False)
    return dst


def _weekly(src: Path, dst: Path) -> Path:
    """The same lake summed into Monday weeks (weekly.csv), as an export of the same shops by week."""
    shutil.copytree(src, dst)
    for path in sorted(dst.glob("*/daily.csv")):
        d = pd.read_csv(path, parse_dates=["date"]).set_index("date")
        summed = [c for c in d.columns if c == "revenue" or c.startswith("spend_") or c in ("precip_mm", "snow_cm")]
        how = {c: "sum" if c in summed else "max" if c in ("holiday", "event") else "mean" for c in d.columns}
        weeks = d.resample("W-MON", label="left", closed="left").agg(how)
        weeks = weeks[weeks.index >= d.index[0]].iloc[:-1]  # whole weeks only
        weeks.reset_index().assign(date=lambda w: w["date"].dt.strftime("%Y-%m-%d")).to_csv(path.with_name("weekly.csv"), index=False)
        path.unlink()
    return dst


@pytest.mark.parametrize(("case", "message"), [
    ("no_new", "no periods after the run's window (lake ends 2024-12-30, run ends 2024-12-30)"),
    ("overlap", "spend_meta in the run's window differs from the run's"),
    ("revenue_rewritten", "revenue in the run's window differs from the run's"),
    ("missing_tenant", "tenants of the run missing from the lake"),
    ("missing_channel", "channel(s) of the run missing from the lake: email"),
    ("one_tenant_lost_a_channel", "spend_email is missing or 0 in the run's window, where the run had"),
    ("weekly_lake", "the lake is weekly and the run was fitted on daily data"),
])
def test_bad_input_is_one_line_exit_2(setting: dict, tmp_path: Path, case: str, message: str) -> None:
    first = setting["first"]
    lake = {
        "no_new": lambda: setting["lake"],
        "overlap": lambda: _edit(setting["plain"], tmp_path / "l", first,
                                 lambda d: d.assign(spend_meta=np.where(d.index == 10, d["spend_meta"] + 100, d["spend_meta"]))),
        "revenue_rewritten": lambda: _edit(setting["plain"], tmp_path / "l", first,
                                           lambda d: d.assign(revenue=np.where(d.index == 10, d["revenue"] * 1.5, d["revenue"]))),
        "missing_tenant": lambda: (shutil.copytree(setting["plain"], tmp_path / "l"), shutil.rmtree(tmp_path / "l" / first))[0],
        "missing_channel": lambda: _edit(setting["plain"], tmp_path / "l", None, lambda d: d.drop(columns="spend_email")),
        "one_tenant_lost_a_channel": lambda: _edit(setting["plain"], tmp_path / "l", first, lambda d: d.drop(columns="spend_email")),
        "weekly_lake": lambda: _weekly(setting["plain"], tmp_path / "l"),
    }[case]()
    res = runner.invoke(app, ["monitor", str(setting["run"]), "--data", str(lake), "--out", str(tmp_path / "m.json")])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1 or res.output.count("error:") == 1


def test_new_channel_is_data_drift_not_a_crash(setting: dict, tmp_path: Path) -> None:
    from bayes_mmm.api import monitor_lake

    lake = write_lake(continue_lake(setting["lake"], NEW_DAYS, "new_channel:tiktok@2025-01-10", [setting["first"]]), tmp_path / "l")
    rep = monitor_lake(setting["run"], lake, tmp_path / "m.json")
    assert "new channel: tiktok" in rep["tenants"][setting["first"]]["data_drift"]
    assert rep["tenants"][setting["first"]]["action"] in ("investigate", "retrain")
    assert all("new channel: tiktok" not in e["data_drift"] for t, e in rep["tenants"].items() if t != setting["first"])


def test_bias_z_accounts_for_autocorrelation() -> None:
    rng = np.random.default_rng(0)
    white = rng.normal(0.5, 1.0, 400)
    s = bias_stats(white, sigma=1.0)
    assert s["bias_sigma"] == pytest.approx(white.mean())
    assert s["bias_z"] == pytest.approx(white.mean() / (white.std(ddof=1) / np.sqrt(400)), rel=0.15)
    ar = np.zeros(400)
    for t in range(1, 400):
        ar[t] = 0.8 * ar[t - 1] + rng.normal()
    assert abs(bias_stats(ar + 0.5, 1.0)["bias_z"]) < abs(bias_stats(ar + 0.5, 1.0)["mean_residual"]) / (ar.std() / 20) / 2


def test_media_drift_names_the_channel_whose_effect_moved() -> None:
    rng = np.random.default_rng(2)
    n = 56
    contrib = np.stack([rng.gamma(4.0, 25.0, n), rng.gamma(4.0, 50.0, n)])  # meta ≈ 100/day, google ≈ 200/day
    noise = rng.normal(0.0, 30.0, n)
    # meta halves: revenue loses half its predicted contribution, ≈ 1.7 noise sds on average
    flagged = media_drift(noise - 0.5 * contrib[0], contrib, ["meta", "google"])
    assert len(flagged) == 1 and flagged[0].startswith("media: meta's effect -")
    assert int(flagged[0].split("effect ")[1].split("%")[0]) == pytest.approx(-50, abs=10)  # κ = −0.5 went in
    assert media_drift(noise, contrib, ["meta", "google"]) == []  # nothing changed
    assert media_drift(noise - 0.1 * contrib[0], contrib, ["meta", "google"]) == []  # significant maybe, but only 10 %
    assert media_drift(noise + 60.0, contrib, ["meta", "google"]) == []  # a level shift is the baseline's, not a channel's
    assert media_drift(noise, np.zeros((2, n)), ["meta", "google"]) == []  # no spend: nothing to regress on
    paused = np.stack([contrib[0], np.full(n, 1e-12)])  # the Hill floor of a paused channel is not a regressor
    assert media_drift(noise - 0.5 * contrib[0], paused, ["meta", "google"])[0].startswith("media: meta's effect -")
    assert media_drift(noise[:14] - 0.5 * contrib[0, :14], contrib[:, :14], ["meta", "google"]) == []  # 14 days: too few


def test_feature_drift_rules() -> None:
    x = np.tile([1.0, 3.0], 100)
    assert window_means_sd(x, 2) == pytest.approx(0.0)
    rng = np.random.default_rng(1)
    train = rng.normal(10, 2, 365)
    assert feature_drift("spend_meta", train, rng.normal(10, 2, 60)) == []
    assert feature_drift("spend_meta", train, rng.normal(14, 2, 60))[0].startswith("spend_meta: mean 14")
    new_channel = feature_drift("spend_google", np.zeros(365), np.full(60, 253.7))  # was "+253712000000.0 sd"
    assert new_channel == ["spend_google: mean 253.7 vs 0.0, constant in training (a channel that starts spending: "
                           "the run knows nothing of its effect)"]
    assert feature_drift("spend_tv", np.full(730, 0.1), np.full(28, 0.1)) == []  # the same spend: rounding is no drift
    assert feature_drift("snow_cm", np.zeros(365), np.r_[np.zeros(59), 12.0]) == [
        "snow_cm: mean 0.2 vs 0.0, constant in training (the run never saw it vary)"]
    stuck = feature_drift("temp_c", train, np.full(60, 9.9))
    assert stuck == ["temp_c: stuck (100% of periods repeat the one before, 0% in training)"]


def test_each_tenant_is_scored_after_its_own_last_fitted_day(tmp_path: Path) -> None:
    """A tenant whose data ended early is scored on its days after that; one without new revenue is listed, not scored."""
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference.fit import SamplerConfig, fit
    from bayes_mmm.runs.summary import save_run

    full = write_lake(simulate_universe(n_tenants=2, n_days=200, seed=4), tmp_path / "full")
    early, late = sorted(p.name for p in full.iterdir())
    # the run's lake: `early` stops 30 days before `late` does
    short = _edit(full, tmp_path / "short", early, lambda d: d.iloc[:-30])
    run = tmp_path / "run"
    save_run(fit(load_lake(short), sampler=SamplerConfig(chains=2, draws=100, tune=100, seed=1, progress=False)), run, lake=short)
    summary = json.loads((run / "summary.json").read_text())
    dates = pd.read_csv(full / late / "daily.csv")["date"]
    assert summary["data"]["end"] == dates.iloc[-1]
    assert (summary["tenants"][early]["end"], summary["tenants"][late]["end"]) == (dates.iloc[-31], dates.iloc[-1])

    # new data: `early`'s last 30 days arrive, `late` has nothing new yet
    res = runner.invoke(app, ["monitor", str(run), "--data", str(full), "--out", str(tmp_path / "m.json")])
    assert res.exit_code in (0, 3), res.output
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["checked"] == {"start": dates.iloc[-30], "end": dates.iloc[-1], "periods": 30}
    assert list(report["tenants"]) == [early]
    assert report["not_checked"] == {late: f"no revenue after its last fitted period {dates.iloc[-1]}"}
    assert f"{late}: not checked" in res.output
    # refresh on the run's own lake: `late` ends with the run and `early` has nothing after its end
    same = runner.invoke(app, ["refresh", str(run), "--data", str(short), "--out", str(tmp_path / "r")])
    assert same.exit_code == 2 and not (tmp_path / "r").exists()
    assert "no tenant has revenue in the periods after its window: nothing new to refit on" in same.output


@pytest.mark.parametrize(("cadence", "freq", "n"), [("daily", "D", 731), ("weekly", "7D", 156)])
def test_the_trend_zero_is_the_middle_of_the_dates_a_week_at_its_middle(cadence: str, freq: str, n: int) -> None:
    """What fits always used (the middle of the axis), and what a monitor rebuilds from a run's start and end."""
    from bayes_mmm.analysis.monitor import run_trend_centre
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.model.design import calendar_features

    dates = pd.date_range("2023-01-02", periods=n, freq=freq)
    step = 7 if cadence == "weekly" else 1
    middles = dates + pd.Timedelta(days=(step - 1) / 2)
    mid = (middles - middles[0]).days.to_numpy(dtype=float)
    trend = (mid - mid[-1] / 2) / 365.25  # independently: days from the first period's middle, centred
    np.testing.assert_array_equal(calendar_features(dates, ModelSpec(), None, cadence)[0][:, 0], trend)
    summary = {"data": {"start": str(dates[0].date()), "end": str(dates[-1].date()), "cadence": cadence}}
    longer = dates.append(pd.date_range(dates[-1] + pd.Timedelta(days=step), periods=30, freq=freq))
    got = calendar_features(longer, ModelSpec(), None, cadence, trend_centre=run_trend_centre(summary))[0][:, 0]
    np.testing.assert_allclose(got[:n], trend, rtol=0, atol=1e-12)
