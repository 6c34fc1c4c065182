"""An adversarial pass (session 17): outputs never replace inputs, damaged summaries are one line, ties are not wins."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bayes_mmm.decide.problem import prob_beats
from bayes_mmm.surfaces.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
runner = CliRunner()


def digest(folder: Path) -> str:
    """One hash of every file under ``folder`` (names and bytes)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "small_run", tmp_path / "run")
    return tmp_path / "run"


def test_outputs_may_not_replace_the_commands_inputs(run: Path, tmp_path: Path) -> None:
    lake = shutil.copytree(FIXTURES / "small_lake", tmp_path / "lake")
    before = digest(lake)
    for out in (lake, tmp_path):  # the lake itself, and a folder holding it
        res = runner.invoke(app, ["fit", "--data", str(lake), "--out", str(out), "--overwrite", "--draws", "20", "--tune", "20"])
        assert res.exit_code == 2, res.output
        assert f"holds this command's input {lake.resolve()}; replacing it would delete the input" in " ".join(res.output.split())
    assert digest(lake) == before
    parent = digest(run)
    res = runner.invoke(app, ["refresh", str(run), "--data", str(lake), "--out", str(run), "--overwrite"])
    assert res.exit_code == 2 and "holds this command's input" in res.output and digest(run) == parent
    plan = tmp_path / "plan.csv"
    plan.write_text("date,tenant_id,meta,google,email\n2024-07-19,none_books,100,50,20\n")
    res = runner.invoke(app, ["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged", "--out", str(plan), "--force"])
    assert res.exit_code == 2 and "is an input of this command" in res.output
    assert plan.read_text().startswith("date,tenant_id")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s["data"].update(cadence="hourly"), "key 'data.cadence' must be one of daily, weekly, found 'hourly'"),
    (lambda s: s.update(tenants=list(s["tenants"])), "key 'tenants' must be an object, found a list"),
    # idata.nc of another fit of the same tenants: its dates say so
    (lambda s: s["data"].update(end="2024-08-18"), "idata.nc's data end 2024-07-18 but summary.json says 2024-08-18"),
    (lambda s: s["config"]["spec"].update(adstock="screen"), "config.spec.adstock must name a fitted shape (geometric, delayed)"),
    (lambda s: s["tenants"]["none_books"]["roas"]["meta"].update(mean="abc"),
     "key 'tenants.none_books.roas.meta.mean' must be a number, found a string"),
    (lambda s: s["tenants"]["none_books"]["mroas"]["email"].update(q95=[1.0]),
     "key 'tenants.none_books.mroas.email.q95' must be a number, found a list"),
])
def test_a_damaged_summary_is_one_line_naming_its_key(run: Path, tmp_path: Path, edit: Callable[[dict], None], message: str) -> None:
    summary = json.loads((run / "summary.json").read_text())
    edit(summary)
    (run / "summary.json").write_text(json.dumps(summary))
    for args in (["allocate", "--run", str(run), "--budget", "3000", "--out", str(tmp_path / "p.json")],
                 ["report", str(run)]):
        res = runner.invoke(app, [*args, "--allow-unconverged"] if args[0] == "allocate" else args)
        assert res.exit_code == 2, res.output
        assert message in " ".join(res.output.split()) and "Traceback" not in res.output
    assert not (tmp_path / "p.json").exists() and not (run / "report.html").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs a folder that refuses new files")
def test_an_out_that_refuses_files_is_refused_before_the_work(run: Path) -> None:
    res = runner.invoke(app, ["allocate", "--run", str(run), "--budget", "3000", "--allow-unconverged", "--out", "/proc/plan.json"])
    assert res.exit_code == 2, res.output
    assert "cannot write here" in res.output and "/proc" in res.output  # root passes the permission bits, not the probe


def test_a_plan_equal_to_todays_mix_does_not_beat_it(run: Path, tmp_path: Path) -> None:
    """With no room to move (pacing 0) every tenant keeps today's mix: P(beats current) is 0, not a coin flip of rounding."""
    res = runner.invoke(app, ["allocate", "--run", str(run), "--budget", "5000", "--pacing", "0", "--allow-unconverged",
                              "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "p.json").read_text())
    for entry in plan["tenants"].values():
        assert entry["step_toward_optimum"] == 0.0 and abs(entry["uplift"]["q95"]) < 1e-6  # the same plan, up to rounding
        assert entry["prob_plan_beats_current"] == 0.0
    assert plan["portfolio"]["prob_plan_beats_current"] == 0.0
    rng = np.random.default_rng(0)
    cur = rng.normal(1e4, 1e3, 500)
    assert prob_beats(cur + rng.normal(0, 1e-9, 500), cur) == 0.0  # rounding noise around a tie
    assert prob_beats(cur + np.where(np.arange(500) < 400, 1.0, -1.0), cur) == pytest.approx(0.8)  # a real win in 400 of 500


def test_a_tenant_folder_without_its_data_is_not_dropped_in_silence(tmp_path: Path) -> None:
    lake = shutil.copytree(FIXTURES / "small_lake", tmp_path / "lake")
    (lake / "none_books" / "daily.csv").unlink()
    (lake / "none_books" / "daily.csv").symlink_to(tmp_path / "gone.csv")  # a dangling link
    (lake / "notes").mkdir()  # a folder that is not a tenant stays ignored
    res = runner.invoke(app, ["validate", "--data", str(lake)])
    assert res.exit_code == 2, res.output
    assert f"{lake / 'none_books'}: tenant folder has no readable data file" in " ".join(res.output.split())
    other = runner.invoke(app, ["validate", "--data", str(lake), "--tenant", "medium_clothing"])  # named elsewhere: left alone
    assert other.exit_code == 0 and "all gates pass for 1 tenants" in other.output


def test_score_plan_refuses_a_plan_beyond_any_spend_as_allocate_does(run: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("date,tenant_id,meta,google,email\n2024-07-19,none_books,1e300,50,20\n")
    res = runner.invoke(app, ["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged"])
    assert res.exit_code == 2, res.output
    assert f"{plan}: the plan's total 1e+300 is more than 1,000× the highest spend in the data" in " ".join(res.output.split())
    plan.write_text("date,tenant_id,meta,google,email\n2024-06-19,none_books,100,50,20\n")  # a date inside the data
    res = runner.invoke(app, ["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged"])
    assert res.exit_code == 2, res.output
    assert f"{plan}, column 'date': the plan's first date: start 2024-06-19 overlaps the run's data" in " ".join(res.output.split())


def test_refresh_reads_the_new_lake_as_monitor_does(run: Path, tmp_path: Path) -> None:
    """The run's own lake has no new periods: refresh refuses it, as monitor does, and writes nothing."""
    res = runner.invoke(app, ["refresh", str(run), "--data", str(FIXTURES / "small_lake"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "no periods after the run's window (lake ends 2024-07-18, run ends 2024-07-18)" in " ".join(res.output.split())
    assert not (tmp_path / "r").exists()


def test_overwrite_replaces_only_what_the_command_writes(tmp_path: Path) -> None:
    """--overwrite on a folder of someone else's files is refused before any work; on its own kind of output it replaces."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "important.txt").write_text("precious")
    lake = FIXTURES / "small_lake"
    for args, why in (
        (["fit", "--data", str(lake), "--draws", "20", "--tune", "20"], "is not a run folder (it holds important.txt, but no summary.json)"),
        (["simulate", "--tenants", "1", "--days", "365"], "is not a simulated lake: it holds important.txt, which is not a tenant folder"),
        (["simulate", "--continue-from", str(lake), "--days", "10"], "is not a simulated lake: it holds important.txt, which is not a tenant folder"),
    ):
        res = runner.invoke(app, [*args, "--out", str(mine), "--overwrite"])
        assert res.exit_code == 2, res.output
        assert f"{why}; --overwrite replaces only what this command writes" in " ".join(res.output.split())
        assert (mine / "important.txt").read_text() == "precious" and len(list(mine.iterdir())) == 1
    sim = tmp_path / "sim"
    for seed in ("0", "1"):  # a lake simulate wrote is replaced by the next one
        res = runner.invoke(app, ["simulate", "--tenants", "1", "--days", "365", "--seed", seed, "--out", str(sim), "--overwrite"])
        assert res.exit_code == 0, res.output
    assert "seed 1" in res.output and len(list(sim.iterdir())) == 1
    (sim / ".DS_Store").write_text("")  # hidden files do not make it someone else's folder
    assert runner.invoke(app, ["simulate", "--tenants", "1", "--days", "365", "--out", str(sim), "--overwrite"]).exit_code == 0
    real = shutil.copytree(lake, tmp_path / "real")  # a lake of real data has no truth.json: simulate never replaces it
    for truth in real.glob("*/truth.json"):
        truth.unlink()
    before = digest(real)
    res = runner.invoke(app, ["simulate", "--tenants", "1", "--days", "365", "--out", str(real), "--overwrite"])
    assert res.exit_code == 2 and "has no truth.json (real data?)" in " ".join(res.output.split())
    assert digest(real) == before


def test_a_channel_or_tenant_called_mean_is_not_an_interval_record() -> None:
    from bayes_mmm.runs.folder import check_intervals

    ok = {"mean": {"roas": {"mean": {"mean": 1.0, "q05": 0.5, "q50": 1.0, "q95": 1.5}}, "cv": {"r2_mean": 0.5}}}
    check_intervals(ok, Path("s.json"), "tenants")  # tenant 'mean', channel 'mean': their records hold numbers
    ok["mean"]["roas"]["mean"]["q05"] = "x"
    with pytest.raises(Exception, match=r"key 'tenants\.mean\.roas\.mean\.q05' must be a number, found a string"):
        check_intervals(ok, Path("s.json"), "tenants")


def test_diagnose_keeps_a_model_card_it_did_not_write(stored_run: Path, tmp_path: Path) -> None:
    from bayes_mmm.runs.folder import CARD_TITLE, RunFolder
    from bayes_mmm.surfaces.cli import app

    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    card = run / "model_card.md"
    card.write_text("my handwritten card\n")
    res = CliRunner().invoke(app, ["diagnose", str(run)])
    assert res.exit_code == 2
    assert f"error: {card} exists and is not a model card bayes-mmm wrote; pass --force to replace it" in res.output
    assert card.read_text() == "my handwritten card\n"
    card.write_text(f"{CARD_TITLE}old-run\n")  # its own card: replaced without --force
    RunFolder(run).check_model_card()
    card.write_text("my handwritten card\n")
    RunFolder(run).check_model_card(force=True)


def test_diagnose_names_a_missing_sample_stats_group(stored_run: Path, tmp_path: Path) -> None:
    import arviz as az

    from bayes_mmm.surfaces.cli import app

    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    idata = az.from_netcdf(str(run / "idata.nc"))
    idata.load()
    az.InferenceData(**{g: idata[g] for g in idata.groups() if g != "sample_stats"}).to_netcdf(str(tmp_path / "new.nc"))
    (tmp_path / "new.nc").replace(run / "idata.nc")
    res = CliRunner().invoke(app, ["diagnose", str(run)])
    assert res.exit_code == 2 and "no sample_stats group: not an idata.nc written by bayes-mmm" in " ".join(res.output.split())
