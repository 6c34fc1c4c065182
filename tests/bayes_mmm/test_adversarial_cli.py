"""Issue 15 through the CLI: the allocator's options and forecast are as strict as the lake; warnings are one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.surfaces.cli import app

SMALL_RUN = Path(__file__).parents[1] / "fixtures" / "small_run"  # data ends 2024-07-18; not converged
runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("adv") / "run"
    shutil.copytree(SMALL_RUN, path)
    return path


def allocate(run: Path, out: Path, *extra: str):
    # One tenant: a forecast without tenant_id may serve one place only (the portfolio spans two cities).
    return runner.invoke(app, ["allocate", "--run", str(run), "--tenant", "extreme_rain_gear", "--budget", "3000",
                               "--allow-unconverged", "--days", "2", "--out", str(out), *extra])


def forecast(path: Path, rows: list[str], header: str = "date,temp_c,precip_mm") -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


@pytest.mark.parametrize(("bounds", "message"), [
    ("meta=nan:nan", "channel bound for meta: 'nan' must be a finite amount ≥ 0"),
    ("meta=nan%", "channel bound 'nan%' for meta must be a finite percentage ≥ 0 %"),
    ("meta=:-5", "channel bound for meta: '-5' must be a finite amount ≥ 0"),
    ("[/x]=1:2", "unknown channel '[/x]' in channel bounds"),
])
def test_bad_bounds_exit_2_and_write_nothing(run: Path, tmp_path: Path, bounds: str, message: str) -> None:
    res = allocate(run, tmp_path / "plan.json", "--bounds", bounds)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize(("budget", "message"), [
    ("1e300", "budget 1e+300 is more than 1,000× the highest spend in the data"),
    ("nan", "budget must be a positive amount, got nan"),
    ("-1", "budget must be a positive amount, got -1.0"),
    ("0.001", "budget 0.001 is below 0.01 (a cent of the revenue's currency)"),
])
def test_absurd_budgets_exit_2(run: Path, tmp_path: Path, budget: str, message: str) -> None:
    res = runner.invoke(app, ["allocate", "--run", str(run), "--budget", budget, "--allow-unconverged", "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not (tmp_path / "p.json").exists()


def test_plan_days_are_bounded(run: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["allocate", "--run", str(run), "--budget", "100", "--allow-unconverged", "--days", "100000",
                              "--out", str(tmp_path / "p.json")])
    assert res.exit_code == 2 and "the plan length must be at most 366 days, got 100000 daily periods" in " ".join(res.output.split())


@pytest.mark.parametrize(("rows", "header", "message"), [
    (["07/19/2024,20,0", "07/20/2024,20,0"], None, "column 'date', rows 1, 2: not an ISO date: '07/19/2024'"),
    (["2024-07-19T00:00:00+02:00,20,0", "2024-07-20,20,0"], None, "row 1: a time or time zone where a plain date belongs"),
    (["2024-07-19,80,0", "2024-07-20,20,0"], None, "column 'temp_c', row 1 (date 2024-07-19): impossible values above 60 °C"),
    (["2024-07-19,1e300,0", "2024-07-20,20,0"], None, "impossible values above 60 °C"),
    (["2024-07-19,20,0"], None, "forecast lacks 1 of the plan's dates: 2024-07-20"),
    (["2024-07-18,20,0", "2024-07-19,20,0", "2024-07-20,20,0"], None,
     "row 1 (date 2024-07-18): forecast dates must be after the last data date 2024-07-18"),
    (["2024-07-19,20,0,", "2024-07-20,20,0,"], "date,temp_c,precip_mm,tenant_id", "column 'tenant_id', rows 1, 2 (dates 2024-07-19, 2024-07-20): blank tenant id"),
    ([], None, "has a header but no rows"),
])
def test_forecasts_are_read_as_strictly_as_the_lake(run: Path, tmp_path: Path, rows: list[str], header: str | None, message: str) -> None:
    fc = forecast(tmp_path / "forecast.csv", rows, header or "date,temp_c,precip_mm")
    res = allocate(run, tmp_path / "plan.json", "--forecast", str(fc))
    assert res.exit_code == 2, res.output
    assert "forecast.csv" in res.output and message in res.output, res.output
    assert not (tmp_path / "plan.json").exists()


def test_forecast_rows_for_tenants_the_run_lacks_are_named(run: Path, tmp_path: Path) -> None:
    rows = ["2024-07-19,20,0,extreme_rain_gear", "2024-07-20,21,0,extreme_rain_gear",
            "2024-07-19,20,0,extreme_rain_gaer", "2024-07-20,21,0,extreme_rain_gaer", "2024-07-19,20,0,medium_clothing"]
    fc = forecast(tmp_path / "forecast.csv", rows, "date,temp_c,precip_mm,tenant_id")
    res = allocate(run, tmp_path / "plan.json", "--forecast", str(fc))
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    # medium_clothing is in the run (only not planned here): not a stranger.
    assert ("forecast.csv: column 'tenant_id' names 1 tenant(s) the run does not have (extreme_rain_gaer); their 2 row(s) "
            "are ignored (the run's tenants: extreme_rain_gear, medium_clothing, none_books)") in said, res.output


def test_warnings_are_one_line_and_an_extreme_forecast_is_flagged(run: Path, tmp_path: Path) -> None:
    fc = forecast(tmp_path / "forecast.csv", ["2024-07-19,59,0", "2024-07-20,21,0"])
    res = allocate(run, tmp_path / "plan.json", "--forecast", str(fc))
    assert res.exit_code == 0, res.output
    assert "warning: UNCONVERGED RUN" in res.output
    assert "warning: forecast 59 °C on 2024-07-19 for extreme_rain_gear is" in res.output
    assert "the plan extrapolates the weather effect" in res.output and "in °F?" not in res.output
    assert "UserWarning" not in res.output and "cli.py" not in res.output
    # A forecast in °F (70, 66: 21 and 19 °C, inside extreme_rain_gear's history, mean 11.5 °C, sd 5.2) says so.
    fc = forecast(tmp_path / "fahrenheit.csv", ["2024-07-19,70,0", "2024-07-20,66,0"])
    res = allocate(run, tmp_path / "plan_f.json", "--forecast", str(fc))
    assert "in °F? temperatures are °C here: (°F − 32) × 5/9" in " ".join(res.output.split())
    days = pd.read_json(tmp_path / "plan.json", typ="series")["days"]
    assert days == ["2024-07-19", "2024-07-20"]


def test_demo_interrupted_says_what_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bayes_mmm.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes_mmm.api, "run_demo", interrupted)
    res = runner.invoke(app, ["demo", "--root", str(tmp_path)])
    assert res.exit_code == 130
    assert "interrupted: the current step wrote nothing; what the demo finished before stays under" in res.output
    assert "nothing was written" not in res.output


def test_plan_json_and_table_may_not_be_one_file(run: Path, tmp_path: Path) -> None:
    same = tmp_path / "same.json"
    res = allocate(run, same, "--csv", str(same))
    assert res.exit_code == 2 and "--out and --csv name the same file" in res.output
    assert not same.exists()
    for plan, table in (("nd/plan.json", "nd"), ("nd2", "nd2/plan.csv")):
        res = allocate(run, tmp_path / plan, "--csv", str(tmp_path / table))
        assert res.exit_code == 2 and "one lies inside the other" in " ".join(res.output.split()), res.output
        assert not (tmp_path / plan.split("/")[0]).exists()  # nothing half-written
    table = tmp_path / "table.csv"
    table.write_text("mine\n")
    res = allocate(run, tmp_path / "plan.json", "--csv", str(table))
    assert res.exit_code == 2 and "exists; pass force=True (CLI: --force) to replace it, or choose another --csv" in " ".join(res.output.split())
    assert table.read_text() == "mine\n"


def test_report_keeps_a_users_own_report_html_and_replaces_its_own(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(SMALL_RUN, run)
    mine = run / "report.html"
    mine.write_text("<html>my notes</html>")
    res = runner.invoke(app, ["report", str(run)])
    assert res.exit_code == 2 and "is not a report bayes-mmm wrote" in res.output
    assert mine.read_text() == "<html>my notes</html>"

    from bayes_mmm.surfaces.report import is_own_report, report_target

    mine.write_text('<!doctype html>\n<html><head><meta charset="utf-8">\n<meta name="generator" content="bayes-mmm">')
    assert is_own_report(mine) and report_target(run) == mine  # its own earlier report: replaced without --force
    assert report_target(run, force=True) == mine


def test_monitor_and_report_never_write_over_the_run_or_the_lake_they_read_even_with_force(tmp_path: Path) -> None:
    run, lake = tmp_path / "run", tmp_path / "lake"
    shutil.copytree(SMALL_RUN, run)
    shutil.copytree(SMALL_RUN.parent / "small_lake", lake)
    (run / "monitor.json").write_text('{"mine": 1}')
    before = {p: p.read_bytes() for p in [*run.iterdir(), lake / "none_books" / "daily.csv"]}
    monitor = ["monitor", str(run), "--data", str(lake), "--force", "--out"]
    cases = [
        ([*monitor, str(run / "summary.json")], "is a run folder's own file"),
        ([*monitor, str(lake / "none_books" / "daily.csv")], "a lake's tenant folder"),
        ([*monitor, str(lake / "none_books" / "notes.json")], "a lake's tenant folder"),
        (["report", str(run), "--out", str(run / "monitor.json"), "--force"], "is a run folder's own file"),
        (["allocate", "--run", str(run), "--tenant", "none_books", "--budget", "300", "--allow-unconverged",
          "--out", str(run / "monitor.json"), "--force"], "is a run folder's own file"),
    ]
    # a lake's data are never an output, whichever command and whether or not it read that lake
    daily = str(lake / "none_books" / "daily.csv")
    plan = ["allocate", "--run", str(run), "--tenant", "none_books", "--budget", "300", "--allow-unconverged"]
    for args in ([*plan, "--out", daily, "--force"], [*plan, "--out", str(tmp_path / "p.json"), "--csv", daily, "--force"],
                 ["report", str(run), "--out", daily, "--force"], ["compare", str(run), str(run), "--out", daily, "--force"],
                 ["score-plan", "--run", str(run), "--plan", str(tmp_path / "p.json"), "--allow-unconverged", "--out", daily,
                  "--force"]):
        cases.append((args, f"lies in {lake / 'none_books'}, a lake's tenant folder; outputs are never written among a lake's data"))
    # only the file's own folder counts: a run kept inside a tenant folder writes its reports as anywhere else
    kept = lake / "none_books" / "runs" / "r1"
    shutil.copytree(SMALL_RUN, kept)
    res = runner.invoke(app, ["report", str(kept), "--out", str(kept / "r.html")])
    assert res.exit_code == 0, res.output
    for args, message in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in " ".join(res.output.split()), (args, res.output)
    assert {p: p.read_bytes() for p in before} == before
    assert not (lake / "none_books" / "notes.json").exists()


def test_a_run_kept_inside_its_lake_is_monitored_and_reported_to_its_own_files_again(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(SMALL_RUN.parent / "small_lake", lake)
    run = lake / "runs" / "r1"
    shutil.copytree(SMALL_RUN, run)
    res = runner.invoke(app, ["monitor", str(run), "--data", str(lake)])
    assert res.exit_code == 2 and "no periods after the run's window" in res.output  # the lake's problem, not the guard's
    for force in ([], ["--force"]):  # a custom --out in the run folder: written, then replaced on request
        res = runner.invoke(app, ["report", str(run), "--out", str(run / "custom.html"), *force])
        assert res.exit_code == 0, res.output
    assert "bayes-mmm" in (run / "custom.html").read_text()[:2000]


def test_score_plan_warns_once_of_a_plan_far_above_the_recent_spend_as_allocate_does(run: Path, tmp_path: Path) -> None:
    res = allocate(run, tmp_path / "plan.json", "--csv", str(tmp_path / "plan.csv"))
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "plan.csv")
    spend = [c for c in table.columns if c not in ("date", "tenant_id")]
    table[spend] *= 8.0
    table.to_csv(tmp_path / "x8.csv", index=False)
    res = runner.invoke(app, ["score-plan", "--run", str(run), "--plan", str(tmp_path / "x8.csv"), "--allow-unconverged"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    total = 8.0 * 3000.0
    assert text.count("recent spend of extreme_rain_gear over as many periods") == 1, text
    assert f"budget {total:,.0f} is" in text


def test_a_tenant_id_typed_with_spaces_is_the_tenant(run: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["allocate", "--run", str(run), "--tenant", " extreme_rain_gear ", "--budget", "3000",
                              "--allow-unconverged", "--days", "2", "--out", str(tmp_path / "plan.json")])
    assert res.exit_code == 0, res.output
    assert list(json.loads((tmp_path / "plan.json").read_text())["tenants"]) == ["extreme_rain_gear"]
