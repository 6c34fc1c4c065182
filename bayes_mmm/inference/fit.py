"""Fit the model with NUTS and turn the draws into a complete InferenceData.

nutpie is the default sampler; PyMC's own NUTS and numpyro are options.
Convergence is always measured and never hidden: see :func:`convergence`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from bayes_mmm.core.constants import CHANNEL, DATE, TENANT
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import weather_mask
from bayes_mmm.data.lift_tests import dataset_lift_tests
from bayes_mmm.data.sensitivity import dataset_sensitivity
from bayes_mmm.inference.judged import judged, quiet_arviz, sampled_names, unlearnt_cells
from bayes_mmm.inference.posterior import TenantPosterior, posterior_arrays, tenant_posterior
from bayes_mmm.model.design import Design, build_design
from bayes_mmm.model.hierarchical import build_model
from bayes_mmm.model.lift import build_lift
from bayes_mmm.model.parameterisation import (
    CENTRE_MIN_PERIODS,
    centred_tenants,
    design_cells,
    fixed_scale_channels,
    non_centred,
)
from bayes_mmm.model.population import PopulationPrior

SAMPLERS = ("nutpie", "pymc", "numpyro")
#: Default draws and warm-up per chain for designs with at least a year of periods, and for shorter ones.
#: Split R-hat compares halves of chains, so its noise falls with each chain's ESS, not with the number of
#: chains: measured (benchmarks/RESULTS.md §18), 4 × (300 + 1000) converged in one round on three independent
#: scenarios where 2 rounds of 4 × (500 + 500) did not (weibull_adstock still does not).
DRAWS_LONG, DRAWS_SHORT = 1000, 1500
TUNE_LONG, TUNE_SHORT = 300, 500
#: Fewest warm-up draws a fit accepts: below it adaptation has nothing to work with (nutpie panics at 0).
MIN_TUNE = 20
#: A first round whose worst R-hat is above this (or that diverged) is stuck or multimodal: more chains of the
#: same sampler will not fix it, so it is reported as it is rather than topped up.
TOP_UP_RHAT = 1.05


@dataclass(frozen=True)
class SamplerConfig:
    """How to run NUTS.

    Parameters
    ----------
    sampler
        ``"nutpie"`` (default, numba-compiled), ``"pymc"`` or ``"numpyro"``.
    chains, draws, tune
        Chains and kept/warm-up draws per chain. Four chains by default, so that a
        posterior with several modes shows up in R-hat. ``None`` sizes draws or tune to the data
        (:meth:`sized`).
    seed
        Makes the run reproducible (sampling and the baseline draws).
    target_accept
        NUTS target acceptance (0.9 by default: measured to reach ESS ≥ 400 on the default
        universe where 0.8 did not).
    low_rank
        nutpie's low-rank modified mass matrix, for strongly correlated posteriors.
    progress
        Show the sampler's progress bar.
    top_up
        Rounds of ``chains`` fresh chains to add when a round ends short of the convergence
        thresholds only through slow mixing (no divergence, R-hat ≤ :data:`TOP_UP_RHAT`); the
        chains are pooled, and ``summary.json`` → ``sampler.rounds`` says how many ran. 0: off.
        Only when ``draws`` is sized to the data (:meth:`sized`): explicit draws are a budget.
    retry_accept
        After a diverged round, divergent draws being biased, the fit starts over once with fresh
        chains (``None``: never): reparameterised (nothing centred) when the model had centred
        parameters, else at this target acceptance if it is above ``target_accept``.
        Like ``top_up``, only when ``draws`` is sized to the data (:func:`sample`).
    """

    sampler: str = "nutpie"
    chains: int = 4
    draws: int | None = None
    tune: int | None = None
    seed: int = 0
    target_accept: float = 0.9
    low_rank: bool = True
    progress: bool = True
    top_up: int = 1
    retry_accept: float | None = 0.97

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got '{self.sampler}'")
        if self.chains < 2:
            raise ValueError(
                f"chains must be ≥ 2, got {self.chains}: R-hat compares chains, so with one chain convergence cannot be "
                "judged and a stuck or multimodal posterior would pass unseen (use --chains 2 or more)"
            )
        if (self.draws is not None and self.draws < 1) or (self.tune is not None and self.tune < MIN_TUNE):
            raise ValueError(
                f"draws must be ≥ 1 and tune ≥ {MIN_TUNE}, got draws {self.draws}, tune {self.tune}: NUTS needs warm-up "
                "to adapt its step size and mass matrix"
            )
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")
        if self.top_up < 0:
            raise ValueError(f"top_up is a number of extra sampling rounds: it must be ≥ 0, got {self.top_up}")
        if self.retry_accept is not None and not 0 < self.retry_accept < 1:
            raise ValueError(f"retry_accept must be in (0, 1) or None (off), got {self.retry_accept}")


    def sized(self, n_periods: int) -> SamplerConfig:
        """This config with ``draws`` and ``tune`` chosen for a design of ``n_periods`` where left to the data.

        Measured (benchmarks/RESULTS.md §7, §18): with 365 periods or more, 4 × (300 + 1000) reached
        R-hat ≤ 1.01 and bulk ESS ≥ 400 in one round on scenarios where two rounds of 4 × (500 + 500)
        fell short on the slow pooling scales. With fewer periods (weekly data, under a year of daily
        history) those scales mix slower per draw, but each draw is cheaper, so they get
        :data:`DRAWS_SHORT` draws after :data:`TUNE_SHORT` warm-up.
        """
        long = n_periods >= CENTRE_MIN_PERIODS
        tune = self.tune if self.tune is not None else (TUNE_LONG if long else TUNE_SHORT)
        if self.draws is not None:  # draws the caller chose are a budget: no rounds beyond it
            return replace(self, tune=tune, top_up=0, retry_accept=None)
        return replace(self, tune=tune, draws=DRAWS_LONG if long else DRAWS_SHORT)


@dataclass(frozen=True)
class ConvergenceConfig:
    """Thresholds below which a run is flagged not ok."""

    rhat_max: float = 1.01
    ess_bulk_min: float = 400.0
    divergences_max: int = 0


@dataclass
class FitResult:
    """A fitted model: its inputs, draws and timings."""

    design: Design
    idata: az.InferenceData
    sampler: dict
    convergence: dict
    tenants: list[TenantPosterior] = field(repr=False, default_factory=list)
    prior: PopulationPrior | None = None
    #: Weather class per tenant (``{"class", "source", "score"}``), for the go/no-go bar.
    sensitivity: dict[str, dict] = field(default_factory=dict)


def _run_sampler(start: Callable[[], Any]) -> az.InferenceData:
    """Start a background nutpie sampler with ``start()`` and wait for it; Ctrl-C cancels it and propagates.

    nutpie's blocking call turns Ctrl-C into "return the draws so far", so a fit
    would go on and write a run from a fraction of its draws; an interrupt must stop.
    A Ctrl-C while nutpie starts its threads would leave them running (nothing to
    cancel yet) and abort Python's shutdown, so it is held until the sampler exists
    and raised as the hold ends, inside the same cancel.
    """
    sampler = None
    try:
        with _sigint_held():
            sampler = start()
        return sampler.wait()
    except KeyboardInterrupt:
        if sampler is not None:
            sampler.cancel()
        raise


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Block SIGINT in this thread (and threads it starts) for the block; a pending one arrives after it."""
    can = hasattr(signal, "pthread_sigmask")  # not on Windows
    if can:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if can:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _ScratchTempdir:
    """While any compile runs, :mod:`tempfile` points at a directory of our own; the last one out removes it.

    PyTensor's numba backend writes the source of every function it generates to a temporary
    file it never deletes (``pytensor.link.utils.compile_function_src``, ``delete=False``): a fit
    left them in the user's temporary directory (41,000 on our test machine after a few days of fits
    and test runs). The compiled functions do not read them again. ``tempfile.tempdir`` is one
    setting per process, so compiles running at once (a threaded Dask worker) share one directory,
    counted under a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._before: str | None = None
        self._dir: str | None = None
        self._pid = os.getpid()
        # Ctrl-C abandons a compile thread, which dies with the process still inside: remove its scratch then.
        atexit.register(self._at_exit)

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._before = tempfile.tempdir
                self._dir = tempfile.mkdtemp(prefix="bayes-mmm-compile-")
                self._pid = os.getpid()
                tempfile.tempdir = self._dir
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                tempfile.tempdir = self._before
                shutil.rmtree(self._dir, ignore_errors=True)

    def _at_exit(self) -> None:
        # Without the lock: the process is ending, and the compile thread may hold it for good. Only the
        # process that made the folder removes it (a forked child inherits the count, not the folder's use).
        if self._users and self._dir is not None and os.getpid() == self._pid:
            shutil.rmtree(self._dir, ignore_errors=True)


_scratch_tempdir = _ScratchTempdir()


def drop_compile_scratch() -> None:
    """Remove the scratch directory of compiles still running: for a process about to end without finalising."""
    _scratch_tempdir._at_exit()


COMPILE_THREAD = "bayes-mmm-compile"


def compiling() -> bool:
    """Whether a compile thread is still running (one Ctrl-C left behind)."""
    return any(t.name == COMPILE_THREAD and t.is_alive() for t in threading.enumerate())


def _compile_interruptibly(model: pm.Model) -> Any:
    """Compile for nutpie in a daemon thread so Ctrl-C stops the fit at once.

    Numba's LLVM passes hold the main thread in C for tens of seconds on a slow
    machine, and Python handles SIGINT only between bytecodes; waiting in short
    slices keeps the main thread responsive, and a daemon thread dies with the process.
    """
    import nutpie

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            # Ctrl-C goes to the main thread, never into LLVM; an abandoned compile keeps its scratch until it ends.
            with _sigint_held(), _scratch_tempdir:
                box["compiled"] = nutpie.compile_pymc_model(model)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name=COMPILE_THREAD, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    if "error" in box:
        raise box["error"]
    return box["compiled"]


def _round_runner(model: pm.Model, cfg: SamplerConfig) -> Callable[[int, float], az.InferenceData]:
    """Compile ``model`` once; return a function sampling one round of ``cfg.chains`` chains (seed, target accept)."""
    common = {"draws": cfg.draws, "tune": cfg.tune, "chains": cfg.chains, "cores": cfg.chains}
    if cfg.sampler == "nutpie":
        import nutpie

        compiled = _compile_interruptibly(model)
        return lambda seed, accept: _run_sampler(lambda: nutpie.sample(
            compiled, **common, seed=seed, target_accept=accept, low_rank_modified_mass_matrix=cfg.low_rank,
            progress_bar=cfg.progress, save_warmup=False, blocking=False,
        ))
    if cfg.sampler == "numpyro":
        try:
            import numpyro  # noqa: F401
        except ImportError:
            raise ValueError("sampler 'numpyro' needs numpyro and jax: pip install numpyro jax") from None

    def run(seed: int, accept: float) -> az.InferenceData:
        with model:
            return pm.sample(**common, target_accept=accept, random_seed=seed, nuts_sampler=cfg.sampler,
                             progressbar=cfg.progress, compute_convergence_checks=False)

    return run


def divergences(idata: az.InferenceData) -> int:
    """Divergent transitions over all chains (0 when the sampler does not report them)."""
    return int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0


def worth_topping_up(conv: dict) -> bool:
    """Whether more chains can fix a round: short only of ESS or a slightly high R-hat, with no divergence."""
    return not conv["ok"] and conv["divergences"] == 0 and conv["rhat_max"] <= TOP_UP_RHAT


def convergence_advice(conv: dict, sampler: dict) -> str:
    """What to try when a run fell short of the thresholds, from how it fell short.

    ``conv`` is :func:`convergence`'s record, ``sampler`` the run's ``summary.json`` → ``sampler``.
    """
    if conv["divergences"]:
        kept = float(sampler.get("target_accept_kept") or sampler.get("target_accept") or 0.9)
        return (f"Divergent transitions bias the draws: try smaller steps (--target-accept {0.95 if kept < 0.95 else 0.99}; "
                f"this run's kept draws used {kept:g})")
    if conv["rhat_max"] > TOP_UP_RHAT:
        return (f"The chains disagree (R-hat above {TOP_UP_RHAT}), so the posterior may have several modes: read the "
                "identification lines before sampling longer")
    return (f"The chains mix slowly: try {longer_chains(sampler.get('draws'))}; split R-hat compares halves of chains, "
            "so more chains of the same length do not bring it down")


def longer_chains(draws: int | None) -> str:
    """The advice for slow mixing: twice the draws per chain that ran (``None``: the long default's)."""
    return (f"longer chains (--draws {2 * int(draws or DRAWS_LONG)}; an explicit --draws is a budget, with no "
            "top-up round or retry)")


def join_chains(a: az.InferenceData, b: az.InferenceData) -> az.InferenceData:
    """``a``'s chains followed by ``b``'s (renumbered), in every group both have."""
    shift = a.posterior.sizes["chain"]
    b = b.map(lambda ds: ds.assign_coords(chain=ds["chain"].values + shift) if "chain" in ds.dims else ds)
    return az.concat(a, b, dim="chain")


def sample(
    model: pm.Model, cfg: SamplerConfig, conv: ConvergenceConfig | None = None,
    fallback: Callable[[], pm.Model] | None = None, unlearnt: xr.Dataset | None = None,
) -> tuple[az.InferenceData, dict]:
    """Run NUTS on ``model``; return the posterior and timings (compile, sample) and the rounds run.

    Rounds of ``cfg.chains`` fresh chains: a round that falls short only through slow mixing is
    topped up (``cfg.top_up``). Once, when a round diverges, every draw so far is discarded and
    sampling starts over: on ``fallback()`` (the same posterior reparameterised, compiled only
    then) when one is given, else at ``cfg.retry_accept`` (smaller steps). Measured
    (benchmarks/RESULTS.md §14): the divergences were a centred funnel, which smaller steps alone
    did not remove and which doubled the steps per draw. The timings say what ran: ``rounds``
    kept, ``target_accept_kept`` (what the kept draws used), ``retried_divergences`` (the count
    that caused the restart, or 0) and ``retry`` (``"nothing centred"``, ``"smaller steps"`` or None).
    ``unlearnt`` is passed to :func:`convergence`.
    """
    t0 = time.perf_counter()
    run = _round_runner(model, cfg)
    t1 = time.perf_counter()
    accept, discarded, how = cfg.target_accept, 0, None
    retry = cfg.retry_accept is not None and (fallback is not None or cfg.retry_accept > accept)
    idata, rounds = run(cfg.seed, accept), 1
    while True:
        div = divergences(idata)
        if div and not discarded and retry:
            discarded = div
            if fallback is None:
                accept, how = cfg.retry_accept, "smaller steps"
            else:
                run, how = _round_runner(fallback(), cfg), "nothing centred"
            idata, rounds = run(cfg.seed + 500, accept), 1
        elif rounds <= cfg.top_up and worth_topping_up(convergence(idata, conv, unlearnt=unlearnt)):
            idata, rounds = join_chains(idata, run(cfg.seed + 1000 * rounds, accept)), rounds + 1
        else:
            break
    t2 = time.perf_counter()
    timing = {"compile_seconds": round(t1 - t0, 2), "sample_seconds": round(t2 - t1, 2), "seconds": round(t2 - t0, 2),
              "rounds": rounds, "target_accept_kept": accept, "retried_divergences": discarded, "retry": how}
    return idata, timing


def convergence(
    idata: az.InferenceData, cfg: ConvergenceConfig | None = None, worst: int = 5, unlearnt: xr.Dataset | None = None,
) -> dict:
    """R-hat, bulk/tail ESS and divergences with the worst parameters named.

    ``ok`` is False when any R-hat exceeds ``cfg.rhat_max``, any bulk ESS is
    below ``cfg.ess_bulk_min`` or there are more divergences than allowed.
    ``unlearnt`` marks channels a tenant never spent on in training, and the media weather of a tenant
    without weather (:func:`bayes_mmm.inference.judged.unlearnt_cells`): their parameters are draws of the
    prior that nothing reads, so they are not judged.
    """
    cfg = cfg or ConvergenceConfig()
    post = judged(idata.posterior, sampled_names(idata.posterior), unlearnt)
    with warnings.catch_warnings(), quiet_arviz():  # the blanked cells are NaN on purpose
        warnings.simplefilter("ignore")
        summ = az.summary(post, kind="diagnostics", round_to="none")
    summ = summ.dropna(subset=["r_hat"])
    div = divergences(idata)
    steps = None
    for key in ("n_steps", "tree_size"):
        if key in idata.sample_stats:
            steps = float(idata.sample_stats[key].mean())
            break
    rhat_max = float(summ["r_hat"].max()) if len(summ) else float("nan")
    ess_bulk = float(summ["ess_bulk"].min()) if len(summ) else float("nan")
    ok = rhat_max <= cfg.rhat_max and ess_bulk >= cfg.ess_bulk_min and div <= cfg.divergences_max
    bad = summ.sort_values("r_hat", ascending=False).head(worst)
    low = summ.sort_values("ess_bulk").head(worst)
    return {
        "rhat_max": round(rhat_max, 4),
        "ess_bulk_min": round(ess_bulk, 1),
        "ess_tail_min": round(float(summ["ess_tail"].min()), 1) if len(summ) else float("nan"),
        "divergences": div,
        "mean_tree_steps": None if steps is None else round(steps, 1),
        "ok": bool(ok),
        "thresholds": {"rhat_max": cfg.rhat_max, "ess_bulk_min": cfg.ess_bulk_min, "divergences_max": cfg.divergences_max},
        "worst_rhat": {k: round(float(v), 4) for k, v in bad["r_hat"].items()},
        "worst_ess_bulk": {k: round(float(v), 1) for k, v in low["ess_bulk"].items()},
        "n_parameters": len(summ),
    }


def complete_idata(design: Design, idata: az.InferenceData, seed: int) -> tuple[az.InferenceData, list[TenantPosterior]]:
    """Add derived draws, posterior predictive, log-likelihood, observed and constant data.

    Revenue quantities are in currency units. ``log_likelihood`` has one
    ``obs`` dim over the training days of every tenant (coords ``obs_tenant``,
    ``obs_date``), ready for ``az.loo``.
    """
    rng = np.random.default_rng(seed + 7919)
    chains = idata.posterior.sizes["chain"]
    draws = idata.posterior.sizes["draw"]
    post = [tenant_posterior(design, idata.posterior, i, rng) for i in range(len(design.tenants))]
    derived = posterior_arrays(design, post, chains)
    # nutpie also stores unconstrained copies (``sigma_log__``); they add size, not information.
    idata.posterior = idata.posterior.drop_vars([v for v in idata.posterior.data_vars if v.endswith("__")])
    idata.posterior = idata.posterior.assign({k: v.assign_coords(chain=idata.posterior.chain, draw=idata.posterior.draw) for k, v in derived.items()})

    in_range = design.in_range
    y_rep = np.stack([t.y_rep for t in post], axis=1)
    y_rep[:, ~in_range] = np.nan
    coords = {"chain": idata.posterior.chain, "draw": idata.posterior.draw, TENANT: design.tenants, DATE: design.dates}
    pp = xr.Dataset({"revenue": (("chain", "draw", TENANT, DATE), y_rep.reshape(chains, draws, *y_rep.shape[1:]))}, coords=coords)
    ll = np.concatenate([t.loglik for t in post], axis=1).astype(np.float32)  # halves idata.nc; ample for LOO
    obs_t = np.concatenate([np.full(design.train[i].sum(), name) for i, name in enumerate(design.tenants)])
    obs_d = np.concatenate([design.dates[design.train[i]] for i in range(len(design.tenants))])
    loglik = xr.Dataset(
        {"revenue": (("chain", "draw", "obs"), ll.reshape(chains, draws, -1))},
        coords={"chain": idata.posterior.chain, "draw": idata.posterior.draw, "obs": np.arange(ll.shape[1]), "obs_tenant": ("obs", obs_t), "obs_date": ("obs", obs_d)},
    )
    observed = xr.Dataset(
        {"revenue": ((TENANT, DATE), np.where(in_range, design.y_raw, np.nan))},
        coords={TENANT: design.tenants, DATE: design.dates},
    )
    media = np.stack([t.media_mean for t in post])  # (N, C, T)
    base = np.stack([t.baseline_mean for t in post])  # (N, T)
    seen = np.array([s.temp_range if s.temp_range and w else (np.nan, np.nan)
                     for s, w in zip(design.weather_stats, design.has_weather, strict=True)], dtype=float)  # (N, 2)
    const = xr.Dataset(
        {
            "spend": ((TENANT, CHANNEL, DATE), design.spend),
            "train": ((TENANT, DATE), design.train),
            "in_range": ((TENANT, DATE), design.in_range),  # each tenant's own first..last period
            "y_scale": ((TENANT,), design.y_scale),
            "spend_scale": ((TENANT, CHANNEL), design.spend_scale),
            "temp_mean": ((TENANT,), [s.temp_mean for s in design.weather_stats]),
            "temp_sd": ((TENANT,), [s.temp_sd for s in design.weather_stats]),
            "rain_mean": ((TENANT,), [s.rain_mean for s in design.weather_stats]),
            "rain_sd": ((TENANT,), [s.rain_sd for s in design.weather_stats]),
            # The training range, so a plan can tell a forecast the model never saw (NaN: no weather).
            "temp_min": ((TENANT,), seen[:, 0]),
            "temp_max": ((TENANT,), seen[:, 1]),
            "media_weather": ((TENANT, DATE, "weather"), design.zw),
            "has_weather": ((TENANT,), design.has_weather),
            "contribution_mean": ((TENANT, CHANNEL, DATE), media),
            "baseline_mean": ((TENANT, DATE), base),
            "fitted_mean": ((TENANT, DATE), np.stack([t.mu_mean for t in post])),
        },
        coords={TENANT: design.tenants, CHANNEL: design.channels, DATE: design.dates, "weather": ["temp_c", "precip_mm"]},
    )
    # The model settings live in summary.json config.spec only (bayes_mmm.runs.folder.RunFolder.spec).
    idata.add_groups(posterior_predictive=pp, log_likelihood=loglik, observed_data=observed, constant_data=const)
    return idata, post


def effective_spec(
    spec: ModelSpec | None, n_tenants: int, prior: PopulationPrior | None = None, any_weather: bool = True
) -> ModelSpec:
    """The model settings a fit really uses.

    A population prior brings its source run's settings. One tenant has nobody to
    pool with, and a hierarchy over one member is a funnel (measured: 59–85
    divergences on a 90-day tenant), so it is fitted unpooled — the unpooled prior
    has the same variance. When no tenant has weather columns (``any_weather``
    False) and the seasonal stand-in is off, media has no weather multiplier: its
    sensitivities would be sampled from their prior alone, a hierarchy with nothing to learn.
    """
    if prior is not None:
        return prior.spec
    spec = spec or ModelSpec()
    if spec.pooled and n_tenants == 1:
        spec = replace(spec, pooled=False)
    return spec if any_weather or spec.seasonal_media or not spec.weather_media else replace(spec, weather_media=False)


def centred_record(design: Design, prior: PopulationPrior | None = None) -> dict[str, Any]:
    """``centred``: tenants per centred parameter; ``non_centred_channels``: ``tenant:channel`` the data cannot inform.

    The second lists the cells of a centred tenant kept non-centred because their spend never varies;
    ``fixed_pool_scale`` the channels whose pooling scales are held at the prior's (too few tenants spend on them),
    ``fixed_roas_pool_scale`` the others whose ROAS scale is (too few tenants' data show them); none under a
    population ``prior``, which replaces pooling.
    """
    spec = design.spec
    tenants = centred_tenants(spec.centered, design.n_train)
    cells = design_cells(design)
    out: dict[str, Any] = {"centred": {p: [t for t, c in zip(design.tenants, m, strict=True) if c]
                                       for p, m in tenants.items() if m.any()}}
    kept = [f"{t}:{ch}" for p in tenants for i, t in enumerate(design.tenants) for j, ch in enumerate(design.channels)
            if tenants[p][i] and not cells[p][i, j]]
    if kept:
        out["non_centred_channels"] = sorted(set(kept))
    if spec.pooled and spec.media and prior is None:
        fixed, fixed_roas = fixed_scale_channels(design), fixed_scale_channels(design, roas=True)
        for key, held in (("fixed_pool_scale", fixed), ("fixed_roas_pool_scale", fixed_roas & ~fixed)):
            if held.any():
                out[key] = [ch for ch, f in zip(design.channels, held, strict=True) if f]
    return out


def fit(
    ds: xr.Dataset,
    spec: ModelSpec | None = None,
    sampler: SamplerConfig | None = None,
    train: np.ndarray | None = None,
    conv: ConvergenceConfig | None = None,
    prior: PopulationPrior | None = None,
    lift_tests: pd.DataFrame | None = None,
) -> FitResult:
    """Build, sample and complete the hierarchical MMM of a loaded lake.

    Parameters
    ----------
    ds
        A dataset from :func:`bayes_mmm.data.lake.load_lake`.
    spec, sampler, conv
        Model, sampler and convergence settings (defaults if omitted).
    train
        Optional ``(tenant, date)`` mask of training days (walk-forward CV).
    prior
        A population prior (:func:`bayes_mmm.runs.population.population_prior`) to
        cold-start tenants from an earlier joint fit; its model settings are used.
    lift_tests
        Experiments in the likelihood (tidy table of :mod:`bayes_mmm.data.lift_tests`); None reads
        the lake ``ds`` was loaded from (each tenant's ``lift_tests.csv``), an empty table uses none.
        Only tests whose window lies inside the training days enter (:func:`bayes_mmm.model.lift.build_lift`).
    """
    spec = effective_spec(spec, ds.sizes[TENANT], prior, bool(weather_mask(ds).any()))
    sens = dataset_sensitivity(ds, train)  # before sampling: a bad tenant.json fails fast
    design = build_design(ds, spec, train)
    sampler = (sampler or SamplerConfig()).sized(int(design.n_train.max()))
    design.lift = build_lift(design, dataset_lift_tests(ds) if lift_tests is None else lift_tests) if spec.media else None
    model = build_model(design, prior)
    plain = non_centred(design)
    unlearnt = unlearnt_cells(design.spend, design.train, design.tenants, design.channels, design.zw)
    idata, timing = sample(model, sampler, conv, None if plain is None else lambda: build_model(plain, prior), unlearnt)
    used = plain if plain is not None and timing["retried_divergences"] else design
    idata, post = complete_idata(design, idata, sampler.seed)
    info = {
        "name": sampler.sampler,
        "chains": sampler.chains,  # per round; timing's "rounds" says how many rounds ran
        "draws": sampler.draws,
        "tune": sampler.tune,
        "seed": sampler.seed,
        "target_accept": sampler.target_accept,  # as configured; timing's target_accept_kept is what ran
        # The parameterisation actually used (the default decides from each tenant's data; a
        # diverged first round is run again with nothing centred).
        **centred_record(used, prior),
        **timing,
    }
    return FitResult(
        design=design, idata=idata, sampler=info, convergence=convergence(idata, conv, unlearnt=unlearnt), tenants=post, prior=prior,
        sensitivity=sens,
    )
