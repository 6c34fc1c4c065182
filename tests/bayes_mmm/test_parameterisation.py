"""Centred or non-centred per tenant: the rule, and the mixed model's density against an independent computation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bayes_mmm.analysis.card import pooling_line
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake
from bayes_mmm.inference.fit import centred_record
from bayes_mmm.model import parameterisation
from bayes_mmm.model.design import build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.model.parameterisation import CENTRE_MIN_PERIODS, centred_cells, centred_tenants, fixed_scale_channels


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
    learnt = ModelSpec(pool_min_tenants=0)  # two tenants: every pooling scale learnt, as the rule has it with more
    mixed = build_model(build_design(ds, learnt, train))
    plain = build_model(build_design(ds, replace(learnt, centered=()), train))
    assert "log_roas_raw" in mixed.named_vars and "log_roas_z" not in mixed.named_vars
    assert "log_half_sat_z" in mixed.named_vars  # half-saturation stays non-centred for every tenant
    got, extra = _density_gap(mixed, plain, np.array([[True] * 3, [False] * 3]))
    assert got == pytest.approx(extra, rel=1e-9, abs=1e-9)
    # Tenant 0's email at one level every day (a fixed budget): that cell is sampled non-centred.
    ds["spend"].loc[{"tenant": ds["tenant"].values[0], "channel": "email"}] = 40.0
    design = build_design(ds, learnt, train)
    record = centred_record(design)
    assert record == {"centred": {"roas": [design.tenants[0]]}, "non_centred_channels": [f"{design.tenants[0]}:email"]}
    mixed = build_model(design)
    plain = build_model(build_design(ds, replace(learnt, centered=()), train))
    got, extra = _density_gap(mixed, plain, np.array([[True, True, False], [False] * 3]))
    assert got == pytest.approx(extra, rel=1e-9, abs=1e-9)


def _at(model, name: str, point: dict) -> np.ndarray:
    """The model's ``name`` at ``point`` (values of the free variables, not draws of them)."""
    (out,) = model.replace_rvs_by_values([model[name]])
    return model.compile_fn(out, inputs=model.value_vars, on_unused_input="ignore")(point)


def test_a_channel_too_few_tenants_spend_on_keeps_its_pooling_scale_at_the_priors(lake: Path) -> None:
    ds = load_lake(lake)
    ds["spend"].loc[{"tenant": ds["tenant"].values[1], "channel": "email"}] = 0.0  # one tenant spends on email, two on the rest
    design = build_design(ds, ModelSpec(pool_min_tenants=2, centered=()), np.ones((2, ds.sizes["date"]), bool))
    assert fixed_scale_channels(design).tolist() == [c == "email" for c in design.channels]
    assert not fixed_scale_channels(replace(design, spec=ModelSpec(pool_min_tenants=1))).any()
    record = centred_record(design)
    assert record["fixed_pool_scale"] == ["email"]
    summary = {"sampler": record, "config": {"spec": design.spec.to_dict()}}
    assert pooling_line(summary).startswith("pooling scale held at the prior's for email: fewer than 2 tenants spend on it")
    assert "fewer than 2 tenants of a group spend on it" in pooling_line({**summary, "groups": [{"id": "g000"}]})
    assert "fixed_pool_scale" not in centred_record(design, prior=SimpleNamespace())  # a population prior replaces pooling
    model = build_model(design)
    assert "log_roas_sigma_free" in model.named_vars
    # Each tenant's log-ROAS is mu_c + scale_c·z, with email's scale 0.3 (the prior's) and the others' the learnt one.
    rng = np.random.default_rng(0)
    point = {k: rng.normal(0, 0.5, np.shape(v)) for k, v in model.initial_point().items()}
    learnt = np.exp(point["log_roas_sigma_free_log__"])
    scale = np.where([c == "email" for c in design.channels], 0.3, learnt)
    got = _at(model, "roas", point)
    np.testing.assert_allclose(np.log(got), point["log_roas_mu"] + scale * point["log_roas_z"], rtol=1e-9)
    # The weather sensitivities' scale (channel × weather) is held the same way.
    sig = _at(model, "gamma_sigma", point)
    assert np.all(sig[design.channels.index("email")] == ModelSpec().priors.weather_pool)
    # Fewer tenants than the bar on every channel: no pooling scale is sampled at all.
    alone = build_model(build_design(ds, ModelSpec(pool_min_tenants=3), np.ones((2, ds.sizes["date"]), bool)))
    assert not [v.name for v in alone.free_RVs if "sigma" in v.name and v.name != "sigma"]


def test_a_channels_roas_scale_counts_only_the_tenants_whose_own_data_show_it(lake: Path) -> None:
    ds = load_lake(lake)
    tenants, train = ds["tenant"].values, np.ones((2, ds.sizes["date"]), bool)
    spec = ModelSpec(pool_min_tenants=2, centered=())
    assert not fixed_scale_channels(build_design(ds, spec, train), roas=True).any()  # every channel varies on its own
    # Tenant 0 flights google with meta (one budget split 60/40); tenant 1 holds email at one level.
    ds["spend"].loc[{"tenant": tenants[0], "channel": "google"}] = 0.4 * ds["spend"].sel(tenant=tenants[0], channel="meta") + 1.0
    ds["spend"].loc[{"tenant": tenants[1], "channel": "email"}] = 40.0
    design = build_design(ds, spec, train)
    assert fixed_scale_channels(design, roas=True).all() and not fixed_scale_channels(design).any()
    record = centred_record(design)
    assert record["fixed_roas_pool_scale"] == design.channels and "fixed_pool_scale" not in record
    line = pooling_line({"sampler": record, "config": {"spec": spec.to_dict()}})
    assert line.startswith(f"ROAS pooling scale held at the prior's for {', '.join(design.channels)}: fewer than 2 tenants "
                           "show them in their own data (spend that varies and does not move with another channel's)")
    # Only the ROAS scale is held: the half-saturation's, adstock's and weather's are still learnt.
    model = build_model(design)
    assert "log_roas_sigma_free" not in model.named_vars and "log_roas_sigma" not in {v.name for v in model.free_RVs}
    assert {"log_half_sat_sigma", "logit_alpha_sigma", "gamma_sigma"} <= {v.name for v in model.free_RVs}
    # A run written before counts every tenant that spends: nothing is held.
    old = ModelSpec.from_dict({k: v for k, v in spec.to_dict().items() if k != "pool_informed"})
    assert old.pool_informed is False and not fixed_scale_channels(build_design(ds, old, train), roas=True).any()
    assert ModelSpec.from_dict(spec.to_dict()) == spec
