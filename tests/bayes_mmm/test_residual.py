"""AR(1) residuals: the whitened closed form against the brute-force AR covariance, ρ's estimate, the noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import linalg, stats

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import marginal_loglik
from bayes_mmm.model.residual import ar_loglik, ar_noise, lag_one, least_squares, noise_scale, prewhiten, runs


@pytest.fixture(scope="module")
def dry_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tenants × 240 days whose revenue moves with weather the lake does not show."""
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("dry") / "lake"
    write_lake(simulate_universe(n_tenants=3, n_days=240, seed=3, weather="none"), out)
    return out


def ar_cov(rho: float, sigma: float, train: np.ndarray) -> np.ndarray:
    """Covariance of stationary AR(1) noise on the training days, independent across runs of consecutive days."""
    idx = np.flatnonzero(train)
    run_id = np.cumsum(runs(train)[0])[idx]
    lag = np.abs(idx[:, None] - idx[None, :])
    same = run_id[:, None] == run_id[None, :]
    return np.where(same, sigma**2 / (1 - rho**2) * rho**lag, 0.0)


def test_marginal_loglik_with_ar_noise_equals_multivariate_normal(dry_lake: Path) -> None:
    """Whitened Q and residual give the exact density of N(0, Σ_AR + X diag(v) Xᵀ), a gap included."""
    ds = load_lake(dry_lake)
    train = ds["observed"].values.copy()
    train[:, 100:110] = False  # a CV-like hole: the AR runs restart after it
    design = build_design(ds, ModelSpec(), train)
    # "auto": no weather columns → AR for every tenant; its size follows the hidden weather's pull.
    assert design.ar_rho[0] > 0.4 and design.ar_rho[1] > 0.1, design.ar_rho
    _assert_matches_dense_normal(design, seed=0)


def _assert_matches_dense_normal(design, seed: int) -> None:
    """The closed form against the density of N(0, S Σ_AR S + X diag(v) Xᵀ), S = diag(noise scale), built densely."""
    rng = np.random.default_rng(seed)
    resid = rng.normal(0, 0.2, design.y.shape) * design.train
    sigma = np.array([0.1, 0.2, 0.3])
    got = marginal_loglik(design, resid, sigma).eval()
    want = 0.0
    for i in range(3):
        rows, rho = design.train[i], design.ar_rho[i]
        s = design.noise_scale[i][rows]
        # Independent computation: the prior on the kept features' coefficients, as the design states it.
        xk = design.X[i][rows][:, design.keep[i]]
        cov = s[:, None] * ar_cov(rho, sigma[i], rows) * s[None, :] + xk @ _coef_prior(design, i) @ xk.T
        # The closed form drops constants: the whitening's Jacobian, Σ_starts log √(1−ρ²), and the scale's, Σ log s_t.
        jac = runs(rows)[0].sum() * 0.5 * np.log(1 - rho**2) - np.log(s).sum()
        want += stats.multivariate_normal(np.zeros(rows.sum()), cov).logpdf(resid[i, rows]) - jac
    assert got == pytest.approx(want, rel=1e-9)


def _coef_prior(design, i: int) -> np.ndarray:
    """Prior covariance of the kept features' coefficients b: Rinv diag(prior_var) Rinvᵀ (θ' = Rinv⁻¹ b)."""
    k = len(design.keep[i])
    r = design.Rinv[i][:k, :k]
    return r @ np.diag(design.prior_var[i][:k]) @ r.T


def test_prewhitening_makes_ar_noise_white() -> None:
    """Whitened AR(1) draws have unit-σ, uncorrelated entries; the AR draws have the stationary variance."""
    rng = np.random.default_rng(1)
    sigma = np.full(4000, 0.5)
    e = ar_noise(rng, sigma, 0.6, 50)
    assert e.var(axis=0).mean() == pytest.approx(0.25 / (1 - 0.36), rel=0.03)
    assert np.corrcoef(e[:, 20], e[:, 21])[0, 1] == pytest.approx(0.6, abs=0.03)
    w = prewhiten(e, 0.6, np.ones(50, dtype=bool))
    assert w.var(axis=0).mean() == pytest.approx(0.25, rel=0.03)
    assert abs(np.corrcoef(w[:, 20], w[:, 21])[0, 1]) < 0.04


def test_pointwise_ar_loglik_is_the_leave_one_out_conditional() -> None:
    """Each day's term is log p(e_t | every other training day), from the AR covariance's precision matrix."""
    rng = np.random.default_rng(2)
    train = np.ones(30, dtype=bool)
    train[12:15] = False
    train[20] = False  # day 19 ends a run and day 21 starts one; a one-day run needs its own variance
    train[22] = False
    resid = rng.normal(size=(2, 30))
    got = ar_loglik(resid, np.array([0.7, 1.3]), 0.4, train)
    for k, s in enumerate((0.7, 1.3)):
        prec = np.linalg.inv(ar_cov(0.4, s, train))
        e = resid[k, train]
        var = 1 / np.diag(prec)
        mean = -(prec @ e - np.diag(prec) * e) * var
        np.testing.assert_allclose(got[k], stats.norm(mean, np.sqrt(var)).logpdf(e), rtol=1e-10)


def test_iid_noise_keeps_the_old_pointwise_loglik() -> None:
    resid = np.random.default_rng(5).normal(size=(3, 12))
    train = np.ones(12, dtype=bool)
    sigma = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(ar_loglik(resid, sigma, 0.0, train), stats.norm(0, sigma[:, None]).logpdf(resid), rtol=1e-12)


def test_estimate_rho_recovers_the_truth_and_clips_negative() -> None:
    """ρ as the design estimates it: the lag-1 autocorrelation of the least-squares residual."""

    def estimate_rho(y, X, proxies, train):
        return lag_one(least_squares(y, X, proxies, train)[0], train)

    rng = np.random.default_rng(3)
    n = 730
    X = np.column_stack([np.ones(n), np.sin(np.arange(n) * 2 * np.pi / 365)])
    proxies = rng.gamma(2, 1, (n, 2))
    train = np.ones(n, dtype=bool)
    e = ar_noise(rng, np.array([0.1]), 0.5, n)[0]
    y = X @ [1.0, 0.2] + proxies @ [0.05, 0.02] + e
    assert estimate_rho(y, X, proxies, train) == pytest.approx(0.5, abs=0.07)
    # MA noise with a negative lag-1 correlation: no AR (it would make intervals narrower than i.i.d.).
    eta = rng.normal(0, 0.1, n + 1)
    assert estimate_rho(X @ [1.0, 0.2] + eta[1:] - 0.6 * eta[:-1], X, proxies, train) == 0.0


def test_weather_columns_keep_iid_noise_unless_asked(tiny_lake: Path) -> None:
    """'auto' leaves tenants with weather exactly as before; 'none' turns AR off for the dry ones."""
    ds = load_lake(tiny_lake)
    assert not build_design(ds, ModelSpec()).ar_rho.any()
    assert ModelSpec.from_dict({k: v for k, v in ModelSpec().to_dict().items() if k != "residual_ar"}).residual_ar == "none"
    with pytest.raises(ValueError, match="residual_ar must be one of"):
        ModelSpec(residual_ar="yes")
    # Runs written before the noise scale existed read back with constant noise, and keep their config hash.
    assert "noise_scale" not in ModelSpec().to_dict() and ModelSpec.from_dict(ModelSpec().to_dict()).noise_scale == "none"
    assert ModelSpec.from_dict(ModelSpec(noise_scale="level").to_dict()).noise_scale == "level"
    assert linalg.norm(build_design(ds, ModelSpec(residual_ar="none")).Q - build_design(ds, ModelSpec()).Q) == 0


def test_baseline_coefficients_follow_the_gls_posterior(dry_lake: Path) -> None:
    """With AR noise the drawn baseline coefficients have the GLS posterior mean (Σ_AR⁻¹ weighting), not OLS's."""
    import xarray as xr

    from bayes_mmm.inference.posterior import tenant_posterior
    from bayes_mmm.model.hierarchical import INTERCEPT_MEAN

    design = build_design(load_lake(dry_lake), ModelSpec(media=False))
    i, sigma, s = 0, 0.15, 20000
    post = xr.Dataset({"sigma": (("chain", "draw", "tenant"), np.full((1, s, 3), sigma))})
    got = tenant_posterior(design, post, i, np.random.default_rng(4)).coef.mean(axis=0)
    rows = design.train[i]
    x = design.X[i][rows][:, design.keep[i]]
    prior = _coef_prior(design, i)
    prec = np.linalg.inv(ar_cov(design.ar_rho[i], sigma, rows))
    r = design.y[i][rows] - INTERCEPT_MEAN
    want = np.linalg.solve(x.T @ prec @ x + np.linalg.inv(prior), x.T @ prec @ r)
    want[0] += INTERCEPT_MEAN
    sd = np.sqrt(np.diag(np.linalg.inv(x.T @ prec @ x + np.linalg.inv(prior))))
    assert np.all(np.abs(got - want) < 4 * sd / np.sqrt(s) + 1e-9), np.abs(got - want) / sd


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--residual-ar", "yes", "--residual-ar must be one of ('auto', 'all', 'none'), got 'yes'"),
    ("--noise-scale", "log", "--noise-scale must be one of ('none', 'level'), got 'log'"),
    ("--noise-tails", "cauchy", "--noise-tails must be one of ('normal', 'student'), got 'cauchy'"),
])
def test_cli_rejects_an_unknown_noise_choice(tmp_path: Path, tiny_lake: Path, option: str, value: str, message: str) -> None:
    from typer.testing import CliRunner

    from bayes_mmm.surfaces.cli import app

    res = CliRunner().invoke(app, ["fit", "--data", str(tiny_lake), option, value, "--out", str(tmp_path / "run")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and message in " ".join(res.output.split())
    assert not (tmp_path / "run").exists()


def test_card_names_ar_tenants_and_the_weatherless_limit_only_when_they_exist(stored_run: Path) -> None:
    import json

    from bayes_mmm.analysis.card import WEATHERLESS_LIMIT, WEEKLY_LIMIT, model_card

    summary = json.loads((stored_run / "summary.json").read_text())
    plain = model_card(summary)
    assert "AR(1)" not in plain.split("## Known limits")[0] and WEATHERLESS_LIMIT not in plain
    first = next(iter(summary["tenants"]))
    summary["tenants"][first].update(weather=False, residual_ar=0.42)
    card = model_card(summary)
    assert f"- Noise: AR(1), ρ estimated once per tenant from a least-squares fit, for {first} (ρ 0.42); " in card
    assert f"- {WEATHERLESS_LIMIT}" in card
    assert WEEKLY_LIMIT not in card  # a daily run
    summary["data"]["cadence"] = "weekly"
    assert f"- {WEEKLY_LIMIT}" in model_card(summary).split("## Known limits")[1]
    summary["data"]["cadence"] = "daily"
    assert "level^p" not in card
    summary["tenants"][first].update(noise_power=0.7)
    assert f"as level^p (weighted least squares, p estimated once per tenant) for {first} (p 0.7); " in model_card(summary)
    assert "Student-t" not in model_card(summary)
    summary["tenants"][first].update(noise_nu=3.0)
    assert f"- Noise: Student-t for {first} (ν 3); ν estimated once per tenant from a least-squares fit" in model_card(summary)


def test_noise_power_recovers_the_generating_power() -> None:
    """Residuals with sd ∝ level^p give back p (grid step 0.1); constant noise gives 0 or near it."""
    rng = np.random.default_rng(4)
    n = 3000
    train = np.ones(n, dtype=bool)
    level = np.exp(rng.normal(0.0, 0.4, n))
    for p in (0.0, 0.5, 1.0):
        e = 0.1 * level**p * rng.standard_normal(n)
        scale, got = noise_scale(e, level, train)
        assert got == pytest.approx(p, abs=0.1)
        # The scale is level^p up to a constant, with geometric mean 1 over the training days.
        assert np.exp(np.mean(np.log(scale))) == pytest.approx(1.0)
        # Independent of the code: level^got, floored at 0.2 of the mean level, over its geometric mean.
        want = np.maximum(level, 0.2 * level.mean()) ** got
        assert scale == pytest.approx(want / np.exp(np.mean(np.log(want))), rel=1e-9)


def test_marginal_loglik_with_noise_scale_equals_multivariate_normal(dry_lake: Path) -> None:
    """Scaled, whitened Q and residual give the density of N(0, S Σ_AR S + X diag(v) Xᵀ), S = diag(noise scale)."""
    ds = load_lake(dry_lake)
    design = build_design(ds, ModelSpec(noise_scale="level"))
    assert (design.noise_power > 0).any(), design.noise_power  # the test must exercise a varying scale
    _assert_matches_dense_normal(design, seed=1)


def test_noise_scale_stays_within_the_training_level_and_needs_a_positive_one() -> None:
    """Off the training days the level is clipped to the training range; a level whose mean is ≤ 0 gives constant noise."""
    rng = np.random.default_rng(5)
    n = 400
    train = np.arange(n) < 300
    fitted = np.where(train, np.exp(rng.normal(0, 0.3, n)), -20.0)  # a wild extrapolation after day 300
    fitted[-1] = 50.0
    e = np.where(train, 0.1 * fitted * rng.standard_normal(n), 0.0)
    scale, p = noise_scale(e, fitted, train)
    assert p == pytest.approx(1.0, abs=0.1)
    lo, hi = fitted[train].min(), fitted[train].max()
    gm = np.exp(np.mean(np.log(fitted[train] ** p)))
    assert scale[300:-1] == pytest.approx(lo**p / gm) and scale[-1] == pytest.approx(hi**p / gm)
    flat, p0 = noise_scale(e, -fitted, train)
    assert p0 == 0.0 and (flat == 1.0).all()


def test_fit_output_names_the_noise_model_of_each_tenant(stored_run: Path, capsys: pytest.CaptureFixture) -> None:
    """The CLI names AR(1) and level-scaled tenants with their estimates, and is silent when neither applies."""
    import json

    from bayes_mmm.surfaces.cli import print_fit

    summary = json.loads((stored_run / "summary.json").read_text())
    print_fit(summary)
    plain = capsys.readouterr().out
    assert "AR(1) noise" not in plain and "level^p" not in plain
    first, second = list(summary["tenants"])[:2]
    summary["tenants"][first].update(residual_ar=0.31)
    summary["tenants"][second].update(noise_power=0.8, noise_nu=4.0)
    print_fit(summary)
    text = " ".join(capsys.readouterr().out.split())
    assert f"Student-t noise (outlying days weigh less): {second} ν 4" in text
    assert f"AR(1) noise (what the model leaves unexplained carries over to the next period): {first} ρ 0.31" in text
    assert f"noise grows with the level (sd ∝ level^p): {second} p 0.8" in text
