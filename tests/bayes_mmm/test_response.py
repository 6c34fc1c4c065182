"""One forward model: the sampled PyTensor graph, the numpy posterior and the allocator agree."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.decide.problem import build_problem, contributions, response, response_and_grad
from bayes_mmm.inference.posterior import TenantDraws, beta_of, saturation
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import media_contribution
from bayes_mmm.model.response import adstock, convolve, convolve_transpose, hill, hill_slope, lag_matrix, lag_weights


@pytest.fixture(scope="module", params=["geometric", "delayed"])
def design(request, tiny_lake):
    return build_design(load_lake(tiny_lake), ModelSpec(adstock=request.param, l_max=7))


def random_draws(rng: np.random.Generator, s: int, c: int, l_max: int, weather: bool, shape_kind: str) -> TenantDraws:
    """Media parameters of one tenant, ``s`` draws, at random values (peak per channel, as the model has it)."""
    shape = rng.uniform(0.6, 2.5, (s, c)) if shape_kind == "channel" else np.ones((s, c))
    return TenantDraws(
        roas=rng.uniform(0.5, 4, (s, c)),
        alpha=rng.uniform(0.1, 0.9, (s, c)),
        half_sat=rng.uniform(0.3, 2.5, (s, c)),
        shape=shape,
        gamma=rng.normal(0, 0.3, (s, c, 2)) if weather else None,
        peak=rng.uniform(0, l_max / 2, (s, c)),
        sigma=np.full(s, 0.1),
    )


@pytest.mark.parametrize("weather", [True, False], ids=["weather", "no-weather"])
@pytest.mark.parametrize("shape_kind", ["channel", "fixed"])
def test_pytensor_graph_equals_numpy_posterior(design, weather: bool, shape_kind: str) -> None:
    """The model's compiled contribution graph and the posterior's numpy path give the same numbers."""
    n, c, l_max = len(design.tenants), len(design.channels), design.spec.l_max
    rng = np.random.default_rng(7)
    draws = [random_draws(rng, 1, c, l_max, weather, shape_kind) for _ in range(n)]
    roas, alpha, half_sat, peak = pt.matrix("roas"), pt.matrix("alpha"), pt.matrix("half_sat"), pt.vector("peak")
    shape = pt.vector("shape") if shape_kind == "channel" else pt.ones(c)
    gamma = pt.tensor3("gamma") if weather else None
    delayed = design.spec.adstock == "delayed"
    graph = media_contribution(design, roas, alpha, half_sat, shape, gamma, pt.broadcast_to(peak, (n, c)) if delayed else None)
    inputs = [roas, alpha, half_sat] + ([peak] if delayed else []) + ([shape] if shape_kind == "channel" else []) + ([gamma] if weather else [])
    fn = pytensor.function(inputs, graph, mode="FAST_COMPILE", on_unused_input="raise")
    # Pooled hill shape and peak are per channel: every tenant sees tenant 0's draw of them.
    values = {
        roas: np.stack([d.roas[0] for d in draws]), alpha: np.stack([d.alpha[0] for d in draws]),
        half_sat: np.stack([d.half_sat[0] for d in draws]), peak: draws[0].peak[0], shape: draws[0].shape[0],
    }
    if weather:
        values[gamma] = np.stack([d.gamma[0] for d in draws])
    got = fn(*(values[v] for v in inputs))
    for i, d in enumerate(draws):
        d.shape, d.peak = draws[0].shape, draws[0].peak if delayed else None
        effect = saturation(design, i, d)
        want = beta_of(design, i, d, effect)[..., None] * effect
        np.testing.assert_allclose(got[i], want[0], rtol=1e-8, atol=1e-14)
    # Not a vacuous match: every channel contributes on the training days.
    assert (got.sum(axis=-1) > 0).all()


def allocator_on_history(design, i: int, p: TenantDraws, t0: int):
    """The allocator's problem for tenant ``i`` whose plan starts on data day ``t0`` and runs to the data's end."""
    spec, spend = design.spec, design.spend[i]
    l_max, n_days = spec.l_max, spend.shape[-1] - t0
    weights = lag_weights(spec.adstock, p.alpha, l_max, p.peak)[:, None]  # (S, 1, C, L)
    beta = beta_of(design, i, p, saturation(design, i, p)) * design.y_scale[i]
    z = np.zeros((1, n_days + l_max - 1, 2))
    z[0, :n_days] = design.zw[i, t0:]  # after the data the weather does not matter for the plan days
    gamma = None if p.gamma is None else p.gamma[:, None]
    history = spend[None, :, t0 - (l_max - 1) : t0]
    prob = build_problem(weights, design.spend_scale[i][None], history, beta[:, None], p.half_sat[:, None],
                         p.shape[:, None], gamma, z, n_days)
    return prob, spend[None, :, t0:]


@pytest.mark.parametrize("weather", [True, False], ids=["weather", "no-weather"])
def test_allocator_replays_the_posterior_contribution(design, weather: bool) -> None:
    """A plan equal to the historical spend, with the history before it as carry-in, gives the posterior's revenue."""
    i, t0 = 1, 200
    p = random_draws(np.random.default_rng(3), 4, len(design.channels), design.spec.l_max, weather, "channel")
    if design.spec.adstock == "geometric":
        p.peak = None
    prob, plan = allocator_on_history(design, i, p, t0)
    effect = saturation(design, i, p)
    posterior = beta_of(design, i, p, effect)[..., None] * effect * design.y_scale[i]  # (S, C, T) currency
    n_days = plan.shape[-1]
    got = contributions(plan, prob)[:, 0, :, :n_days]
    np.testing.assert_allclose(got, posterior[..., t0:], rtol=1e-9)
    assert posterior[..., t0:].sum() > 0


def test_allocator_gradient_matches_finite_differences(design) -> None:
    """Exact per-draw gradient of the allocator's response (Hill shapes below and above 1, weather on)."""
    rng = np.random.default_rng(11)
    p = random_draws(rng, 3, len(design.channels), design.spec.l_max, True, "channel")
    if design.spec.adstock == "geometric":
        p.peak = None
    prob, plan = allocator_on_history(design, 0, p, 230)
    plan = plan + rng.uniform(5, 50, plan.shape)  # away from zero, where shape < 1 is infinitely steep
    _, grad = response_and_grad(plan, prob)
    h = 1e-4 * plan.mean()
    for idx in [(0, 0, 0), (0, 1, 4), (0, 2, plan.shape[-1] - 1)]:
        e = np.zeros_like(plan)
        e[idx] = h
        fd = (response(plan + e, prob) - response(plan - e, prob))[:, 0] / (2 * h)
        np.testing.assert_allclose(grad[(slice(None), *idx)], fd, rtol=1e-6)
        assert np.abs(fd).min() > 0


def test_hill_slope_is_the_derivative_of_hill() -> None:
    x = np.array([1e-3, 0.1, 0.7, 2.0, 9.0])
    k, s = np.array(0.8), np.array(0.7)
    h = 1e-6 * x
    fd = (hill(x + h, k, s) - hill(x - h, k, s)) / (2 * h)
    np.testing.assert_allclose(hill_slope(x, hill(x, k, s), s, 3.0), 3.0 * fd, rtol=1e-6)


def test_lag_weights_choose_by_kind() -> None:
    alpha, peak = np.array([0.5]), np.array([2.0])
    np.testing.assert_allclose(lag_weights("geometric", alpha, 3)[0], np.array([4, 2, 1]) / 7)
    w = lag_weights("delayed", alpha, 5, peak)[0]
    np.testing.assert_allclose(w, 0.5 ** (np.arange(5) - 2.0) ** 2 / (0.5 ** (np.arange(5) - 2.0) ** 2).sum())
    with pytest.raises(ValueError, match="delayed adstock needs the peak lag"):
        lag_weights("delayed", alpha, 5)
    with pytest.raises(ValueError, match="unknown adstock kind 'weibull'"):
        lag_weights("weibull", alpha, 5)


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 12), n_lags=st.integers(1, 6), extra=st.integers(0, 6), seed=st.integers(0, 10_000))
def test_convolve_is_adstock_and_its_transpose_is_the_adjoint(t: int, n_lags: int, extra: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5, (2, t))
    w = rng.uniform(0, 1, (3, 2, n_lags))
    padded = np.concatenate([x, np.zeros((2, extra))], axis=-1)
    out = convolve(x, w, t + extra)
    np.testing.assert_allclose(out, adstock(lag_matrix(padded, n_lags)[None], w), rtol=1e-12, atol=1e-12)
    q = rng.normal(size=out.shape)
    np.testing.assert_allclose((out * q).sum(axis=-1), (x * convolve_transpose(q, w, t)).sum(axis=-1), rtol=1e-10, atol=1e-10)
