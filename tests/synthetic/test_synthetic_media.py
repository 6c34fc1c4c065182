"""Media transforms and spend generation."""

from __future__ import annotations

import numpy as np

from synthetic.media import (
    MAX_SPEND,
    MIN_SPEND,
    geometric_adstock,
    hill,
    simulate_spend,
)


def test_adstock_weights_are_normalised_geometric() -> None:
    x = np.zeros(20)
    x[0] = 1.0
    y = geometric_adstock(x, 0.5, l_max=3)
    np.testing.assert_allclose(y[:4], [4 / 7, 2 / 7, 1 / 7, 0.0])
    np.testing.assert_allclose(geometric_adstock(np.ones(30), 0.6)[14:], 1.0)
    np.testing.assert_allclose(geometric_adstock(np.arange(5.0), 0.0), np.arange(5.0))


def test_adstock_2d_and_zero_before_start() -> None:
    x = np.ones((5, 2))
    y = geometric_adstock(x, 0.5, l_max=14)
    w = 0.5 ** np.arange(14) / (0.5 ** np.arange(14)).sum()
    np.testing.assert_allclose(y[:, 0], np.cumsum(w)[:5])
    np.testing.assert_allclose(y[:, 0], y[:, 1])


def test_hill() -> None:
    np.testing.assert_allclose(hill(np.array([0.0, 1.5, 3.0]), 1.5, 2.0), [0.0, 0.5, 0.8])


def test_spend_domain_variation_and_correlation() -> None:
    for seed in range(5):
        spend = simulate_spend(np.random.default_rng(seed), 400, 500.0)
        m = np.array(list(spend.values()))
        on = m[m > 0]
        assert on.min() >= MIN_SPEND and on.max() <= MAX_SPEND
        assert np.all(m.std(axis=1) / m.mean(axis=1) > 0.4)
        corr = np.corrcoef(m)[np.triu_indices(3, 1)]
        assert np.all(np.abs(corr) < 0.6)
