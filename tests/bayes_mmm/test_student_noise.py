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
from bayes_mmm.model.residual import ar_loglik, ar_noise, student_weights, t_sd, t_tempering


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

    for seed in range(5):  # normal noise: a finite ν would chase a few 3–4 sd days
        normal, nu_n = student_weights(np.random.default_rng(seed).normal(0, 0.2, n), np.ones(n, dtype=bool))
        assert np.isinf(nu_n) and (normal == 1.0).all()


def test_tempering_and_t_sd_are_the_t_distributions() -> None:
    """κ = (ν+1)/(ν+3) (1 for normal noise) and the sd of a standard t against scipy's."""
    assert t_tempering(np.array([3.0, 7.0, np.inf])) == pytest.approx([4 / 6, 8 / 10, 1.0])
    assert float(t_sd(5.0)) == pytest.approx(stats.t(5).std())
    assert float(t_sd(np.inf)) == 1.0


def test_tempered_marginal_loglik_equals_the_integral_in_coefficient_space(spiky_lake: Path) -> None:
    """log ∫ N(r | Xb, σ²S²)^κ N(b | 0, V) db, done in the coefficients b, matches the closed form up to a constant in σ.

    The code integrates in an orthonormal basis of the days; here the integral is done by completing
    the square in b, a different route to the same number. Constants (the day weights' Jacobian,
    κ's own) cancel in a difference between two σ.
    """
    design = build_design(load_lake(spiky_lake), ModelSpec(noise_tails="student", residual_ar="none"))
    assert np.isfinite(design.noise_nu).all() and (design.tempering < 1).all(), design.noise_nu
    rng = np.random.default_rng(1)
    resid = rng.normal(0, 0.2, design.y.shape) * design.train

    def want(sigma: np.ndarray) -> float:
        total = 0.0
        for i in range(3):
            rows = design.train[i]
            s2 = (design.noise_scale[i] * design.tail_scale[i])[rows] ** 2
            x = design.X[i][rows][:, design.keep[i]]
            k, r = design.tempering[i], resid[i, rows]
            prec = k / (sigma[i] ** 2 * s2)  # the tempered likelihood's precision per day
            v_inv = np.linalg.inv(_coef_prior(design, i))
            m = x.T @ (prec[:, None] * x) + v_inv
            b = x.T @ (prec * r)
            total += (-0.5 * np.sum(prec * r**2) + 0.5 * b @ np.linalg.solve(m, b) - 0.5 * np.linalg.slogdet(m)[1]
                      - k * rows.sum() * np.log(sigma[i]))
        return total

    s1, s2 = np.array([0.1, 0.2, 0.3]), np.array([0.15, 0.12, 0.4])
    got = marginal_loglik(design, resid, s1).eval() - marginal_loglik(design, resid, s2).eval()
    assert got == pytest.approx(want(s1) - want(s2), rel=1e-8)


def _coef_prior(design, i: int) -> np.ndarray:
    """Prior covariance of the kept features' coefficients b: Rinv diag(prior_var) Rinvᵀ."""
    k = len(design.keep[i])
    r = design.Rinv[i][:k, :k]
    return r @ np.diag(design.prior_var[i][:k]) @ r.T


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
