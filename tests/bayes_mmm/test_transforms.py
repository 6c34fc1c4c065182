"""Transforms against exact values, in numpy and through PyTensor."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest

from bayes_mmm.model.response import adstock, delayed_weights, geometric_weights, hill, lag_matrix


def test_geometric_weights_are_normalised_powers() -> None:
    w = geometric_weights(np.array([0.5]), 4)[0]
    expected = 0.5 ** np.arange(4) / (1 + 0.5 + 0.25 + 0.125)
    np.testing.assert_allclose(w, expected)


def test_delayed_weights_peak_where_asked() -> None:
    w = delayed_weights(np.array([0.5]), np.array([3.0]), 10)[0]
    assert int(np.argmax(w)) == 3
    assert w.sum() == pytest.approx(1.0)


def test_lag_matrix_and_adstock_of_an_impulse() -> None:
    x = np.zeros(6)
    x[1] = 10.0
    lagged = lag_matrix(x, 3)
    assert lagged.shape == (6, 3)
    np.testing.assert_array_equal(lagged[:, 0], x)
    np.testing.assert_array_equal(lagged[:, 2], [0, 0, 0, 10, 0, 0])
    w = geometric_weights(np.array(0.5), 3)
    out = adstock(lagged, w)
    np.testing.assert_allclose(out, [0, 10 * 4 / 7, 10 * 2 / 7, 10 * 1 / 7, 0, 0])
    # Normalised weights conserve total spend away from the edges.
    assert out.sum() == pytest.approx(10.0)


def test_hill_exact_points() -> None:
    k, s = 2.0, 1.5
    assert hill(np.array(0.0), k, s) == pytest.approx(0.0, abs=1e-12)
    assert hill(np.array(k), k, s) == pytest.approx(0.5)
    assert hill(np.array(4.0), 2.0, 1.0) == pytest.approx(4 / 6)


def test_pytensor_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    lagged = lag_matrix(rng.uniform(0, 2, (2, 3, 20)), 5)
    alpha = rng.uniform(0.1, 0.8, (2, 3))
    k = rng.uniform(0.5, 2, (2, 3))
    a_t, k_t = pt.matrix("a"), pt.matrix("k")
    graph = hill(adstock(pt.as_tensor(lagged), geometric_weights(a_t, 5)), k_t[..., None], 1.3)
    got = graph.eval({a_t: alpha, k_t: k})
    want = hill(adstock(lagged, geometric_weights(alpha, 5)), k[..., None], 1.3)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_hill_gradient_finite_at_zero_spend() -> None:
    s = pt.scalar("s")
    g = pt.grad(hill(pt.as_tensor(np.zeros(3)), 1.0, s).sum(), s)
    assert np.isfinite(g.eval({s: 1.4}))
