"""One go/no-go rule: the bar comes from the recorded weather class, never from the tenant id."""

from __future__ import annotations

import pytest

from bayes_mmm.analysis.card import model_card
from bayes_mmm.analysis.verdict import (
    FOLDS_NOT_CONVERGED,
    NO_CV,
    NONE_IDENTIFIED,
    NOT_CONVERGED,
    cv_verdict,
    derived_verdict,
    tenant_verdict,
    tenant_verdicts,
)

CV_GOOD = {"r2_mean": 0.7, "mape_mean": 8.0, "rmse_mean": 80.0, "baseline_rmse_mean": 100.0}


def _summary(**tenants: dict) -> dict:
    return {"convergence": {"ok": True}, "tenants": tenants}


def test_cv_verdict_applies_the_bar_of_the_class() -> None:
    assert cv_verdict(CV_GOOD, "extreme") == {"go": True, "r2_bar": 0.65, "reasons": []}
    assert cv_verdict({**CV_GOOD, "r2_mean": 0.6}, "extreme") == {"go": False, "r2_bar": 0.65, "reasons": ["holdout R² 0.60 < 0.65"]}
    assert cv_verdict({**CV_GOOD, "r2_mean": 0.6}, "medium")["go"] is True
    assert cv_verdict({**CV_GOOD, "r2_mean": 0.2}, "none")["go"] is True
    no = cv_verdict({**CV_GOOD, "rmse_mean": 95.0, "mape_mean": 15.0}, "none")
    assert no["reasons"] == ["MAPE 15.0 % ≥ 15 %", "RMSE 95 not 10 % below best baseline 100"]
    nan = float("nan")
    assert cv_verdict({"r2_mean": nan, "mape_mean": nan, "rmse_mean": nan, "baseline_rmse_mean": nan}, "none")["go"] is False


def test_good_scores_from_folds_that_never_converged_are_no_go() -> None:
    """A tenant whose only folds' fits failed the gate is no-go; one converged fold of two is enough to be judged."""
    lost = cv_verdict({**CV_GOOD, "folds": [{"fold": 2, "converged": False}]}, "medium")
    assert lost == {"go": False, "r2_bar": 0.45, "reasons": [FOLDS_NOT_CONVERGED]}
    mixed = [{"fold": 1, "converged": True}, {"fold": 2, "converged": False}]
    assert cv_verdict({**CV_GOOD, "folds": mixed}, "medium")["go"] is True
    summary = _summary(a={"cv": {"verdict": lost}, "fit": {"r2": 0.9}})
    assert derived_verdict(summary, "a") == {"go": False, "reasons": [FOLDS_NOT_CONVERGED]}


def test_the_bar_follows_the_recorded_class_not_the_id() -> None:
    # In-sample R² 0.5: passes the none (0.15) and medium (0.45) bars, fails extreme (0.65).
    summary = _summary(
        extreme_rain_gear={"fit": {"r2": 0.5}, "sensitivity": {"class": "none", "source": "tenant.json", "score": 0.7}},
        shop={"fit": {"r2": 0.5}, "sensitivity": {"class": "extreme", "source": "estimated", "score": 0.7}},
        none_books={"fit": {"r2": 0.5}},  # a run from before the class was recorded: medium, whatever the id
    )
    v = tenant_verdicts(summary)
    assert v["extreme_rain_gear"] == {"go": True, "reasons": [NO_CV]}
    assert v["shop"] == {"go": False, "reasons": ["in-sample R² 0.50 < 0.65", NO_CV]}
    assert v["none_books"] == {"go": True, "reasons": [NO_CV]}
    summary["tenants"]["none_books"]["fit"]["r2"] = 0.3
    assert derived_verdict(summary, "none_books")["reasons"][0] == "in-sample R² 0.30 < 0.45"


def test_cv_verdict_wins_and_convergence_always_counts() -> None:
    summary = _summary(a={"fit": {"r2": 0.1}, "cv": {"verdict": {"go": True, "reasons": []}}})
    assert derived_verdict(summary, "a") == {"go": True, "reasons": []}
    summary["convergence"]["ok"] = False
    assert derived_verdict(summary, "a") == {"go": False, "reasons": [NOT_CONVERGED]}


def test_a_go_says_when_no_channel_is_identified() -> None:
    """A model may predict well while the data cannot split revenue between channels (PyMC-Marketing's case study)."""
    flagged, clear = {"flagged": True, "reasons": ["low contraction"]}, {"flagged": False, "reasons": []}
    summary = _summary(a={"fit": {"r2": 0.9}, "identification": {"tv": flagged, "search": flagged}},
                       b={"fit": {"r2": 0.9}, "identification": {"tv": flagged, "search": clear}})
    assert derived_verdict(summary, "a") == {"go": True, "reasons": [NO_CV, NONE_IDENTIFIED]}
    assert derived_verdict(summary, "b") == {"go": True, "reasons": [NO_CV]}
    summary["tenants"]["a"]["cv"] = {"verdict": {"go": True, "reasons": []}}  # after `cv`: still said
    assert tenant_verdict(summary, "a") == {"go": True, "reasons": [NONE_IDENTIFIED], "source": "stored"}


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({"decision": "GO"}, {"go": True, "reasons": []}),
        ({"go": False, "reason": "too noisy"}, {"go": False, "reasons": ["too noisy"]}),
        (False, {"go": False, "reasons": []}),
        ("no-go", {"go": False, "reasons": ["no-go"]}),
    ],
)
def test_stored_verdicts_of_every_shape(stored: object, expected: dict) -> None:
    summary = _summary(a={"fit": {"r2": 0.9}}, b={"fit": {"r2": 0.9}, "verdict": stored})
    summary["verdicts"] = {"a": stored}
    assert tenant_verdict(summary, "a") == {**expected, "source": "stored"}
    assert tenant_verdict(summary, "b") == {**expected, "source": "stored"}


def test_card_and_report_agree(stored_run) -> None:
    import json

    summary = json.loads((stored_run / "summary.json").read_text())
    card = model_card(summary)
    for t, v in tenant_verdicts(summary).items():
        assert tenant_verdict(summary, t) == {**v, "source": "derived"}
        assert f"| {t} | {'GO' if v['go'] else 'NO-GO'} | {'; '.join(v['reasons']) or 'meets the bar'} |" in card


def test_a_weekly_cards_window_is_given_in_weeks_too() -> None:
    import json
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    summary = json.loads((fixtures / "small_run" / "summary.json").read_text())
    summary["config"]["spec"]["l_max"] = 56
    summary["data"]["cadence"] = "weekly"
    card = model_card(summary)
    assert "adstock (window 56 days (8 weeks))" in card and "holidays make some periods influential" in card
    summary["config"]["spec"]["l_max"] = 5  # an older weekly run's window: the model rounds it up to one week
    assert "adstock (window 5 days (1 week))" in model_card(summary)
    summary["data"]["cadence"] = "daily"
    assert "adstock (window 5 days)," in model_card(summary)


def test_metrics_that_could_not_be_computed_read_as_missing_everywhere(stored_run, capsys) -> None:
    """Constant revenue has no R², a tenant too short for every fold no holdout R²: summary.json holds null.
    The verdict says why, and the card and the CLI tables show a dash, where they crashed on formatting None."""
    import json

    from bayes_mmm.surfaces.cli import print_cv, print_fit

    summary = json.loads((stored_run / "summary.json").read_text())
    a, b = list(summary["tenants"])[:2]
    summary["tenants"][a]["fit"]["r2"] = None
    assert derived_verdict(summary, a)["reasons"][-2:] == ["no in-sample R² (revenue does not vary)", NO_CV]
    nan = float("nan")
    empty = {"r2_mean": nan, "mape_mean": nan, "rmse_mean": nan, "baseline_rmse_mean": nan}
    assert cv_verdict(empty, "none") == {"go": False, "r2_bar": 0.15, "reasons": ["no holdout R² (no fold scored)"]}
    cvs = {t: {**CV_GOOD, "naive_r2_mean": 0.1, "ridge_r2_mean": 0.2, "baseline_r2_mean": 0.2} for t in summary["tenants"]}
    cvs[b] = {k: None for k in cvs[b]} | {"verdict": cv_verdict({**empty, "r2_mean": None}, "none")}
    for t, c in cvs.items():
        c.setdefault("verdict", cv_verdict(c, "none"))
        summary["tenants"][t]["cv"] = c
    card = model_card(summary)
    assert f"| {b} | – | – | – | no-go |" in card

    def rows() -> dict[str, list[str]]:
        printed = capsys.readouterr().out
        return {cells[0]: cells[1:] for line in printed.splitlines() if line.startswith("│")
                for cells in [[c.strip() for c in line.split("│")[1:-1]]]} | {"": [printed]}

    print_fit(summary)
    assert rows()[a][-1] == "–"  # the R² column
    print_cv(cvs, 2)
    table = rows()
    assert table[b][:4] == ["–"] * 4 and table[a][:2] == ["0.70", "8.0"]
    assert f"mean holdout R² 0.70 over {len(cvs) - 1} of {len(cvs)} tenants" in table[""][0]
