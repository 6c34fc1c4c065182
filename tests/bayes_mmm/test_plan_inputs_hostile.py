"""Hostile plan inputs for score-plan and allocate: one line naming file, column and rows, exit 2, nothing written."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.horizon import MAX_PLAN_DAYS, plan_dates
from bayes_mmm.decide.score import score_plan
from bayes_mmm.decide.weather import find_lake, plan_cities
from bayes_mmm.surfaces.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
SMALL_RUN = FIXTURES / "small_run"  # data end 2024-07-18; not converged; lake tests/fixtures/small_lake (relative)
RAIN, CLOTHES, BOOKS = "extreme_rain_gear", "medium_clothing", "none_books"  # Seattle, Chicago, Chicago
WIDE = "date,tenant_id,meta,google,email"
runner = CliRunner()


@pytest.fixture
def run(stored_run: Path) -> Path:
    """The committed small run (read only: every output goes to tmp_path)."""
    return stored_run


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def forecast(path: Path, dates: tuple[str, ...] = ("2024-07-19", "2024-07-20")) -> Path:
    return write(path, "date,temp_c,precip_mm", [f"{d},20,0" for d in dates])


def score(run: Path, plan: Path, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixture run did not converge: a loud warning, not the point here
        return score_plan(run, plan, allow_unconverged=True, **kw)


def refused(args: list[str], out: Path) -> str:
    """The one-line message of a command that must exit 2 without a traceback and write nothing."""
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and not out.exists()
    return " ".join(res.output.split())


# Bug 1: text in a spend cell was read as 0 spend; only a blank cell is no spend.
@pytest.mark.parametrize("cell", ['"1,200.50"', "$80.00", "lots", "#N/A", "NA", "NULL", "nan"])
def test_text_in_a_spend_cell_is_refused_naming_file_column_and_row(run: Path, tmp_path: Path, cell: str) -> None:
    plan = write(tmp_path / "plan.csv", WIDE, [f"2024-07-19,{RAIN},100,50,10", f"2024-07-20,{RAIN},100,{cell},10"])
    msg = refused(["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged"], tmp_path / "s.json")
    assert f"error: {plan}, column 'google', row 2: non-numeric value '{cell.strip(chr(34))}'" in msg


def test_a_blank_cell_is_no_spend(run: Path, tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.csv", WIDE, [f"2024-07-19,{RAIN},100,,10", f"2024-07-20,{RAIN},100,50,10"])
    scored = score(run, plan)
    assert scored["tenants"][RAIN]["plan"]["google"] == [0.0, 50.0]
    assert scored["budget"] == pytest.approx(270.0)


# Bug 2: a missing tenant×date row, channel column or long row was scored as zero spend.
def test_a_tenant_missing_a_date_the_others_have_is_refused(run: Path, tmp_path: Path) -> None:
    rows = [f"{d},{t},100,50,10" for t in (RAIN, CLOTHES) for d in ("2024-07-19", "2024-07-20")] + [f"2024-07-19,{BOOKS},100,50,10"]
    plan = write(tmp_path / "plan.csv", WIDE, rows)
    with pytest.raises(DataError, match=f"{plan}: tenant {BOOKS}: the plan has no value for meta, google, email on 2024-07-20"):
        score(run, plan)


def test_a_wide_plan_without_a_channel_the_tenant_has_is_refused(run: Path, tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.csv", "date,tenant_id,meta,google", [f"2024-07-19,{RAIN},100,50", f"2024-07-20,{RAIN},100,50"])
    with pytest.raises(DataError, match=f"tenant {RAIN}: the plan has no value for email on 2024-07-19, 2024-07-20"):
        score(run, plan)


def test_a_plan_dated_beyond_what_pandas_holds_names_its_file_column_and_row(run: Path, tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.csv", WIDE, [f"2024-07-19,{RAIN},100,50,10", f"9999-07-20,{RAIN},100,50,10"])
    msg = refused(["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged"], tmp_path / "s.json")
    assert f"error: {plan}, column 'date', row 2: date '9999-07-20' lies outside 1900–2200" in msg


def test_a_plan_json_missing_a_channel_key_is_refused_not_scored_as_zero(run: Path, tmp_path: Path) -> None:
    import json

    days = ["2024-07-19", "2024-07-20"]
    full = {"meta": [100.0, 100.0], "google": [50.0, 50.0], "email": [10.0, 10.0]}
    plan = {"days": days, "tenants": {RAIN: {"plan": full}, CLOTHES: {"plan": full},
                                      BOOKS: {"plan": {k: v for k, v in full.items() if k != "email"}}}}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    with pytest.raises(DataError, match=f"tenant {BOOKS}: the plan has no value for email on 2024-07-19, 2024-07-20"):
        score(run, tmp_path / "p.json")
    plan["tenants"][BOOKS]["plan"] = {}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    with pytest.raises(DataError, match=f"tenant {BOOKS}: its plan names no channel"):
        score(run, tmp_path / "p.json")
    plan["tenants"][BOOKS]["plan"] = full
    (tmp_path / "p.json").write_text(json.dumps(plan))
    assert score(run, tmp_path / "p.json")["tenants"][BOOKS]["plan"]["email"] == [10.0, 10.0]


def test_a_long_plan_missing_a_row_is_refused(run: Path, tmp_path: Path) -> None:
    rows = [f"{d},{RAIN},{ch},10" for d in ("2024-07-19", "2024-07-20") for ch in ("meta", "google", "email")]
    plan = write(tmp_path / "long.csv", "date,tenant_id,channel,spend", [r for r in rows if r != f"2024-07-20,{RAIN},google,10"])
    with pytest.raises(DataError, match=f"{plan}: tenant {RAIN}: the plan has no value for google on 2024-07-20"):
        score(run, plan)


# Bug 3: wide-plan errors named the melted 'spend' column and rows counted after the melt.
@pytest.mark.parametrize(("header", "rows", "where"), [
    (WIDE, [f"2024-07-19,{RAIN},100,50,-5"], "column 'email', row 1: negative values"),
    (WIDE, [f"2024-07-19,{RAIN},100,50,5", f"2024-07-20,{RAIN},-1,50,5"], "column 'meta', row 2: negative values"),
    (WIDE, [f"2024-07-19,{RAIN},100,50,5", f"20-07-2024,{RAIN},1,50,5"], "column 'date', row 2: not an ISO date: '20-07-2024'"),
    (WIDE, [f"2024-07-19,{RAIN},1,2,3", f"2024-07-19,{RAIN},1,2,3"], "rows 1, 2: the same tenant, channel and date appear twice"),
    ("date,tenant_id,channel,spend", [f"2024-07-19,{RAIN},meta,1", f"2024-07-19,{RAIN},email,1", f"2024-07-19,{RAIN},tv,1"],
     "column 'channel', row 3: unknown channel(s) tv"),
    ("date,tenant_id,channel,spend", [f"2024-07-19,{RAIN},meta,1", f"2024-07-19,{RAIN},google,1e999"],
     "column 'spend', row 2: non-finite value '1e999'"),
])
def test_errors_name_the_users_column_and_row(run: Path, tmp_path: Path, header: str, rows: list[str], where: str) -> None:
    plan = write(tmp_path / "plan.csv", header, rows)
    msg = refused(["score-plan", "--run", str(run), "--plan", str(plan), "--allow-unconverged"], tmp_path / "s.json")
    assert f"error: {plan}, {where}" in msg


def test_spend_on_a_channel_the_tenant_lacks_names_its_cell(tmp_path: Path) -> None:
    from tests.bayes_mmm.test_allocate import const_beta, make_run

    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 0.0], [100.0, 100.0, 100.0]]),
                   recent=np.array([[100.0, 50.0, 0.0], [80.0, 80.0, 40.0]]))
    plan = write(tmp_path / "plan.csv", "date,tenant_id,meta,google,email", ["2024-03-01,north,1,1,", "2024-03-02,north,1,1,5"])
    with pytest.raises(DataError, match="column 'email', row 2: tenant north has no channel email"):
        score_plan(run, plan)


# Bug 4: a lake recorded relative to where fit ran was not found from elsewhere, and the city check was skipped.
def moved_project(tmp_path: Path, with_lake: bool) -> Path:
    """The run under proj/runs/, the lake (when kept) at proj/tests/fixtures/small_lake as summary.json records it."""
    run = tmp_path / "proj" / "runs" / "small"
    shutil.copytree(SMALL_RUN, run)
    if with_lake:
        shutil.copytree(FIXTURES / "small_lake", tmp_path / "proj" / "tests" / "fixtures" / "small_lake")
    (tmp_path / "elsewhere").mkdir()
    return run


def portfolio_plan(path: Path) -> Path:
    return write(path, WIDE, [f"{d},{t},100,50,10" for t in (RAIN, CLOTHES, BOOKS) for d in ("2024-07-19", "2024-07-20")])


def test_the_lake_is_found_above_the_run_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = moved_project(tmp_path, with_lake=True)
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert find_lake("tests/fixtures/small_lake", run, [RAIN]) == tmp_path / "proj" / "tests" / "fixtures" / "small_lake"
    plan, fc = portfolio_plan(tmp_path / "plan.csv"), forecast(tmp_path / "fc.csv")
    with pytest.raises(DataError, match=r"one forecast for tenants in 2 cities \(Chicago, Seattle\)"):
        score(run, plan, forecast=fc)


def test_one_forecast_is_refused_when_the_cities_cannot_be_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = moved_project(tmp_path, with_lake=False)
    monkeypatch.chdir(tmp_path / "elsewhere")
    plan, fc = portfolio_plan(tmp_path / "plan.csv"), forecast(tmp_path / "fc.csv")
    msg = refused(["score-plan", "--run", str(run), "--plan", str(plan), "--forecast", str(fc), "--allow-unconverged"],
                  tmp_path / "s.json")
    assert (f"error: {fc}, column 'tenant_id': cannot check that one forecast suits all 3 tenants: the run's lake "
            "(tests/fixtures/small_lake) is not found, so their cities are unknown — add a tenant_id column") in msg
    # Still fine: one tenant, or a forecast per tenant.
    recorded = "tests/fixtures/small_lake"
    assert find_lake(recorded, run, [RAIN]) is None
    assert plan_cities(None, recorded, [RAIN], fc) == {}
    per_tenant = pd.DataFrame({"date": ["2024-07-19"] * 3, "temp_c": 20.0, "precip_mm": 0.0, "tenant_id": [RAIN, CLOTHES, BOOKS]})
    assert plan_cities(None, recorded, [RAIN, CLOTHES, BOOKS], per_tenant) == {}
    # A run fitted from data in memory records no lake: its cities were never known, nothing to restore.
    assert plan_cities(None, None, [RAIN, CLOTHES, BOOKS], fc) == {}


def test_allocate_checks_cities_from_another_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = moved_project(tmp_path, with_lake=True)
    monkeypatch.chdir(tmp_path / "elsewhere")
    msg = refused(["allocate", "--run", str(run), "--budget", "1000", "--days", "2", "--allow-unconverged",
                   "--forecast", str(forecast(tmp_path / "fc.csv"))], tmp_path / "p.json")
    assert "one forecast for tenants in 2 cities (Chicago, Seattle)" in msg


# Bug 5: --start took any date format and any distance ahead.
@pytest.mark.parametrize(("start", "message"), [
    ("07/25/2024", "start '07/25/2024' is not an ISO date — use YYYY-MM-DD"),
    ("2099-01-01", f"start 2099-01-01 is more than {MAX_PLAN_DAYS} days after the run's last period 2024-07-18"),
    ("9999-12-30", "start '9999-12-30' lies outside 1900–2200 — a typo in the year?"),
])
def test_allocate_start_must_be_iso_and_within_a_year(run: Path, tmp_path: Path, start: str, message: str) -> None:
    msg = refused(["allocate", "--run", str(run), "--tenant", RAIN, "--budget", "1000", "--days", "2", "--allow-unconverged",
                   "--start", start], tmp_path / "p.json")
    assert message in msg


def test_start_may_lie_up_to_a_year_after_the_data() -> None:
    last = pd.Timestamp("2024-07-18")
    dates, gap = plan_dates(last, "daily", 2, "2025-07-19")
    assert dates[0] == last + pd.Timedelta(days=MAX_PLAN_DAYS) and gap == MAX_PLAN_DAYS - 1
    assert plan_dates(last, "daily", 2, pd.Timestamp("2024-07-20"))[0][0] == pd.Timestamp("2024-07-20")
    with pytest.raises(DataError, match="more than 366 days after"):
        plan_dates(last, "daily", 2, "2025-07-20")
    with pytest.raises(DataError, match="start '2024-02-30' is not a date"):
        plan_dates(last, "daily", 2, "2024-02-30")


def test_a_weekly_plan_starts_on_the_runs_weekday() -> None:
    last = pd.Timestamp("2024-12-23")  # the run's last week begins on a Monday
    dates, gap = plan_dates(last, "weekly", 3, "2025-01-06")
    assert list(dates) == list(pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20"])) and gap == 1
    for start, day in (("2025-01-01", "Wednesday"), ("2025-01-05", "Sunday")):  # mid-week, or weeks dated by their end
        with pytest.raises(DataError, match=f"start {start} is a {day}; the run's weeks begin on Mondays — start on a Monday, e.g. 2024-12-30"):
            plan_dates(last, "weekly", 3, start)
