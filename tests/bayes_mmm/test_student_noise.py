"""Student-t noise: ν and the day weights against scipy's t fit, the tempered closed form in coefficient space, the outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import marginal_loglik
from bayes_mmm.model.residual import ar_loglik, ar_noise, prewhiten, student_weights, t_sd, t_tempering
from tests.bayes_mmm.test_residual import _coef_prior


@pytest.fixture(scope="module")
def spiky_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tenants × 240 days of the heavy_tails scenario (Student-t(3) noise, promotions)."""
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("spiky") / "lake"
    write_lake(simulate_universe(n_tenants=3, n_days=240, seed=2, scenario="heavy_tails"), out)
    return out


def test_student_weights_follow_scipys_t_fit_and_leave_normal_noise_alone() -> None:
    """t(3) noise gets ν near 3 and the E-step weights of scipy's own t fit; normal noise stays normal, unit scale."""
    rng = np.random.default_rng(0)
    n = 3000
    train = np.ones(n + 10, dtype=bool)
    train[-10:] = False  # days off the training window keep scale 1
    e = np.concatenate([0.2 * rng.standard_t(3, n), np.full(10, 50.0)])
    scale, nu = student_weights(e, train)
    assert nu in (3.0, 4.0)
    # Independent: scipy's maximum-likelihood t scale at that ν, and the E-step weight (ν+1)/(ν+z²).
    _, _, s = stats.t.fit(e[:n], f0=nu, floc=0.0)
    w = (nu + 1) / (nu + (e[:n] / s) ** 2)
    assert scale[:n] == pytest.approx(1 / np.sqrt(w), rel=1e-3)
    assert (scale[n:] == 1.0).all()

    # Normal noise over two years: without the likelihood-ratio bar about 1 in 3 such residuals get a
    # finite ν that chases a few 3–4 sd days; with it, none of these do.
    for seed in range(20):
        normal, nu_n = student_weights(np.random.default_rng(seed).normal(0, 0.2, 730), np.ones(730, dtype=bool))
        assert np.isinf(nu_n) and (normal == 1.0).all(), seed


def test_tempering_matches_the_t_fisher_information_and_t_sd_scipys() -> None:
    """κ is the t's Fisher information for a location, ``E[(∂ log t/∂μ)²]``, integrated numerically, over the
    unit information the fixed weights claim (their mean is 1); the sd of a standard t against scipy's."""
    from scipy import integrate

    for nu in (3.0, 7.0):
        score2 = integrate.quad(lambda z, nu=nu: ((nu + 1) * z / (nu + z**2)) ** 2 * stats.t(nu).pdf(z), -np.inf, np.inf)[0]
        assert float(t_tempering(nu)) == pytest.approx(score2, rel=1e-6)
    assert float(t_tempering(np.inf)) == 1.0
    assert float(t_sd(5.0)) == pytest.approx(stats.t(5).std())
    assert float(t_sd(np.inf)) == 1.0


def _whitening(design, i: int) -> np.ndarray:
    """Tenant ``i``'s map from residual to whitened, reweighted residual on its training days, as a dense matrix."""
    n = design.y.shape[1]
    cols = prewhiten(np.eye(n) / design.noise_scale[i][None, :], float(design.ar_rho[i]), design.train[i])
    rows = design.train[i]
    return (cols.T / design.tail_scale[i][:, None])[np.ix_(rows, rows)]


@pytest.mark.parametrize("spec", [ModelSpec(noise_tails="student", residual_ar="none"),
                                  ModelSpec(noise_tails="student", residual_ar="all", noise_scale="level")],
                         ids=["iid", "ar-and-level"])
def test_tempered_marginal_loglik_equals_the_integral_in_coefficient_space(spiky_lake: Path, spec: ModelSpec) -> None:
    """log ∫ N(A r | A X b, σ²)^κ N(b | 0, V) db, done in the coefficients b, matches the closed form up to a constant in σ.

    ``A`` scales by the level, prewhitens and reweights the tails. The code integrates in an orthonormal
    basis of the days; here the integral is done by completing the square in b, a different route to the
    same number. Constants (the transform's Jacobian, κ's own) cancel in a difference between two σ.
    """
    design = build_design(load_lake(spiky_lake), spec)
    assert np.isfinite(design.noise_nu).all() and (design.tempering < 1).all(), design.noise_nu
    if spec.residual_ar == "all":  # the test must exercise every step of the transform
        assert (design.ar_rho > 0).any() and (design.noise_power > 0).any(), (design.ar_rho, design.noise_power)
    rng = np.random.default_rng(1)
    resid = rng.normal(0, 0.2, design.y.shape) * design.train

    def want(sigma: np.ndarray) -> float:
        total = 0.0
        for i in range(3):
            rows = design.train[i]
            a = _whitening(design, i)
            x, r = a @ design.X[i][rows][:, design.keep[i]], a @ resid[i, rows]
            prec = design.tempering[i] / sigma[i] ** 2  # the tempered likelihood's precision per whitened day
            m = prec * x.T @ x + np.linalg.inv(_coef_prior(design, i))
            b = prec * x.T @ r
            total += (-0.5 * prec * r @ r + 0.5 * b @ np.linalg.solve(m, b) - 0.5 * np.linalg.slogdet(m)[1]
                      - design.tempering[i] * rows.sum() * np.log(sigma[i]))
        return total

    s1, s2 = np.array([0.1, 0.2, 0.3]), np.array([0.15, 0.12, 0.4])
    got = marginal_loglik(design, resid, s1).eval() - marginal_loglik(design, resid, s2).eval()
    assert got == pytest.approx(want(s1) - want(s2), rel=1e-8)


def test_baseline_draws_follow_the_tempered_gls_posterior(spiky_lake: Path) -> None:
    """With Student-t noise the drawn baseline coefficients have the tempered GLS posterior's mean and sd."""
    import xarray as xr

    from bayes_mmm.inference.posterior import tenant_posterior
    from bayes_mmm.model.hierarchical import INTERCEPT_MEAN

    design = build_design(load_lake(spiky_lake), ModelSpec(media=False, noise_tails="student", residual_ar="none"))
    i, sigma, s = 0, 0.15, 20000
    post = xr.Dataset({"sigma": (("chain", "draw", "tenant"), np.full((1, s, 3), sigma))})
    coef = tenant_posterior(design, post, i, np.random.default_rng(4)).coef
    rows = design.train[i]
    a = _whitening(design, i)
    x, r = a @ design.X[i][rows][:, design.keep[i]], a @ (design.y[i][rows] - INTERCEPT_MEAN)
    prec = design.tempering[i] / sigma**2
    cov = np.linalg.inv(prec * x.T @ x + np.linalg.inv(_coef_prior(design, i)))
    want = cov @ (prec * x.T @ r)
    want[0] += INTERCEPT_MEAN
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(coef.mean(axis=0) - want) < 4 * sd / np.sqrt(s)), np.abs(coef.mean(axis=0) - want) / sd
    # Untempered (κ = 1) the sd would be √κ ≈ 0.8 of this: the draws' spread tells the two apart.
    assert coef.std(axis=0) == pytest.approx(sd, rel=0.05)


def test_normal_tails_leave_the_design_and_hash_unchanged(spiky_lake: Path) -> None:
    """The default keeps normal noise: ν inf, unit tail scale, κ 1, and the spec's dict (its hash) as before the option."""
    design = build_design(load_lake(spiky_lake), ModelSpec())
    assert np.isinf(design.noise_nu).all() and (design.tail_scale == 1).all() and (design.tempering == 1).all()
    assert "noise_tails" not in ModelSpec().to_dict()
    assert ModelSpec.from_dict(ModelSpec(noise_tails="student").to_dict()).noise_tails == "student"
    with pytest.raises(ValueError, match="noise_tails must be one of \\('normal', 'student'\\), got 'cauchy'"):
        ModelSpec(noise_tails="cauchy")


def test_t_predictive_noise_and_pointwise_loglik_are_students() -> None:
    """Draws of i.i.d. t noise pass a KS test against the t (normal draws would not); the pointwise log-likelihood is the t's log density."""
    rng = np.random.default_rng(3)
    sigma = np.array([0.5, 2.0])
    draws = ar_noise(rng, sigma, 0.0, 40000, nu=4.0)
    for row in draws / sigma[:, None]:
        assert stats.kstest(row, stats.t(4).cdf).pvalue > 1e-3
        assert stats.kstest(row, stats.norm(0, stats.t(4).std()).cdf).pvalue < 1e-6
    resid = rng.normal(0, 1, (2, 30))
    train = np.ones(30, dtype=bool)
    want = stats.t(4, scale=sigma[:, None]).logpdf(resid)
    assert ar_loglik(resid, sigma, 0.0, train, 4.0) == pytest.approx(want, rel=1e-10)


def test_the_student_model_has_a_finite_logp_and_gradient(spiky_lake: Path) -> None:
    """The PyMC graph with reweighted, tempered noise evaluates at the initial point, value and gradient."""
    from bayes_mmm.model.hierarchical import build_model

    model = build_model(build_design(load_lake(spiky_lake), ModelSpec(noise_tails="student")))
    ip = model.initial_point()
    assert np.isfinite(model.compile_logp()(ip)) and np.all(np.isfinite(model.compile_dlogp()(ip)))
