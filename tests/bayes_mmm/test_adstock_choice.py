"""Choosing the adstock by PSIS-LOO: the decision rule on known log-likelihoods, and a real two-fit run."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest

from bayes_mmm.analysis.adstock_choice import choose_adstock


def loglik(shift: np.ndarray, seed: int) -> az.InferenceData:
    """An InferenceData whose pointwise log-likelihood is a standard normal's at noise + ``shift`` (per observation)."""
    rng = np.random.default_rng(seed)
    ll = -0.5 * (rng.normal(size=(2, 200, len(shift))) * 0.01 + shift) ** 2 - 0.919
    return az.from_dict(posterior={"mu": rng.normal(size=(2, 200))}, log_likelihood={"revenue": ll}, dims={"revenue": ["obs"]})


def fits(gain_per_obs: float, n: int = 400) -> dict[str, az.InferenceData]:
    """Geometric and delayed fits where delayed beats geometric by ``gain_per_obs`` elpd on half the observations."""
    base = np.random.default_rng(0).normal(size=n)
    better = np.where(np.arange(n) % 2 == 0, np.sqrt(np.maximum(base**2 - 2 * gain_per_obs, 0.0)), np.abs(base))
    return {"geometric": loglik(np.abs(base), 1), "delayed": loglik(better, 2)}


def test_delayed_is_kept_only_when_loo_prefers_it_clearly() -> None:
    clear = fits(0.5)
    table = az.compare(clear, ic="loo")  # independent of the rule: ArviZ's own ranking
    assert table.index[0] == "delayed"
    got = choose_adstock(clear, {"geometric": True, "delayed": True})
    assert got["chosen"] == "delayed" and got["elpd_gain"] == pytest.approx(table.loc["delayed", "elpd_loo"] - table.loc["geometric", "elpd_loo"], abs=0.01)
    assert got["elpd_gain"] > 2 * got["dse"] and got["reason"].startswith("LOO prefers the delayed peak clearly (+52.5")
    # The same gain, but only one fit passed the convergence gate: that one is kept, whichever it is.
    held = choose_adstock(clear, {"geometric": True, "delayed": False})
    assert held["chosen"] == "geometric" and held["reason"].startswith("only the geometric fit converged")
    assert choose_adstock(clear, {"geometric": False, "delayed": True})["chosen"] == "delayed"
    # Neither converged: the run is marked not ok anyway, LOO still decides, and the reason says so.
    both = choose_adstock(clear, {"geometric": False, "delayed": False})
    assert both["chosen"] == "delayed" and both["reason"].endswith("; neither fit converged")
    # Without pointwise log-likelihoods LOO cannot compare: geometric stays, and the reason says why.
    bare = {k: az.from_dict(posterior={"mu": np.zeros((2, 10))}) for k in ("geometric", "delayed")}
    failed = choose_adstock(bare, {"geometric": True, "delayed": True})
    assert failed["chosen"] == "geometric" and failed["reason"].startswith("LOO could not compare the fits") and failed["dse"] is None
    # Fits that differ by noise only: whatever the sign of the gain, it is within two standard errors.
    base = np.abs(np.random.default_rng(0).normal(size=400))
    close = {"geometric": loglik(base, 1), "delayed": loglik(base * np.random.default_rng(3).normal(1.0, 0.1, 400), 2)}
    got = choose_adstock(close, {"geometric": True, "delayed": True})
    assert got["chosen"] == "geometric" and got["elpd_gain"] < 2 * got["dse"] and "not clearly better" in got["reason"]


def test_cli_adstock_auto_fits_both_and_keeps_the_chosen_run(tmp_path: Path) -> None:
    """Two real fits; the kept run is the chosen shape's, and its recorded elpd is az.loo's of the saved draws."""
    from typer.testing import CliRunner

    from bayes_mmm.runs.folder import RunFolder
    from bayes_mmm.surfaces.cli import app
    from synthetic import simulate_universe, write_lake

    write_lake(simulate_universe(n_tenants=2, n_days=200, seed=5, scenario="weibull_adstock"), tmp_path / "lake")
    res = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "lake"), "--adstock", "auto", "--chains", "2",
                                   "--draws", "150", "--tune", "150", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output  # an unconverged fit still exits 0: the run records it
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    choice = summary["adstock_choice"]
    assert summary["config"]["spec"]["adstock"] == choice["chosen"]
    assert f"adstock chosen by LOO: {choice['chosen']} (" in " ".join(res.output.split())
    idata, _ = RunFolder(tmp_path / "run").load()
    assert float(az.loo(idata).elpd_loo) == pytest.approx(choice["fits"][choice["chosen"]]["elpd"], abs=0.01)
    assert "adstock geometric (1 of 2" in " ".join(res.output.split()) and "adstock delayed (2 of 2" in " ".join(res.output.split())
    assert set(choice["fits"]) == {"geometric", "delayed"} and all(f["seconds"] > 0 for f in choice["fits"].values())
    grouped = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "lake"), "--adstock", "auto", "--group-size", "1",
                                       "--out", str(tmp_path / "g")])
    assert grouped.exit_code == 2 and "--adstock auto compares two fits of the same tenants" in grouped.output
    assert not (tmp_path / "g").exists()
    cold = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "lake"), "--adstock", "auto", "--prior-from", str(tmp_path / "run"),
                                    "--out", str(tmp_path / "c")])
    assert cold.exit_code == 2 and "cannot be combined with --prior-from or --no-media" in " ".join(cold.output.split())
    assert not (tmp_path / "c").exists()
