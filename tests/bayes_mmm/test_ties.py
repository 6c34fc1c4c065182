"""Entangled channels move together (issue 16): their split stays at today's shares, their total may move."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from typer.testing import CliRunner

from bayes_mmm.decide.allocate import TrustRegion, allocate_run, prepare
from bayes_mmm.decide.problem import response, response_and_grad
from bayes_mmm.decide.ties import Ties, entangled_groups
from bayes_mmm.surfaces.cli import app
from tests.bayes_mmm.test_allocate import CHANNELS, const_beta, make_run

NORTH_CURRENT = np.array([100.0, 50.0, 20.0])  # make_run's recent daily spend of north (meta, google, email)


def entangled_run(tmp_path: Path) -> Path:
    """north: meta is certain to beat google, but the checks say meta and google cannot be told apart."""
    run = make_run(tmp_path / "run", const_beta([[400.0, 100.0, 150.0], [100.0, 100.0, 100.0]], 200))
    summary = json.loads((run / "summary.json").read_text())
    summary["tenants"] = {"north": {
        "identification": {"meta": {"flagged": True, "reasons": ["strong negative correlation with google"]}},
        "roas_correlation": {"meta": {"meta": 1.0, "google": -0.85, "email": 0.1},
                             "google": {"meta": -0.85, "google": 1.0, "email": 0.0},
                             "email": {"meta": 0.1, "google": 0.0, "email": 1.0}}}}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_groups_join_flagged_channels_with_their_entangled_partners() -> None:
    corr = {"a": {"b": -0.9, "c": 0.2, "d": 0.1}, "b": {"a": -0.9, "c": 0.7, "d": 0.0},
            "c": {"a": 0.2, "b": 0.7, "d": 0.65}, "d": {"a": 0.1, "b": 0.0, "c": 0.65}}
    summary = {"tenants": {"t": {"roas_correlation": corr}}}
    chans = ["a", "b", "c", "d"]
    free = np.ones((1, 4), bool)
    # a flagged: a–b tie; b is not flagged, so b–c (0.7) does not chain on.
    assert entangled_groups(summary, ["t"], chans, np.array([[1, 0, 0, 0]], bool), free) == [(0, (0, 1))]
    # a and c flagged: a–b and c–b, c–d merge into one group.
    assert entangled_groups(summary, ["t"], chans, np.array([[1, 0, 1, 0]], bool), free) == [(0, (0, 1, 2, 3))]
    # a partner the plan may not move (user-named or inactive) is no partner.
    assert entangled_groups(summary, ["t"], chans, np.array([[1, 0, 0, 0]], bool), np.array([[1, 0, 1, 1]], bool)) == []
    # spend flighted together ties a pair whose pooled posterior hides the trade-off (ROAS correlation 0.1)
    together = {"tenants": {"t": {"roas_correlation": corr, "spend_correlation": {"a": {"d": 0.95}, "d": {"a": 0.95}}}}}
    assert entangled_groups(together, ["t"], chans, np.array([[0, 0, 0, 1]], bool), free) == [(0, (0, 2, 3))]
    against = {"tenants": {"t": {"roas_correlation": {}, "spend_correlation": {"a": {"b": -0.95}, "b": {"a": -0.95}}}}}
    assert entangled_groups(against, ["t"], chans, np.array([[1, 0, 0, 0]], bool), free) == [(0, (0, 1))]


def test_a_member_without_current_spend_leaves_its_group() -> None:
    current = np.repeat(np.array([[90.0, 0.0, 30.0, 10.0]])[..., None], 3, axis=-1)
    ties = Ties.of([(0, (0, 1, 2)), (0, (1, 3))], current)
    assert ties.groups == ((0, (0, 2)),)
    np.testing.assert_allclose(ties.shares[0, [0, 2]], [0.75, 0.25])
    lo, hi = ties.bounds(0.7 * current, 1.3 * current)
    np.testing.assert_allclose(lo[0, 0], 0.7 * 120.0)
    np.testing.assert_allclose(hi[0, 0], 1.3 * 120.0)
    np.testing.assert_array_equal(hi[0, 2], 0.0)
    np.testing.assert_allclose(ties.expand(ties.reduce(current)), current)  # today's plan survives the round trip


def test_tied_gradient_is_the_chain_rule_of_the_expanded_plan(tmp_path: Path) -> None:
    prob = prepare(entangled_run(tmp_path), tenant=None, days=5).inp.prob
    current = np.repeat(np.array([[100.0, 50.0, 20.0], [60.0, 60.0, 60.0]])[..., None], 5, axis=-1)
    ties = Ties.of([(0, (0, 1))], current)
    tied = ties.problem(prob)
    z = ties.reduce(current) * np.random.default_rng(0).uniform(0.7, 1.3, current.shape)
    np.testing.assert_allclose(response(z, tied), response(ties.expand(z), prob), rtol=1e-12)
    grad = response_and_grad(z, tied)[1].sum(axis=0)  # (N, C, D): each tenant's own cells
    eps = 1e-4
    for cell in [(0, 0, 2), (0, 2, 4), (1, 1, 0)]:
        dz = np.zeros_like(z)
        dz[cell] = eps
        fd = (response(z + dz, tied) - response(z - dz, tied)).sum() / (2 * eps)
        assert grad[cell] == pytest.approx(fd, rel=1e-6)
    assert np.all(grad[0, 1] == 0)  # the group's second channel has no cell of its own


def test_an_entangled_pair_keeps_its_split_and_its_total_moves_to_the_optimum(tmp_path: Path) -> None:
    run = entangled_run(tmp_path)
    trust = TrustRegion(band=0.3, pacing=None, cap_factor=None)
    plan = allocate_run(run, 1190.0, tenant="north", days=7, trust=trust, confidence=None)
    u = np.array([plan["tenants"]["north"]["plan"][ch] for ch in CHANNELS])
    np.testing.assert_allclose(u[0] / u[1], 2.0, rtol=1e-9)  # today's 100 : 50 every day
    assert u.sum() == pytest.approx(1190.0, abs=1e-6)
    assert plan["trust_region"]["tied"] == ["north:meta+google (shares 67/33 %)"] and plan["trust_region"]["held"] == []
    # Independent optimum: SLSQP on the untied problem with meta = 2 × google as explicit equality constraints.
    prob = prepare(run, tenant="north", days=7).inp.prob
    lo, hi = 0.7 * NORTH_CURRENT[:, None] * np.ones((1, 7)), 1.3 * NORTH_CURRENT[:, None] * np.ones((1, 7))

    def neg(x: np.ndarray) -> float:
        return -float(response(x.reshape(1, 3, 7), prob).mean())

    cons = [{"type": "eq", "fun": lambda x: x.sum() - 1190.0},
            {"type": "eq", "fun": lambda x: x.reshape(3, 7)[0] - 2 * x.reshape(3, 7)[1]}]
    res = minimize(neg, np.repeat(NORTH_CURRENT * 1190.0 / 1190.0, 7), method="SLSQP", constraints=cons,
                   bounds=list(zip(lo.ravel(), hi.ravel(), strict=True)), options={"maxiter": 500, "ftol": 1e-12})
    assert res.success
    assert -neg(u.ravel()) == pytest.approx(-res.fun, rel=1e-5)
    # The pair's total moved: email's few units earn most at the margin, so it takes the band's 1.3 × and
    # the pair gives up what that costs.
    np.testing.assert_allclose(u[2], 1.3 * NORTH_CURRENT[2], rtol=1e-6)
    assert u[:2].sum() == pytest.approx(1190.0 - 7 * 26.0, rel=1e-9)


def test_by_default_the_pair_moves_together_and_without_the_check_it_splits(tmp_path: Path) -> None:
    run = entangled_run(tmp_path)
    plan = allocate_run(run, 1190.0, tenant="north", days=7)
    u = np.array([plan["tenants"]["north"]["plan"][ch] for ch in CHANNELS])
    np.testing.assert_allclose(u[0] / u[1], 2.0, rtol=1e-9)
    res = CliRunner().invoke(app, ["allocate", "--run", str(run), "--tenant", "north", "--budget", "1190", "--days", "7",
                                   "--out", str(tmp_path / "cli.json")])
    assert res.exit_code == 0, res.output
    assert "moved together at today's split (the data cannot tell them apart): north:meta+google (shares 67/33 %)" in " ".join(res.output.split())
    off = allocate_run(run, 1190.0, tenant="north", days=7, trust=TrustRegion(hold_unidentified=False))
    v = np.array([off["tenants"]["north"]["plan"][ch] for ch in CHANNELS])
    assert v[0].sum() / v[1].sum() > 2.5 and off["trust_region"]["tied"] == []  # meta takes google's share


def test_a_channel_whose_spend_follows_revenue_is_held_not_tied(tmp_path: Path) -> None:
    run = entangled_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["tenants"]["north"]["identification"]["meta"]["follows_revenue"] = True
    (run / "summary.json").write_text(json.dumps(summary))
    plan = allocate_run(run, 1190.0, tenant="north", days=7, trust=TrustRegion(band=0.3, pacing=None, cap_factor=None),
                        confidence=None)
    u = np.array([plan["tenants"]["north"]["plan"][ch] for ch in CHANNELS])
    assert plan["trust_region"]["tied"] == [] and plan["trust_region"]["held"] == ["north:meta"]
    np.testing.assert_allclose(u[0], NORTH_CURRENT[0], rtol=1e-9)  # today's 100 a day, every day
    assert u[1].sum() != pytest.approx(7 * NORTH_CURRENT[1], rel=1e-3)  # google, unflagged, is free to move
