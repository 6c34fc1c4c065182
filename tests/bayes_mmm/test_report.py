"""The HTML report: sections, links, figures, banners and optional parts, on the stored real run and on a fresh fit."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.surfaces.report import anchor_of, prior_posterior_panels, render_report, tenant_verdict, write_report

ALWAYS = ("rank", "priors", "ppc", "ppc_density", "loo_k", "contributions", "response", "adstock", "weather")
OPTIONAL = ("cv", "allocation", "truth")


@pytest.fixture(scope="module")
def tiny_run(stored_run: Path) -> Path:
    """The committed small run (3 tenants × 200 days, tests/fixtures/make_small_run.py); read only."""
    return stored_run


@pytest.fixture(scope="module")
def tiny_html(tiny_run: Path) -> str:
    """The report of the unedited run, rendered once for the read-only tests."""
    return render_report(tiny_run, progress=False)


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the run folder that a test may edit."""
    return Path(shutil.copytree(tiny_run, tmp_path / "run"))


def _edit_summary(run_dir: Path, **changes) -> dict:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    for key, value in changes.items():
        summary[key] = value
    path.write_text(json.dumps(summary))
    return summary


def _figures(html: str) -> Counter:
    return Counter(re.findall(r'data-figure="([^"]+)"', html))


def test_one_section_per_tenant_and_links_resolve(tiny_run: Path, tiny_html: str) -> None:
    html = tiny_html
    tenants = json.loads((tiny_run / "summary.json").read_text())["data"]["tenants"]
    sections = re.findall(r'<section class="tenant" id="([^"]+)"', html)
    assert sections == [anchor_of(t) for t in tenants]
    links = re.findall(r'<a href="#(tenant-[^"]+)"', html)
    assert sorted(links) == sorted(sections)
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= ids


def _assert_every_figure_kind(html: str, n_tenants: int, bare: bool = True) -> None:
    """Every always-present figure once per tenant; with ``bare`` (no evaluation/allocation/CV files) no optional one."""
    counts = _figures(html)
    for kind in ALWAYS:
        assert counts[kind] == n_tenants, (kind, counts)
    assert counts["roas_forest"] == 1
    for kind in OPTIONAL if bare else ():
        assert counts[kind] == 0, kind
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) == sum(counts.values())
    for img in imgs:
        assert re.search(r'\balt="[^"]+"', img), img[:200]
        assert 'src="data:image/png;base64,' in img


def test_every_figure_kind_per_tenant(tiny_html: str) -> None:
    _assert_every_figure_kind(tiny_html, 3)


def test_report_of_a_fresh_fit(small_fit) -> None:
    """The report of a run just fitted (not the stored one): every tenant, every figure, one convergence row per parameter."""
    result, run_dir = small_fit
    html = render_report(run_dir, progress=False)
    _assert_every_figure_kind(html, len(result.design.tenants), bare=False)  # other tests may add evaluation.json
    post = result.idata.posterior
    per_tenant = ("roas", "adstock_alpha", "half_sat", "weather_gamma", "sigma")
    n_rows = sum(int(np.prod([post[v].sizes[d] for d in post[v].dims if d not in ("chain", "draw", "tenant")])) for v in per_tenant if v in post)
    assert n_rows >= 3 * len(result.design.channels) + 1
    assert re.findall(r"(\d+) parameters, \d+ flagged", html) == [str(n_rows)] * len(result.design.tenants)

def test_self_contained(tiny_html: str) -> None:
    html = tiny_html
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:)?//', html, flags=re.IGNORECASE)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_banner_follows_convergence(run_copy: Path) -> None:
    summary = json.loads((run_copy / "summary.json").read_text())
    _edit_summary(run_copy, convergence={**summary["convergence"], "ok": False})
    bad = render_report(run_copy, max_tenants=1, progress=False)  # one section is enough: figures are not the point
    assert 'class="banner bad"' in bad and "NOT CONVERGED" in bad
    assert bad.count("NO-GO") >= 3 + 1  # every tenant's index row and the section shown
    _edit_summary(run_copy, convergence={**summary["convergence"], "ok": True})
    good = render_report(run_copy, max_tenants=1, progress=False)
    assert 'class="banner ok"' in good and "NOT CONVERGED" not in good


def test_optional_parts_appear_only_with_their_files(run_copy: Path) -> None:
    summary = json.loads((run_copy / "summary.json").read_text())
    tenants, channels = summary["data"]["tenants"], summary["data"]["channels"]
    plain = render_report(run_copy, progress=False)
    for marker in ('id="evaluation"', 'id="allocation"', '<pre class="card">'):
        assert marker not in plain

    (run_copy / "evaluation.json").write_text(json.dumps({
        "overall": {"pairs": 2 * len(channels), "coverage_90": 0.9, "weather_elasticity_mae": {"temp_c": 0.01}},
        "pairs": [{"tenant": t, "channel": c, "true_roas": 2.0, "mean": 2.1, "q05": 1.5, "q95": 2.8, "inside": True, "rel_error": 0.05}
                  for t in tenants for c in channels],
        "weather": [],
    }))
    days = ["2024-06-01", "2024-06-02"]
    (run_copy / "allocation.json").write_text(json.dumps({
        "run_id": summary["run_id"], "objective": "mean", "budget": 1000.0, "days": days,
        "tenants": {tenants[0]: {
            "plan": {c: [100.0, 90.0] for c in channels}, "current": {c: [80.0, 80.0] for c in channels},
            "plan_by_day_extra": {"note": [1, 2]},
            "expected_incremental_revenue": {"plan": {"mean": 900.0, "q05": 700.0, "q95": 1100.0},
                                             "current": {"mean": 800.0, "q05": 600.0, "q95": 1000.0}},
            "prob_plan_beats_current": 0.83, "step_toward_optimum": 0.0, "held_small_gain": True,
            "refused_step": {"step": 0.7, "prob_beats_current": 0.93, "expected_gain": 4.0, "budget": 1000.0, "shared": False}},
            tenants[1]: {"plan": {c: [80.0, 80.0] for c in channels}, "current": {c: [80.0, 80.0] for c in channels},
                         "expected_incremental_revenue": {k: {"mean": 800.0, "q05": 600.0, "q95": 1000.0} for k in ("plan", "current")},
                         "prob_plan_beats_current": 0.0, "plan_is_current": True, "step_toward_optimum": 0.0}},
        "do_no_harm": {"explained": "each budget moves … at least 1.0% of the budget"},
    }))
    for t in tenants:
        summary["tenants"][t]["cv"] = {"folds": [{"fold": k, "r2": 0.6, "mape": 8.0, "baseline_r2": 0.4} for k in range(3)],
                                       "r2_mean": 0.6, "baseline_r2_mean": 0.4}
    _edit_summary(run_copy, tenants=summary["tenants"], model_card="# Model card\n\nIntended use: <budget> planning")

    html = render_report(run_copy, progress=False)
    counts = _figures(html)
    assert 'id="evaluation"' in html and 'id="allocation"' in html
    assert counts["truth"] == len(tenants) and counts["cv"] == len(tenants) and counts["allocation"] == 2  # tenants in the plan
    assert "0.83" in html and html.count("<td>the current mix</td>") == 1  # not P 0.00, which reads like a sure loss
    assert "held: its likely move (step 0.7, P 0.93) promised 4, under the least gain" in html
    assert "Do no harm: each budget moves … at least 1.0% of the budget." in html
    assert '<pre class="card"># Model card' in html and "&lt;budget&gt;" in html  # escaped, not raw HTML


def test_max_tenants_and_write_report(run_copy: Path) -> None:
    html = render_report(run_copy, max_tenants=1, progress=False)
    assert len(re.findall(r'<section class="tenant"', html)) == 1
    assert "2 tenant(s) listed without a section" in html
    out = write_report(run_copy)
    assert out == run_copy / "report.html" and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_verdict_stored_or_derived() -> None:
    summary = {"convergence": {"ok": True}, "tenants": {
        "a": {"fit": {"r2": 0.7}},
        "b": {"fit": {"r2": 0.3}},
        "c": {"fit": {"r2": 0.9}, "verdict": {"go": False, "reasons": ["holdout R² 0.40 < 0.60"]}},
        "d": {"fit": {"r2": 0.9}, "cv": {"verdict": {"go": True, "reasons": []}}},
    }}
    assert tenant_verdict(summary, "a")["go"] is True
    b = tenant_verdict(summary, "b")
    # The model card's bar (0.45 for a tenant of unknown sensitivity) decides, as in the card.
    assert b["go"] is False and b["reasons"][0] == "in-sample R² 0.30 < 0.45" and b["source"] == "derived"
    assert tenant_verdict(summary, "c") == {"go": False, "reasons": ["holdout R² 0.40 < 0.60"], "source": "stored"}
    assert tenant_verdict(summary, "d")["go"] is True
    summary["convergence"]["ok"] = False
    assert tenant_verdict(summary, "a")["reasons"] == ["sampler did not converge", "no walk-forward CV yet (bayes-mmm cv)"]


def test_prior_against_posterior_numbers(tiny_run: Path) -> None:
    """The prior bands are the recorded spec's tenant-level priors (cold start: the population's); posteriors the run's quantiles."""
    import numpy as np
    from scipy import stats

    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.runs.summary import load_run

    idata, summary = load_run(tiny_run)
    tenant = summary["data"]["tenants"][1]
    panels = prior_posterior_panels(idata, summary, tenant)
    assert [p["title"] for p in panels] == ["ROAS", "adstock α (carry-over per period)", "half-saturation (× mean spend per period)",
                                            "weather γ: temp_c", "weather γ: precip_mm"]
    spec = ModelSpec.from_dict(summary["config"]["spec"])
    assert spec.pooled
    # Pooled prior of a tenant's log ROAS: mu + sigma·z, drawn here independently of the code under test.
    rng = np.random.default_rng(5)
    mu, sd = np.log(5) / 2, np.log(5) / (2 * stats.norm.ppf(0.95))
    x = rng.normal(mu, sd, 200_000) + np.abs(rng.normal(0, 0.3, 200_000)) * rng.normal(0, 1, 200_000)
    np.testing.assert_allclose(panels[0]["prior"], [np.exp(np.quantile(x, [0.05, 0.95]))] * 3, rtol=0.02)
    roas = idata.posterior["roas"].sel(tenant=tenant).values.reshape(-1, 3)
    np.testing.assert_allclose(panels[0]["post"], np.quantile(roas, [0.05, 0.5, 0.95], axis=0).T)
    gamma = idata.posterior["weather_gamma"].sel(tenant=tenant, weather="precip_mm").values.reshape(-1, 3)
    np.testing.assert_allclose(panels[4]["post"][:, 2], np.quantile(gamma, 0.95, axis=0))
    # A cold-started run shows the population's normal instead.
    pop = {"channels": summary["data"]["channels"], "loc": {"log_roas": [0.0, 1.0, 2.0], "gamma": [[0.1, -0.1]] * 3},
           "scale": {"log_roas": [0.1, 0.2, 0.3], "gamma": [[0.05, 0.02]] * 3}}
    cold = prior_posterior_panels(idata, {**summary, "config": {**summary["config"], "population_prior": pop}}, tenant)
    np.testing.assert_allclose(cold[0]["prior"][2], np.exp(2 + np.array([-1, 1]) * 0.3 * stats.norm.ppf(0.95)))
    np.testing.assert_allclose(cold[4]["prior"][0], -0.1 + np.array([-1, 1]) * 0.02 * stats.norm.ppf(0.95))
    assert cold[1]["prior"] == panels[1]["prior"]  # no population prior for adstock given: the spec's
    # A refreshed run's warm start holds one prior per tenant (a leading tenant axis): the tenant's own row.
    tenants = summary["data"]["tenants"]
    rows = {t: [float(i), 1.0 + i, 2.0] for i, t in enumerate(tenants)}
    warm_pop = {"channels": summary["data"]["channels"], "tenants": tenants,
                "loc": {"log_roas": [rows[t] for t in tenants]}, "scale": {"log_roas": [[0.1, 0.2, 0.3]] * len(tenants)}}
    warm = prior_posterior_panels(idata, {**summary, "config": {**summary["config"], "population_prior": warm_pop}}, tenant)
    np.testing.assert_allclose(warm[0]["prior"][1], np.exp(rows[tenant][1] + np.array([-1, 1]) * 0.2 * stats.norm.ppf(0.95)))
    others = {**warm_pop, "tenants": ["someone_else"], "loc": {"log_roas": [[0.0] * 3]}, "scale": {"log_roas": [[0.1] * 3]}}
    new = prior_posterior_panels(idata, {**summary, "config": {**summary["config"], "population_prior": others}}, tenant)
    assert new[0]["prior"] == panels[0]["prior"]  # not in the parent run: the spec's


def test_a_weekly_run_speaks_of_weeks_and_a_later_start_warns_of_nothing(run_copy: Path) -> None:
    """Figures and captions follow the run's cadence; a tenant whose data start later (NaN before) draws without numpy noise."""
    import warnings

    import arviz as az

    summary = json.loads((run_copy / "summary.json").read_text())
    _edit_summary(run_copy, data={**summary["data"], "cadence": "weekly"})
    idata = az.from_netcdf(run_copy / "idata.nc").load()
    idata.posterior_predictive["revenue"][:, :, 0, :20] = np.nan  # the first tenant starts 20 periods later
    idata.observed_data["revenue"][0, :20] = np.nan
    idata.to_netcdf(str(run_copy / "idata.nc"), engine="h5netcdf")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        html = render_report(run_copy, max_tenants=1, progress=False)
    assert "Distribution of revenue per week" in html and "LOO Pareto k per week" in html
    assert "Steady-state revenue per week for a constant spend per week" in html and "per day" not in html
