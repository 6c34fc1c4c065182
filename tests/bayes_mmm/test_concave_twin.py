"""Do no harm judges a move also under each draw's concave twin (no increasing returns)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_mmm.decide.harm import guarded
from bayes_mmm.decide.problem import build_problem, concave_twin, response
from bayes_mmm.model.response import geometric_weights

D = 2  # plan days; no carry-over (one lag), no weather: each day's revenue is coef · hill(spend / scale)


def _problem(shape: list[float], half_sat: list[float], beta: list[float], scale: float = 100.0):
    """One draw, one tenant, ``len(shape)`` channels, each with its own Hill curve, no adstock."""
    c = len(shape)
    arr = lambda v: np.asarray(v, float).reshape(1, 1, c)  # noqa: E731
    w = geometric_weights(np.zeros((1, 1, c)), 1)
    z = np.zeros((1, D, 2))
    return build_problem(w, np.full((1, c), scale), np.zeros((1, c, 0)), arr(beta), arr(half_sat), arr(shape), None, z, D)


def test_the_twin_earns_what_the_draw_earns_today_and_follows_michaelis_menten_beyond() -> None:
    # An S-curve (shape 3, half-saturation at a spend of 100) at today's spend 60 a day.
    prob = _problem([3.0], [1.0], [1000.0])
    current = np.full((1, 1, D), 60.0)
    twin = concave_twin(prob, current)
    s_today = 1000.0 * 0.6**3 / (0.6**3 + 1.0)  # per day, computed by hand
    assert float(response(current, prob)[0, 0]) == pytest.approx(D * s_today, rel=1e-9)
    assert float(response(current, twin)[0, 0]) == pytest.approx(D * s_today, rel=1e-9)
    # Beyond today the twin is x / (x + 1) scaled through today's point: at 90 a day, 0.9/1.9 × (s_today / (0.6/1.6)).
    more = np.full((1, 1, D), 90.0)
    scale = s_today / (0.6 / 1.6)
    assert float(response(more, twin)[0, 0]) == pytest.approx(D * scale * 0.9 / 1.9, rel=1e-9)
    # The S-curve credits the extra 30 a day with more than today's average return; the twin with less.
    gain_s = float(response(more, prob)[0, 0] - response(current, prob)[0, 0])
    gain_twin = float(response(more, twin)[0, 0] - response(current, twin)[0, 0])
    average = s_today / 60.0
    assert gain_s > average * 30 * D > gain_twin


def test_a_concave_draw_is_its_own_twin() -> None:
    prob = _problem([1.0, 0.7], [1.0, 2.0], [800.0, 500.0])
    current = np.full((1, 2, D), 50.0)
    twin = concave_twin(prob, current)
    plan = np.array([[[80.0, 10.0], [20.0, 90.0]]])
    np.testing.assert_allclose(response(plan, twin), response(plan, prob), rtol=1e-12)


def test_a_channel_unspent_today_keeps_its_own_curve() -> None:
    """Nothing to match a twin to: a move into a channel unspent today is judged on the draw's own curve."""
    prob = _problem([3.0, 1.0], [1.0, 1.0], [1000.0, 650.0])
    current = np.array([[[0.0, 0.0], [120.0, 120.0]]])
    plan = np.array([[[80.0, 80.0], [40.0, 40.0]]])
    np.testing.assert_allclose(response(plan, concave_twin(prob, current)), response(plan, prob), rtol=1e-12)


def test_a_move_whose_gain_rests_on_increasing_returns_keeps_the_current_mix() -> None:
    # Channel 0 is S-shaped (shape 3) below its half-saturation, channel 1 concave: the draw says moving
    # 20 a day from channel 1 into channel 0 gains; under channel 0's concave twin the same move loses.
    prob = _problem([3.0, 1.0], [1.0, 1.0], [1000.0, 650.0])
    current = np.full((1, 2, D), 60.0)
    optimum = current + np.array([20.0, -20.0])[None, :, None]
    gain = lambda p, v: float(response(p, v)[0, 0] - response(current, v)[0, 0])  # noqa: E731
    twin = concave_twin(prob, current)
    assert gain(optimum, prob) > 0 > gain(optimum, twin)  # the premise, computed directly
    groups = [(np.array([0]), float(current.sum()))]
    plan, steps = guarded(prob, current, optimum, current, groups, 0.9, min_gain=0.0, shape_check=False)
    assert steps[0]["step"] == 1.0 and np.allclose(plan, optimum)
    plan, steps = guarded(prob, current, optimum, current, groups, 0.9, min_gain=0.0)
    assert steps[0]["step"] == 0.0 and np.allclose(plan, current)
    # the record says how far the fitted curve alone would have gone, and what it promised
    assert steps[0]["held_by_shape"] == {"step": 1.0, "prob_beats_current": 1.0, "expected_gain": round(gain(optimum, prob), 2)}


def test_on_many_draws_with_carry_over_and_weather_the_twin_matches_each_channels_revenue_today() -> None:
    """(S, N, C, H) arrays: per draw, tenant and channel the twin earns what the draw earns from today's plan
    (carry-in included), and never credits an extra 10 % with more than the draw's average return today."""
    from bayes_mmm.decide.problem import contributions
    from tests.bayes_mmm.test_allocate import random_problem

    rng = np.random.default_rng(3)
    prob = random_problem(rng, s=30, n=3, c=3, d=4)
    current = rng.uniform(20, 200, (3, 3, 4))
    twin = concave_twin(prob, current)
    np.testing.assert_allclose(contributions(current, twin).sum(axis=-1), contributions(current, prob).sum(axis=-1), rtol=1e-10)
    assert (twin.shape <= 1).all() and np.array_equal(twin.shape == prob.shape, prob.shape <= 1)
    # Concave through the origin, per day: 10 % more plan spend (at most 10 % more input, carry-in unchanged)
    # earns at most 10 % more than today. The S-shaped draws themselves break this bound.
    today, more = contributions(current, twin), contributions(current * 1.1, twin)
    assert (more - today <= 0.1 * today * (1 + 1e-9) + 1e-9).all()
    today, more = contributions(current, prob), contributions(current * 1.1, prob)
    assert (more - today > 0.1 * today * (1 + 1e-6)).any()
