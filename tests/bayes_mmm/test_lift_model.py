"""Lift tests in the model: the likelihood term against an independent numpy counterfactual, CV folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayes_mmm.analysis.cv import walk_forward_folds
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.data.lift_tests import COLUMNS
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.model.lift import build_lift


def table(design, rows: list[dict]) -> pd.DataFrame:
    """A tidy lift-test table (data.lift_tests.COLUMNS) from a few dicts."""
    out = []
    for k, r in enumerate(rows):
        base = {"start": pd.NaT, "end": pd.NaT, "spend_multiplier": np.nan, "x": np.nan, "delta_x": np.nan, "row": k + 1}
        out.append(base | r)
    df = pd.DataFrame(out)
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c])
    return df[list(COLUMNS)]


def window(design, tenant: int, channel: int, first: int, last: int, mult: float, value: float, se: float) -> dict:
    return {"tenant": design.tenants[tenant], "channel": design.channels[channel], "kind": "window",
            "start": design.dates[first], "end": design.dates[last], "spend_multiplier": mult,
            "incremental_revenue": value, "se": se}


def numpy_effect(x: np.ndarray, alpha: float, n_lags: int, k: float, s: float, gamma: np.ndarray, zw: np.ndarray) -> np.ndarray:
    """Geometric adstock by an explicit loop, Hill as a ratio of powers, weather exp(γ·z): written from the formulas."""
    w = alpha ** np.arange(n_lags)
    w = w / w.sum()
    ad = np.array([sum(w[lag] * x[t - lag] for lag in range(n_lags) if t - lag >= 0) for t in range(len(x))])
    return ad**s / (ad**s + k**s) * np.exp(zw @ gamma)


def at_point(model, names: list[str], point: dict) -> list[np.ndarray]:
    """Model variables evaluated at a point of the value variables."""
    outs = model.replace_rvs_by_values([model[n] for n in names])
    return model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore", point_fn=False)(
        *[point[v.name] for v in model.value_vars])


def test_lift_term_equals_independent_counterfactual(tiny_lake) -> None:
    design = build_design(load_lake(tiny_lake), ModelSpec())
    spend0 = design.spend[2, 2, design.train[2]]
    level = float(spend0[spend0 > 0].mean())
    tests = table(design, [
        window(design, 0, 0, 100, 127, 0.0, 5000.0, 1500.0),
        window(design, 1, 1, 60, 80, 1.5, -2000.0, 800.0),
        {"tenant": design.tenants[2], "channel": design.channels[2], "kind": "point", "x": level,
         "delta_x": 0.5 * level, "incremental_revenue": 300.0, "se": 120.0},
    ])
    plain = build_model(design)
    design.lift = build_lift(design, tests)
    assert design.lift.n_tests == 3
    with_lift = build_model(design)
    rng = np.random.default_rng(4)
    point = {k: v + rng.normal(0, 0.3, v.shape) for k, v in with_lift.initial_point().items()}
    diff = with_lift.compile_logp()(point) - plain.compile_logp()(point)

    roas, alpha, half_sat, shape, gamma, pred = at_point(
        with_lift, ["roas", "adstock_alpha", "half_sat", "hill_shape", "weather_gamma", "lift_predicted"], point)
    expected, lifts = 0.0, []
    for _, row in tests.iterrows():
        i, j = design.tenants.index(row["tenant"]), design.channels.index(row["channel"])
        x = design.spend[i, j] / design.spend_scale[i, j]
        args = (alpha[i, j], design.n_lags, half_sat[i, j], shape[j], gamma[i, j], design.zw[i])
        eff = numpy_effect(x, *args)
        train = design.train[i]
        beta = roas[i, j] * design.spend[i, j, train].sum() / design.y_scale[i] / eff[train].sum()
        if row["kind"] == "window":
            days = (design.dates >= row["start"]) & (design.dates <= row["end"])
            x_cf = np.where(days, x * row["spend_multiplier"], x)
            lift = beta * (eff - numpy_effect(x_cf, *args))[days].sum()
        else:
            lo, hi = row["x"] / design.spend_scale[i, j], (row["x"] + row["delta_x"]) / design.spend_scale[i, j]
            s_, k_ = shape[j], half_sat[i, j]
            lift = beta * (hi**s_ / (hi**s_ + k_**s_) - lo**s_ / (lo**s_ + k_**s_))
        ys = design.y_scale[i]
        lifts.append(lift)
        expected += norm.logpdf(row["incremental_revenue"] / ys, lift, row["se"] / ys)
    assert diff == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # the sampled graph's per-test prediction (stored in the run) is the same counterfactual
    np.testing.assert_allclose(pred, lifts, rtol=1e-6, atol=1e-12)
    assert abs(lifts[1]) > 0.05 and abs(lifts[2]) > 1e-3  # the tests measure something


def test_a_window_in_a_folds_future_is_dropped_in_that_fold(tiny_lake) -> None:
    ds = load_lake(tiny_lake)
    folds = walk_forward_folds(ds["observed"].values, n_folds=3)
    design = build_design(ds, ModelSpec(), folds[0].train)
    last = int(np.flatnonzero(design.train[0])[-1])
    tests = table(design, [
        window(design, 0, 0, last - 30, last - 10, 0.0, 100.0, 50.0),  # inside the fold's training days
        window(design, 0, 1, last - 5, last + 10, 0.0, 100.0, 50.0),  # straddles the cut
        window(design, 0, 2, last + 20, last + 40, 0.0, 100.0, 50.0),  # entirely in the future
    ])
    lift = build_lift(design, tests)
    assert lift.table["used"].tolist() == [True, False, False]
    assert lift.table["note"].tolist()[1:] == ["window outside the training days"] * 2
    assert lift.n_tests == 1 and lift.channel.tolist() == [0]
    # with every day in training (the last fold's full history) the three are used
    full = build_design(ds, ModelSpec())
    assert build_lift(full, tests).n_tests == 3
