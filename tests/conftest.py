"""Shared fixtures: tiny lakes built by the real generator, and the --run-slow switch."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
warnings.filterwarnings("ignore", category=FutureWarning)

# Tests check correctness, never wall-clock time: Hypothesis's per-example deadline (200 ms) fails a property
# test when a loaded CI machine is slow once (it did on test_write_plan_never_writes_a_non_finite_number).
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run slow end-to-end tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tenants × 240 days written as a CSV lake (with truth files)."""
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("lake") / "lake"
    write_lake(simulate_universe(n_tenants=3, n_days=240, seed=3), out)
    return out


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four tenants (extreme, medium, none, extreme) × 365 days, for real fits."""
    from synthetic import simulate_universe, write_lake

    out = tmp_path_factory.mktemp("small") / "lake"
    write_lake(simulate_universe(n_tenants=4, n_days=365, seed=11), out)
    return out


@pytest.fixture(scope="session")
def small_fit(small_lake: Path, tmp_path_factory: pytest.TempPathFactory):
    """One real nutpie fit of ``small_lake`` shared by every test that needs a run: (result, run_dir)."""
    from bayes_mmm.data.lake import load_lake
    from bayes_mmm.inference.fit import SamplerConfig, fit
    from bayes_mmm.runs.summary import save_run

    result = fit(load_lake(small_lake), sampler=SamplerConfig(chains=2, draws=400, tune=400, seed=1, progress=False))
    run_dir = tmp_path_factory.mktemp("run") / "run"
    save_run(result, run_dir, lake=small_lake)
    return result, run_dir


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def stored_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed tiny lake the stored run was fitted on (3 tenants × 200 days, CSV), copied so tests cannot modify it."""
    import shutil

    return Path(shutil.copytree(FIXTURES / "small_lake", tmp_path_factory.mktemp("stored") / "lake"))


@pytest.fixture(scope="session")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed small run folder (tests/fixtures/make_small_run.py), copied so tests cannot modify it.

    For tests that only read a run; tests that need a fresh fit use ``small_fit``.
    """
    import shutil

    return Path(shutil.copytree(FIXTURES / "small_run", tmp_path_factory.mktemp("stored") / "run"))
