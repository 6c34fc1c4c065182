"""The allocator on hand-built posteriors whose optimum is known: values, constraints, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_mmm.core.errors import DataError
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.decide.allocate import (
    FREE,
    Objective,
    allocate_run,
    build_problem,
    objective_and_grad,
    optimise,
    optimise_spg,
    parse_channel_bounds,
    parse_objective,
    project,
    response,
    response_and_grad,
    write_plan,
)
from bayes_mmm.model.response import geometric_weights, hill

TENANTS = ["north", "south"]
CHANNELS = ["meta", "google", "email"]
N_DATES = 60
L_MAX = 5
LAST = pd.Timestamp("2024-02-29")  # the 60th day from 2024-01-01
#: The posterior's optimum in full: no trust region, no do-no-harm step (tests of the optimiser itself).
OPTIMUM = {"trust": FREE, "confidence": None}


def make_run(
    folder: Path,
    beta: np.ndarray,
    *,
    alpha: float | np.ndarray = 0.0,
    half_sat: float | np.ndarray = 1.0,
    shape: float | np.ndarray = 1.0,
    gamma: np.ndarray | None = None,
    recent: np.ndarray | None = None,
    ok: bool = True,
    cadence: str = "daily",
    roas: np.ndarray | None = None,
    has_weather: np.ndarray | None = None,
    spec: ModelSpec | None = None,
) -> Path:
    """A run folder with a posterior of ``beta.shape[0]`` draws for 2 tenants × 3 channels.

    ``beta`` is (S, N, C) on the scaled axis (y_scale is 10, spend_scale is 100).
    ``recent`` (N, C) is the daily spend of the last 28 days (earlier days spend twice that).
    """
    s = beta.shape[0]
    n, c = len(TENANTS), len(CHANNELS)

    def full(x: float | np.ndarray, tail: tuple[int, ...] = (n, c)) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, float), (s, *tail)).copy()

    g = np.zeros((s, n, c, 2)) if gamma is None else np.broadcast_to(gamma, (s, n, c, 2)).copy()
    cd = {"chain": [0], "draw": np.arange(s), "tenant": TENANTS, "channel": CHANNELS, "weather": ["temp_c", "precip_mm"]}
    tc = ("chain", "draw", "tenant", "channel")
    posterior = xr.Dataset(
        {
            "roas": (tc, np.ones((1, s, n, c)) if roas is None else roas[None]),
            "adstock_alpha": (tc, full(alpha)[None]),
            "half_sat": (tc, full(half_sat)[None]),
            "hill_shape": (("chain", "draw", "channel"), full(shape, (c,))[None]),
            "weather_gamma": ((*tc, "weather"), g[None]),
            "sigma": (("chain", "draw", "tenant"), np.full((1, s, n), 0.1)),
            "beta": (tc, beta[None]),
        },
        coords=cd,
    )
    recent = np.array([[100.0, 50.0, 20.0], [80.0, 80.0, 40.0]]) if recent is None else recent
    spend = np.repeat(2 * recent[..., None], N_DATES, axis=-1)
    spend[..., -28:] = recent[..., None]
    dates = pd.date_range("2024-01-01", periods=N_DATES, freq="D" if cadence == "daily" else "7D")
    const = xr.Dataset(
        {
            "spend": (("tenant", "channel", "date"), spend),
            "train": (("tenant", "date"), np.ones((n, N_DATES), bool)),
            "y_scale": (("tenant",), np.full(n, 10.0)),
            "spend_scale": (("tenant", "channel"), np.full((n, c), 100.0)),
            "temp_mean": (("tenant",), np.full(n, 10.0)),
            "temp_sd": (("tenant",), np.full(n, 5.0)),
            "rain_mean": (("tenant",), np.full(n, 0.5)),
            "rain_sd": (("tenant",), np.full(n, 1.0)),
            "media_weather": (("tenant", "date", "weather"), np.zeros((n, N_DATES, 2))),
        },
        coords={"tenant": TENANTS, "channel": CHANNELS, "date": dates, "weather": ["temp_c", "precip_mm"]},
    )
    if has_weather is not None:
        const["has_weather"] = ("tenant", np.asarray(has_weather, bool))
    folder.mkdir(parents=True, exist_ok=True)
    az.InferenceData(posterior=posterior, constant_data=const).to_netcdf(str(folder / "idata.nc"), engine="h5netcdf")
    summary = {"run_id": "test-run", "convergence": {"ok": ok}, "data": {"tenants": TENANTS, "channels": CHANNELS, "cadence": cadence},
               "config": {"spec": (spec or ModelSpec(l_max=L_MAX, adstock="geometric")).to_dict()}}  # the run's settings live in the summary only
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def const_beta(values: np.ndarray, s: int = 50) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, float), (s, len(TENANTS), len(CHANNELS))).copy()


def closed_form_hill1(b: np.ndarray, k: np.ndarray, scale: float, total: float) -> np.ndarray:
    """Optimum of Σ b·x/(x + k), x = u/scale, Σ u = total: equal marginal returns b·k/(x + k)²/scale = λ."""

    def spend(lam: float) -> np.ndarray:
        return scale * np.maximum(np.sqrt(b * k / (lam * scale)) - k, 0.0)

    lo, hi = 1e-12, 1e6
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if spend(mid).sum() > total else (lo, mid)
    return spend(math.sqrt(lo * hi))


@pytest.fixture(scope="module")
def simple_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shape 1, no adstock, no weather: the optimum has a closed form."""
    beta = const_beta([[300.0, 150.0, 60.0], [100.0, 100.0, 100.0]])
    half = np.array([[1.0, 0.5, 2.0], [1.0, 1.0, 1.0]])
    return make_run(tmp_path_factory.mktemp("simple") / "run", beta, half_sat=half)


# --------------------------------------------------------------------------- objective parsing


def test_parse_objective() -> None:
    assert parse_objective("mean") == Objective("mean")
    assert parse_objective("mean-sd:2") == Objective("mean-sd", 2.0)
    assert parse_objective("cvar:0.1") == Objective("cvar", 0.1)
    assert str(parse_objective("cvar:0.1")) == "cvar:0.1"
    for bad in ("median", "cvar:0", "cvar:1.5", "mean-sd:-1", "mean-sd:x", "mean:1", "cvar"):
        with pytest.raises(DataError, match="objective"):
            parse_objective(bad)


def test_parse_channel_bounds() -> None:
    assert parse_channel_bounds("meta=50:400, google=20%,email=:10") == {"meta": (50.0, 400.0), "google": "20%", "email": (None, 10.0)}
    with pytest.raises(DataError, match="channel=min:max"):
        parse_channel_bounds("meta50")


# --------------------------------------------------------------------------- pure functions


def random_problem(rng: np.random.Generator, s: int = 40, n: int = 2, c: int = 3, d: int = 4, l_max: int = 6):
    alpha = rng.uniform(0.1, 0.8, (s, n, c))
    return build_problem(
        geometric_weights(alpha, l_max),
        rng.uniform(50, 150, (n, c)),
        rng.uniform(0, 200, (n, c, l_max - 1)),
        rng.uniform(100, 1000, (s, n, c)),
        rng.uniform(0.5, 2.0, (s, n, c)),
        rng.uniform(0.7, 2.5, (s, n, c)),
        rng.normal(0, 0.3, (s, n, c, 2)),
        rng.normal(0, 1, (n, d + l_max - 1, 2)),
        d,
    )


@pytest.mark.parametrize("objective", ["mean", "mean-sd:1.5", "cvar:0.2"])
def test_gradient_matches_finite_differences(objective: str) -> None:
    rng = np.random.default_rng(1)
    prob = random_problem(rng)
    plan = rng.uniform(20, 200, (2, 3, 4))
    _, grad = objective_and_grad(plan, prob, objective)
    fd = np.zeros_like(plan)
    h = 1e-3
    for idx in np.ndindex(plan.shape):
        e = np.zeros_like(plan)
        e[idx] = h
        fd[idx] = (objective_and_grad(plan + e, prob, objective)[0] - objective_and_grad(plan - e, prob, objective)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8 * np.abs(fd).max())
    # Per-draw gradients too, not only their average.
    _, g = response_and_grad(plan, prob)
    e = np.zeros_like(plan)
    e[1, 2, 0] = h
    fd1 = (response(plan + e, prob) - response(plan - e, prob))[:, 1] / (2 * h)
    np.testing.assert_allclose(g[:, 1, 2, 0], fd1, rtol=1e-5)


def test_projection_is_one_shift_per_budget_group() -> None:
    rng = np.random.default_rng(0)
    plan = rng.normal(50, 40, (5, 3, 7))
    lower = np.zeros_like(plan)
    upper = np.where(rng.random(plan.shape) < 0.3, rng.uniform(10, 60, plan.shape), np.inf)
    groups = [(np.array([0, 1]), 600.0), (np.array([2]), 150.0), (np.array([3, 4]), 900.0)]
    out = project(plan, lower, upper, groups)
    assert (out >= lower).all() and (out <= upper).all()
    for idx, total in groups:
        assert out[idx].sum() == pytest.approx(total, rel=1e-9)
        # Euclidean projection onto box ∩ hyperplane = clip(plan + τ): one shift per group for free cells.
        free = (out[idx] > lower[idx] + 1e-9) & (out[idx] < upper[idx] - 1e-9)
        shift = (out[idx] - plan[idx])[free]
        assert np.ptp(shift) < 1e-6
    np.testing.assert_allclose(project(out, lower, upper, groups), out, atol=1e-9)


@pytest.mark.parametrize("objective", ["mean", "mean-sd:1"])
def test_spg_matches_slsqp_and_equalises_marginal_returns(objective: str) -> None:
    """Projected gradient reaches SLSQP's optimum, spends the budget exactly and equalises marginal returns."""
    rng = np.random.default_rng(5)
    s, n, c, d, l_max = 60, 3, 3, 5, 6
    prob = build_problem(
        geometric_weights(rng.uniform(0.1, 0.8, (s, n, c)), l_max), rng.uniform(50, 150, (n, c)),
        rng.uniform(0, 200, (n, c, l_max - 1)), rng.uniform(100, 1000, (s, n, c)), rng.uniform(0.5, 2.0, (s, n, c)),
        rng.uniform(1.0, 1.6, (s, n, c)), rng.normal(0, 0.3, (s, n, c, 2)), rng.normal(0, 1, (n, d + l_max - 1, 2)), d,
    )
    lower = np.zeros((n, c, d))
    upper = np.full_like(lower, np.inf)
    upper[0, 1] = 40.0  # a binding cap
    groups = [(np.arange(n), 2500.0)]
    starts = {"flat": np.full_like(lower, 2500.0 / lower.size)}
    plan, info = optimise_spg(prob, objective, lower, upper, groups, starts)
    ref, _ = optimise(prob, objective, lower, upper, groups, starts)
    assert plan.sum() == pytest.approx(2500.0, rel=1e-9)
    assert (plan >= 0).all() and (plan[0, 1] <= 40.0 + 1e-9).all()
    value = objective_and_grad(plan, prob, objective)[0]
    assert value >= objective_and_grad(ref, prob, objective)[0] - 1e-4 * abs(value)
    assert info["starts"]["flat"]["evaluations"] < 300
    if objective == "mean":
        # KKT: cells strictly inside their bounds earn the same at the margin; the capped channel earns more.
        grad = objective_and_grad(plan, prob, "mean")[1]
        inside = (plan > 1.0) & (plan < upper - 1.0)
        assert inside.sum() >= 20
        np.testing.assert_allclose(grad[inside], info["marginal_return"], rtol=0.02)
        assert (grad[0, 1] >= info["marginal_return"] * 0.98).all()


def test_objective_values() -> None:
    prob = random_problem(np.random.default_rng(2), s=100)
    plan = np.full((2, 3, 4), 50.0)
    total = response(plan, prob).sum(axis=1)
    assert objective_and_grad(plan, prob, "mean")[0] == pytest.approx(total.mean())
    assert objective_and_grad(plan, prob, "mean-sd:2")[0] == pytest.approx(total.mean() - 2 * total.std())
    assert objective_and_grad(plan, prob, "cvar:0.1")[0] == pytest.approx(np.sort(total)[:10].mean())


def test_zero_plan_has_zero_response_and_carry_out_counts() -> None:
    # One draw, one tenant, one channel, no history: all spend on the last plan day.
    l_max, d, alpha = 6, 3, 0.6
    w = geometric_weights(np.full((1, 1, 1), alpha), l_max)
    z = np.zeros((1, d + l_max - 1, 2))
    prob = build_problem(w, np.full((1, 1), 100.0), np.zeros((1, 1, l_max - 1)), np.full((1, 1, 1), 500.0),
                         np.ones((1, 1, 1)), np.full((1, 1, 1), 1.3), None, z, d)
    assert response(np.zeros((1, 1, d)), prob)[0, 0] == pytest.approx(0.0, abs=1e-6)
    plan = np.zeros((1, 1, d))
    plan[0, 0, -1] = 200.0
    got = response(plan, prob)[0, 0]
    wl = w[0, 0, 0]
    immediate = 500.0 * hill(wl[0] * 2.0, 1.0, 1.3)
    expected = sum(500.0 * hill(wl[lag] * 2.0, 1.0, 1.3) for lag in range(l_max))
    assert got == pytest.approx(expected, rel=1e-9)
    assert got > 1.5 * immediate


def test_carry_in_from_history_is_not_credited_to_the_plan() -> None:
    l_max, d = 4, 2
    w = geometric_weights(np.full((1, 1, 1), 0.7), l_max)
    args = (np.full((1, 1), 100.0),)
    z = np.zeros((1, d + l_max - 1, 2))
    common = (np.full((1, 1, 1), 500.0), np.ones((1, 1, 1)), np.ones((1, 1, 1)), None, z, d)
    quiet = build_problem(w, *args, np.zeros((1, 1, l_max - 1)), *common)
    busy = build_problem(w, *args, np.full((1, 1, l_max - 1), 300.0), *common)
    plan = np.full((1, 1, d), 100.0)
    # Saturation: the same plan adds less on top of recent heavy spend.
    assert response(plan, busy)[0, 0] < response(plan, quiet)[0, 0]
    assert busy.base[0, 0] > 0


def test_spend_going_on_after_the_plan_is_counted_and_back_loading_gains_nothing_from_it() -> None:
    # One draw, one channel (concave: Hill shape 1, half-saturation 1 at scale 100), 100 a day today, a 7-day plan of 700.
    l_max, d, alpha, level = 8, 7, 0.8, 100.0
    w = geometric_weights(np.full((1, 1, 1), alpha), l_max)
    z = np.zeros((1, d + l_max - 1, 2))
    args = (w, np.full((1, 1), 100.0), np.full((1, 1, l_max - 1), level), np.full((1, 1, 1), 500.0),
            np.ones((1, 1, 1)), np.ones((1, 1, 1)), None, z, d)
    going_on, stopping = build_problem(*args, after=np.array([[level]])), build_problem(*args)
    flat = np.full((1, 1, d), level)
    back = np.full((1, 1, d), 0.6 * level)
    back[0, 0, -1] = level * d - back[0, 0, :-1].sum()  # the same 700, 40 % of it on the last day

    def independent(plan: np.ndarray) -> float:
        """Hill of the adstocked whole series (history, plan, tail at today's level), minus the same without the plan."""
        kernel = alpha ** np.arange(l_max) / (alpha ** np.arange(l_max)).sum()
        def media(p: np.ndarray) -> float:
            x = np.concatenate([np.full(l_max - 1, level), p, np.full(l_max - 1, level)])
            ad = np.convolve(x, kernel)[: len(x)] / 100.0
            return float((500.0 * ad / (1 + ad))[l_max - 1 :].sum())
        return media(plan[0, 0]) - media(np.zeros(d))

    for plan in (flat, back):
        assert response(plan, going_on)[0, 0] == pytest.approx(independent(plan), rel=1e-9)
    # With nothing spent after the plan, the back-loaded week's carry-over lands on empty days and wins;
    # with spend going on, it competes with that spend and loses to the flat week.
    assert response(back, stopping)[0, 0] > response(flat, stopping)[0, 0]
    assert response(back, going_on)[0, 0] < response(flat, going_on)[0, 0]


# --------------------------------------------------------------------------- allocate_run on run folders


def test_optimum_equalises_marginal_returns(simple_run: Path) -> None:
    budget = 700.0
    plan = allocate_run(simple_run, budget, tenant="north", days=1, **OPTIMUM)
    got = np.array([plan["tenants"]["north"]["plan"][ch][0] for ch in CHANNELS])
    # y_scale 10 multiplies β; spend_scale 100 divides spend.
    want = closed_form_hill1(10 * np.array([300.0, 150.0, 60.0]), np.array([1.0, 0.5, 2.0]), 100.0, budget)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)
    assert got.sum() == pytest.approx(budget, abs=1e-6)
    assert plan["days"] == ["2024-03-01"]
    assert plan["optimiser"]["converged"]


def test_portfolio_split_and_multi_day(simple_run: Path) -> None:
    budget, days = 3000.0, 3
    plan = allocate_run(simple_run, budget, days=days, **OPTIMUM)
    north = np.array([plan["tenants"]["north"]["plan"][ch] for ch in CHANNELS])
    south = np.array([plan["tenants"]["south"]["plan"][ch] for ch in CHANNELS])
    assert north.sum() + south.sum() == pytest.approx(budget, abs=1e-6)
    # No adstock, identical days: every day gets the same split.
    np.testing.assert_allclose(north, north[:, :1].repeat(days, axis=1), rtol=1e-3, atol=1e-2)
    # Brute force the tenant split for the per-day budget; each tenant at its own closed form.
    per_day = budget / days
    b = [10 * np.array([300.0, 150.0, 60.0]), 10 * np.array([100.0, 100.0, 100.0])]
    k = [np.array([1.0, 0.5, 2.0]), np.ones(3)]

    def value(i: int, total: float) -> float:
        x = closed_form_hill1(b[i], k[i], 100.0, total) / 100.0 if total > 0 else np.zeros(3)
        return float((b[i] * x / (x + k[i])).sum())

    grid = np.linspace(0, per_day, 2001)
    best = grid[np.argmax([value(0, g) + value(1, per_day - g) for g in grid])]
    assert north[:, 0].sum() == pytest.approx(best, abs=per_day / 1000)
    assert plan["tenants"]["north"]["budget"] == pytest.approx(north.sum())


def test_current_is_last_28_days_scaled_to_the_budget(simple_run: Path) -> None:
    plan = allocate_run(simple_run, 1190.0, tenant="north", days=7, **OPTIMUM)
    cur = plan["tenants"]["north"]["current"]
    # 100/50/20 a day (170) over 7 days is 1190: scale factor 1; earlier days (double) do not count.
    assert cur["meta"] == pytest.approx([100.0] * 7)
    assert cur["email"] == pytest.approx([20.0] * 7)
    eir = plan["tenants"]["north"]["expected_incremental_revenue"]
    assert eir["plan"]["mean"] >= eir["current"]["mean"]
    assert eir["plan"]["q05"] - 1e-6 <= eir["plan"]["mean"] <= eir["plan"]["q95"] + 1e-6
    assert 0.0 <= plan["tenants"]["north"]["prob_plan_beats_current"] <= 1.0


def test_fixed_tenant_budgets_hold(simple_run: Path) -> None:
    plan = allocate_run(simple_run, 1000.0, days=2, tenant_budgets={"north": 300.0, "south": 700.0})
    for tid, total in (("north", 300.0), ("south", 700.0)):
        spent = sum(sum(v) for v in plan["tenants"][tid]["plan"].values())
        assert spent == pytest.approx(total, abs=1e-6)
        cur = sum(sum(v) for v in plan["tenants"][tid]["current"].values())
        assert cur == pytest.approx(total)
    with pytest.raises(DataError, match="tenant budgets sum to"):
        allocate_run(simple_run, 1000.0, tenant_budgets={"north": 300.0, "south": 300.0})


def test_bounds_are_respected(simple_run: Path) -> None:
    bounds = {"meta": (None, 150.0), "email": (30.0, None)}
    plan = allocate_run(simple_run, 2100.0, tenant="north", days=7, channel_bounds=bounds, **OPTIMUM)
    p = plan["tenants"]["north"]["plan"]
    assert max(p["meta"]) <= 150.0 + 1e-6
    assert min(p["email"]) >= 30.0 - 1e-6
    assert max(p["meta"]) == pytest.approx(150.0, rel=1e-4)  # meta is the best channel: the cap binds
    assert sum(map(sum, p.values())) == pytest.approx(2100.0, abs=1e-6)
    rel = allocate_run(simple_run, 1190.0, tenant="north", days=7, channel_bounds={"*": "10%"}, **OPTIMUM)
    for ch, cur in (("meta", 100.0), ("google", 50.0), ("email", 20.0)):
        assert all(0.9 * cur - 1e-6 <= v <= 1.1 * cur + 1e-6 for v in rel["tenants"]["north"]["plan"][ch])


def test_risk_averse_objective_prefers_the_certain_channel(tmp_path: Path) -> None:
    # meta and google: same half-saturation and the same mean β; google's β is uncertain.
    s = 400
    spread = np.where(np.arange(s) % 2 == 0, 0.6, -0.6)
    beta = const_beta([[100.0, 100.0, 0.0], [100.0, 100.0, 0.0]], s)
    beta[:, :, 1] *= 1 + spread[:, None]
    run = make_run(tmp_path / "run", beta, recent=np.array([[50.0, 50.0, 0.0], [50.0, 50.0, 0.0]]))
    neutral = allocate_run(run, 700.0, tenant="north", days=7, **OPTIMUM)["tenants"]["north"]["plan"]
    assert sum(neutral["meta"]) == pytest.approx(sum(neutral["google"]), rel=1e-3)
    for objective in ("mean-sd:2", "cvar:0.1"):
        averse = allocate_run(run, 700.0, tenant="north", days=7, objective=objective, **OPTIMUM)
        p = averse["tenants"]["north"]["plan"]
        assert sum(p["meta"]) > 1.5 * sum(p["google"]), objective
        assert averse["objective"] == objective
        assert "email" not in p and "email" not in averse["tenants"]["north"]["current"]  # never used: no plan row


def test_rain_forecast_moves_spend_to_rainy_days(tmp_path: Path) -> None:
    gamma = np.zeros((len(TENANTS), len(CHANNELS), 2))
    gamma[:, 0, 1] = 0.4  # meta works better in the rain
    beta = const_beta([[200.0, 200.0, 200.0], [200.0, 200.0, 200.0]])
    run = make_run(tmp_path / "run", beta, gamma=gamma)
    fc = tmp_path / "forecast.csv"
    pd.DataFrame({"date": ["2024-03-01", "2024-03-02", "2024-03-03"], "temp_c": [10.0, 10.0, 10.0],
                  "precip_mm": [0.0, 25.0, 0.0]}).to_csv(fc, index=False)
    plan = allocate_run(run, 900.0, tenant="north", days=3, forecast=fc, **OPTIMUM)
    t = plan["tenants"]["north"]
    meta = t["plan"]["meta"]
    assert meta[1] > 1.2 * max(meta[0], meta[2])
    zr = (math.log1p(25.0) - 0.5) / 1.0
    assert t["media_multiplier"]["meta"][1] == pytest.approx(math.exp(0.4 * zr))
    assert t["media_multiplier"]["google"][1] == pytest.approx(1.0)
    assert t["reasons"][1].startswith("rain forecast: meta +")
    assert t["reasons"][0].startswith("dry forecast: meta -")
    # Without a forecast, the days are interchangeable.
    flat = allocate_run(run, 900.0, tenant="north", days=3, **OPTIMUM)["tenants"]["north"]["plan"]["meta"]
    assert max(flat) - min(flat) < 1e-2 * max(flat)


def test_write_plan_follows_the_contract(simple_run: Path, tmp_path: Path) -> None:
    plan = allocate_run(simple_run, 500.0, days=2)
    bad = {**plan, "extra_nan": float("nan")}
    with pytest.raises(DataError, match=r"plan\.json: refusing to write a plan with non-finite numbers \(extra_nan\)"):
        write_plan(bad, tmp_path / "out" / "plan.json")  # issue 15: a plan is never written with null for NaN
    assert not (tmp_path / "out" / "plan.json").exists()
    out = write_plan(plan, tmp_path / "out" / "plan.json")
    back = json.loads(out.read_text())
    assert {"run_id", "objective", "budget", "days", "tenants"} <= set(back)
    assert back["run_id"] == "test-run" and back["objective"] == "mean" and back["budget"] == 500.0
    for t in back["tenants"].values():
        assert {"plan", "current", "expected_incremental_revenue", "prob_plan_beats_current"} <= set(t)
        assert all(len(v) == 2 for v in t["plan"].values())
        assert set(t["expected_incremental_revenue"]["plan"]) >= {"mean", "q05", "q95"}
    assert back["unconverged_run"] is False


# --------------------------------------------------------------------------- bad input


def bad_forecast(tmp_path: Path, rows: dict[str, Any]) -> Path:
    path = tmp_path / "forecast.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_bad_inputs_raise_data_error(simple_run: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="budget must be a positive amount"):
        allocate_run(simple_run, 0.0, **OPTIMUM)
    with pytest.raises(DataError, match="budget must be a positive amount"):
        allocate_run(simple_run, -5.0, **OPTIMUM)
    with pytest.raises(DataError, match=r"minimums add up to 1,400\.00, above the budget 100\.00"):
        allocate_run(simple_run, 100.0, tenant="north", days=7, channel_bounds={"meta": (200.0, None)}, **OPTIMUM)
    with pytest.raises(DataError, match=r"maximums add up to 210\.00, below the budget 1,000\.00"):
        allocate_run(simple_run, 1000.0, tenant="north", days=7, channel_bounds={"*": (None, 10.0)}, **OPTIMUM)
    with pytest.raises(DataError, match="unknown tenant 'west'; the run has north, south"):
        allocate_run(simple_run, 100.0, tenant="west", **OPTIMUM)
    with pytest.raises(DataError, match="unknown channel 'tv'"):
        allocate_run(simple_run, 100.0, channel_bounds={"tv": (0.0, 1.0)}, **OPTIMUM)
    missing = bad_forecast(tmp_path, {"date": ["2024-03-01"], "temp_c": [3.0]})
    with pytest.raises(DataError, match=r"forecast\.csv, column 'precip_mm': required forecast column is missing"):
        allocate_run(simple_run, 100.0, forecast=missing, **OPTIMUM)
    past = bad_forecast(tmp_path, {"date": ["2024-03-01", "2024-02-29", "2024-02-10"], "temp_c": [1.0] * 3, "precip_mm": [0.0] * 3})
    # One forecast reader (data/forecast.py): days on or before the data's last day are an error naming them.
    with pytest.raises(DataError, match=r"rows 2, 3 \(dates 2024-02-29, 2024-02-10\): forecast dates must be after the last data date 2024-02-29"):
        allocate_run(simple_run, 100.0, forecast=past, **OPTIMUM)
    with pytest.raises(DataError, match="not a run folder"):
        allocate_run(tmp_path / "nowhere", 100.0, **OPTIMUM)


def test_unconverged_run_is_refused_unless_allowed(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", const_beta([[100.0] * 3] * 2, 20), ok=False)
    with pytest.raises(DataError, match="did not converge"):
        allocate_run(run, 100.0)
    with pytest.warns(UserWarning, match="UNCONVERGED RUN"):
        plan = allocate_run(run, 100.0, allow_unconverged=True)
    assert plan["unconverged_run"] is True
