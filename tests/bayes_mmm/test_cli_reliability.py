"""Reliability classes of the CLI: Ctrl-C stops, the demo never touches user data, options fail before work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayes_mmm.api import DEMO_MARK, claim_demo_paths
from bayes_mmm.core.errors import DataError
from bayes_mmm.surfaces.cli import app

runner = CliRunner()


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_demo_refuses_to_touch_an_existing_lake(tmp_path: Path, tiny_lake: Path) -> None:
    lake = tmp_path / "data" / "lake"
    shutil.copytree(tiny_lake, lake)
    (lake / "my_notes.txt").write_text("keep me")
    before = tree_digest(lake)
    res = runner.invoke(app, ["demo", "--root", str(tmp_path), "--tenants", "2", "--days", "365"])
    assert res.exit_code == 2, res.output
    assert "was not written by the demo; the demo never replaces your data" in res.output
    assert "Traceback" not in res.output
    assert tree_digest(lake) == before
    assert not (tmp_path / "runs").exists() and not (tmp_path / DEMO_MARK).exists()


def test_demo_may_replace_only_its_own_outputs(tmp_path: Path) -> None:
    lake, run = tmp_path / "data" / "lake", tmp_path / "runs" / "demo"
    claim_demo_paths(tmp_path, [lake, run])  # a first demo: nothing there yet
    lake.mkdir(parents=True)
    run.mkdir(parents=True)
    claim_demo_paths(tmp_path, [lake, run])  # its own outputs: allowed
    report = tmp_path / "reports" / "demo-report.html"
    report.parent.mkdir()
    report.write_text("someone else's report")
    with pytest.raises(DataError, match=r"demo-report\.html: exists and was not written by the demo"):
        claim_demo_paths(tmp_path, [lake, run, report])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tune", "0"], "tune ≥ 20"),
        (["--chains", "1"], "R-hat compares chains, so with one chain convergence cannot be judged"),
    ],
)
def test_sampler_options_fail_at_once_with_a_reason(tmp_path: Path, tiny_lake: Path, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["fit", "--data", str(tiny_lake), "--out", str(tmp_path / "run"), *args])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert "panic" not in res.output and not (tmp_path / "run").exists()


def test_cv_refuses_a_lake_that_is_not_the_runs_data(tmp_path: Path, small_fit, small_lake: Path) -> None:
    _, run = small_fit
    other = tmp_path / "lake"
    shutil.copytree(small_lake, other)
    tid = sorted(p.name for p in other.iterdir())[0]
    csv = other / tid / "daily.csv"
    csv.write_text(csv.read_text().replace("\n2", "\n2", 1) + "")
    lines = csv.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[1], str(float(lines[5].split(",")[1]) + 1.0), 1)
    csv.write_text("\n".join(lines) + "\n")
    before = (run / "summary.json").read_bytes()
    res = runner.invoke(app, ["cv", str(run), "--data", str(other), "--folds", "2"])
    assert res.exit_code == 2, res.output
    assert "is not the data this run was fitted on" in " ".join(res.output.split())
    assert (run / "summary.json").read_bytes() == before


def test_ctrl_c_during_fit_stops_and_leaves_nothing(tmp_path: Path, tiny_lake: Path) -> None:
    """A real subprocess gets SIGINT while it compiles or samples: exit 130 within seconds, no run, no temp folder."""
    out, scratch = tmp_path / "runs" / "x", tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayes_mmm", "fit", "--data", str(tiny_lake), "--out", str(out),
         "--draws", "200000", "--tune", "200", "--allow-gate", "history"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        # As in a terminal: a test run from a non-interactive shell's background job inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(25)  # past start-up: in compilation or sampling, whichever this machine has reached
        assert proc.poll() is None, proc.stdout.read().decode()
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        output, _ = proc.communicate(timeout=60)
        waited = time.monotonic() - t0
    finally:  # a fit that ignored Ctrl-C must not sample on for the rest of the suite
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, output.decode()
    assert waited < 30, f"took {waited:.0f} s to stop"
    assert "Traceback" not in output.decode()
    assert not out.exists()
    leftovers = list((tmp_path / "runs").iterdir()) if (tmp_path / "runs").exists() else []
    assert leftovers == [], leftovers  # no temp folder either
    assert list(scratch.iterdir()) == []  # nor the compile's scratch (its generated sources)


def test_ctrl_c_while_nutpie_samples_propagates_instead_of_returning_partial_draws(tmp_path: Path, monkeypatch) -> None:
    """nutpie's own blocking call turns Ctrl-C into a partial trace; the fit's wait must raise instead."""
    import tempfile
    import threading

    import numpy as np
    import nutpie
    import pymc as pm

    from bayes_mmm.inference.fit import _run_sampler

    with pm.Model() as model:
        x = pm.Normal("x", 0, 1, shape=50)
        pm.Normal("y", x.sum(), 1, observed=np.ones(2000))
    # A suite started as a background job inherits SIGINT ignored; Python then raises nothing on it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a bare compile leaves its generated source behind
    sampler = nutpie.sample(nutpie.compile_pymc_model(model), draws=10**7, tune=100, chains=2, progress_bar=False, blocking=False)
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            _run_sampler(lambda: sampler)
    finally:
        signal.signal(signal.SIGINT, previous)
        sampler.cancel()  # never leave 10⁷ draws running for the rest of the suite
    assert time.monotonic() - t0 < 20


def test_cv_screens_the_carry_over_on_each_folds_own_days(tmp_path: Path, small_fit, small_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plumbing: a run whose adstock the screen chose hands CV ``screen``, so no fold's shape was picked on its holdout."""
    import bayes_mmm.analysis.cv
    from bayes_mmm.api import cv_run

    _, stored = small_fit
    run = tmp_path / "run"
    shutil.copytree(stored, run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["adstock_screen"]["chosen"] == summary["config"]["spec"]["adstock"] == "geometric"
    seen = []

    def fake_walk_forward(ds, spec, sampler, **kw):
        seen.append(spec.adstock)
        return {}

    monkeypatch.setattr(bayes_mmm.analysis.cv, "walk_forward", fake_walk_forward)
    cv_run(small_lake, run, n_folds=2, progress=False)
    del summary["adstock_screen"]  # an adstock the user named is kept as named
    (run / "summary.json").write_text(json.dumps(summary))
    cv_run(small_lake, run, n_folds=2, progress=False)
    assert seen == ["screen", "geometric"]


def test_ctrl_c_inside_a_compile_removes_its_scratch_before_the_hard_exit(tmp_path: Path) -> None:
    """``interrupted`` ends a process of its own with ``os._exit`` (no atexit): the compile's scratch must go first."""
    from tests.bayes_mmm.test_fit import exit_inside_a_compile

    ending = "from bayes_mmm.surfaces import cli\ncli.OWN_PROCESS['on'] = True\ncli.interrupted('interrupted')\n"
    assert exit_inside_a_compile(tmp_path, ending).name.startswith("bayes-mmm-compile-")
