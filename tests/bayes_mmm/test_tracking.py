"""--mlflow: the committed run logged to a local file store and read back with MLflow's own client."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bayes_mmm.api import track_run
from bayes_mmm.core.errors import DataError
from bayes_mmm.runs.tracking import mlflow_key, require_mlflow, run_artifacts
from bayes_mmm.surfaces.cli import app

mlflow = pytest.importorskip("mlflow")
runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file-based tracking store set the way MLflow users set it: MLFLOW_TRACKING_URI."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow ≥ 3.x asks for this opt-in
    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):  # mlflow.set_experiment sets the id in os.environ
        monkeypatch.setenv(var, "")  # recorded, so the teardown restores the variable's absence
        monkeypatch.delenv(var)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)  # no experiment from an earlier test
    yield tmp_path / "mlruns"
    while mlflow.active_run() is not None:
        mlflow.end_run()


def read_back(run_id: str) -> tuple[dict, dict, list[str], str]:
    """Parameters, metrics, artifact names and experiment name of an MLflow run."""
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    names = sorted(a.path for a in client.list_artifacts(run_id))
    return run.data.params, run.data.metrics, names, client.get_experiment(run.info.experiment_id).name


def leaves(obj: dict) -> int:
    return sum(leaves(v) if isinstance(v, dict) and v else 1 for v in obj.values())


def test_fit_params_metrics_and_files_equal_summary_json(store: Path, stored_run: Path) -> None:
    summary = json.loads((stored_run / "summary.json").read_text())
    run_id = track_run("fit", stored_run, experiment="mmm-tests")
    params, metrics, files, experiment = read_back(run_id)

    assert experiment == "mmm-tests"
    assert files == ["summary.json"]  # idata.nc only with --mlflow-artifacts all
    spec, sampler, data = summary["config"]["spec"], summary["sampler"], summary["data"]
    assert params["run_id"] == summary["run_id"] and params["config_hash"] == summary["config_hash"]
    assert params["sampler.draws"] == str(sampler["draws"]) == "200"
    assert params["sampler.seed"] == "5" and params["sampler.name"] == "nutpie" and params["sampler.target_accept"] == "0.9"
    assert "sampler.seconds" not in params  # a timing is a metric
    assert params["data.start"] == data["start"] and params["data.end"] == data["end"]
    assert params["data.cadence"] == "daily" and params["data.n_tenants"] == "3"
    assert json.loads(params["data.channels"]) == data["channels"]
    assert params["spec.l_max"] == "14" and params["spec.adstock"] == "geometric" and params["spec.pooled"] == "true"
    assert float(params["spec.priors.roas_pool"]) == spec["priors"]["roas_pool"]
    assert json.loads(params["spec.priors.hill"]) == spec["priors"]["hill"]
    assert json.loads(params[mlflow_key("spec", "priors", "roas", "*")]) == spec["priors"]["roas"]["*"]
    assert sum(k.startswith("spec.") for k in params) == leaves(spec)

    conv = summary["convergence"]
    expected = {"rhat_max": conv["rhat_max"], "ess_bulk_min": conv["ess_bulk_min"], "ess_tail_min": conv["ess_tail_min"],
                "divergences": conv["divergences"], "converged": 0, "sampler.seconds": sampler["seconds"],
                "sampler.sample_seconds": sampler["sample_seconds"], "loo.elpd": summary["loo"]["elpd"], "loo.se": summary["loo"]["se"]}
    for tid, entry in summary["tenants"].items():
        expected[f"r2.{tid}"], expected[f"mape.{tid}"] = entry["fit"]["r2"], entry["fit"]["mape"]
    assert {k: metrics[k] for k in expected} == expected
    assert metrics["rhat_max"] == 1.0756 and metrics["divergences"] == 16

    runs = mlflow.search_runs(experiment_names=["mmm-tests"])
    assert list(runs["run_id"]) == [run_id]
    assert runs.loc[0, "metrics.r2.none_books"] == summary["tenants"]["none_books"]["fit"]["r2"]
    assert runs.loc[0, "tags.bayes_mmm.command"] == "fit"


def test_logs_into_the_active_run_and_honours_the_experiment_variable(store: Path, stored_run: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with mlflow.start_run() as active:
        assert track_run("fit", stored_run) == active.info.run_id
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    run_id = track_run("fit", stored_run)
    assert run_id != active.info.run_id and read_back(run_id)[3] == "from-env"


def test_cv_metrics_and_pass_rate(store: Path, stored_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    summary = json.loads((run / "summary.json").read_text())
    cv = {"extreme_rain_gear": (0.61, 7.5, True), "medium_clothing": (0.42, 9.25, False), "none_books": (0.7, 5.0, True)}
    for tid, (r2, mape, go) in cv.items():
        summary["tenants"][tid]["cv"] = {"r2_mean": r2, "mape_mean": mape, "verdict": {"go": go, "reasons": []}}
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "model_card.md").write_text("# card\n")

    params, metrics, files, _ = read_back(track_run("cv", run, experiment="cv", settings={"folds": 4, "draws": 300}))
    assert metrics["cv.pass_rate"] == pytest.approx(2 / 3)
    for tid, (r2, mape, go) in cv.items():
        assert (metrics[f"cv.r2_mean.{tid}"], metrics[f"cv.mape_mean.{tid}"], metrics[f"cv.go.{tid}"]) == (r2, mape, float(go))
    assert params["cv.folds"] == "4" and params["cv.draws"] == "300"
    assert files == ["model_card.md", "summary.json"]


MONITOR = {
    "run_id": "r", "created_by": "bayes-mmm monitor", "lake": "lake2",
    "checked": {"start": "2024-07-19", "end": "2024-08-17", "periods": 30},
    "tenants": {
        "shop/α 1": {"r2": 0.8, "mape": 6.0, "coverage_90": 0.9, "action": "ok", "reference": {"r2_on_new_periods": 0.85}},
        "shop.α.1": {"r2": -0.5, "mape": 30.0, "coverage_90": 0.4, "action": "retrain", "reference": {"r2_on_new_periods": 0.7}},
    },
}


def test_monitor_metrics_sanitised_keys_and_action_counts(store: Path, stored_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "monitor.json"
    path.write_text(json.dumps(MONITOR))
    params, metrics, files, _ = read_back(track_run("monitor", stored_run, "mon", monitor_report=MONITOR, monitor_path=path))
    a, b = mlflow_key("x", "shop/α 1").split(".", 1)[1], mlflow_key("x", "shop.α.1").split(".", 1)[1]
    assert a != b and "/" not in a and "." not in b
    assert (metrics[f"monitor.r2.{a}"], metrics[f"monitor.mape.{b}"], metrics[f"monitor.coverage_90.{b}"]) == (0.8, 30.0, 0.4)
    assert metrics[f"monitor.reference_r2.{b}"] == 0.7
    assert (metrics["monitor.actions.ok"], metrics["monitor.actions.investigate"], metrics["monitor.actions.retrain"]) == (1, 0, 1)
    assert params["monitor.start"] == "2024-07-19" and params["monitor.periods"] == "30"
    assert files == ["monitor.json", "summary.json"]


def test_all_artifacts_add_idata_only_when_asked(stored_run: Path) -> None:
    assert [p.name for p in run_artifacts(stored_run)] == ["summary.json"]
    assert [p.name for p in run_artifacts(stored_run, "all")] == ["summary.json", "idata.nc"]
    with pytest.raises(DataError, match="--mlflow-artifacts must be one of default, all, got 'some'"):
        run_artifacts(stored_run, "some")


@given(st.text(max_size=300), st.text(max_size=300))
def test_keys_are_valid_mlflow_keys_and_never_collide(a: str, b: str) -> None:
    from mlflow.utils.validation import _validate_metric_name, _validate_param_name

    key = mlflow_key("r2", a)
    _validate_metric_name(key)
    _validate_param_name(key)
    assert len(key) <= 250
    assert (key == mlflow_key("r2", b)) == (a == b)


def test_missing_mlflow_names_the_extra_and_stops_the_cli_before_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(DataError, match=r"--mlflow needs the mlflow package.*pip install 'bayes-mmm\[tracking\]'"):
        require_mlflow()
    res = runner.invoke(app, ["fit", "--data", str(tmp_path / "no-lake"), "--out", str(tmp_path / "run"), "--mlflow"])
    assert res.exit_code == 2 and "pip install 'bayes-mmm[tracking]'" in res.output
    assert not (tmp_path / "run").exists()


def continued_lake(lake: Path, out: Path, days: int = 30) -> Path:
    """The stored lake with its last ``days`` rows repeated ``days`` days later (no truth files needed)."""
    shutil.copytree(lake, out)
    for f in out.glob("*/daily.csv"):
        d = pd.read_csv(f)
        tail = d.tail(days).copy()
        tail["date"] = (pd.to_datetime(tail["date"]) + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d")
        pd.concat([d, tail]).to_csv(f, index=False)
    return out


def test_cli_monitor_mlflow_logs_what_monitor_json_says(store: Path, stored_run: Path, stored_lake: Path, tmp_path: Path) -> None:
    lake = continued_lake(stored_lake, tmp_path / "lake")
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["monitor", str(stored_run), "--data", str(lake), "--out", str(out), "--mlflow", "--mlflow-experiment", "cli"])
    assert res.exit_code in (0, 3), res.output
    assert "logged to MLflow run" in res.output
    report = json.loads(out.read_text())
    (run,) = mlflow.search_runs(experiment_names=["cli"])["run_id"]
    params, metrics, files, _ = read_back(run)
    for tid, e in report["tenants"].items():
        assert (metrics[f"monitor.r2.{tid}"], metrics[f"monitor.coverage_90.{tid}"]) == (e["r2"], e["coverage_90"])
    actions = [e["action"] for e in report["tenants"].values()]
    assert metrics["monitor.actions.retrain"] == actions.count("retrain")
    assert res.exit_code == (3 if set(actions) != {"ok"} else 0)
    assert files == ["m.json", "summary.json"] and params["monitor.end"] == report["checked"]["end"]


@pytest.mark.parametrize(("action", "failure"), [
    ("retrain", DataError("MLflow refused the logs: connection refused")),
    ("investigate", PermissionError(13, "Permission denied")),  # an artifact that could not be copied
    ("ok", DataError("MLflow refused the logs: connection refused")),
])
def test_monitor_keeps_its_drift_exit_when_mlflow_fails(action: str, failure: Exception, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """Plumbing: logs MLflow cannot take are an error line; drift still exits 3, no drift exits 2."""
    import bayes_mmm.api as api

    entry = {"action": action, "model_drift_reasons": ["holdout R² fell"] if action != "ok" else [], "data_drift": [],
             "r2": 0.2, "mape": 30.0, "coverage_90": 0.5, "bias_sigma": 2.5, "reference": {"r2_on_new_periods": 0.8, "mape": 8.0}}
    report = {"checked": {"start": "2025-01-01", "end": "2025-02-01", "periods": 32}, "tenants": {"shop": entry}}
    monkeypatch.setattr(api, "monitor_lake", lambda *a, **k: report)

    def refused(*a, **k):
        raise failure

    monkeypatch.setattr(api, "track_run", refused)
    res = runner.invoke(app, ["monitor", str(tmp_path / "run"), "--data", str(tmp_path), "--mlflow"])
    out = " ".join(res.output.split())
    assert f"error: {failure}" in out
    if action == "ok":
        assert res.exit_code == 2 and "no drift in 1 tenants" in out
    else:
        assert res.exit_code == 3 and "drift in 1 of 1 tenants" in out and "the drift verdict stands" in out


def grouped_run(stored_run: Path, root: Path) -> Path:
    """A grouped run folder built from the stored run: g000 = two tenants, g001 = one, g002 failed (no fit needed)."""
    from bayes_mmm.runs.groups import merge

    base = json.loads((stored_run / "summary.json").read_text())
    members = [["extreme_rain_gear", "medium_clothing"], ["none_books"], ["lost_shop"]]
    results = {}
    for k, (gid, tids) in enumerate(zip(("g000", "g001"), members, strict=False)):
        folder = Path(shutil.copytree(stored_run, root / "run" / "groups" / gid))
        s = {**base, "run_id": f"run-{gid}", "tenants": {t: base["tenants"][t] for t in tids},
             "data": {**base["data"], "tenants": tids},
             "convergence": {**base["convergence"], "rhat_max": 1.01 + k, "divergences": 3 * k},
             "loo": {**base["loo"], "elpd": -100.0 - k}, "sampler": {**base["sampler"], "seconds": 10.0 + k}}
        (folder / "summary.json").write_text(json.dumps(s))
        results[gid] = s
    (root / "run" / "groups" / "g001" / "model_card.md").write_text("# g001\n")
    merged = merge(["g000", "g001", "g002"], members, results, {"g002": "RuntimeError: worker lost"},
                   {"g000": 1, "g001": 2, "g002": 3}, {"by": "random", "max_size": 2}, 21.5)
    (root / "run" / "summary.json").write_text(json.dumps(merged))
    return root / "run"


def test_grouped_fit_logs_each_groups_params_metrics_and_files(store: Path, stored_run: Path, tmp_path: Path) -> None:
    run = grouped_run(stored_run, tmp_path)
    with mlflow.start_run() as active:  # the notebook case: the grouped fit goes to the active run
        assert track_run("fit", run) == active.info.run_id
    params, metrics, files, _ = read_back(active.info.run_id)
    assert (params["group.g000.status"], params["group.g001.status"], params["group.g002.status"]) == ("ok", "ok", "failed")
    assert json.loads(params["group.g000.tenants"]) == ["extreme_rain_gear", "medium_clothing"]
    assert (params["group.g000.run_id"], params["group.g001.attempts"]) == ("run-g000", "2")
    assert params["group.g002.error"] == "RuntimeError: worker lost" and "group.g002.run_id" not in params
    assert (metrics["group.g000.rhat_max"], metrics["group.g001.rhat_max"]) == (1.01, 2.01)
    assert (metrics["group.g000.divergences"], metrics["group.g001.divergences"]) == (0, 3)
    assert (metrics["group.g000.loo.elpd"], metrics["group.g001.loo.elpd"], metrics["loo.elpd"]) == (-100.0, -101.0, -201.0)
    assert (metrics["group.g001.sampler.seconds"], metrics["sampler.seconds"], metrics["sampler.group_seconds"]) == (11.0, 21.5, 21.0)
    assert not any(k.startswith("group.g002.") for k in metrics)
    assert metrics["rhat_max"] == 2.01 and metrics["converged"] == 0  # the merged run: worst group, one failed
    client = mlflow.MlflowClient()
    assert files == ["groups", "summary.json"]
    assert sorted(a.path for a in client.list_artifacts(active.info.run_id, "groups")) == ["groups/g000", "groups/g001"]
    assert [a.path for a in client.list_artifacts(active.info.run_id, "groups/g001")] == ["groups/g001/model_card.md",
                                                                                           "groups/g001/summary.json"]
    logged = json.loads(Path(client.download_artifacts(active.info.run_id, "groups/g000/summary.json", str(tmp_path))).read_text())
    assert logged["run_id"] == "run-g000"


def test_joint_run_logs_no_group_keys(store: Path, stored_run: Path) -> None:
    params, metrics, files, _ = read_back(track_run("fit", stored_run, experiment="joint"))
    assert not any(k.startswith("group.") for k in (*params, *metrics)) and files == ["summary.json"]
