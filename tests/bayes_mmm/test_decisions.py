"""Decisions a merchant can trust (issue 16): trust region, do no harm, calendar, forecast coverage."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.decide.allocate import FREE, TrustRegion, allocate_run, plan_budget, prepare
from bayes_mmm.decide.bounds import caps_of, history_cap, parse_caps
from bayes_mmm.decide.pacing import pacing_violation, project_paced
from bayes_mmm.decide.score import score_plan
from bayes_mmm.decide.target import target_budget
from bayes_mmm.decide.whatif import write_plan_csv
from bayes_mmm.surfaces.cli import app
from tests.bayes_mmm.test_allocate import CHANNELS, TENANTS, const_beta, make_run

NORTH_CURRENT = np.array([100.0, 50.0, 20.0])  # make_run's recent daily spend of north


def rain_run(tmp_path: Path) -> tuple[Path, Path]:
    """meta works far better in the rain; a forecast with one very wet day among dry ones."""
    gamma = np.zeros((len(TENANTS), len(CHANNELS), 2))
    gamma[:, 0, 1] = 0.8
    run = make_run(tmp_path / "run", const_beta([[300.0, 200.0, 200.0], [200.0, 200.0, 200.0]]), gamma=gamma)
    fc = tmp_path / "forecast.csv"
    dates = pd.date_range("2024-03-01", periods=7, freq="D").strftime("%Y-%m-%d")
    pd.DataFrame({"date": dates, "temp_c": 10.0, "precip_mm": [0, 0, 40, 0, 0, 40, 0]}).to_csv(fc, index=False)
    return run, fc


def plan_array(plan: dict, tid: str = "north") -> np.ndarray:
    return np.array([plan["tenants"][tid]["plan"][ch] for ch in CHANNELS])


def test_pacing_band_and_caps_hold_in_the_plan(tmp_path: Path) -> None:
    run, fc = rain_run(tmp_path)
    free = plan_array(allocate_run(run, 1190.0, tenant="north", days=7, forecast=fc, trust=FREE, confidence=None))
    assert pacing_violation(free, 0.2) > 0.5  # unconstrained, spend jumps to the wet days
    trust = TrustRegion(band=0.3, pacing=0.2, caps={"email": 25.0})
    plan = allocate_run(run, 1190.0, tenant="north", days=7, forecast=fc, trust=trust, confidence=None)
    u = plan_array(plan)
    assert u.sum() == pytest.approx(1190.0, abs=1e-6)
    rel = u[:, 1:] / u[:, :-1] - 1
    assert np.all(np.abs(rel) <= 0.2 + 1e-6)
    assert np.abs(rel).max() == pytest.approx(0.2, abs=1e-4)  # pacing binds: the rain still moves meta
    assert np.all(np.abs(u[:, 0] / NORTH_CURRENT - 1) <= 0.2 + 1e-6)  # the first day paced from today's level
    assert np.all(u <= 1.3 * NORTH_CURRENT[:, None] + 1e-6) and np.all(u >= 0.7 * NORTH_CURRENT[:, None] - 1e-6)
    assert u[2].max() <= 25.0 + 1e-9
    assert plan["trust_region"]["band"] == 0.3 and "±30 %" in plan["trust_region"]["explained"].replace("±30%", "±30 %")


def test_the_readme_bounds_with_a_cap_below_todays_level_plan(tmp_path: Path) -> None:
    # README: meta has its own bounds, '*=20%' the others, and email (today 20 a day) a cap of 15. A cap pulls the
    # percentage's floor (16) down as it does the band's; '*' no longer reaches meta (tests/…/test_adversarial_plan.py).
    run, _ = rain_run(tmp_path)
    bounds = {"meta": (50.0, 400.0), "*": "20%"}
    plan = allocate_run(run, 1190.0, tenant="north", days=7, channel_bounds=bounds, trust=TrustRegion(caps={"email": 15.0}),
                        confidence=None)
    u = plan_array(plan)
    assert u.sum() == pytest.approx(1190.0, abs=1e-6)
    assert np.all((u[0] >= 50.0 - 1e-6) & (u[0] <= 400.0 + 1e-6))
    assert np.all(np.abs(u[1] / NORTH_CURRENT[1] - 1) <= 0.2 + 1e-6)  # google: '*'
    np.testing.assert_allclose(u[2], 15.0, atol=1e-6)  # email: ±20 % of 20 meets the cap at 15
    with pytest.raises(DataError, match="'email': its minimum per period is above its cap"):  # an amount the user gave
        allocate_run(run, 1190.0, tenant="north", days=7, channel_bounds={"email": (18.0, None)},
                     trust=TrustRegion(caps={"email": 15.0}), confidence=None)


def test_one_budget_over_tenants_in_two_currencies_is_warned_about(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[0.5, 0.4, 0.3], [0.4, 0.4, 0.2]]))
    lake = tmp_path / "lake"
    for tid, cur in (("north", "USD"), ("south", "AUD")):
        (lake / tid).mkdir(parents=True)
        (lake / tid / "tenant.json").write_text(json.dumps({"currency": cur}))
    summary = json.loads((run / "summary.json").read_text())
    summary["data"]["lake"] = str(lake)
    (run / "summary.json").write_text(json.dumps(summary))
    note = ("one budget is shared by tenants in 2 currencies (AUD: south; USD: north): their amounts are added as if one "
            "currency; plan each currency's tenants on their own budget (allocate --tenant ID, or tenant_budgets in Python)")
    plan = allocate_run(run, 2590.0, days=7)
    assert plan["warnings"] == [note]
    write_plan_csv(plan, tmp_path / "plan.csv")
    with pytest.warns(UserWarning, match="one budget is shared by tenants in 2 currencies"):
        assert score_plan(run, tmp_path / "plan.csv")["warnings"] == [note]  # score-plan says it too
    assert allocate_run(run, 1190.0, tenant="north", days=7)["warnings"] == []  # one tenant, one currency
    apart = allocate_run(run, 2590.0, days=7, tenant_budgets={"north": 1190.0, "south": 1400.0})
    assert apart["warnings"] == []  # each tenant's own budget, in its own currency
    (lake / "south" / "tenant.json").write_text(json.dumps({"currency": "USD"}))
    assert allocate_run(run, 2590.0, days=7)["warnings"] == []
    # A run that recorded its tenants' currencies at fit time needs no lake (planned from another folder).
    summary["data"]["lake"] = "somewhere/else"
    summary["tenants"] = {"north": {"currency": "USD"}, "south": {"currency": "AUD"}}
    (run / "summary.json").write_text(json.dumps(summary))
    assert allocate_run(run, 2590.0, days=7)["warnings"] == [note]


def test_default_caps_are_1_2_times_the_largest_observed() -> None:
    spend = np.array([[[10.0, 50.0, 20.0], [5.0, 5.0, 5.0], [0.0, 8.0, 2.0]]])  # (N, C, T)
    current = np.repeat(np.array([[30.0, 9.0, 1.0]])[..., None], 4, axis=-1)
    caps = caps_of(TrustRegion(caps={"email": 1.5}), CHANNELS, current, spend)
    # meta 1.2 × 50; google's current level (9) is above 1.2 × 5, so it stays feasible; email as given.
    np.testing.assert_allclose(caps, [[60.0, 9.0, 1.5]])
    np.testing.assert_allclose(caps_of(FREE, CHANNELS, current, spend), np.inf)
    with pytest.raises(DataError, match="unknown channel 'tv' in caps"):
        caps_of(TrustRegion(caps={"tv": 1.0}), CHANNELS, current, spend)
    # "*" caps every channel not named, as --bounds reads it; a channel capped twice is refused, as bounded twice is.
    np.testing.assert_allclose(caps_of(TrustRegion(caps=parse_caps("*=7, email=1.5")), CHANNELS, current, spend), [[7.0, 7.0, 1.5]])
    with pytest.raises(DataError, match="channel 'email' is capped twice in 'email=10,email=20'"):
        parse_caps("email=10,email=20")


def test_paced_projection_is_the_exact_projection() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 100, (1, 2, 5))
    lower, upper = np.zeros_like(x), np.full_like(x, 80.0)
    groups = [(np.array([0]), 300.0)]
    y = project_paced(x, lower, upper, groups, 0.1)
    assert pacing_violation(y, 0.1) <= 1e-6 and y.sum() == pytest.approx(300.0) and y.max() <= 80.0 + 1e-9
    # Any other feasible plan (random ones, paced by construction) is farther from x.
    for _ in range(200):
        level = rng.uniform(20, 40, (1, 2, 1)) * np.cumprod(rng.uniform(0.92, 1.08, (1, 2, 5)), axis=-1)
        z = level * 300.0 / level.sum()
        if pacing_violation(z, 0.1) <= 1e-9 and z.max() <= 80.0:
            assert np.linalg.norm(z - x) >= np.linalg.norm(y - x) - 1e-6
    np.testing.assert_allclose(project_paced(y, lower, upper, groups, 0.1), y, atol=1e-6)  # a paced plan stays


def two_faced_beta(spread: float, s: int = 400) -> np.ndarray:
    """meta's β has mean 300 (north) and ± ``spread`` relative spread across draws; the other channels are certain."""
    beta = const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]], s)
    beta[:, 0, 0] *= 1 + np.where(np.arange(s) % 2 == 0, spread, -spread)
    return beta


def test_a_posterior_too_wide_keeps_the_current_mix(tmp_path: Path) -> None:
    sure = make_run(tmp_path / "sure", two_faced_beta(0.05))
    moved = allocate_run(sure, 1190.0, tenant="north", days=7)
    t = moved["tenants"]["north"]
    assert t["step_toward_optimum"] == 1.0 and t["prob_plan_beats_current"] >= 0.9
    assert plan_array(moved)[0].sum() > 7 * 100.0 * 1.1  # more on meta

    wide = make_run(tmp_path / "wide", two_faced_beta(0.95))
    optimum = allocate_run(wide, 1190.0, tenant="north", days=7, confidence=None)
    full = optimum["tenants"]["north"]
    assert full["prob_plan_beats_current"] == pytest.approx(0.5)  # the optimum wins on half the draws only
    # ... and loses on the other half: the posterior expects half a tenant worse off.
    assert optimum["portfolio"]["expected_tenants_worse_off"] == pytest.approx(0.5)
    kept = allocate_run(wide, 1190.0, tenant="north", days=7)
    assert kept["portfolio"]["expected_tenants_worse_off"] == 0.0  # the current mix cannot be worse than itself
    k = kept["tenants"]["north"]
    np.testing.assert_allclose(plan_array(kept), np.repeat(NORTH_CURRENT[:, None], 7, axis=1), rtol=1e-12)
    assert k["step_toward_optimum"] == 0.0 and k["prob_plan_beats_current"] == 0.0
    assert k["plan_is_current"] is True and kept["portfolio"]["plan_is_current"] is True
    assert t["plan_is_current"] is False and moved["portfolio"]["plan_is_current"] is False
    assert k["uplift"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert kept["do_no_harm"]["steps"] == [{"step": 0.0, "prob_beats_current": 0.0, "expected_gain": 0.0, "held_small_gain": False}]


def test_a_move_that_promises_less_than_the_least_gain_keeps_the_current_mix(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sure", two_faced_beta(0.05))
    by_p = allocate_run(run, 1190.0, tenant="north", days=7, min_gain=0.0)
    t = by_p["tenants"]["north"]
    assert t["step_toward_optimum"] == 1.0 and t["prob_plan_beats_current"] >= 0.9
    gain = t["uplift"]["mean"]  # the plan's own evaluation, not do-no-harm's
    assert by_p["do_no_harm"]["steps"][0]["expected_gain"] == pytest.approx(gain, abs=0.01)
    # the full step is the best one, so a bar just above its gain holds every step, one just below takes it
    held = allocate_run(run, 1190.0, tenant="north", days=7, min_gain=1.02 * gain / 1190.0)
    h = held["tenants"]["north"]
    np.testing.assert_allclose(plan_array(held), np.repeat(NORTH_CURRENT[:, None], 7, axis=1), rtol=1e-12)
    assert h["step_toward_optimum"] == 0.0 and h["held_small_gain"] is True
    assert "of the budget" in held["do_no_harm"]["explained"]
    taken = allocate_run(run, 1190.0, tenant="north", days=7, min_gain=0.98 * gain / 1190.0)
    np.testing.assert_allclose(plan_array(taken), plan_array(by_p), rtol=1e-9)
    assert "held_small_gain" not in taken["tenants"]["north"]
    with pytest.raises(DataError, match=r"least gain .* \[0, 1\)"):
        allocate_run(run, 1190.0, tenant="north", days=7, min_gain=1.5)


def test_the_least_gain_counts_from_the_nearest_plan_the_bounds_allow(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sure", two_faced_beta(0.05))
    kw = {"tenant": "north", "days": 7, "channel_bounds": {"meta": (110.0, 115.0)}}  # today's 100 is outside
    full = allocate_run(run, 1190.0, min_gain=0.0, **kw)
    assert full["tenants"]["north"]["step_toward_optimum"] == 1.0
    g_full = full["do_no_harm"]["steps"][0]["expected_gain"]
    at_anchor = allocate_run(run, 1190.0, min_gain=0.99, **kw)
    g_anchor = at_anchor["do_no_harm"]["steps"][0]["expected_gain"]
    assert g_anchor > 0.0 and at_anchor["tenants"]["north"]["step_toward_optimum"] == 0.0  # the bounds already gain
    assert at_anchor["do_no_harm"]["steps"][0]["refused"]["expected_gain"] == pytest.approx(g_full - g_anchor, abs=0.02)
    # a bar the move beyond the anchor misses, though the full plan beats today's mix by more than it
    bar = g_full - 0.5 * g_anchor
    held = allocate_run(run, 1190.0, min_gain=bar / 1190.0, **kw)
    assert held["tenants"]["north"]["step_toward_optimum"] == 0.0 and held["tenants"]["north"]["held_small_gain"]
    np.testing.assert_allclose(plan_array(held), plan_array(at_anchor), rtol=1e-12)


def test_cli_min_gain_reads_a_percentage_and_says_why_a_tenant_is_held(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sure", two_faced_beta(0.05))
    args = ["allocate", "--run", str(run), "--tenant", "north", "--budget", "1190", "--out", str(tmp_path / "p.json")]
    res = CliRunner().invoke(app, [*args, "--min-gain", "99%"])
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "p.json").read_text())
    refused = plan["tenants"]["north"]["refused_step"]
    said = " ".join(res.output.split())  # rich wraps at the terminal's width
    assert (f"held: its likely move (step 1.0, P {refused['prob_beats_current']:.2f}) promised +{refused['expected_gain']:,.0f} "
            f"({refused['expected_gain'] / 1190:.2%} of the 1,190 budget), below --min-gain 99.00%") in said
    assert plan["do_no_harm"]["min_gain"] == pytest.approx(0.99)
    assert "the plan is the current mix" in said and "P(plan beats current) 0.00" not in said  # P 0 read as a sure loss
    res = CliRunner().invoke(app, [*args, "--min-gain", "0", "--force"])
    said = " ".join(res.output.split())
    assert res.exit_code == 0 and "the plan is the current mix" not in said
    assert f"P(plan beats current) {json.loads((tmp_path / 'p.json').read_text())['portfolio']['prob_plan_beats_current']:.2f}" in said
    res = CliRunner().invoke(app, [*args, "--min-gain", "150%", "--force"])
    assert res.exit_code == 2 and "least gain of a move must lie in [0, 1)" in res.output


def test_cli_trust_region_and_confidence_read_percentages_as_their_fractions(tmp_path: Path) -> None:
    run = make_run(tmp_path / "sure", two_faced_beta(0.05))
    args = ["allocate", "--run", str(run), "--tenant", "north", "--budget", "1190"]
    plans = {}
    for name, extra in (("pct", ["--band", "25%", "--pacing", "15%", "--confidence", "80%"]),
                        ("frac", ["--band", "0.25", "--pacing", "0.15", "--confidence", "0.8"])):
        res = CliRunner().invoke(app, [*args, *extra, "--out", str(tmp_path / f"{name}.json")])
        assert res.exit_code == 0, res.output
        plans[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert plans["pct"]["trust_region"]["band"] == pytest.approx(0.25)
    assert plans["pct"]["trust_region"]["pacing"] == pytest.approx(0.15)
    np.testing.assert_allclose(plan_array(plans["pct"]), plan_array(plans["frac"]), rtol=1e-12)
    res = CliRunner().invoke(app, [*args, "--band", "x%", "--out", str(tmp_path / "bad.json")])
    assert res.exit_code == 2 and "--band: 'x%' is not a number" in res.output


def test_a_channel_the_data_cannot_identify_keeps_its_current_spend(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", two_faced_beta(0.05))  # the optimum moves budget to north's meta
    summary = json.loads((run / "summary.json").read_text())
    summary["tenants"] = {"north": {"identification": {"meta": {"flagged": True, "reasons": ["correlated with google"]}}}}
    (run / "summary.json").write_text(json.dumps(summary))
    plan = allocate_run(run, 1190.0, tenant="north", days=7)
    u = plan_array(plan)
    np.testing.assert_allclose(u[0], NORTH_CURRENT[0], rtol=1e-9)  # meta held every day
    assert u.sum() == pytest.approx(1190.0, abs=1e-6)
    assert not np.allclose(u[1:], NORTH_CURRENT[1:, None])  # the identified channels still move
    assert plan["trust_region"]["held"] == ["north:meta"]
    assert "cannot tell apart" in plan["trust_region"]["explained"]
    # Named in the user's bounds, or with the trust region off, the channel is planned like the others.
    named = allocate_run(run, 1190.0, tenant="north", days=7, channel_bounds={"meta": (0.0, None)})
    assert named["trust_region"]["held"] == [] and plan_array(named)[0].sum() > 7 * NORTH_CURRENT[0] * 1.05
    free = allocate_run(run, 1190.0, tenant="north", days=7, trust=FREE, confidence=None)
    assert free["trust_region"]["held"] == [] and plan_array(free)[0].sum() > 7 * NORTH_CURRENT[0] * 1.05
    # A cap below today's level binds a held channel too: the user's --cap is a hard limit.
    capped = allocate_run(run, 1190.0, tenant="north", days=7, trust=TrustRegion(band=None, caps={"meta": 60.0}))
    assert plan_array(capped)[0].max() <= 60.0 + 1e-9 and plan_array(capped).sum() == pytest.approx(1190.0, abs=1e-6)
    with pytest.raises(DataError, match=r"the maximums add up to 1,050\.00, below the budget 1,190\.00"):  # band: no room left
        allocate_run(run, 1190.0, tenant="north", days=7, trust=TrustRegion(caps={"meta": 60.0}))


def test_a_channel_dark_in_the_recent_window_stays_at_0_and_is_named(tmp_path: Path) -> None:
    """A band of ±30 % around 0 is 0: the plan says so (PyMC-Marketing's geo data: x1 dark for its last weeks)."""
    import arviz as az

    recent = np.array([[100.0, 0.0, 20.0], [80.0, 40.0, 20.0]])
    run = make_run(tmp_path / "run", const_beta([[300.0, 200.0, 200.0], [200.0, 200.0, 200.0]]), recent=recent)
    idata = az.from_netcdf(run / "idata.nc").load()
    idata.constant_data["spend"][0, 1, :-28] = 50.0  # north's google ran before, dark in the last 28 days
    idata.to_netcdf(str(run / "idata.nc"), engine="h5netcdf")
    plan = allocate_run(run, 840.0, tenant="north", days=7)
    assert plan_array(plan)[1].sum() == 0.0
    assert plan["trust_region"]["dark"] == ["north:google"]
    bounded = allocate_run(run, 840.0, tenant="north", days=7, channel_bounds={"google": (0.0, 50.0)})
    assert bounded["trust_region"]["dark"] == ["north:google"]  # pacing still scales today's 0: still said
    lifted = allocate_run(run, 840.0, tenant="north", days=7, channel_bounds={"google": (0.0, 50.0)},
                          trust=TrustRegion(band=0.3, pacing=None))
    assert lifted["trust_region"]["dark"] == [] and plan_array(lifted)[1].sum() > 0


def test_wide_bounds_warn_naming_channels_with_wide_posteriors(tmp_path: Path) -> None:
    wide = make_run(tmp_path / "wide", two_faced_beta(0.95), roas=two_faced_beta(0.95) / 100)
    with pytest.warns(UserWarning, match=r"posterior too wide .*: north:meta$"):
        plan = allocate_run(wide, 1190.0, tenant="north", days=7, channel_bounds={"meta": (0.0, 500.0)})
    assert plan["warnings"] == ["posterior too wide for a move beyond the trust region (90 % ROAS interval wider than its mean): north:meta"]


def test_start_shifts_the_plan_dates(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    plan = allocate_run(run, 510.0, tenant="north", days=3, start="2024-03-10")
    assert plan["days"] == ["2024-03-10", "2024-03-11", "2024-03-12"] and plan["start"] == "2024-03-10"
    default = allocate_run(run, 510.0, tenant="north", days=3)
    assert default["days"] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    with pytest.raises(DataError, match=r"start 2024-02-20 overlaps the run's data, whose last period begins 2024-02-29"):
        allocate_run(run, 510.0, tenant="north", days=3, start="2024-02-20")


def test_weekly_runs_plan_in_weeks(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]), cadence="weekly")
    plan = allocate_run(run, 3 * 170.0, tenant="north", periods=3)
    last = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=59)
    assert plan["days"] == [(last + pd.Timedelta(weeks=k)).strftime("%Y-%m-%d") for k in (1, 2, 3)]
    assert plan["cadence"] == "weekly" and plan["carryover_periods"] == 0  # l_max 5 days: one week
    with pytest.raises(DataError, match="the run's data are weekly: its plans are counted in weeks, not days"):
        allocate_run(run, 510.0, tenant="north", days=3)
    # The last week's data run to its seventh day: a plan five weeks after its start is 29 days after the data.
    later = allocate_run(run, 3 * 170.0, tenant="north", periods=3, start=(last + pd.Timedelta(weeks=5)).strftime("%Y-%m-%d"))
    assert later["warnings"] == [f"north's data end on {last + pd.Timedelta(days=6):%Y-%m-%d}, 29 days before the plan starts: "
                                 "its current spend and carry-over are those of its last periods; refit with its recent data "
                                 "before acting on its plan"]


def test_a_weekly_run_reads_a_daily_forecast_as_weeks(tmp_path: Path) -> None:
    """Each week's weather is its days' mean temperature and total rain, as import builds a weekly lake."""
    gamma = np.zeros((len(TENANTS), len(CHANNELS), 2))
    gamma[:, 0, 1] = 0.3
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]), cadence="weekly", gamma=gamma)
    first = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=60)
    days = pd.date_range(first, periods=21, freq="D")
    rng = np.random.default_rng(4)
    daily = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "temp_c": rng.uniform(0, 30, 21), "precip_mm": rng.uniform(0, 20, 21)})
    daily.loc[daily.index % 7 == 0, ["temp_c", "precip_mm"]] = [5.0, 0.0]  # the week starts look dry and cold
    weekly = pd.DataFrame({"date": days[::7].strftime("%Y-%m-%d"),
                           "temp_c": daily["temp_c"].to_numpy().reshape(3, 7).mean(axis=1),
                           "precip_mm": daily["precip_mm"].to_numpy().reshape(3, 7).sum(axis=1)})
    plans = {}
    for name, frame in (("daily", daily), ("weekly", weekly), ("starts", daily[daily.index % 7 == 0])):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        plans[name] = allocate_run(run, 3 * 170.0, tenant="north", periods=3, forecast=tmp_path / f"{name}.csv")
    mult = {k: np.array(v["tenants"]["north"]["media_multiplier"]["meta"]) for k, v in plans.items()}
    np.testing.assert_allclose(mult["daily"], mult["weekly"], rtol=1e-9)
    assert not np.allclose(mult["daily"], mult["starts"], rtol=1e-3)  # what reading the week-start rows alone gave
    short = daily.iloc[:-1]  # the last week lacks its Sunday: not a week of weather
    short.to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match="lacks 1 of the plan's dates: " + days[14].strftime("%Y-%m-%d")):
        allocate_run(run, 3 * 170.0, tenant="north", periods=3, forecast=tmp_path / "short.csv")
    # Weekly rows dated on the weeks' last day: the message says which weekday the run's weeks begin on.
    weekly.assign(date=(days[6::7]).strftime("%Y-%m-%d")).to_csv(tmp_path / "sundays.csv", index=False)
    with pytest.raises(DataError) as e:
        allocate_run(run, 3 * 170.0, tenant="north", periods=3, forecast=tmp_path / "sundays.csv")
    assert str(e.value).endswith(f"— its rows are dated on {days[6]:%A}s, the run's weeks begin on {days[0]:%A}s: date each "
                                 "week by its first day, or give daily rows (each week's temperatures are averaged, its rain and snow summed)")


def test_a_forecast_must_cover_the_plan_and_name_its_tenants(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    fc = tmp_path / "forecast.csv"
    pd.DataFrame({"date": ["2024-03-01", "2024-03-02"], "temp_c": 5.0, "precip_mm": 0.0}).to_csv(fc, index=False)
    with pytest.raises(DataError, match=r"forecast lacks 1 of the plan's dates: 2024-03-03"):
        allocate_run(run, 510.0, tenant="north", days=3, forecast=fc)
    later = tmp_path / "later.csv"
    pd.DataFrame({"date": ["2024-04-01", "2024-04-02"], "temp_c": 5.0, "precip_mm": 0.0}).to_csv(later, index=False)
    with pytest.raises(DataError, match=r"forecast lacks 2 of the plan's dates: 2024-03-01, 2024-03-02"):
        allocate_run(run, 340.0, tenant="north", days=2, forecast=later)
    # One forecast for shops in two cities, the cities read from the run's lake.
    lake = tmp_path / "lake"
    for tid, city in (("north", "Denver"), ("south", "Seattle")):
        (lake / tid).mkdir(parents=True)
        (lake / tid / "tenant.json").write_text(json.dumps({"tenant_id": tid, "city": city}))
    summary = json.loads((run / "summary.json").read_text())
    summary["data"]["lake"] = str(lake)
    (run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DataError, match=r"one forecast for tenants in 2 cities \(Denver, Seattle\)"):
        allocate_run(run, 680.0, days=2, forecast=fc)
    assert math.isfinite(allocate_run(run, 340.0, tenant="north", days=2, forecast=fc)["budget"])  # one city: fine


# --------------------------------------------------------------------------- what-if, target, export, CLI


def flat(x: object) -> list[float]:
    """Numbers of a nested plan.json entry, in key order."""
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in flat(x[k])]
    return [float(v) for v in x] if isinstance(x, list) else [float(x)]


def test_score_plan_agrees_with_allocate_and_the_csv_round_trips(tmp_path: Path) -> None:
    run, fc = rain_run(tmp_path)
    plan = allocate_run(run, 2 * 1190.0, days=7, forecast=fc)
    csv = write_plan_csv(plan, tmp_path / "plan.csv")
    table = pd.read_csv(csv)
    assert list(table.columns) == ["date", "tenant_id", *CHANNELS] and len(table) == 14
    assert table.loc[table.tenant_id == "north", "meta"].tolist() == pytest.approx(plan["tenants"]["north"]["plan"]["meta"], rel=1e-15)
    scored = score_plan(run, csv, forecast=fc)
    for tid in TENANTS:
        mine, theirs = scored["tenants"][tid], plan["tenants"][tid]
        for key in ("expected_incremental_revenue", "uplift", "prob_plan_beats_current", "current"):
            assert flat(mine[key]) == pytest.approx(flat(theirs[key]), rel=1e-9, abs=1e-9), (tid, key)
        assert mine["prob_plan_beats_current"] > 0.5  # a real plan, not a copy of the current mix
    assert scored["portfolio"]["uplift"] == pytest.approx(plan["portfolio"]["uplift"], rel=1e-9)
    # The long layout scores the same.
    long = table.melt(id_vars=["date", "tenant_id"], var_name="channel", value_name="spend")
    long.to_csv(tmp_path / "long.csv", index=False)
    again = score_plan(run, tmp_path / "long.csv", forecast=fc)
    assert again["portfolio"]["prob_plan_beats_current"] == scored["portfolio"]["prob_plan_beats_current"]
    # allocate's own plan.json is read as that table.
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    from_json = score_plan(run, tmp_path / "plan.json", forecast=fc)
    assert from_json["tenants"] == scored["tenants"] and from_json["portfolio"] == scored["portfolio"]
    # A single tenant with its own budget: same numbers as allocate with that tenant.
    one = allocate_run(run, 1190.0, tenant="south", days=7, forecast=fc)
    write_plan_csv(one, tmp_path / "south.csv")
    s1 = score_plan(run, tmp_path / "south.csv", forecast=fc, same_budget="tenant")
    assert s1["tenants"]["south"]["uplift"] == pytest.approx(one["tenants"]["south"]["uplift"], rel=1e-9)


def test_score_plan_refuses_bad_plans(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 0.0], [100.0, 100.0, 100.0]]),
                   recent=np.array([[100.0, 50.0, 0.0], [80.0, 80.0, 40.0]]))
    gap = tmp_path / "gap.csv"
    pd.DataFrame({"date": ["2024-03-01", "2024-03-03"], "tenant_id": "north", "meta": 1.0}).to_csv(gap, index=False)
    with pytest.raises(DataError, match="plan dates must be consecutive daily periods from 2024-03-01: no row for 2024-03-02 "):
        score_plan(run, gap)
    pd.DataFrame({"date": ["2024-03-01", "2024-03-02", "2024-03-02", "2024-03-09"], "tenant_id": ["north", "north", "south", "north"],
                  "meta": 1.0}).to_csv(gap, index=False)
    with pytest.raises(DataError, match="no row for 2024-03-03, 2024-03-04, 2024-03-05, 2024-03-06, 2024-03-07 and 1 more"):
        score_plan(run, gap)
    (tmp_path / "other.json").write_text('{"days": ["2024-03-01"], "tenants": {"north": {"plan": {"meta": [1.0, 2.0]}}}}')
    with pytest.raises(DataError, match=r"tenant north, channel meta: the plan needs one amount per day of 'days' \(1\)"):
        score_plan(run, tmp_path / "other.json")
    for cell in ("null", "NaN", "true"):
        (tmp_path / "other.json").write_text('{"days": ["2024-03-01"], "tenants": {"north": {"plan": {"meta": [CELL]}}}}'.replace("CELL", cell))
        with pytest.raises(DataError, match=r"tenant north, channel meta: (None|nan|True) on 2024-03-01 is not an amount"):
            score_plan(run, tmp_path / "other.json")
    (tmp_path / "other.json").write_text('{"run_id": "x"}')
    with pytest.raises(DataError, match="is JSON but not a plan of `bayes-mmm allocate`"):
        score_plan(run, tmp_path / "other.json")
    ghost = tmp_path / "ghost.csv"
    pd.DataFrame({"date": ["2024-03-01", "2024-03-02"], "tenant_id": "nort", "meta": 1.0}).to_csv(ghost, index=False)
    with pytest.raises(DataError) as e:
        score_plan(run, ghost)
    assert str(e.value) == (f"{ghost}, column 'tenant_id', rows 1, 2: tenant 'nort' is not in the run, which has north, south "
                            "— tenant_id must match the lake's folder names")
    spend = tmp_path / "spend.csv"
    pd.DataFrame({"date": ["2024-03-01"], "tenant_id": "north", "meta": 1.0, "email": 5.0}).to_csv(spend, index=False)
    with pytest.raises(DataError, match="tenant north has no channel email in the run's data"):
        score_plan(run, spend)


def test_target_roas_finds_the_budget_where_roas_falls_to_it(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    setup = prepare(run, "north", days=3)
    plan = target_budget(setup, 8.0, "roas", trust=FREE, confidence=None)
    b = plan["target"]["budget"]
    assert plan["portfolio"]["roas_plan"]["mean"] >= 8.0
    assert plan_budget(setup, b * 1.01, trust=FREE, confidence=None)["portfolio"]["roas_plan"]["mean"] < 8.0
    assert plan["budget"] == pytest.approx(b)
    m = target_budget(setup, 2.0, "mroas", trust=FREE, confidence=None)
    assert m["portfolio"]["marginal_roas_plan"] >= 2.0
    assert plan_budget(setup, m["target"]["budget"] * 1.01, trust=FREE, confidence=None)["portfolio"]["marginal_roas_plan"] < 2.0
    with pytest.raises(DataError, match=r"no budget from [\d,.]+ to [\d,.]+ \(halving\) gives the plan expected ROAS 1e\+06: "
                                        r"the best, ([\d.]+), at ([\d,.]+)") as e:
        target_budget(setup, 1e6, "roas", trust=FREE, confidence=None)
    best, at = (float(g.replace(",", "")) for g in re.search(r"the best, ([\d.]+), at ([\d,.]+)", str(e.value)).groups())
    assert plan_budget(setup, at, trust=FREE, confidence=None)["portfolio"]["roas_plan"]["mean"] == pytest.approx(best, rel=1e-2)
    # A target reached at every budget the run can plan: said of the target, not of a budget the user never gave.
    with pytest.raises(DataError, match=r"every budget up to [\d,.]+ keeps the plan's expected ROAS at or above the target "
                                        r"0\.01, and a larger one cannot be planned \(budget .* more than 1,000×"):
        target_budget(setup, 0.01, "roas", trust=FREE, confidence=None)


def test_cli_allocate_prints_the_portfolio_and_writes_the_csv(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    res = CliRunner().invoke(app, ["allocate", "--run", str(run), "--budget", "1000", "--days", "3", "--start", "2024-03-05",
                                   "--out", str(tmp_path / "p.json"), "--csv", str(tmp_path / "p.csv"), "--cap", "email=30"])
    assert res.exit_code == 0, res.output
    assert "portfolio" in res.output and "P(plan beats current)" in res.output and "±30%" in res.output
    plan = json.loads((tmp_path / "p.json").read_text())
    worse = plan["portfolio"]["expected_tenants_worse_off"]
    assert f"tenants expected to end worse off than their current mix: {worse:.1f} of 2" in " ".join(res.output.split())
    assert plan["days"][0] == "2024-03-05" and plan["trust_region"]["caps"] == {"email": 30.0}
    assert pd.read_csv(tmp_path / "p.csv")["date"].tolist()[:3] == ["2024-03-05", "2024-03-06", "2024-03-07"]
    res = CliRunner().invoke(app, ["score-plan", "--run", str(run), "--plan", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    assert f"P(plan beats current) {plan['portfolio']['prob_plan_beats_current']:.2f}" in res.output
    bad = CliRunner().invoke(app, ["allocate", "--run", str(run), "--budget", "1000", "--target-roas", "3"])
    assert bad.exit_code == 2 and "pass exactly one of --budget, --target-roas, --target-mroas" in bad.output
    args = ["allocate", "--run", str(run), "--budget", "1000", "--days", "3", "--out", str(tmp_path / "h.json")]
    bad = CliRunner().invoke(app, [*args, "--history", "95"])
    assert bad.exit_code == 2 and "history must be a quantile in (0, 1], got 95" in " ".join(bad.output.split())
    assert not (tmp_path / "h.json").exists()
    res = CliRunner().invoke(app, [*args, "--history", "none"])
    assert res.exit_code == 0 and json.loads((tmp_path / "h.json").read_text())["trust_region"]["history"] is None


def test_a_budget_far_above_recent_spend_is_said_to_extrapolate(tmp_path: Path) -> None:
    """Recent spend is 170 + 200 a day (make_run): 2,590 over 7 days; above 2× that, plan.json and a warning say so."""
    run = make_run(tmp_path / "run", const_beta([[0.5, 0.4, 0.3], [0.4, 0.4, 0.2]]))
    assert allocate_run(run, 1.9 * 2590, days=7)["warnings"] == []
    with pytest.warns(UserWarning, match=r"budget 6,475 is 2\.5× the recent spend of these 2 tenants over as many periods \(2,590\)"):
        allocate_run(run, 2.5 * 2590, days=7)
    alone = allocate_run(run, 3.0 * 1190, tenant="north", days=7)["warnings"]
    assert alone == ["budget 3,570 is 3.0× the recent spend of north over as many periods (1,190): the response there is the "
                     "fitted curves' extrapolation, and the plan a test to run"]
    assert allocate_run(run, 0.25 * 1190, tenant="north", days=7)["warnings"] == []
    cut = allocate_run(run, 0.1 * 1190, tenant="north", days=7)["warnings"]  # a zero missing
    assert cut == ["budget 119 is 10.0% of the recent spend of north over as many periods (1,190): a typo (a zero missing, "
                   "cents)? If meant, the response there is the fitted curves' extrapolation, and the plan a test to run"]


def test_a_tenant_whose_data_end_earlier_plans_from_its_own_last_periods(tmp_path: Path) -> None:
    """north's data end 10 days before the run's: its current spend is its own last 28 days, not 18 of them and 10 zeros."""
    import arviz as az

    run = make_run(tmp_path / "run", const_beta([[0.5, 0.4, 0.3], [0.4, 0.4, 0.2]]))
    idata = az.from_netcdf(run / "idata.nc").load()
    spend = idata.constant_data["spend"].values.copy()  # 2 × recent, then recent (100, 50, 20 a day) for 28 days
    idata.constant_data["spend"][0, :, -10:] = 0.0
    idata.constant_data["train"][0, -10:] = False
    idata.to_netcdf(str(run / "idata.nc"), engine="h5netcdf")
    # Only its revenue blank at the end (not fitted, still in its range): its spend stays where it is.
    np.testing.assert_array_equal(prepare(run, days=7).inp.spend, idata.constant_data["spend"].values)
    idata.constant_data["in_range"] = idata.constant_data["train"].copy()  # north's data end 10 days early
    idata.to_netcdf(str(run / "idata.nc"), engine="h5netcdf")
    inp = prepare(run, days=7).inp
    np.testing.assert_array_equal(inp.spend[0, :, -28:], spend[0, :, -38:-10])  # 10 days at 2 × recent, 18 at recent
    np.testing.assert_array_equal(inp.spend[1], spend[1])
    own = (10 * 2 + 18) / 28 * 170 * 7  # north's own last 28 days: 1,615 over 7 days
    note = allocate_run(run, 2.5 * own, tenant="north", days=7)["warnings"][0]
    assert note.startswith(f"budget {2.5 * own:,.0f} is 2.5× the recent spend of north over as many periods ({own:,.0f})")
    # 10 days early is recent enough; a plan starting 30 days after the run's data is 40 days after north's.
    dates = pd.DatetimeIndex(idata.constant_data["date"].values)
    assert allocate_run(run, own, tenant="north", days=7)["warnings"] == []
    later = allocate_run(run, own, days=7, start=(dates[-1] + pd.Timedelta(days=31)).strftime("%Y-%m-%d"))["warnings"]
    north_end = dates[-11]
    assert later == [f"north's data end on {north_end:%Y-%m-%d}, 41 days before the plan starts: its current spend and "
                     "carry-over are those of its last periods; refit with its recent data before acting on its plan",
                     f"south's data end on {dates[-1]:%Y-%m-%d}, 31 days before the plan starts: its current spend and "
                     "carry-over are those of its last periods; refit with its recent data before acting on its plan"]
    # north's own forecast may start the day after its data end (rows before the plan are not used) ...
    fc = tmp_path / "north.csv"
    pd.DataFrame({"date": pd.date_range(north_end + pd.Timedelta(days=1), periods=20).strftime("%Y-%m-%d"),
                  "temp_c": 12.0, "precip_mm": 0.0}).to_csv(fc, index=False)
    assert prepare(run, days=7, tenant="north", forecast=fc).inp.known[0, :7].all()
    # ... but not on a day of its data.
    pd.DataFrame({"date": pd.date_range(north_end, periods=20).strftime("%Y-%m-%d"), "temp_c": 12.0,
                  "precip_mm": 0.0}).to_csv(fc, index=False)
    with pytest.raises(DataError, match=f"forecast dates must be after the last data date {north_end:%Y-%m-%d}"):
        prepare(run, days=7, tenant="north", forecast=fc)
    # With tenant_id, each tenant's rows are judged against its own end: south's data run to the run's last day.
    rows = [{"tenant_id": "north", "date": d, "temp_c": 60.0 if d <= dates[-1] else 12.0, "precip_mm": 0.0}
            for d in pd.date_range(north_end + pd.Timedelta(days=1), periods=20)]  # 60 °C in north's gap only
    rows += [{"tenant_id": "south", "date": d, "temp_c": 12.0, "precip_mm": 0.0} for d in pd.date_range(dates[-1], periods=10)]
    pd.DataFrame(rows).assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d")).to_csv(fc, index=False)
    with pytest.raises(DataError, match=f"forecast dates for south must be after its last data date {dates[-1]:%Y-%m-%d}"):
        prepare(run, days=7, forecast=fc)
    pd.DataFrame([r for r in rows if r["tenant_id"] == "north" or r["date"] > dates[-1]]).assign(
        date=lambda f: f["date"].dt.strftime("%Y-%m-%d")).to_csv(fc, index=False)
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare(run, days=7, forecast=fc)
    assert not [w for w in caught if "extrapolates" in str(w.message)]  # the gap's 60 °C is not the plan's weather


def test_plans_name_the_tenants_walk_forward_cv_judged_no_go(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[300.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    assert allocate_run(run, 510.0, days=3)["warnings"] == []  # no CV yet: nothing to say
    summary = json.loads((run / "summary.json").read_text())
    summary["tenants"] = {"north": {"cv": {"r2_mean": 0.12, "verdict": {"go": False, "reasons": ["holdout R² 0.12 < 0.50"]}}},
                          "south": {"cv": {"r2_mean": 0.81, "verdict": {"go": True, "reasons": []}}}}
    (run / "summary.json").write_text(json.dumps(summary))
    note = ("walk-forward CV judged 1 of the planned tenants NO-GO: north (holdout R² 0.12 < 0.50); their plans rest on a "
            "model that forecast their held-out revenue poorly: read the report before acting on them")
    assert allocate_run(run, 510.0, days=3)["warnings"] == [note]
    assert allocate_run(run, 255.0, tenant="south", days=3)["warnings"] == []
    write_plan_csv(allocate_run(run, 510.0, days=3), tmp_path / "plan.csv")
    with pytest.warns(UserWarning, match="walk-forward CV judged 1 of the planned tenants NO-GO: north"):
        assert score_plan(run, tmp_path / "plan.csv")["warnings"] == [note]


def test_history_cap_is_the_quantile_of_each_tenants_own_periods() -> None:
    rng = np.random.default_rng(4)
    spend = rng.gamma(2.0, 50.0, (2, 3, 40))
    seen = np.ones((2, 40), bool)
    seen[1, :15] = False  # the second tenant's data start later: its first periods are not its history
    level = np.array([[0.0, 0.0, 1e4], [0.0, 0.0, 0.0]])
    cap = history_cap(spend, seen, 0.9, level)
    expected = [[np.quantile(spend[i, j, seen[i]], 0.9) for j in range(3)] for i in range(2)]
    expected[0][2] = 1e4  # today's level above the history's is always allowed
    np.testing.assert_allclose(cap, expected)
    with pytest.raises(DataError, match="history must be a quantile in"):
        history_cap(spend, seen, 1.5, level)
    with pytest.raises(DataError, match="history must be a quantile in"):  # refused when built, before any work
        TrustRegion(history=0.0)
    with pytest.raises(DataError, match="band must be a fraction in"):
        TrustRegion(band=2.0)
    seen[1] = False  # no recorded periods (no range in an old run): no history to cap by
    assert np.isinf(history_cap(spend, seen, 0.9, level)[1]).all()


def test_a_plan_stays_under_the_spend_its_tenant_has_seen(tmp_path: Path) -> None:
    import arviz as az

    run = make_run(tmp_path / "run", const_beta([[900.0, 100.0, 100.0], [100.0, 100.0, 100.0]]))
    idata = az.from_netcdf(str(run / "idata.nc")).load()
    spend = idata.constant_data["spend"].values.copy()
    spend[0, 0, :-28] = 0.9 * NORTH_CURRENT[0]  # north's meta never ran above today's 100 a day
    idata.constant_data["spend"] = (("tenant", "channel", "date"), spend)
    (run / "idata.nc").unlink()
    idata.to_netcdf(str(run / "idata.nc"), engine="h5netcdf")
    loose = plan_array(allocate_run(run, 1190.0, tenant="north", days=7, trust=TrustRegion(history=None), confidence=None))
    assert loose[0].max() > 1.15 * NORTH_CURRENT[0]  # meta pays best: as far as the others' band floors let it
    plan = allocate_run(run, 1190.0, tenant="north", days=7, confidence=None)
    assert plan_array(plan)[0].max() <= NORTH_CURRENT[0] + 1e-6  # the 95 % quantile of its history is today's level
    assert "at most the 95% quantile of its own past spend per period" in plan["trust_region"]["explained"]
    assert plan["trust_region"]["history"] == 0.95
    # Named in the user's bounds, the channel is the user's to move.
    bounded = allocate_run(run, 1190.0, tenant="north", days=7, channel_bounds={"meta": "30%"}, confidence=None)
    np.testing.assert_allclose(plan_array(bounded)[0], loose[0], rtol=1e-4)


def test_the_target_search_never_plans_a_budget_below_a_cent() -> None:
    """Halving a small current spend (3.00 over the plan) stops at the least budget a plan takes, with the target's words."""
    from bayes_mmm.decide.target import _bracket

    asked = []

    def roas_at(budget: float) -> float:  # falls as the budget grows, but never reaches the target
        asked.append(budget)
        return 2.0 - budget / 10

    with pytest.raises(DataError, match=r"no budget from 0\.01 to 3\.00 \(halving\) gives the plan ROAS 5: the best, 2, at 0\.01"):
        _bracket(roas_at, 3.0, 5.0, "ROAS")
    assert min(asked) == pytest.approx(3.0 / 256) and len(asked) == 9  # 3/512 would be below 0.01
    assert _bracket(lambda b: 6.0 - b, 3.0, 5.0, "ROAS") == (0.75, 3.0)  # 0.75 reaches 5, 3.0 does not
