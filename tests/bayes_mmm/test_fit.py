"""A real fit on small synthetic data: recovery of the true ROAS, run folder, convergence reporting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayes_mmm.analysis.evaluate import evaluate_run
from bayes_mmm.inference.fit import ConvergenceConfig, SamplerConfig, convergence
from bayes_mmm.runs.summary import load_run


def test_true_roas_recovered(small_fit, small_lake: Path) -> None:
    _, run_dir = small_fit
    ev = evaluate_run(run_dir, small_lake)
    overall = ev["overall"]
    assert overall["pairs"] == 12
    assert overall["coverage_90"] >= 0.8, ev["pairs"]
    assert overall["median_abs_rel_error"] <= 0.20
    assert (run_dir / "evaluation.json").is_file()


def test_run_folder_follows_the_contract(small_fit) -> None:
    _, run_dir = small_fit
    idata, summary = load_run(run_dir)
    for group in ("posterior", "posterior_predictive", "log_likelihood", "sample_stats", "observed_data"):
        assert group in idata.groups()
    assert idata.posterior_predictive["revenue"].dims == ("chain", "draw", "tenant", "date")
    assert idata.posterior["roas"].shape == (2, 400, 4, 3)
    assert summary["sampler"]["name"] == "nutpie" and summary["sampler"]["draws"] == 400
    assert set(summary["data"]["channels"]) == {"meta", "google", "email"}
    for key in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences", "ok"):
        assert key in summary["convergence"]
    assert summary["loo"]["n"] == 4 * 365
    t = summary["tenants"]["extreme_rain_gear"]
    r = t["roas"]["meta"]
    assert r["q05"] < r["q50"] < r["q95"]
    assert r["mean"] == pytest.approx(float(idata.posterior["roas"].sel(tenant="extreme_rain_gear", channel="meta").mean()), abs=1e-3)
    assert 0 < sum(t["contribution_share"].values()) < 1
    assert t["fit"]["r2"] > 0.8  # extreme weather tenant: most variance explained in sample
    assert set(t["weather_elasticity"]) == {"temp_c", "precip_mm"}
    currencies = {tid: json.loads((Path(summary["data"]["lake"]) / tid / "tenant.json").read_text()).get("currency")
                  for tid in summary["tenants"]}
    assert {tid: e["currency"] for tid, e in summary["tenants"].items()} == currencies and "USD" in currencies.values()
    # A run is reproducible: the data hash identifies the lake.
    assert len(summary["data"]["hash"]) == 16
    assert not list(run_dir.parent.glob(".run.*"))  # no temp folders left


def test_the_run_records_each_tenants_training_temperature_range(small_fit, small_lake: Path) -> None:
    import pandas as pd

    _, run_dir = small_fit
    const = load_run(run_dir)[0].constant_data
    for tenant in const["tenant"].values:
        daily = pd.read_csv(small_lake / str(tenant) / "daily.csv")
        seen = daily.loc[daily["revenue"].notna(), "temp_c"]  # every day with revenue is a training day here
        assert float(const["temp_min"].sel(tenant=tenant)) == pytest.approx(seen.min())
        assert float(const["temp_max"].sel(tenant=tenant)) == pytest.approx(seen.max())


def test_weather_elasticity_sign_matches_truth(small_fit, small_lake: Path) -> None:
    _, run_dir = small_fit
    _, summary = load_run(run_dir)
    truth = json.loads((small_lake / "extreme_rain_gear" / "truth.json").read_text())
    est = summary["tenants"]["extreme_rain_gear"]["weather_elasticity"]["precip_mm"]
    assert np.sign(est) == np.sign(truth["weather_elasticity"]["precip_mm"])


def test_convergence_flags_a_short_run(small_fit) -> None:
    result, _ = small_fit
    strict = convergence(result.idata, ConvergenceConfig(ess_bulk_min=10_000))
    assert strict["ok"] is False
    assert len(strict["worst_ess_bulk"]) == 5


def test_sampler_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="sampler must be one of"):
        SamplerConfig(sampler="stan")
    with pytest.raises(ValueError, match="target_accept"):
        SamplerConfig(target_accept=1.5)


def test_default_sampler_has_four_chains_and_sizes_its_draws_to_the_data() -> None:
    cfg = SamplerConfig()
    assert (cfg.chains, cfg.draws, cfg.tune) == (4, None, None)
    # A year of periods or more: long chains (split R-hat's noise falls with each chain's ESS).
    assert (cfg.sized(730).draws, cfg.sized(730).tune) == (1000, 300) and cfg.sized(365).draws == 1000
    assert (cfg.sized(104).draws, cfg.sized(104).tune) == (1500, 500) and cfg.sized(364).draws == 1500
    assert SamplerConfig(draws=77).sized(104).draws == 77  # an explicit choice is kept
    assert SamplerConfig(tune=77).sized(730).tune == 77 and SamplerConfig(draws=77).sized(730).tune == 300
    assert cfg.sized(365).tune == 300 and cfg.sized(364).tune == 500
    with pytest.raises(ValueError, match="draws must be ≥ 1"):
        SamplerConfig(draws=0)


def test_slow_mixing_round_is_topped_up_with_fresh_chains_and_said_so() -> None:
    """A round short only of ESS gets a second round of chains (pooled, renumbered); a stuck one does not."""
    import pymc as pm

    from bayes_mmm.inference.fit import sample, worth_topping_up

    with pm.Model() as model:
        pm.Normal("x", 0.0, 1.0, shape=3)
    cfg = SamplerConfig(sampler="pymc", chains=2, draws=40, tune=40, progress=False, top_up=1)
    strict = ConvergenceConfig(ess_bulk_min=150)  # 2 × 40 draws cannot reach it
    idata, timing = sample(model, cfg, strict)
    assert timing["rounds"] == 2
    assert list(idata.posterior["chain"].values) == [0, 1, 2, 3]
    assert idata.sample_stats.sizes["chain"] == 4
    # The second round is new draws, not a copy of the first.
    assert not np.allclose(idata.posterior["x"].sel(chain=[0, 1]).values, idata.posterior["x"].sel(chain=[2, 3]).values)
    first = convergence(idata.sel(chain=[0, 1]), strict)["ess_bulk_min"]
    assert first < 150 and convergence(idata, strict)["ess_bulk_min"] > first
    _, off = sample(model, SamplerConfig(sampler="pymc", chains=2, draws=40, tune=40, progress=False, top_up=0), strict)
    assert off["rounds"] == 1
    # Divergences or an R-hat above 1.05 mean a stuck or multimodal posterior: more chains would hide nothing.
    base = {"ok": False, "divergences": 0, "rhat_max": 1.02}
    assert worth_topping_up(base) and not worth_topping_up({**base, "divergences": 3})
    assert not worth_topping_up({**base, "rhat_max": 1.3}) and not worth_topping_up({**base, "ok": True})
    assert SamplerConfig(draws=77).sized(730).top_up == 0 and SamplerConfig().sized(730).top_up == 1


def _fake_round(diverging: int, chains: int = 2, draws: int = 50, seed: int = 0):
    """An InferenceData of ``chains`` × ``draws`` standard-normal draws with ``diverging`` divergent ones."""
    import arviz as az

    rng = np.random.default_rng(seed)
    div = np.zeros((chains, draws), dtype=bool)
    div.flat[:diverging] = True
    return az.from_dict(posterior={"x": rng.normal(size=(chains, draws))}, sample_stats={"diverging": div})


def test_a_diverged_round_is_discarded_and_run_again_with_smaller_steps(monkeypatch) -> None:
    """Plumbing: the retry's target acceptance reaches the sampler, its draws replace the first round's."""
    from bayes_mmm.inference import fit as fitmod

    calls: list[tuple[int, float]] = []
    outcomes = iter([3, 0])  # the first round diverges 3 times, the retry not at all

    models: list[str] = []

    def runner(model, cfg):
        models.append(model)

        def run(seed: int, accept: float):
            calls.append((seed, accept))
            return _fake_round(next(outcomes), seed=seed)
        return run

    monkeypatch.setattr(fitmod, "_round_runner", runner)
    cfg = SamplerConfig(draws=50, top_up=0, retry_accept=0.97)
    idata, timing = fitmod.sample("centred", cfg, fallback=lambda: "non-centred")
    assert models == ["centred", "non-centred"]  # the fallback is built only once the first round diverged
    assert [a for _, a in calls] == [0.9, 0.9] and calls[0][0] != calls[1][0]  # reparameterised, same steps
    assert timing["retried_divergences"] == 3 and timing["target_accept_kept"] == 0.9 and timing["rounds"] == 1
    assert timing["retry"] == "nothing centred"
    assert fitmod.divergences(idata) == 0 and idata.posterior.sizes["chain"] == 2  # the diverged round is gone

    # Nothing to reparameterise: the retry takes smaller steps instead.
    calls.clear()
    outcomes = iter([3, 0])
    _, timing = fitmod.sample("non-centred", cfg)
    assert [a for _, a in calls] == [0.9, 0.97] and timing["target_accept_kept"] == 0.97
    assert timing["retry"] == "smaller steps"

    # No divergence, or retry off, or no fallback and a retry not above the target: one round.
    for first, retry, fallback in ((0, 0.97, lambda: "non-centred"), (3, None, lambda: "non-centred"), (3, 0.85, None)):
        calls.clear()
        models.clear()
        outcomes = iter([first])
        _, timing = fitmod.sample("centred", SamplerConfig(draws=50, top_up=0, retry_accept=retry), fallback=fallback)
        assert [a for _, a in calls] == [0.9] and timing["retried_divergences"] == 0 and timing["target_accept_kept"] == 0.9
        assert models == ["centred"]


def test_explicit_draws_are_a_budget_with_no_retry_and_bad_retry_values_are_refused() -> None:
    assert SamplerConfig(draws=77).sized(730).retry_accept is None
    assert SamplerConfig().sized(730).retry_accept == 0.97
    with pytest.raises(ValueError, match="retry_accept must be in"):
        SamplerConfig(retry_accept=1.0)


def test_the_card_says_when_a_round_was_discarded_or_topped_up() -> None:
    from bayes_mmm.analysis.card import rounds_note

    assert rounds_note({"rounds": 1, "retried_divergences": 0, "target_accept_kept": 0.9}) == ""
    both = rounds_note({"rounds": 2, "retried_divergences": 4, "retry": "smaller steps", "target_accept_kept": 0.97})
    assert "4 divergences was discarded and the fit started over with smaller steps (target_accept 0.97)" in both
    assert "× 2 rounds" in both
    plain = rounds_note({"rounds": 1, "retried_divergences": 1, "retry": "nothing centred", "target_accept_kept": 0.9})
    assert plain.endswith("started over with nothing centred)")
    assert rounds_note({"rounds": 1}) == ""  # runs written before the retry existed


def test_the_fallback_design_has_nothing_centred_and_none_when_nothing_was(small_lake: Path) -> None:
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.model.design import build_design
    from bayes_mmm.model.parameterisation import design_cells, non_centred

    ds = load_lake(small_lake)
    design = build_design(ds, ModelSpec(centered=("roas", "adstock")))
    assert design_cells(design)["roas"].all()
    plain = non_centred(design)
    assert plain is not None and plain.spec.centered == () and design.spec.centered == ("roas", "adstock")
    assert not any(m.any() for m in design_cells(plain).values())
    assert plain.spec.priors == design.spec.priors and plain.y is design.y  # only the parameterisation differs
    assert non_centred(plain) is None


def test_a_top_up_round_that_diverges_restarts_on_the_fallback_once(monkeypatch) -> None:
    """Plumbing: clean first round, diverging top-up → all discarded, start over (fallback, higher acceptance, top-up)."""
    from bayes_mmm.inference import fit as fitmod

    outcomes = iter([0, 2, 0, 0])  # round 1 clean but slow, top-up diverges, restart clean, its top-up clean
    models: list[str] = []
    accepts: list[float] = []

    def runner(model, cfg):
        models.append(model)

        def run(seed: int, accept: float):
            accepts.append(accept)
            return _fake_round(next(outcomes), draws=1000, seed=seed)
        return run

    monkeypatch.setattr(fitmod, "_round_runner", runner)
    slow = ConvergenceConfig(ess_bulk_min=1e9)  # never enough: every round is worth topping up (R-hat ≈ 1)
    idata, timing = fitmod.sample("centred", SamplerConfig(draws=20, top_up=1), slow, fallback=lambda: "non-centred")
    assert models == ["centred", "non-centred"] and accepts == [0.9, 0.9, 0.9, 0.9]
    assert timing["retried_divergences"] == 2 and timing["rounds"] == 2 and fitmod.divergences(idata) == 0
    assert idata.posterior.sizes["chain"] == 4  # the restart's two rounds only


def test_fit_starts_over_non_centred_when_a_round_diverges(tiny_lake: Path, monkeypatch) -> None:
    """Real sampling: after a (reported) divergence the fit runs the non-centred model and records it."""
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference import fit as fitmod

    monkeypatch.setattr(fitmod, "DRAWS_SHORT", 40)  # sized draws (the retry needs them), kept small
    real = fitmod.divergences
    first = iter([2])  # the first round "diverged"; every later count is the sampler's own
    monkeypatch.setattr(fitmod, "divergences", lambda idata: next(first, None) or real(idata))
    cfg = SamplerConfig(chains=2, tune=40, top_up=0, progress=False)
    result = fitmod.fit(load_lake(tiny_lake), ModelSpec(centered=("roas",)), cfg)
    s = result.sampler
    assert s["retry"] == "nothing centred" and s["retried_divergences"] == 2 and s["centred"] == {}
    post = result.idata.posterior
    assert "log_roas_z" in post and "log_roas" not in post  # the kept draws are the non-centred model's
    assert post["roas"].shape == (2, 40, 3, 3) and np.isfinite(post["roas"].values).all()


def test_split_rhat_falls_with_chain_length_not_with_more_chains() -> None:
    """Why the default runs long chains (and why a top-up round of fresh chains cannot fix slow mixing):
    on stationary AR(1) chains, ArviZ's R-hat excess halves when chains double in length and stays put
    when the number of chains doubles."""
    import arviz as az
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)

    def mean_excess(m: int, n: int, reps: int = 200) -> float:
        x = lfilter([1.0], [1.0, -0.95], rng.normal(size=(reps, m, n + 200)), axis=-1)[..., 200:]  # burnt in
        return float(np.mean([float(az.rhat(x[i])) - 1 for i in range(reps)]))

    base, more, longer = mean_excess(4, 500), mean_excess(8, 500), mean_excess(4, 1000)
    assert more == pytest.approx(base, rel=0.15)
    assert longer == pytest.approx(base / 2, rel=0.2)


def test_convergence_advice_follows_how_the_run_fell_short() -> None:
    from bayes_mmm.inference.fit import convergence_advice

    slow = {"divergences": 0, "rhat_max": 1.014}
    assert convergence_advice(slow, {"draws": 1000}).startswith("The chains mix slowly: try longer chains (--draws 2000;")
    assert "--draws 2000" in convergence_advice(slow, {"draws": None})  # sized: the long default, doubled
    assert "--target-accept 0.95;" in convergence_advice(slow | {"divergences": 3}, {"draws": 1000, "target_accept": 0.9})
    # The default already retried at 0.97 after a diverged round: the advice goes further, not back.
    assert "--target-accept 0.99;" in convergence_advice(slow | {"divergences": 3}, {"target_accept": 0.9, "target_accept_kept": 0.97})
    assert "several modes" in convergence_advice(slow | {"rhat_max": 1.8}, {"draws": 1000})


def test_the_fit_warning_names_what_to_try(monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed small run (R-hat 1.08, 16 divergences, 2 × 200 draws) gets the divergence advice; the same
    run without divergences and R-hat 1.02 gets longer chains, twice its 200 draws."""
    from io import StringIO

    from rich.console import Console

    import bayes_mmm.surfaces.cli as cli

    summary = json.loads((Path(__file__).parents[1] / "fixtures" / "small_run" / "summary.json").read_text())

    def warning(s: dict) -> str:
        buf = StringIO()
        monkeypatch.setattr(cli, "err", Console(file=buf, width=400))
        monkeypatch.setattr(cli, "out", Console(file=StringIO()))
        cli.print_fit(s)
        return " ".join(buf.getvalue().split())

    assert "not converged" in warning(summary) and "try smaller steps (--target-accept" in warning(summary)
    summary["convergence"] |= {"divergences": 0, "rhat_max": 1.02}
    assert "try longer chains (--draws 400;" in warning(summary)
    # Parameter names keep their brackets (rich read "[shop, email, precip_mm]" as markup and dropped it).
    summary["convergence"]["worst_rhat"] = {"gamma[shop, email, precip_mm]": 1.1445, "log_half_sat_mu[email]": 1.125}
    assert "Worst R-hat: gamma[shop, email, precip_mm] (1.1445), log_half_sat_mu[email] (1.125)." in warning(summary)


def test_a_fit_logged_to_a_file_says_it_is_still_working(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress bar draws off a terminal: a heartbeat line takes its place there, and only there."""
    import time
    from io import StringIO

    from rich.console import Console

    import bayes_mmm.surfaces.cli as cli

    log = StringIO()
    monkeypatch.setattr(cli, "out", Console(file=log, width=200))
    with cli.heartbeat("fitting", every=0.05):
        time.sleep(0.33)
    beats = log.getvalue().splitlines()
    assert len(beats) >= 2 and set(beats) == {"still fitting: 0 min"}  # about six; fewer on a loaded machine
    screen = StringIO()
    monkeypatch.setattr(cli, "out", Console(file=screen, width=200, force_terminal=True))
    with cli.heartbeat("fitting", every=0.05):
        time.sleep(0.2)
    assert screen.getvalue() == ""


def test_compiling_for_nutpie_leaves_no_file_in_the_temporary_directory(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    import nutpie
    import pymc as pm

    from bayes_mmm.inference.fit import _compile_interruptibly

    with pm.Model() as model:
        x = pm.Normal("x", 0.0, 1.0, shape=2)
        pm.Normal("y", pm.math.exp(x).sum() / (1 + x[0] ** 2), 1.0, observed=np.array([1.0, 2.0, 1.5]))
    bare, ours = tmp_path / "bare", tmp_path / "ours"
    bare.mkdir(), ours.mkdir()
    # The leak this works around: PyTensor's numba backend leaves the generated functions' source behind.
    monkeypatch.setattr(tempfile, "tempdir", str(bare))
    nutpie.compile_pymc_model(model)
    assert len(list(bare.iterdir())) > 0
    monkeypatch.setattr(tempfile, "tempdir", str(ours))
    compiled = _compile_interruptibly(model)
    assert sorted(p.name for p in ours.iterdir()) == []
    assert tempfile.tempdir == str(ours)
    # The compiled model still samples once its source files are gone.
    draws = nutpie.sample(compiled, draws=200, tune=200, chains=1, seed=1, progress_bar=False)
    assert draws.posterior["x"].shape == (1, 200, 2)
    assert np.isfinite(draws.posterior["x"]).all()


def test_compiles_at_once_share_one_scratch_directory_until_the_last_ends(tmp_path: Path, monkeypatch) -> None:
    import tempfile
    import threading

    from bayes_mmm.inference.fit import _scratch_tempdir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    step, seen = threading.Barrier(2), {}

    def compile_(name: str, leave_first: bool) -> None:
        with _scratch_tempdir:
            step.wait()  # both inside
            seen[name] = tempfile.gettempdir()
            step.wait()
            if not leave_first:
                step.wait()  # the other has left
                seen["after_first_left"] = (tempfile.gettempdir(), Path(tempfile.gettempdir()).is_dir())
        if leave_first:
            step.wait()

    threads = [threading.Thread(target=compile_, args=(n, n == "a")) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen["a"] == seen["b"] != str(tmp_path) and Path(seen["a"]).parent == tmp_path
    assert seen["after_first_left"] == (seen["a"], True)  # still in use by the other
    assert tempfile.tempdir == str(tmp_path) and not Path(seen["a"]).exists()


def exit_inside_a_compile(tmp_path: Path, ending: str) -> Path:
    """Run a process that enters the compile scratch, writes a file there, then ends by ``ending`` (exit 130);
    the scratch folder it used, after asserting that nothing is left in ``tmp_path`` (its TMPDIR)."""
    import os
    import subprocess
    import sys

    code = ("import sys, tempfile\n"
            "from bayes_mmm.inference.fit import _scratch_tempdir\n"
            "_scratch_tempdir.__enter__()\n"
            "tempfile.NamedTemporaryFile(delete=False).close()\n"
            "print(tempfile.gettempdir(), flush=True)\n" + ending)
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 130, done.stderr
    assert list(tmp_path.iterdir()) == []
    return Path(done.stdout.strip())


def test_a_process_that_exits_inside_a_compile_removes_its_scratch_directory(tmp_path: Path) -> None:
    # As after Ctrl-C in a script: the compile thread is abandoned and the process exits while still "inside".
    scratch = exit_inside_a_compile(tmp_path, "sys.exit(130)\n")
    assert scratch.parent == tmp_path and scratch.name.startswith("bayes-mmm-compile-")
