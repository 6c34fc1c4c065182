"""Lift tests through a real (tiny) fit: summary.json entries, calibration counts, model card, report figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from bayes_mmm.analysis.card import model_card
from bayes_mmm.api import save_fit
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import SamplerConfig, fit
from bayes_mmm.model.draws import stacked
from bayes_mmm.runs.summary import build_summary
from bayes_mmm.surfaces.report import render_report
from synthetic import simulate_universe, write_lake
from synthetic.lift import LIFT_COLUMNS, targeted_lift_test


@pytest.fixture(scope="module")
def lift_run(tmp_path_factory: pytest.TempPathFactory):
    """Two tenants × 200 days with one meta holdout each and one future-less extra test, fitted 2 × 150 draws."""
    lake = tmp_path_factory.mktemp("lift") / "lake"
    tenants = simulate_universe(2, 200, seed=7, scenario="capped_spend")
    write_lake(tenants, lake)
    rng = np.random.default_rng(1)
    for t in tenants:
        row = targeted_lift_test(rng, t.daily, t.forward, "meta", weeks=3)
        pd.DataFrame([row], columns=list(LIFT_COLUMNS)).to_csv(lake / t.tenant_id / "lift_tests.csv", index=False)
    result = fit(load_lake(lake), sampler=SamplerConfig(chains=2, draws=150, tune=150, seed=2, progress=False))
    run = tmp_path_factory.mktemp("run") / "run"
    summary = save_fit(result, run, lake)  # as `fit` writes it: identification checks included
    return result, summary, run, lake


def test_summary_records_each_test_and_its_prediction(lift_run) -> None:
    result, summary, _, lake = lift_run
    draws = stacked(result.idata.posterior["lift_predicted"])
    for k, tid in enumerate(result.design.tenants):
        (entry,) = summary["tenants"][tid]["lift_tests"]
        written = pd.read_csv(lake / tid / "lift_tests.csv").iloc[0]
        assert (entry["channel"], entry["start"], entry["measured"], entry["se"]) == (
            "meta", written["start"], written["incremental_revenue"], written["se"])
        assert entry["used"] and entry["note"] == ""
        # the prediction is the sampled graph's own draws, back on the currency axis
        d = draws[:, list(result.design.lift.tenant).index(k)] * result.design.y_scale[k]
        assert entry["predicted"]["mean"] == pytest.approx(d.mean(), abs=0.01)
        assert entry["predicted"]["q05"] == pytest.approx(np.quantile(d, 0.05), abs=0.01)
        assert entry["inside_90"] == (entry["predicted"]["q05"] <= entry["measured"] <= entry["predicted"]["q95"])
        lo, hi = entry["predicted_with_se"]["q05"], entry["predicted_with_se"]["q95"]
        assert lo < entry["predicted"]["q05"] and hi > entry["predicted"]["q95"]  # widened by the se
    cal = summary["lift_calibration"]
    tests = [t for e in summary["tenants"].values() for t in e["lift_tests"]]
    assert (cal["tests"], cal["used"]) == (2, 2)
    assert cal["inside_90_with_se"] == sum(t["inside_90_with_se"] for t in tests)
    assert cal["calibrated_channels"] == {tid: ["meta"] for tid in result.design.tenants}
    # one test each: the tests' own 90 % width is 2 · 1.645 · se / |measured|, from the written file
    expected = {}
    for tid in result.design.tenants:
        written = pd.read_csv(lake / tid / "lift_tests.csv").iloc[0]
        expected[tid] = {"meta": {"tests": 1, "width_90": round(3.2898 * written["se"] / abs(written["incremental_revenue"]), 3)}}
    assert cal["experiment_width_90"] == expected


def test_without_tests_the_summary_has_no_lift_section(lift_run) -> None:
    from bayes_mmm.data.lift_tests import empty

    _, _, _, lake = lift_run
    result = fit(load_lake(lake, ["shop_000"]), sampler=SamplerConfig(chains=2, draws=30, tune=30, seed=2, progress=False),
                 lift_tests=empty())
    summary = build_summary(result)
    assert "lift_calibration" not in summary and "lift_tests" not in summary["tenants"]["shop_000"]
    assert "lift_predicted" not in result.idata.posterior


def test_card_and_report_show_the_tests(lift_run) -> None:
    _, summary, run, _ = lift_run
    card = model_card(summary)
    assert "## Experiment calibration" in card
    assert "Experiment-calibrated channels: shop_000: meta; shop_001: meta." in card
    w = summary["lift_calibration"]["experiment_width_90"]
    assert (f"a 90 % width (relative to the effect) of: shop_000 meta {100 * w['shop_000']['meta']['width_90']:.0f} % (1 test); "
            f"shop_001 meta {100 * w['shop_001']['meta']['width_90']:.0f} % (1 test).") in card
    html = render_report(Path(run), progress=False)
    assert html.count("<h3>Lift tests against the model</h3>") == 2  # one figure per tenant
    # meta is capped on most days: its flat spend is what the meta test answers, in the card and the report alike
    for tid in ("shop_000", "shop_001"):
        why = summary["tenants"][tid]["identification"]["meta"]["answered_by_lift"]
        assert why[0].startswith("spend barely varies") and why[0].endswith("answered by the lift test on meta")
        assert f"- A lift test answers {tid} meta: {why[0]}." in card
        assert f"(a lift test answers: {escape(why[0])})" in html


def test_experiment_width_pools_the_used_tests_of_a_channel() -> None:
    from bayes_mmm.runs.lift import experiment_width

    def test(ch: str, measured: float, se: float, used: bool = True) -> dict:
        return {"channel": ch, "measured": measured, "se": se, "used": used}

    tenants = {"a": {"lift_tests": [test("meta", 100.0, 20.0), test("meta", -200.0, 50.0), test("meta", 1.0, 0.001, used=False),
                                    test("email", 0.0, 5.0)]},
               "b": {}}
    # (100/20)² + (200/50)² = 25 + 16 = 41; the unused test adds nothing; a 0 measurement gives no scale
    assert experiment_width(tenants) == {"a": {"email": {"tests": 1, "width_90": None},
                                               "meta": {"tests": 2, "width_90": round(2 * 1.6449 / 41 ** 0.5, 3)}}}
