"""Same data, config and seed give the same results; the summary records what was run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bayes_mmm import __version__
from bayes_mmm.api import fit_lake

VOLATILE = ("run_id", "created")


def strip(summary: dict) -> dict:
    out = {k: v for k, v in summary.items() if k not in VOLATILE}
    out["sampler"] = {k: v for k, v in summary["sampler"].items() if not k.endswith("seconds")}
    return out


@pytest.mark.slow  # heavy real fit; run with --run-slow (kept out of the 15-minute default suite)
def test_same_seed_same_summary(tiny_lake: Path, tmp_path: Path) -> None:
    kwargs = {"sampler_kwargs": {"chains": 2, "draws": 60, "tune": 60, "seed": 7, "progress": False}}
    a = fit_lake(tiny_lake, "all", tmp_path / "a", **kwargs)
    b = fit_lake(tiny_lake, "all", tmp_path / "b", **kwargs)
    assert strip(a) == strip(b)
    assert a["bayes_mmm_version"] == __version__
    assert a["data"]["hash"] == b["data"]["hash"] and a["config_hash"] == b["config_hash"]
    c = fit_lake(tiny_lake, "all", None, sampler_kwargs={**kwargs["sampler_kwargs"], "seed": 8})
    assert c["config_hash"] != a["config_hash"]
    ra = [a["tenants"][t]["roas"]["meta"]["mean"] for t in a["tenants"]]
    rc = [c["tenants"][t]["roas"]["meta"]["mean"] for t in c["tenants"]]
    assert not np.allclose(ra, rc)
