"""Grouped fits on Dask: partitioning, a real local cluster, retries, failures and the merged run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.sensitivity import weather_scores
from bayes_mmm.runs import groups
from bayes_mmm.runs.groups import fit_groups, group_of, partition
from bayes_mmm.runs.summary import load_run
from bayes_mmm.surfaces.cli import app

TINY = {"chains": 2, "draws": 60, "tune": 60, "seed": 2}


def test_partition_random_covers_every_tenant_once(small_lake: Path) -> None:
    parts = partition(small_lake, by="random", max_size=3, seed=1)
    assert sorted(map(len, parts)) == [2, 2]  # near-equal sizes, not 3 + 1
    flat = [t for g in parts for t in g]
    assert sorted(flat) == sorted(p.name for p in small_lake.iterdir())
    assert partition(small_lake, by="random", max_size=3, seed=1) == parts
    assert partition(small_lake, by="random", max_size=10) == [sorted(flat)]


def test_partition_by_city_keeps_cities_apart(small_lake: Path) -> None:
    city = {p.name: json.loads((p / "tenant.json").read_text())["city"] for p in small_lake.iterdir()}
    parts = partition(small_lake, by="city", max_size=20)
    assert len(parts) == len(set(city.values()))
    for g in parts:
        assert len({city[t] for t in g}) == 1


def test_weather_scores_rank_sensitive_tenants_first(small_lake: Path) -> None:
    s = weather_scores(small_lake, ["extreme_rain_gear", "extreme_heating", "none_books"])
    assert s["extreme_heating"] > s["none_books"]
    assert s["extreme_rain_gear"] > s["none_books"]
    classes = partition(small_lake, by="weather", max_size=20)
    assert sum(map(len, classes)) == 4 and len(classes) == 3  # low / mid / high


def test_partition_rejects_bad_options(small_lake: Path) -> None:
    with pytest.raises(ValueError, match="group-by must be one of"):
        partition(small_lake, by="colour")
    with pytest.raises(ValueError, match="max group size"):
        partition(small_lake, max_size=0)
    with pytest.raises(DataError, match="unknown tenant id 'nope'"):
        partition(small_lake, tenants="nope")


def test_cli_fits_groups_on_a_local_cluster(tiny_lake: Path, tmp_path: Path) -> None:
    """The default path: a local Dask cluster of worker processes, real nutpie fits, one merged run."""
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["fit", "--data", str(tiny_lake), "--tenant", "extreme_rain_gear,none_books",
                                   "--group-size", "1", "--workers", "1", "--chains", "2", "--draws", "60", "--tune", "60",
                                   "--out", str(run)])
    assert res.exit_code == 0, res.output
    assert "2 tenants in 2 groups" in res.output
    summary = json.loads((run / "summary.json").read_text())
    assert [g["status"] for g in summary["groups"]] == ["ok", "ok"]
    assert sorted(summary["data"]["tenants"]) == ["extreme_rain_gear", "none_books"]
    per_group = [json.loads((run / g["folder"] / "summary.json").read_text()) for g in summary["groups"]]
    # The merged run is the worst of its groups and the sum of their LOO.
    assert summary["convergence"]["rhat_max"] == max(s["convergence"]["rhat_max"] for s in per_group)
    assert summary["convergence"]["divergences"] == sum(s["convergence"]["divergences"] for s in per_group)
    assert summary["loo"]["n"] == sum(s["loo"]["n"] for s in per_group) == 2 * 240
    assert summary["loo"]["elpd"] == pytest.approx(sum(s["loo"]["elpd"] for s in per_group), abs=0.02)
    for s in per_group:
        (tid,) = s["data"]["tenants"]
        assert summary["tenants"][tid]["roas"] == s["tenants"][tid]["roas"]
        assert group_of(run, tid) == run / summary["tenants"][tid]["group"].join(["groups/", ""])
    # Commands that need one posterior point at the group folder.
    with pytest.raises(DataError, match="grouped run of 2 groups"):
        load_run(run)
    idata, _ = load_run(group_of(run, "none_books"))
    assert list(idata.posterior["tenant"].values) == ["none_books"]
    res = CliRunner().invoke(app, ["diagnose", str(run)])
    assert res.exit_code == 0, res.output
    assert all((run / g["folder"] / "model_card.md").is_file() for g in summary["groups"])
    res = CliRunner().invoke(app, ["allocate", "--run", str(run), "--budget", "1000"])
    assert res.exit_code == 2 and "name a tenant (--tenant)" in res.output
    # One forecast for the whole run, planned group by group: the other group's tenant is no stranger.
    days = pd.date_range(pd.Timestamp(summary["data"]["end"]) + pd.Timedelta(days=1), periods=7).strftime("%Y-%m-%d")
    fc = tmp_path / "forecast.csv"
    pd.DataFrame([{"date": d, "tenant_id": t, "temp_c": 15.0, "precip_mm": 0.0} for t in summary["data"]["tenants"]
                  for d in days]).to_csv(fc, index=False)
    res = CliRunner().invoke(app, ["allocate", "--run", str(run), "--tenant", "extreme_rain_gear", "--budget", "1000",
                                   "--forecast", str(fc), "--allow-unconverged", "--out", str(tmp_path / "plan.json")])
    assert res.exit_code == 0, res.output
    assert "does not have" not in res.output
    res = CliRunner().invoke(app, ["fit", "--data", str(tiny_lake), "--group-size", "2", "--prior-from", str(run),
                                   "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "cannot be combined with --group-size" in res.output


def test_failed_group_is_retried_and_a_lost_one_reported(tiny_lake: Path, tmp_path: Path, monkeypatch) -> None:
    """One group fails once (retried, then fitted for real), one always fails (reported); the run keeps the rest."""
    from distributed import Client, LocalCluster

    real = groups.fit_group
    marker = tmp_path / "failed-once"

    def flaky(lake, tenants, folder, spec, sampler):
        if "none_books" in tenants:
            raise RuntimeError("worker lost")
        if not marker.exists():
            marker.touch()
            raise OSError("disk hiccup")
        return real(lake, tenants, folder, spec, sampler)

    monkeypatch.setattr(groups, "fit_group", flaky)
    import dask

    # Saturation 1.0: the scheduler hands the single thread one task at a time (the default 1.1 rounds up to
    # two, so a second group could already sit on the worker when Ctrl-C comes, which is a race, not a queue).
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        summary = fit_groups(tiny_lake, tmp_path / "run", tenants="extreme_rain_gear,none_books", max_size=1,
                             sampler_kwargs=TINY, scheduler=client, retries=2)
    status = {g["tenants"][0]: (g["status"], g["attempts"]) for g in summary["groups"]}
    assert status == {"extreme_rain_gear": ("ok", 2), "none_books": ("failed", 3)}
    assert "worker lost" in next(g["error"] for g in summary["groups"] if g["status"] == "failed")
    assert list(summary["tenants"]) == ["extreme_rain_gear"]
    assert summary["convergence"]["ok"] is False and summary["convergence"]["groups_failed"] == 1
    assert (tmp_path / "run" / "groups" / "g000" / "idata.nc").is_file()
    with pytest.raises(DataError, match="group g001, which failed: RuntimeError: worker lost"):
        group_of(tmp_path / "run", "none_books")


def test_cli_reports_groups_that_cannot_be_fitted(tiny_lake: Path, tmp_path: Path) -> None:
    """A tenant too short to fit fails its group on the worker (retried, then given up): one line, exit 1, nothing written."""
    import shutil

    lake = tmp_path / "lake"
    (lake / "short").mkdir(parents=True)
    daily = pd.read_csv(tiny_lake / "none_books" / "daily.csv").iloc[:40]
    daily.to_csv(lake / "short" / "daily.csv", index=False)
    shutil.copytree(tiny_lake / "none_books", lake / "none_books")
    # Past the history gate on purpose (--allow-gate history): the failure under test is the worker's.
    res = CliRunner().invoke(app, ["fit", "--data", str(lake), "--tenant", "short", "--group-size", "1", "--workers", "1",
                                   "--allow-gate", "history", "--out", str(tmp_path / "run")])
    assert res.exit_code == 1, res.output
    assert "every group failed; first error: ValueError: tenant 'short' has 40 training days" in res.output
    assert "retrying (1/1)" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()


def test_unreachable_scheduler_is_a_clear_error(tiny_lake: Path, tmp_path: Path) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        res = CliRunner().invoke(app, ["fit", "--data", str(tiny_lake), "--scheduler", "tcp://127.0.0.1:9",
                                       "--out", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in res.output
    assert not (tmp_path / "run").exists()


def test_every_group_failing_writes_nothing(tiny_lake: Path, tmp_path: Path, monkeypatch) -> None:
    from distributed import LocalCluster

    def broken(*args):
        raise ValueError("bad group")

    monkeypatch.setattr(groups, "fit_group", broken)
    # Connect by address, as `--scheduler tcp://…` does.
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(RuntimeError, match="every group failed; first error: ValueError: bad group"):
            fit_groups(tiny_lake, tmp_path / "run", max_size=2, scheduler=cluster.scheduler_address, retries=0)
    assert not (tmp_path / "run").exists()
    assert np.all([not p.name.startswith(".run") for p in tmp_path.iterdir()])


STARTED: list[str] = []  # module state: the in-process worker runs _slow_group by reference, not by pickling a closure
RELEASE = __import__("threading").Event()


def _slow_group(lake, tenants, folder, spec, sampler):
    STARTED.append(tenants[0])
    RELEASE.wait(20)
    groups.check_not_cancelled(folder)
    Path(folder).mkdir(parents=True)  # what save_run would write
    return {}


def test_ctrl_c_cancels_queued_groups_and_a_running_one_writes_nothing(tiny_lake: Path, tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C while groups are queued: the queued ones never start, the running one cannot re-create the run."""
    import time

    from distributed import Client, LocalCluster

    STARTED.clear()
    RELEASE.clear()
    started = STARTED

    class Interrupt:
        def __enter__(self):
            while not started:  # Ctrl-C once the first group runs and the others wait in the queue
                time.sleep(0.01)
            raise KeyboardInterrupt

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(groups, "fit_group", _slow_group)
    monkeypatch.setattr(groups, "_progress", lambda console: Interrupt())
    import dask

    # Saturation 1.0: the scheduler hands the single thread one task at a time (the default 1.1 rounds up to
    # two, so a second group could already sit on the worker when Ctrl-C comes, which is a race, not a queue).
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        with pytest.raises(KeyboardInterrupt):
            fit_groups(tiny_lake, tmp_path / "run", max_size=1, scheduler=client, retries=0)
        RELEASE.set()
        time.sleep(1.0)  # time for a wrongly queued group to start
        assert len(started) == 1, started
        assert not any(client.processing().values())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_group_never_writes_into_a_cancelled_run(tmp_path: Path) -> None:
    gone = tmp_path / ".run.123.tmp" / "groups" / "g000"
    with pytest.raises(RuntimeError, match="the run this group belongs to was cancelled; not writing"):
        groups.check_not_cancelled(gone)
    gone.parent.mkdir(parents=True)
    groups.check_not_cancelled(gone)


def test_a_merged_run_names_each_held_pooling_scale_once() -> None:
    from bayes_mmm.runs.groups import held_pool_scales

    groups = [{"sampler": {"fixed_pool_scale": ["tiktok"], "fixed_roas_pool_scale": ["meta", "google"]}},
              {"sampler": {"fixed_roas_pool_scale": ["tiktok", "meta"]}}, {"sampler": {}}]
    assert held_pool_scales(groups) == {"fixed_pool_scale": ["tiktok"], "fixed_roas_pool_scale": ["meta", "google"]}
    assert held_pool_scales([{"sampler": {}}]) == {}
