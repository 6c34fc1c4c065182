"""Issue 15, class 4 for the allocator: any bound, budget or objective text gives a valid result or a DataError,
and a plan is never returned or written with NaN, infinite or null numbers."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import non_finite
from bayes_mmm.decide.allocate import MIN_BUDGET, _check_budget, allocate_run
from bayes_mmm.decide.bounds import MAX_BUDGET_MULTIPLE, bound_arrays, check_budget_scale, parse_channel_bounds, percent
from bayes_mmm.decide.horizon import MAX_PLAN_DAYS, n_periods
from bayes_mmm.decide.objectives import parse_objective
from bayes_mmm.decide.plan import write_plan

SMALL_RUN = Path(__file__).parents[1] / "fixtures" / "small_run"
#: Characters the bound syntax is made of, plus words that float() accepts.
BOUND_TEXT = st.lists(st.one_of(st.sampled_from(list("=:%,*-+.e ±0123456789")),
                                st.sampled_from(["meta", "google", "nan", "inf", "-inf", "Infinity", "1e300", "1e999", "NaN%"])),
                      max_size=14).map("".join)
ANY_TEXT = st.one_of(BOUND_TEXT, st.text(max_size=30))


def check_bounds_result(bounds: dict) -> None:
    for key, spec in bounds.items():
        assert key.strip()
        if isinstance(spec, str):
            pct = percent(spec, key)
            assert math.isfinite(pct) and pct >= 0
        else:
            lo, hi = spec
            for v in (lo, hi):
                assert v is None or (math.isfinite(v) and v >= 0)
            assert lo is None or hi is None or lo <= hi


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_any_bounds_text_gives_valid_bounds_or_data_error(text: str) -> None:
    try:
        bounds = parse_channel_bounds(text)
    except DataError:
        return
    check_bounds_result(bounds)
    channels = sorted({k for k in bounds if k != "*"} | {"other"})
    current = np.linspace(10.0, 90.0, 2 * len(channels)).reshape(2, len(channels))
    lower, upper, _ = bound_arrays(bounds, channels, current, np.ones_like(current, bool), 3)  # '*' is the others': no clash
    assert np.isfinite(lower).all() and (lower >= 0).all()
    assert not np.isnan(upper).any() and (upper >= lower).all()


@pytest.mark.parametrize(("text", "message"), [
    ("meta=nan:nan", "channel bound for meta: 'nan' must be a finite amount ≥ 0"),
    ("meta=nan%", "channel bound 'nan%' for meta must be a finite percentage ≥ 0 %"),
    ("meta=:-5", "channel bound for meta: '-5' must be a finite amount ≥ 0"),
    ("meta=inf%", "channel bound 'inf%' for meta must be a finite percentage"),
    ("meta=-inf:inf", "channel bound for meta: '-inf' must be a finite amount"),
    ("meta=5:4", "channel bound for meta: minimum 5 is above maximum 4"),
    ("meta=1:2,meta=3:4", "channel 'meta' is bounded twice"),
    ("=1:2", "channel bound with an empty channel name"),
    ("meta=1:2:3", "channel bound 'meta=1:2:3' must look like channel=min:max"),
])
def test_bad_bounds_are_named(text: str, message: str) -> None:
    with pytest.raises(DataError) as exc:
        parse_channel_bounds(text)
    assert message in str(exc.value)


def test_api_bounds_are_checked_like_cli_bounds() -> None:
    current = np.array([[100.0, 50.0]])
    active = np.ones_like(current, bool)
    for bad in ({"a": (float("nan"), None)}, {"a": (None, -1.0)}, {"a": "nan%"}, {"a": (1.0,)}, {"": (0, 1)}):
        with pytest.raises(DataError):
            bound_arrays(bad, ["a", "b"], current, active, 2)
    # '*' is every channel not named (as in --roas-prior): a channel's own bound replaces it.
    lower, upper, explicit = bound_arrays({"*": (0.0, 100.0), "a": (500.0, None)}, ["a", "b"], current, active, 2)
    np.testing.assert_allclose(lower[..., 0], [[500.0, 0.0]])
    np.testing.assert_allclose(upper[..., 0], [[np.inf, 100.0]])
    assert explicit.tolist() == [True, True]  # both minimums are amounts the user gave (b's through '*')
    lower, upper, _ = bound_arrays({"a": "150%"}, ["a", "b"], current, active, 2)  # more than ±100 %: from 0
    np.testing.assert_allclose(lower[..., 0], [[0.0, 0.0]])
    np.testing.assert_allclose(upper[..., 0], [[250.0, np.inf]])
    lower, upper, explicit = bound_arrays({"a": "20%", "*": (None, 110.0)}, ["a", "b"], current, active, 2)
    np.testing.assert_allclose(lower[..., 0], [[80.0, 0.0]])
    np.testing.assert_allclose(upper[..., 0], [[120.0, 110.0]])
    assert explicit.tolist() == [False, False]


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=20), st.sampled_from(["mean-sd:nan", "cvar:inf", "mean-sd:1e999", "cvar:0", "mean-sd:-0.0"])))
def test_any_objective_text_gives_valid_objective_or_data_error(text: str) -> None:
    try:
        obj = parse_objective(text)
    except DataError:
        return
    assert obj.kind in ("mean", "mean-sd", "cvar") and math.isfinite(obj.param)
    assert obj.kind != "cvar" or 0 < obj.param <= 1


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 100_000))
def test_any_budget_is_a_positive_finite_amount_or_data_error(budget: float, days: int) -> None:
    try:
        _check_budget(budget)
        n = n_periods(days, None, "daily")
    except DataError:
        assert not (math.isfinite(budget) and budget >= MIN_BUDGET and 1 <= days <= MAX_PLAN_DAYS)
        return
    assert math.isfinite(budget) and budget >= MIN_BUDGET and n == days and 1 <= days <= MAX_PLAN_DAYS


def test_an_absurd_budget_is_refused_against_the_data() -> None:
    spend = np.zeros((2, 2, 30))
    spend[0, 0, 5], spend[0, 1, 5], spend[1, 1, 9] = 60.0, 40.0, 50.0  # peaks: 100 and 50 a day
    check_budget_scale(MAX_BUDGET_MULTIPLE * 150.0 * 7, spend, 7)  # exactly at the cap: allowed
    with pytest.raises(DataError, match=r"budget 1\.1e\+06 is more than 1,000× the highest spend in the data \(150\.00 a day, 1\.05e\+06 over 7"):
        check_budget_scale(1.1e6, spend, 7)


@given(st.recursive(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none(), st.text(max_size=3)),
                    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=3), kids, max_size=3)),
                    max_leaves=12))
def test_write_plan_never_writes_a_non_finite_number(tmp_path_factory: pytest.TempPathFactory, value: object) -> None:
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    plan = {"tenants": {"t": value}}
    floats = []

    def walk(x: object) -> None:
        if isinstance(x, dict):
            [walk(v) for v in x.values()]
        elif isinstance(x, list):
            [walk(v) for v in x]
        elif isinstance(x, float):
            floats.append(x)

    walk(value)
    if all(math.isfinite(f) for f in floats):
        write_plan(plan, out)
        assert json.loads(out.read_text()) == json.loads(json.dumps(plan))
    else:
        with pytest.raises(DataError, match="refusing to write a plan with non-finite numbers"):
            write_plan(plan, out)
        assert not out.exists()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("run") / "small_run"
    shutil.copytree(SMALL_RUN, run)
    return run


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(budget=st.one_of(st.floats(1e-3, 1e7), st.sampled_from([1e-300, 1e300, 5000.0])),
       bounds=st.sampled_from([None, "meta=0:", "*=10%", "google=0:50,*=:5000", "email=0:0"]))
def test_allocate_returns_only_finite_numbers(small_run: Path, budget: float, bounds: str | None) -> None:
    if budget < MIN_BUDGET:  # refused before the run is opened, so before its warning
        with pytest.raises(DataError, match=r"is below 0\.01"):
            allocate_run(small_run, budget, days=3, draws=40, allow_unconverged=True)
        return
    try:
        with pytest.warns(UserWarning, match="UNCONVERGED RUN"):
            plan = allocate_run(small_run, budget, days=3, draws=40, channel_bounds=parse_channel_bounds(bounds),
                                allow_unconverged=True)
    except DataError:
        return
    assert non_finite(plan) == []
    total = sum(sum(days) for e in plan["tenants"].values() for days in e["plan"].values())
    assert total == pytest.approx(budget, rel=1e-6)
