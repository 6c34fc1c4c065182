"""Saying when the data cannot tell channels apart: the rule on constructed draws, the prior variance
against the model's own prior draws, and real fits of correlated and independent spend."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from bayes_mmm.analysis.card import identification_lines, model_card
from bayes_mmm.analysis.identification import (
    chain_disagreement,
    channel_verdict,
    contraction,
    flagged,
    identification,
    prior_log_roas_var,
    tenant_identification,
)
from bayes_mmm.core.priors import MediaPriors
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.data.spend_variation import (
    TOGETHER_MIN,
    follows_revenue,
    revenue_share,
    spend_correlations,
    spend_spread,
)
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model

CHANNELS = ["meta", "google", "email"]
#: Tiny fits: 3 tenants × 365 days, 2 chains × (300 + 300). Seeds pinned where the effect is clear.
SAMPLER = {"chains": 2, "draws": 300, "tune": 300, "seed": 1, "progress": False}


def _analytic_var(low: float, high: float, pool: float) -> float:
    sd = (np.log(high) - np.log(low)) / (2 * stats.norm.ppf(0.95))
    return sd**2 + pool**2


# -------------------------------------------------------------------------- prior variance and contraction


@pytest.mark.parametrize("pooled", [True, False])
def test_prior_variance_matches_the_models_prior_draws(tiny_lake: Path, pooled: bool) -> None:
    priors = MediaPriors(roas={"email": (3, 12), "*": (1, 5)}, roas_pool=0.4)
    spec = ModelSpec(priors=priors, pooled=pooled)
    expected = prior_log_roas_var(spec, CHANNELS)
    np.testing.assert_allclose(expected, [_analytic_var(1, 5, 0.4), _analytic_var(1, 5, 0.4), _analytic_var(3, 12, 0.4)])
    model = build_model(build_design(load_lake(tiny_lake), spec))
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The effect of Potentials")
        draws = pm.sample_prior_predictive(draws=8000, var_names=["roas"], random_seed=2).prior["roas"]
    logs = np.log(draws.sel(channel=CHANNELS).values).reshape(-1, 3, 3)  # (sample, tenant, channel)
    # 8,000 draws: the sd of a sample variance is √(2/8000) ≈ 1.6 % of it; 6 % is over 3 of those.
    np.testing.assert_allclose(logs.var(axis=0).mean(axis=0), expected, rtol=0.06)


def test_prior_variance_of_a_cold_start_is_the_population_scale() -> None:
    population = {"channels": ["google", "meta", "email"], "scale": {"log_roas": [0.2, 0.5, 0.1]}}
    np.testing.assert_allclose(prior_log_roas_var(ModelSpec(), CHANNELS, population), [0.25, 0.04, 0.01])


def test_contraction_is_one_minus_the_variance_ratio() -> None:
    draws = np.random.default_rng(0).normal(1.0, 0.3, (2, 500))
    assert contraction(draws, 0.36) == pytest.approx(1 - draws.var() / 0.36, abs=1e-12)
    assert contraction(draws, draws.var()) == pytest.approx(0.0, abs=1e-12)


# -------------------------------------------------------------------------- the rule on constructed draws


def test_chains_that_disagree_are_caught() -> None:
    rng = np.random.default_rng(1)
    same = np.exp(rng.normal(1.0, 0.1, (4, 400)))
    assert chain_disagreement(same)["disagree"] is False
    shifted = same.copy()
    shifted[1] *= np.exp(0.5)  # one chain in another mode
    out = chain_disagreement(shifted)
    assert out["disagree"] is True and out["rhat"] > 1.05
    assert out["medians"][1] == pytest.approx(np.median(shifted[1]), abs=1e-3)


def _entangled(rng: np.random.Generator, n: int = 2000) -> np.ndarray:
    """ROAS draws (1 chain×2 halves, draw, channel) where meta and google trade off, email is pinned."""
    total = rng.normal(np.log(6.0), 0.05, n)
    share = rng.normal(0.0, 0.3, n)  # contraction ≈ 0.7: only the trade-off leaves ROAS undecided
    meta, google = total + share, total - share
    email = rng.normal(np.log(2.0), 0.05, n)
    return np.exp(np.stack([meta, google, email], axis=-1)).reshape(2, n // 2, 3)


def test_a_traded_off_pair_is_flagged_with_reason_and_fix() -> None:
    roas = _entangled(np.random.default_rng(2))
    prior = np.full(3, _analytic_var(1, 5, 0.3))
    out = tenant_identification(roas, CHANNELS, prior, np.array([True, True, True]))
    r = out["roas_correlation"]["meta"]["google"]
    logs = np.log(roas).reshape(-1, 3)
    assert r == pytest.approx(np.corrcoef(logs[:, 0], logs[:, 1])[0, 1], abs=1e-3) and r < -0.6
    meta = out["identification"]["meta"]
    assert meta["flagged"] is True
    assert meta["reasons"] == [f"strong negative correlation with google ({r:+.2f}) and a wide interval"]
    assert meta["fixes"] == ["move meta's spend independently of google", "a lift test on meta"]
    assert meta["contraction"] == pytest.approx(1 - logs[:, 0].var() / prior[0], abs=1e-3)
    email = out["identification"]["email"]
    assert email == {**email, "flagged": False, "reasons": [], "fixes": []}


def test_the_narrow_partner_of_a_wide_entangled_channel_is_flagged_too() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    share = rng.normal(0.0, 1.0, n)
    meta = np.log(2.0) + 0.4 * share  # small channel: the split moves its ROAS a lot (wide)
    google = np.log(3.0) - 0.08 * share + rng.normal(0, 0.02, n)  # big channel: the same split, a narrow interval
    email = rng.normal(np.log(2.0), 0.05, n)
    roas = np.exp(np.stack([meta, google, email], axis=-1)).reshape(2, n // 2, 3)
    prior = np.full(3, _analytic_var(1, 5, 0.3))
    out = tenant_identification(roas, CHANNELS, prior, np.array([True, True, True]))
    r = np.corrcoef(meta, google)[0, 1]
    g = out["identification"]["google"]
    q05, q50, q95 = np.quantile(np.exp(google), [0.05, 0.5, 0.95])
    assert (q95 - q05) / q50 < 0.6  # on its own google would pass
    assert g["flagged"] is True and g["reasons"] == [
        f"entangled with meta ({r:+.2f}), whose interval is wide: the data know the pair's sum better than its split"]
    assert g["fixes"] == ["move google's spend independently of meta", "a lift test on google"]
    assert out["identification"]["meta"]["flagged"] is True
    assert out["identification"]["email"]["flagged"] is False


def test_a_wide_posterior_is_flagged_however_vague_the_prior() -> None:
    """Contraction against a vague prior is easy; a 90 % interval spanning more than ×3.8 is still flagged."""
    rng = np.random.default_rng(8)
    wide = np.exp(rng.normal(1.0, 0.5, (2, 2000)))  # a factor of about exp(2 · 1.645 · 0.5) = 5.2
    narrow_prior, vague_prior = _analytic_var(1, 5, 0.3), _analytic_var(0.1, 50, 0.3)
    assert channel_verdict("meta", wide, narrow_prior, {})["reasons"][0].startswith("low contraction")
    out = channel_verdict("meta", wide, vague_prior, {})
    assert out["contraction"] > 0.5 and out["flagged"] is True
    factor = np.exp(2 * 1.6448536 * np.std(np.log(wide)))
    assert out["reasons"] == [f"wide posterior: its 90 % interval spans a factor of {factor:.1f} (more than 3.8), though "
                              "narrower than the prior"]
    assert "a lift test on meta" in out["fixes"]
    # under the default prior the two rules agree: the sd bar is where contraction reaches 0.5
    assert np.sqrt(0.5 * narrow_prior) == pytest.approx(0.406, abs=5e-4)
    assert channel_verdict("meta", np.exp(rng.normal(1.0, 0.3, (2, 2000))), vague_prior, {})["flagged"] is False


def test_low_contraction_and_idle_channels() -> None:
    rng = np.random.default_rng(3)
    prior_var = _analytic_var(1, 5, 0.3)
    vague = np.exp(rng.normal(1.0, np.sqrt(prior_var) * 0.9, (2, 1000)))  # posterior ≈ prior
    out = channel_verdict("email", vague, prior_var, {})
    assert out["flagged"] is True
    assert out["reasons"][0].startswith(f"low contraction {out['contraction']:.2f} < 0.5")
    assert out["fixes"] == ["more spend variation on email (pauses, flights, budget steps)",
                            "a longer history (two years or more)", "a lift test on email"]
    roas = np.exp(rng.normal(1.0, 0.1, (2, 500, 3)))
    res = tenant_identification(roas, CHANNELS, np.full(3, prior_var), np.array([True, False, True]))
    assert set(res["identification"]) == {"meta", "email"}  # google never spent: it has no ROAS to judge
    assert set(res["roas_correlation"]["meta"]) == {"meta", "email"}


def test_spend_that_never_varies_is_flagged_whatever_the_posterior() -> None:
    # A daily cap: the median and both quartiles of the spend days sit at the cap; dark days are not spend days.
    capped = np.r_[np.zeros(10), np.full(300, 150.0), np.linspace(60.0, 149.0, 55)]
    assert spend_spread(capped) == 0.0
    # Ordinary spend: lognormal(0, 0.3) has IQR/median = exp(0.6745·0.3) − exp(−0.6745·0.3) ≈ 0.405.
    ordinary = np.exp(np.random.default_rng(0).normal(0.0, 0.3, 20_000))
    assert spend_spread(ordinary) == pytest.approx(np.exp(0.6745 * 0.3) - np.exp(-0.6745 * 0.3), abs=0.01)
    assert np.isnan(spend_spread(np.zeros(5)))
    # On/off spend (off on 30 % of the days) is not judged: its pauses isolate its effect, as a holdout does.
    assert np.isnan(spend_spread(np.r_[np.zeros(30), np.full(70, 150.0)]))
    assert spend_spread(np.r_[np.zeros(10), np.full(90, 150.0)]) == 0.0
    rng = np.random.default_rng(4)
    prior_var = _analytic_var(1, 5, 0.3)
    sharp = np.exp(rng.normal(1.0, 0.05, (2, 500)))  # a confident posterior: contraction ≈ 1
    assert channel_verdict("meta", sharp, prior_var, {}, spread=0.4)["flagged"] is False
    out = channel_verdict("meta", sharp, prior_var, {}, spread=0.0)
    assert out["reasons"] == ["spend barely varies (interquartile range 0% of the median on spend days): "
                              "the response above today's level is never observed"]
    assert out["fixes"] == ["more spend variation on meta (pauses, flights, budget steps)", "a lift test on meta"]


def test_spend_flighted_together_is_flagged_however_narrow_the_posterior() -> None:
    rng = np.random.default_rng(7)
    days = 400
    flights = rng.gamma(2.0, 50.0, days) * (rng.random(days) < 0.6)
    spend = np.stack([flights * 1.5 + rng.normal(0, 5, days).clip(0), flights + rng.normal(0, 5, days).clip(0),
                      rng.gamma(2.0, 40.0, days), np.full(days, 80.0)])[None]  # meta, google together; email; a constant
    train = np.ones((1, days), bool)
    train[0, :50] = False  # outside training: not counted
    got = spend_correlations(spend, train)[0]
    x = spend[0][:, 50:]
    np.testing.assert_allclose(got[:3, :3], np.corrcoef(x[:3]), atol=1e-12)  # an independent np.corrcoef
    assert np.isnan(got[3]).all() and np.isnan(got[:, 3]).all()  # a constant channel correlates with nothing
    assert got[0, 1] > TOGETHER_MIN > abs(got[0, 2])
    sharp = np.exp(rng.normal(1.0, 0.05, (2, 500)))  # a pooled, confident posterior: contraction ≈ 1
    prior_var = _analytic_var(1, 5, 0.3)
    out = channel_verdict("meta", sharp, prior_var, {"google": -0.3}, spread=0.4, together={"google": 0.96, "email": 0.1})
    assert out["reasons"] == ["spend moves with google (correlation +0.96 over the training periods): no period isolates either's effect"]
    assert out["fixes"] == ["move meta's spend independently of google", "a lift test on meta"]
    assert channel_verdict("meta", sharp, prior_var, {}, spread=0.4, together={"google": 0.85})["flagged"] is False
    split = channel_verdict("meta", sharp, prior_var, {}, spread=0.4, together={"google": -0.93})  # one budget, split
    assert split["reasons"] == ["spend moves against google (correlation -0.93 over the training periods): no period isolates either's effect"]
    res = tenant_identification(np.exp(rng.normal(1.0, 0.05, (2, 500, 3))), CHANNELS, np.full(3, prior_var), np.ones(3, bool),
                                spend_corr=got[:3, :3])
    assert [res["identification"][c]["flagged"] for c in CHANNELS] == [True, True, False]
    assert res["spend_correlation"]["meta"]["google"] == round(float(got[0, 1]), 3)


def test_spend_that_follows_revenue_is_flagged_however_narrow_the_posterior() -> None:
    rng = np.random.default_rng(11)
    weeks = 156
    revenue = 50_000 * np.exp(0.4 * np.sin(np.arange(weeks) * 2 * np.pi / 52) + rng.normal(0, 0.1, weeks))
    commission = 0.07 * revenue * np.exp(rng.normal(0, 0.05, weeks))  # an affiliate paid 7 % of sales
    budget = rng.gamma(4.0, 800.0, weeks)  # a budget set apart from sales
    share, corr = revenue_share(commission, revenue)
    assert share == pytest.approx(np.median(commission / revenue))
    assert corr == pytest.approx(np.corrcoef(np.log(commission), np.log(revenue))[0, 1])
    assert corr > 0.9
    assert revenue_share(budget, revenue) is None
    assert revenue_share(np.full(weeks, 3500.0), revenue) is None  # a fixed budget: no share of anything
    assert revenue_share(commission[:15], revenue[:15]) is None  # too few periods to judge
    # a fixed share of revenue whose revenue barely moves is a flat budget too (correlation of noise)
    assert revenue_share(0.07 * 50_000 * np.exp(rng.normal(0, 0.05, weeks)), np.full(weeks, 50_000.0)) is None
    train = np.ones((1, weeks), bool)
    train[0, :20] = False
    spend = np.stack([budget, commission])[None]
    got = follows_revenue(spend, revenue[None], train)
    assert np.isnan(got[0, 0])
    assert got[0, 1] == pytest.approx(np.corrcoef(np.log(commission[20:]), np.log(revenue[20:]))[0, 1])
    sharp = np.exp(rng.normal(1.0, 0.05, (2, 500)))
    out = channel_verdict("affiliate", sharp, _analytic_var(1, 5, 0.3), {}, spread=0.4, follows=got[0, 1])
    assert out["reasons"] == [f"spend follows revenue (a near-fixed share of it, correlation {got[0, 1]:+.2f} over the training "
                              "periods): revenue may drive this budget (a commission, a bid on a revenue target) as much as "
                              "the budget drives revenue"]
    assert out["fixes"] == ["a lift test on affiliate", "weeks of affiliate at a budget set apart from sales (a fixed amount, or a holdout)"]
    assert channel_verdict("affiliate", sharp, _analytic_var(1, 5, 0.3), {}, spread=0.4)["flagged"] is False


def test_a_used_lift_test_answers_what_the_spend_data_alone_cannot() -> None:
    """The fixes say "a lift test on X": once one is in the fit, the spend data's reasons stop flagging X."""
    rng = np.random.default_rng(21)
    sharp = np.exp(rng.normal(1.0, 0.05, (2, 500)))
    prior_var = _analytic_var(1, 5, 0.3)
    follows = channel_verdict("affiliate", sharp, prior_var, {}, spread=0.4, follows=0.97, lifted={"affiliate"})
    assert follows["flagged"] is False and follows["follows_revenue"] is False and follows["reasons"] == []
    assert follows["answered_by_lift"] == [
        "spend follows revenue (a near-fixed share of it, correlation +0.97 over the training periods): revenue may drive "
        "this budget (a commission, a bid on a revenue target) as much as the budget drives revenue — answered by the lift "
        "test on affiliate"]
    assert channel_verdict("affiliate", sharp, prior_var, {}, spread=0.4, follows=0.97, lifted={"meta"})["follows_revenue"] is True
    # a test on the partner of a co-flighted pair splits it; a test on a third channel does not
    pair = {"together": {"google": 0.96}, "spread": 0.4}
    assert channel_verdict("meta", sharp, prior_var, {}, lifted={"google"}, **pair)["flagged"] is False
    assert channel_verdict("meta", sharp, prior_var, {}, lifted={"email"}, **pair)["flagged"] is True
    flat = channel_verdict("meta", sharp, prior_var, {}, spread=0.0, lifted={"meta"})
    assert flat["flagged"] is False and flat["answered_by_lift"][0].startswith("spend barely varies")
    # the posterior's own checks still flag a tested channel: a test too vague to pin ROAS down leaves it wide
    vague = np.exp(rng.normal(1.0, 0.8, (2, 500)))
    still = channel_verdict("meta", vague, prior_var, {}, spread=0.0, lifted={"meta"})
    assert still["flagged"] is True and still["reasons"][0].startswith("low contraction")
    assert len(still["reasons"]) == 1 and len(still["answered_by_lift"]) == 1


def test_attach_reads_the_tested_channels_from_the_summarys_lift_entries(capsys) -> None:
    import arviz as az
    import xarray as xr

    from bayes_mmm.analysis.identification import attach

    rng = np.random.default_rng(5)
    spend = rng.uniform(1.0, 3.0, (2, 3, 60))
    spend[:, 2] = 2.0  # email spends the same every day in both tenants
    idata = az.InferenceData(
        posterior=xr.Dataset({"roas": (("chain", "draw", "tenant", "channel"), np.exp(rng.normal(1.0, 0.05, (2, 300, 2, 3))))},
                             coords={"tenant": ["t1", "t2"], "channel": CHANNELS}),
        constant_data=xr.Dataset({"spend": (("tenant", "channel", "date"), spend), "train": (("tenant", "date"), np.ones((2, 60), bool))}),
    )
    tests = [{"channel": "email", "used": True}, {"channel": "meta", "used": False}]
    summary = {"tenants": {"t1": {"lift_tests": tests}, "t2": {"lift_tests": [{"channel": "email", "used": False}]}}}
    attach(summary, idata, ModelSpec())
    assert summary["tenants"]["t1"]["identification"]["email"]["flagged"] is False  # its used test answers the flat spend
    assert summary["tenants"]["t2"]["identification"]["email"]["flagged"] is True  # a test not used answers nothing
    assert summary["tenants"]["t2"]["identification"]["email"]["reasons"][0].startswith("spend barely varies")
    from bayes_mmm.surfaces.cli import print_identification

    print_identification(summary)
    printed = " ".join(capsys.readouterr().out.split())
    assert "not identified t2 email: spend barely varies" in printed and "not identified t1" not in printed
    assert "a lift test answers t1 email: spend barely varies (interquartile range 0% of the median on spend days)" in printed
    card = identification_lines(summary)
    assert any(line.startswith("| t2 | email |") for line in card) and card[-1].startswith("- A lift test answers t1 email: spend barely varies (interquartile")


# -------------------------------------------------------------------------- real fits


def _fit_run(scenario: str, seed: int, tmp: Path) -> tuple[dict, Path]:
    from bayes_mmm.api import fit_lake
    from synthetic import simulate_universe, write_lake

    lake = tmp / "lake"
    write_lake(simulate_universe(n_tenants=3, n_days=365, seed=seed, scenario=scenario), lake)
    run = tmp / "run"
    return fit_lake(lake, out=run, sampler_kwargs=SAMPLER), run


@pytest.fixture(scope="module")
def correlated_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    return _fit_run("correlated_spend", 1, tmp_path_factory.mktemp("corr"))


def test_correlated_pair_is_flagged_in_the_summary(correlated_run) -> None:
    _, run = correlated_run
    summary = json.loads((run / "summary.json").read_text())  # recorded at fit time
    for tid, entry in summary["tenants"].items():
        r = entry["roas_correlation"]["meta"]["google"]
        assert r < -0.6, (tid, r)
        for ch, other in (("meta", "google"), ("google", "meta")):
            e = entry["identification"][ch]
            assert e["flagged"] is True, (tid, ch, e)
            assert f"strong negative correlation with {other} ({r:+.2f}) and a wide interval" in e["reasons"]
            assert f"a lift test on {ch}" in e["fixes"]
        assert not any("correlation" in x for x in entry["identification"]["email"]["reasons"])


def test_contraction_equals_an_independent_computation(correlated_run) -> None:
    import arviz as az

    _, run = correlated_run
    summary = json.loads((run / "summary.json").read_text())
    roas = az.from_netcdf(run / "idata.nc").posterior["roas"]
    assert roas.sizes["chain"] == 2
    prior_var = _analytic_var(0.5, 10, 0.3)  # the default ROAS prior, pooled
    for tid, entry in summary["tenants"].items():
        for ch in CHANNELS:
            logs = np.log(roas.sel(tenant=tid, channel=ch).values).ravel()  # both chains
            assert entry["identification"][ch]["contraction"] == pytest.approx(1 - logs.var() / prior_var, abs=1e-3)


def test_flagged_pairs_are_named_in_cli_card_and_report(correlated_run, capsys) -> None:
    from bayes_mmm.surfaces.cli import print_identification
    from bayes_mmm.surfaces.report import render_report

    summary, run = correlated_run
    rows = flagged(summary)
    print_identification(summary)
    printed = capsys.readouterr().out
    assert printed.count("not identified") == len(rows) >= 6
    assert "shop_000 meta: strong negative correlation with google" in " ".join(printed.split())
    card = model_card(summary)
    assert "## Identification of channels" in card
    e = summary["tenants"]["shop_000"]["identification"]["google"]
    assert f"| shop_000 | google | {e['contraction']:.2f} | {'; '.join(e['reasons'])} |" in card
    html = render_report(run, max_tenants=1, progress=False)
    assert "Can the data tell the channels apart?" in html
    assert "no: strong negative correlation with google" in html


@pytest.mark.slow  # heavy real fit; run with --run-slow (kept out of the 15-minute default suite)
def test_independent_spend_is_mostly_identified(tmp_path: Path, capsys) -> None:
    from bayes_mmm.surfaces.cli import print_identification

    summary, _ = _fit_run("default", 1, tmp_path)
    rows = flagged(summary)
    assert len(rows) <= 1, rows  # of 9 tenant×channels
    assert not any("correlation" in r for _, _, e in rows for r in e["reasons"])
    for entry in summary["tenants"].values():
        assert all(abs(r) < 0.6 for ch, row in entry["roas_correlation"].items() for o, r in row.items() if o != ch)
    if not rows:
        print_identification(summary)
        assert "all channels identified" in capsys.readouterr().out


def test_every_chain_is_used(tmp_path: Path) -> None:
    """Four chains (``fit --chains 4``): one of them in another mode is seen, and contraction pools all four."""
    import arviz as az
    import xarray as xr

    from bayes_mmm.analysis.identification import identification

    rng = np.random.default_rng(4)
    roas = np.exp(rng.normal(1.0, 0.1, (4, 300, 1, 3)))  # (chain, draw, tenant, channel)
    roas[3, :, 0, 2] *= 2.0  # chain 4 finds another email ROAS
    spend = rng.uniform(1.0, 3.0, (1, 3, 5))
    spend[0, 1] = 0.0  # google never spends
    spend[0, 2] = 2.0  # email spends the same every day
    idata = az.InferenceData(
        posterior=xr.Dataset({"roas": (("chain", "draw", "tenant", "channel"), roas)},
                             coords={"tenant": ["t1"], "channel": CHANNELS}),
        constant_data=xr.Dataset({"spend": (("tenant", "channel", "date"), spend), "train": (("tenant", "date"), np.ones((1, 5), bool))}),
    )
    out = identification(idata, ModelSpec())["t1"]["identification"]
    assert set(out) == {"meta", "email"}
    assert out["email"]["flagged"] is True and len(out["email"]["chains"]["medians"]) == 4
    assert out["email"]["reasons"][-1].startswith("chains disagree (medians ")
    assert out["email"]["reasons"][0].startswith("spend barely varies (interquartile range 0% ")
    assert out["meta"]["flagged"] is False
    logs = np.log(roas[:, :, 0, 2]).ravel()
    assert out["email"]["contraction"] == pytest.approx(1 - logs.var() / _analytic_var(0.5, 10, 0.3), abs=1e-3)


def test_identification_reads_revenue_from_the_run_and_skips_its_blanks() -> None:
    import arviz as az
    import xarray as xr

    rng = np.random.default_rng(12)
    weeks, channels = 120, ["meta", "affiliate"]
    revenue = 40_000 * np.exp(0.3 * np.sin(np.arange(weeks) / 8) + rng.normal(0, 0.1, weeks))
    spend = np.stack([rng.gamma(4.0, 500.0, weeks), 0.06 * revenue * np.exp(rng.normal(0, 0.04, weeks))])[None]
    observed = revenue.copy()[None]
    observed[0, 30:34] = np.nan  # blank weeks
    roas = np.exp(rng.normal(1.0, 0.05, (2, 300, 1, 2)))
    dims = {"tenant": ["t"], "channel": channels, "date": np.arange(weeks)}
    idata = az.InferenceData(
        posterior=xr.Dataset({"roas": (("chain", "draw", "tenant", "channel"), roas)},
                             coords={"chain": [0, 1], "draw": np.arange(300), "tenant": ["t"], "channel": channels}),
        constant_data=xr.Dataset({"spend": (("tenant", "channel", "date"), spend), "train": (("tenant", "date"), np.ones((1, weeks)))},
                                 coords=dims),
        observed_data=xr.Dataset({"revenue": (("tenant", "date"), observed)}, coords={"tenant": ["t"], "date": np.arange(weeks)}),
    )
    got = identification(idata, ModelSpec())["t"]["identification"]
    keep = np.isfinite(observed[0])
    r = np.corrcoef(np.log(spend[0, 1, keep]), np.log(revenue[keep]))[0, 1]
    assert got["affiliate"]["flagged"] and any(f"correlation {r:+.2f}" in x for x in got["affiliate"]["reasons"])
    assert not any("follows revenue" in x for x in got["meta"]["reasons"])
