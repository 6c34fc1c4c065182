"""The CLI end to end on tiny lakes: exit codes, messages, files written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.surfaces.cli import app

runner = CliRunner()
SMALL_LAKE = str(Path(__file__).parents[1] / "fixtures" / "small_lake")


def test_every_command_has_help() -> None:
    for cmd in ("simulate", "validate", "fit", "evaluate"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, res.output
        assert "Usage" in res.output


def test_simulate_then_validate(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    res = runner.invoke(app, ["simulate", "--out", str(lake), "--tenants", "2", "--days", "365", "--seed", "4"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in lake.iterdir()) == ["extreme_rain_gear", "medium_clothing"]
    assert {"daily.csv", "tenant.json", "truth.json", "truth_daily.parquet"} <= {p.name for p in (lake / "medium_clothing").iterdir()}
    res = runner.invoke(app, ["validate", "--data", str(lake)])
    assert res.exit_code == 0, res.output
    assert "all gates pass for 2 tenants" in res.output
    # A second simulate into the same folder refuses instead of clobbering.
    res = runner.invoke(app, ["simulate", "--out", str(lake), "--tenants", "2", "--days", "365"])
    assert res.exit_code == 2
    assert "exists and is not empty" in res.output


def test_simulate_rejects_short_history(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--days", "100"])
    assert res.exit_code == 2
    assert "--days must be between 365 and 730" in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--tenants", "100000000"], "--tenants must be between 1 and 2,000, got 100,000,000"),
    (["--lift-tests", "1000000000"], "--lift-tests must be between 0 and 50, got 1,000,000,000"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--continue-from", SMALL_LAKE, "--days", "1000000"], "--days must be between 1 and 3,650, got 1,000,000"),
    (["--continue-from", SMALL_LAKE, "--days", "10"],
     "no truth_daily.parquet; only lakes written by `bayes-mmm simulate` can be continued"),
    (["--continue-from", str(Path(SMALL_LAKE) / "none_books" / "daily.csv"), "--days", "10"],
     "daily.csv: is a file, but a lake folder is needed here"),
    (["--continue-from", str(Path(SMALL_LAKE) / "no_such_lake"), "--days", "10"], "no_such_lake: lake folder does not exist"),
])
def test_simulate_refuses_absurd_sizes_at_once(tmp_path: Path, args: list[str], message: str) -> None:
    """Each is one line naming the option before any work (100 million tenants ran until killed)."""
    res = runner.invoke(app, ["simulate", "--out", str(tmp_path / "lake"), *args])
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split()) and not (tmp_path / "lake").exists()


def test_bad_lake_exits_2_without_traceback(tmp_path: Path, tiny_lake: Path) -> None:
    bad = tmp_path / "bad"
    (bad / "shop").mkdir(parents=True)
    df = pd.read_csv(tiny_lake / "none_books" / "daily.csv")
    df.loc[[4, 8], "spend_meta"] = -1
    df.to_csv(bad / "shop" / "daily.csv", index=False)
    for args in (["validate", "--data", str(bad)], ["fit", "--data", str(bad), "--out", str(tmp_path / "run")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2
        assert "Traceback" not in res.output
        assert "column 'spend_meta', rows 5, 9" in res.output
        assert "negative values" in res.output
    assert not (tmp_path / "run").exists()
    res = runner.invoke(app, ["fit", "--data", str(tiny_lake), "--tenant", "nope", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "unknown tenant id 'nope'" in res.output


def test_validate_fails_a_gate_with_exit_2(tmp_path: Path, tiny_lake: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "short").mkdir(parents=True)
    pd.read_csv(tiny_lake / "none_books" / "daily.csv").head(90).to_csv(lake / "short" / "daily.csv", index=False)
    res = runner.invoke(app, ["validate", "--data", str(lake)])
    assert res.exit_code == 2
    assert "short history: 90 days" in res.output


def test_evaluate_needs_a_run_folder(tmp_path: Path, tiny_lake: Path) -> None:
    res = runner.invoke(app, ["evaluate", str(tmp_path), "--truth", str(tiny_lake)])
    assert res.exit_code == 2
    assert "not a run folder: summary.json is missing" in res.output


def test_fit_stops_on_an_error_gate_and_names_the_allow_option(tmp_path: Path, tiny_lake: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "short").mkdir(parents=True)
    pd.read_csv(tiny_lake / "none_books" / "daily.csv").head(90).to_csv(lake / "short" / "daily.csv", index=False)
    res = runner.invoke(app, ["fit", "--data", str(lake), "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "gate 'history' fails for tenant short: 90 days" in res.output
    assert "--allow-gate history" in res.output
    res = runner.invoke(app, ["fit", "--data", str(lake), "--allow-gate", "histroy", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "unknown gate 'histroy'" in res.output
    assert not (tmp_path / "run").exists()


def test_diagnostics_table_shows_a_dash_where_loo_could_not_be_computed(capsys: pytest.CaptureFixture) -> None:
    """A degenerate fit (revenue ~0.01 a day against spend in the hundreds) has no elpd: a dash, not a TypeError."""
    from bayes_mmm.surfaces.cli import print_diagnostics

    summary = {"diagnostics": {"sampler_health": {"divergences": 0, "bfmi_min": 0.9, "bfmi_low": False, "treedepth_saturation": 0},
                               "ppc": {"t1": {"inside_50": 0.14, "inside_90": 0.14}},
                               "loo_by_tenant": {"t1": {"elpd": None, "se": None, "k_over_0.7": 124}}},
               "verdicts": {"t1": {"go": False, "reasons": ["sampler did not converge"]}}}
    print_diagnostics(summary)
    row = next(line for line in capsys.readouterr().out.splitlines() if "t1" in line)
    assert [c.strip() for c in row.split("│")[1:6]] == ["t1", "0.14", "0.14", "–", "124"]


def test_truth_of_a_tenant_missing_from_a_synthetic_lake_is_named(tmp_path: Path) -> None:
    """A synthetic lake without the tenant is not 'real data': the message names the tenant."""
    from bayes_mmm.analysis.evaluate import read_truth
    from bayes_mmm.core.errors import DataError

    with pytest.raises(DataError, match=r"small_lake: the truth lake has no tenant 't1' — evaluate against the lake"):
        read_truth(SMALL_LAKE, "t1")
    (tmp_path / "real" / "shop").mkdir(parents=True)  # a real tenant: data, no truth
    with pytest.raises(DataError, match=r"shop/truth.json: no truth.json: ground truth exists only for synthetic lakes"):
        read_truth(tmp_path / "real", "shop")


def test_a_bad_option_is_one_line_from_the_console_entry() -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bayes_mmm", *args], capture_output=True, text=True, timeout=120)

    bad = run("allocate", "--budget", "$20,000")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "error: Invalid value for '--budget': Input should be a valid number, unable to parse string as a number "
        "(see `python -m bayes_mmm allocate --help`)"]
    typo = run("allocat")
    assert typo.returncode == 2 and "No such command 'allocat'. Did you mean 'allocate'?" in typo.stderr
    assert len(typo.stderr.strip().splitlines()) == 1 and "╭" not in typo.stderr
    assert run("--help").returncode == 0


def test_piped_output_keeps_long_tenant_ids_whole(tiny_lake, tmp_path) -> None:
    """Without a terminal rich assumes 80 columns and cut ids to 'pym…' (two geos of one data set looked alike)."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    lake = tmp_path / "lake"
    shutil.copytree(tiny_lake, lake)
    first = sorted(p for p in lake.iterdir() if p.is_dir())[0]
    long_id = "pymc-marketing-multidimensional-geo-a"
    first.rename(lake / long_id)
    (lake / long_id / "tenant.json").write_text(json.dumps({"tenant_id": long_id}))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    res = subprocess.run([sys.executable, "-m", "bayes_mmm", "validate", "--data", str(lake)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode in (0, 1), res.stderr
    assert long_id in res.stdout
