"""The model's pieces against brute force: marginal likelihood, ROAS parameterisation."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.posterior import TenantDraws, beta_of, saturation
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model, marginal_loglik, roas_prior_params


@pytest.fixture(scope="module")
def design(tiny_lake):
    return build_design(load_lake(tiny_lake), ModelSpec())


def test_design_shapes_and_orthonormal_basis(design) -> None:
    n, t, _ = design.Q.shape
    assert (n, t) == (3, 240)
    assert design.lagged.shape == (3, 3, 240, 14)
    for i in range(n):
        kk = int((design.prior_var[i] > 0).sum())
        q = design.Q[i][:, :kk]
        np.testing.assert_allclose(q.T @ q, np.eye(kk), atol=1e-8)
        # Q spans the kept design columns: X_keep = Q R  <=>  X_keep @ Rinv = Q
        xk = design.X[i][:, design.keep[i]]
        np.testing.assert_allclose(xk @ design.Rinv[i][:kk, :kk], q, atol=1e-8)
    # Scaled revenue has mean 1 on training days.
    np.testing.assert_allclose(design.y.sum(axis=1) / design.train.sum(axis=1), 1.0)


def test_marginal_loglik_equals_multivariate_normal(design) -> None:
    rng = np.random.default_rng(0)
    resid = rng.normal(0, 0.2, design.y.shape) * design.train
    sigma = np.array([0.1, 0.2, 0.3])
    got = marginal_loglik(design, resid, sigma).eval()
    want = 0.0
    for i in range(3):
        rows = design.train[i]
        q = design.Q[i][rows]
        cov = sigma[i] ** 2 * np.eye(rows.sum()) + q @ np.diag(design.prior_var[i]) @ q.T
        want += stats.multivariate_normal(np.zeros(rows.sum()), cov).logpdf(resid[i, rows])
    assert got == pytest.approx(want, rel=1e-9)


def test_roas_prior_interval() -> None:
    mu, sd = roas_prior_params(1.0, 5.0)
    lo, hi = stats.lognorm(sd, scale=np.exp(mu)).ppf([0.05, 0.95])
    assert (lo, hi) == pytest.approx((1.0, 5.0))


def test_roas_is_counterfactual(design) -> None:
    """Revenue minus revenue with a channel's spend at zero, over its spend, equals the roas parameter."""
    rng = np.random.default_rng(2)
    s, c = 4, 3
    p = TenantDraws(
        roas=rng.uniform(1, 4, (s, c)),
        alpha=rng.uniform(0.1, 0.7, (s, c)),
        half_sat=rng.uniform(0.5, 2, (s, c)),
        shape=rng.uniform(1, 2, (s, c)),
        gamma=rng.normal(0, 0.2, (s, c, 2)),
        peak=None,
        sigma=np.full(s, 0.1),
    )
    effect = saturation(design, 0, p)
    beta = beta_of(design, 0, p, effect)
    total = (beta[..., None] * effect).sum(axis=1)
    for ch in range(c):
        factor = np.ones(c)
        factor[ch] = 0.0
        without = (beta[..., None] * saturation(design, 0, p, factor)).sum(axis=1)
        lift = ((total - without) * design.train[0]).sum(axis=1) * design.y_scale[0]
        np.testing.assert_allclose(lift / design.spend[0, ch, design.train[0]].sum(), p.roas[:, ch], rtol=1e-6)


@pytest.mark.parametrize("spec", [ModelSpec(), ModelSpec(pooled=False, weather_media=False), ModelSpec(media=False),
                                  ModelSpec(adstock="delayed", hill_shape="fixed")], ids=["default", "unpooled", "no-media", "delayed"])
def test_every_variant_has_finite_logp_and_gradient(tiny_lake, spec) -> None:
    model = build_model(build_design(load_lake(tiny_lake), spec))
    ip = model.initial_point()
    assert np.isfinite(model.compile_logp()(ip))
    grad = model.compile_dlogp()(ip)
    assert np.all(np.isfinite(grad))
    assert ("roas" in model.named_vars) == spec.media
    assert isinstance(model, pm.Model)


def test_prior_predictive_is_on_the_data_scale(tiny_lake) -> None:
    from bayes_mmm.inference.posterior import prior_predictive

    design = build_design(load_lake(tiny_lake), ModelSpec())
    sim = prior_predictive(design, build_model(design), draws=200, seed=1)
    assert sim.shape == (200, 3, 240)
    ratio = sim.median(("draw", "date")).values / design.y_scale
    # The priors centre simulated revenue on the observed level without pinning it there.
    assert np.all((ratio > 0.3) & (ratio < 3.0)), ratio
    spread = (sim.quantile(0.95, ("draw", "date")) - sim.quantile(0.05, ("draw", "date"))).values / design.y_scale
    assert np.all(spread > 0.5), spread
