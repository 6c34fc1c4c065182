"""Centred or non-centred per tenant: the rule, and the mixed model's density against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import centred_record
from bayes_mmm.model import parameterisation
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.model.parameterisation import CENTRE_MIN_PERIODS, centred_cells, centred_tenants


def test_rule_centres_roas_only_and_only_for_tenants_with_a_year_of_periods() -> None:
    n = np.array([730, 104, CENTRE_MIN_PERIODS, CENTRE_MIN_PERIODS - 1])
    masks = centred_tenants(None, n)
    assert masks["roas"].tolist() == [True, False, True, False]
    assert not masks["half_sat"].any() and not masks["adstock"].any() and not masks["gamma"].any()


def test_an_explicit_choice_overrides_the_rule_for_every_tenant() -> None:
    masks = centred_tenants(("adstock",), np.array([730, 104]))
    assert masks["adstock"].tolist() == [True, True]
    assert not masks["roas"].any()


def test_spec_keeps_the_choice_through_json() -> None:
    assert ModelSpec.from_dict(ModelSpec().to_dict()).centered is None
    assert ModelSpec.from_dict(ModelSpec(centered=("roas",)).to_dict()).centered == ("roas",)
    assert ModelSpec(centered=["gamma"]).centered == ("gamma",)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="centered may name"):
        ModelSpec(centered=("beta",))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("param") / "lake"
    write_lake(simulate_universe(n_tenants=2, n_days=120, seed=5), out)
    return out


def test_a_channel_the_data_cannot_inform_stays_non_centred() -> None:
    n = np.array([730, 730, 104])
    flat = np.array([[False, False, True], [False, False, False], [True, False, False]])  # (tenant, channel)
    cells = centred_cells(None, n, flat)
    assert cells["roas"].tolist() == [[True, True, False], [True, True, True], [False, False, False]]
    assert not cells["half_sat"].any()
    assert centred_cells(("roas",), n, flat)["roas"].all()  # an explicit choice is the user's, cell by cell too


def _density_gap(mixed, plain, centred: np.ndarray) -> tuple[float, float]:
    """(mixed − plain log density, the Jacobian it must equal) at one point written both ways.

    ``centred`` (tenant, channel) marks the log-ROAS cells the mixed model samples centred.
    """
    rng = np.random.default_rng(3)
    z = {k: rng.normal(0, 0.5, np.shape(v)) for k, v in plain.initial_point().items()}
    point = {k: v for k, v in z.items() if k != "log_roas_z"}
    loc, scale = z["log_roas_mu"], np.exp(z["log_roas_sigma_log__"])
    raw = z["log_roas_z"].copy()
    raw[centred] = (loc + scale * raw)[centred]  # the same parameter value, written centred where the mask says
    point["log_roas_raw"] = raw
    # N(loc + scale·z; loc, scale) = N(z; 0, 1) / scale: only the centred cells' Jacobian differs.
    extra = -float((np.log(np.broadcast_to(scale, raw.shape)) * centred).sum())
    return float(mixed.compile_logp()(point)) - float(plain.compile_logp()(z)), extra


def test_mixed_model_is_centred_for_rich_tenants_and_non_centred_for_the_others(lake: Path, monkeypatch) -> None:
    ds = load_lake(lake)
    train = np.ones((2, ds.sizes["date"]), bool)
    train[1, 80:] = False  # tenant 0: 120 training days, tenant 1: 80
    monkeypatch.setattr(parameterisation, "CENTRE_MIN_PERIODS", 100)
    mixed = build_model(build_design(ds, ModelSpec(), train))
    plain = build_model(build_design(ds, ModelSpec(centered=()), train))
    assert "log_roas_raw" in mixed.named_vars and "log_roas_z" not in mixed.named_vars
    assert "log_half_sat_z" in mixed.named_vars  # half-saturation stays non-centred for every tenant
    got, extra = _density_gap(mixed, plain, np.array([[True] * 3, [False] * 3]))
    assert got == pytest.approx(extra, rel=1e-9, abs=1e-9)
    # Tenant 0's email at one level every day (a fixed budget): that cell is sampled non-centred.
    ds["spend"].loc[{"tenant": ds["tenant"].values[0], "channel": "email"}] = 40.0
    design = build_design(ds, ModelSpec(), train)
    record = centred_record(design)
    assert record == {"centred": {"roas": [design.tenants[0]]}, "non_centred_channels": [f"{design.tenants[0]}:email"]}
    mixed = build_model(design)
    plain = build_model(build_design(ds, ModelSpec(centered=()), train))
    got, extra = _density_gap(mixed, plain, np.array([[True, True, False], [False] * 3]))
    assert got == pytest.approx(extra, rel=1e-9, abs=1e-9)
