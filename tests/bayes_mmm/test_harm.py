"""Do no harm against a misfitted curve shape: a move that pays only on an S-curve is not taken."""

from __future__ import annotations

import numpy as np

from bayes_mmm.decide.harm import guarded
from bayes_mmm.decide.problem import build_problem, response

S = 200


def s_curve_problem() -> object:
    """One tenant, two channels, one day, no carry-over: channel 0 an S-curve (shape 3) whose foot today's 20 sits on."""
    rng = np.random.default_rng(0)
    beta = np.stack([100 * rng.lognormal(0, 0.05, S), 30 * rng.lognormal(0, 0.05, S)], axis=-1)[:, None, :]
    return build_problem(
        weights=np.ones((S, 1, 2, 1)), spend_scale=np.ones((1, 2)), history=np.zeros((1, 2, 0)), beta=beta,
        half_sat=np.full((S, 1, 2), 200.0), shape=np.broadcast_to([3.0, 1.0], (S, 1, 2)).copy(), gamma=None,
        z=np.zeros((1, 1, 2)), n_days=1,
    )


def test_the_concave_alternative_is_the_same_curve_with_shape_1() -> None:
    prob = s_curve_problem()
    plan = np.array([[[5.0], [35.0]]])
    beta = prob.coef[..., 0]  # (S, 1, 2): y_scale·β with no weather
    # Independently: β·x/(x + k) per channel, nothing spent gives 0.
    expected = (beta * (plan[..., 0] / (plan[..., 0] + 200.0))).sum(axis=-1)
    np.testing.assert_allclose(response(plan, prob.concave()), expected, rtol=1e-9)
    np.testing.assert_allclose(prob.concave().shape, 1.0)


def test_a_move_that_pays_only_on_the_s_curve_is_not_taken() -> None:
    """The fitted S-curve says channel 0 is useless at 20 a day; were it concave, 20 a day there is its best use."""
    prob = s_curve_problem()
    current = np.array([[[20.0], [20.0]]])
    optimum = np.array([[[0.0], [40.0]]])
    groups = [(np.array([0]), 40.0)]
    naive, taken = guarded(prob, current, optimum, current, groups, 0.9)
    assert taken[0]["step"] == 1.0 and taken[0]["prob_beats_current"] > 0.99  # the fitted curve is sure of the move
    plan, kept = guarded(prob, current, optimum, current, groups, 0.9, alternative=prob.concave())
    assert kept[0]["step"] == 0.0 and kept[0]["prob_beats_current_concave"] == 0.0
    np.testing.assert_array_equal(plan, current)
    np.testing.assert_array_equal(naive, optimum)
