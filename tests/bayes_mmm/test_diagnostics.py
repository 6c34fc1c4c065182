"""Diagnostics on a real small fit: PPC calibration, LOO by tenant, comparison with a broken model."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest
from typer.testing import CliRunner

from bayes_mmm.analysis.diagnostics import (
    compare_runs,
    convergence_table,
    load_runs,
    loo_by_tenant,
    parameter_diagnostics,
    ppc_calibration,
    sampler_health,
)
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import SamplerConfig, fit
from bayes_mmm.inference.judged import sampled_names
from bayes_mmm.runs.summary import load_run, save_run
from bayes_mmm.surfaces.cli import app


@pytest.fixture(scope="module")
def broken_run(small_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same lake fitted without media: a deliberately wrong model."""
    result = fit(load_lake(small_lake), ModelSpec(media=False), SamplerConfig(chains=2, draws=200, tune=200, progress=False))
    out = tmp_path_factory.mktemp("broken") / "no-media"
    save_run(result, out, lake=small_lake)
    return out


def test_ppc_bands_are_calibrated(small_fit) -> None:
    result, _ = small_fit
    cal = ppc_calibration(result.idata)
    assert list(cal.index) == result.design.tenants
    assert cal["inside_90"].between(0.82, 0.98).all(), cal
    assert cal["inside_50"].between(0.38, 0.68).all(), cal


def test_convergence_and_sampler_health(small_fit) -> None:
    result, _ = small_fit
    table = convergence_table(result.idata, "none_books")
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(table.columns)
    assert any(name.startswith("roas[") for name in table.index)
    assert not any(name.endswith("__") or "_log__" in name for name in table.index)
    health = sampler_health(result.idata)
    assert health["divergences"] == result.convergence["divergences"]
    assert 0 < health["bfmi_min"] < 3


def test_loo_prefers_the_model_with_media(small_fit, broken_run: Path) -> None:
    _, run_dir = small_fit
    by_tenant = loo_by_tenant(load_run(run_dir)[0])
    assert len(by_tenant) == 4 and (by_tenant["elpd"] < 0).all()
    table = compare_runs(load_runs([run_dir, broken_run]))
    assert table.index[0] == "run"  # the right model ranks first
    assert table.loc["no-media", "elpd_diff"] > 4 * table.loc["no-media", "dse"]


def test_compare_and_diagnose_commands(small_fit, broken_run: Path) -> None:
    _, run_dir = small_fit
    runner = CliRunner()
    res = runner.invoke(app, ["compare", str(run_dir), str(broken_run)])
    assert res.exit_code == 0, res.output
    assert "no-m" in res.output  # the narrow test terminal may shorten the name
    res = runner.invoke(app, ["compare", str(run_dir)])
    assert res.exit_code == 2 and "at least two run folders" in res.output
    res = runner.invoke(app, ["diagnose", str(run_dir)])
    assert res.exit_code == 0, res.output
    _, summary = load_run(run_dir)
    assert set(summary["verdicts"]) == set(summary["data"]["tenants"])
    assert "# Model card" in (run_dir / "model_card.md").read_text()


def test_compare_keeps_the_user_s_files_and_skips_loo_across_data(small_fit, broken_run: Path, tmp_path: Path) -> None:
    """--out over an existing file needs --force (checked before any work); runs with other data hashes get no LOO."""
    import json
    import shutil

    from bayes_mmm.analysis.diagnostics import compare_versions

    _, run_dir = small_fit
    precious = tmp_path / "notes.txt"
    precious.write_text("precious")
    res = CliRunner().invoke(app, ["compare", str(run_dir), str(broken_run), "--out", str(precious)])
    assert res.exit_code == 2 and "notes.txt" in res.output and precious.read_text() == "precious"
    res = CliRunner().invoke(app, ["compare", str(run_dir), str(broken_run), "--out", str(precious), "--force"])
    assert res.exit_code == 0 and json.loads(precious.read_text())["loo"] is not None
    other = tmp_path / "other_data"  # the same number of days, other values: only the hash tells
    shutil.copytree(broken_run, other)
    summary = json.loads((other / "summary.json").read_text())
    summary["data"]["hash"] = "0" * 16
    (other / "summary.json").write_text(json.dumps(summary))
    result = compare_versions([run_dir, other])
    assert result["loo"] is None and "data hashes" in result["loo_note"] and set(result["moves"]) == {"other_data"}


def test_one_convergence_table_equals_az_summary(stored_run: Path) -> None:
    idata, summary = load_run(stored_run)
    cols = ["r_hat", "ess_bulk", "ess_tail"]
    names = sampled_names(idata.posterior)
    ref = az.summary(idata, var_names=names, kind="diagnostics", round_to="none")
    ours = convergence_table(idata)
    assert sorted(ours.index) == sorted(ref.index) and len(ours) > 20
    np.testing.assert_allclose(ours.loc[ref.index, cols].to_numpy(), ref[cols].to_numpy(), rtol=1e-12)
    # Per tenant: the tenant's key parameters and the shared ones, labelled as az.summary labels the tenant's slice.
    tenant = summary["data"]["tenants"][1]
    per = convergence_table(idata, tenant)
    keep = [v for v in per.index.str.split("[").str[0].unique()]
    ref_t = az.summary(idata.posterior.sel(tenant=tenant)[keep], kind="diagnostics", round_to="none")
    assert sorted(per.index) == sorted(ref_t.index)
    np.testing.assert_allclose(per.loc[ref_t.index, cols].to_numpy(), ref_t[cols].to_numpy(), rtol=1e-12)
    # The report reads the same table: its means are the posterior means.
    long = parameter_diagnostics(idata, ["roas"])
    row = long[(long["tenant"] == tenant) & (long["param"] == "roas[meta]")].iloc[0]
    assert row["label"] == f"roas[{tenant}, meta]"
    assert row["mean"] == pytest.approx(float(idata.posterior["roas"].sel(tenant=tenant, channel="meta").mean()))


def test_evaluation_skips_the_weather_of_a_tenant_fitted_without_weather() -> None:
    """A weather-less tenant's elasticity is None in the summary: it is not scored (it used to crash)."""
    from bayes_mmm.analysis.evaluate import evaluate_summary

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    summary = json.loads((fixtures / "small_run" / "summary.json").read_text())
    first, *others = sorted(summary["tenants"])
    summary["tenants"][first]["weather_elasticity"] = {w: None for w in summary["tenants"][first]["weather_elasticity"]}
    ev = evaluate_summary(summary, fixtures / "small_lake")
    scored = {w["tenant"] for w in ev["weather"]}
    assert scored == set(others)
    assert len(ev["pairs"]) == 3 * len(summary["tenants"])  # ROAS of every tenant is still scored


def test_evaluation_takes_another_simulators_truth_with_only_roas(tmp_path: Path) -> None:
    """A truth.json holding only each channel's ROAS scores ROAS; mroas is skipped; a malformed one is one clear error."""
    import shutil

    from bayes_mmm.analysis.evaluate import evaluate_summary
    from bayes_mmm.core.errors import DataError

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    summary = json.loads((fixtures / "small_run" / "summary.json").read_text())
    lake = tmp_path / "lake"
    shutil.copytree(fixtures / "small_lake", lake)
    truths = {t: {"channels": {ch: {"roas": 2.0} for ch in summary["tenants"][t]["roas"]}} for t in summary["tenants"]}
    for t, truth in truths.items():
        (lake / t / "truth.json").write_text(json.dumps(truth))
    ev = evaluate_summary(summary, lake)
    inside = [e["roas"][ch]["q05"] <= 2.0 <= e["roas"][ch]["q95"] for e in summary["tenants"].values() for ch in e["roas"]]
    assert ev["overall"]["coverage_90"] == pytest.approx(np.mean(inside))
    assert np.isnan(ev["overall"]["mroas_coverage_90"]) and {p["mroas_inside"] for p in ev["pairs"]} == {None}
    first = sorted(truths)[0]
    (lake / first / "truth.json").write_text(json.dumps({"channels": {"meta": {"roas": 0}}}))  # a placebo
    placebo = [p for p in evaluate_summary(summary, lake)["pairs"] if p["tenant"] == first]
    assert [np.isnan(p["rel_error"]) for p in placebo] == [True] and placebo[0]["bias"] == placebo[0]["mean"]
    (lake / first / "truth.json").write_text(json.dumps({"channels": {"meta": {"roas": "high"}}}))
    with pytest.raises(DataError, match=r"truth.json: channels.meta: 'roas' \(and 'mroas' when given\) must be numbers"):
        evaluate_summary(summary, lake)
    (lake / first / "truth.json").write_text("{not json")
    with pytest.raises(DataError, match=r"truth.json: invalid JSON \(Expecting property name enclosed in double quotes at line 1\)"):
        evaluate_summary(summary, lake)
    (lake / first / "truth.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(truths[first]).encode())  # a BOM: read
    assert len(evaluate_summary(summary, lake)["pairs"]) == 3 * len(summary["tenants"])


def test_evaluation_names_channels_the_truth_and_the_run_spell_differently(tmp_path: Path) -> None:
    """A truth written "Meta" for the run's "meta" was left out of the coverage without a word."""
    import shutil

    from bayes_mmm.analysis.evaluate import evaluate_summary

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    summary = json.loads((fixtures / "small_run" / "summary.json").read_text())
    lake = Path(shutil.copytree(fixtures / "small_lake", tmp_path / "lake"))
    first = sorted(summary["tenants"])[0]
    truth = json.loads((lake / first / "truth.json").read_text())
    truth["channels"]["Meta"] = truth["channels"].pop("meta")
    (lake / first / "truth.json").write_text(json.dumps(truth))
    with pytest.warns(UserWarning, match=rf"^{first}: not scored — the run's channels meta have no truth, the truth's Meta "
                                         r"are not in the run \(names must match exactly\)$"):
        ev = evaluate_summary(summary, lake)
    assert ev["unmatched"] == {first: {"run_only": ["meta"], "truth_only": ["Meta"]}}
    assert len(ev["pairs"]) == 3 * len(summary["tenants"]) - 1


def test_evaluate_replaces_its_own_evaluation_but_not_a_users_file(stored_run: Path, stored_lake: Path, tmp_path: Path) -> None:
    import shutil

    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    runner = CliRunner()
    mine = run / "evaluation.json"
    mine.write_text('{"mine": true}')
    res = runner.invoke(app, ["evaluate", str(run), "--truth", str(stored_lake)])
    assert res.exit_code == 2 and "exists and is not an evaluation bayes-mmm wrote; pass --force" in " ".join(res.output.split())
    assert mine.read_text() == '{"mine": true}'
    assert runner.invoke(app, ["evaluate", str(run), "--truth", str(stored_lake), "--force"]).exit_code == 0
    first = json.loads(mine.read_text())
    assert runner.invoke(app, ["evaluate", str(run), "--truth", str(stored_lake)]).exit_code == 0  # its own: replaced
    assert json.loads(mine.read_text()) == first
    mine.unlink()
    mine.mkdir()  # a folder in its place: refused before the work, not at the rename
    res = runner.invoke(app, ["evaluate", str(run), "--truth", str(stored_lake), "--force"])
    assert res.exit_code == 2 and "is a folder, but a file is needed here" in res.output


def test_diagnose_puts_an_earlier_evaluation_into_the_model_card(stored_run: Path, stored_lake: Path, tmp_path: Path) -> None:
    import shutil

    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    runner = CliRunner()
    assert runner.invoke(app, ["evaluate", str(run), "--truth", str(stored_lake)]).exit_code == 0
    o = json.loads((run / "evaluation.json").read_text())["overall"]
    res = runner.invoke(app, ["diagnose", str(run)])
    assert res.exit_code == 0, res.output
    card = (run / "model_card.md").read_text()
    assert "## Recovery of the synthetic truth" in card
    assert (f"- {o['coverage_90']:.0%} of true ROAS inside the 90 % intervals ({o['pairs']} tenant×channel pairs); "
            f"median |relative error| {o['median_abs_rel_error']:.1%}; contribution-share MAE {o['contribution_share_mae']:.3f}.") in card
    # Another simulator's truth gives ROAS only: the card leaves out what it could not measure.
    ev = json.loads((run / "evaluation.json").read_text())
    ev["overall"] |= {"contribution_share_mae": None, "median_abs_rel_error": None}
    (run / "evaluation.json").write_text(json.dumps(ev))
    assert runner.invoke(app, ["diagnose", str(run)]).exit_code == 0
    assert f"- {o['coverage_90']:.0%} of true ROAS inside the 90 % intervals ({o['pairs']} tenant×channel pairs).\n" in (
        run / "model_card.md").read_text()
    damaged = {  # each refused in one line, before the work
        '{"pairs": [], "overall": 3}': "evaluation.json: key 'overall' must be an object",
        '{"pairs": [], "overall": {"coverage_90": 89}}': "key 'overall.coverage_90' must be a share from 0 to 1, found 89",
        json.dumps({**ev, "run_id": "someone-else"}): "was written for run someone-else, not this run",
        json.dumps({**ev, "run_id": None, "pairs": [{"tenant": "ghost_shop"}]}): "holds tenants this run does not have (ghost_shop)",
    }
    for text, message in damaged.items():
        (run / "evaluation.json").write_text(text)
        res = runner.invoke(app, ["diagnose", str(run)])
        assert res.exit_code == 2 and message in " ".join(res.output.split()), res.output


def test_diagnose_names_no_option_it_lacks_when_its_card_is_a_folder(stored_run: Path, tmp_path: Path) -> None:
    import shutil

    run = Path(shutil.copytree(stored_run, tmp_path / "run"))
    (run / "model_card.md").mkdir()
    res = CliRunner().invoke(app, ["diagnose", str(run)])
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and "model_card.md: is a folder, but a file is needed here — move it away" in said
    assert "--out" not in said
