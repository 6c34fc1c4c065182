"""Many tenants: fit tenant groups as Dask tasks and merge them into one run.

One joint model over thousands of merchants does not fit one machine, and
most of what pooling buys comes from a few dozen similar tenants. So a large
lake is partitioned into groups (by category, city, a data-derived
weather-sensitivity class, or at random, each at most ``max_size`` tenants),
every group is fitted as its own hierarchical model in a Dask task — on a
local cluster sized to the machine, or on any ``dask.distributed`` cluster —
and the results are merged into one run folder::

    <run>/summary.json          merged: every tenant, per-group convergence, `groups` list
    <run>/groups/g000/          an ordinary run folder (idata.nc + summary.json)
    <run>/groups/g001/ ...

A failed group is reported and retried; the others are kept either way. Every
command that takes ``--run`` works on a group folder, and ``--prior-from``
takes the merged run (its groups' population posteriors are pooled).

On a multi-machine cluster the lake and the run folder's parent must be on
storage every worker sees (NFS, a mounted bucket): workers read the lake and
write their group folder themselves, so gigabytes of draws never pass
through the scheduler.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bayes_mmm import __version__
from bayes_mmm.core import atomic
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import load_lake, read_tenant_meta, resolve_tenants
from bayes_mmm.data.sensitivity import weather_class
from bayes_mmm.model.adstock_screen import written
from bayes_mmm.runs.folder import GROUPS_DIR, RunFolder, not_a_run
from bayes_mmm.runs.lift import lift_calibration
from bayes_mmm.runs.summary import SAMPLER_KEYS, config_hash

GROUP_BY = ("random", "category", "city", "weather")


def partition(
    lake: str | Path,
    tenants: str | Sequence[str] = "all",
    by: str = "random",
    max_size: int = 20,
    seed: int = 0,
) -> list[list[str]]:
    """Split a lake's tenants into groups of at most ``max_size``.

    Parameters
    ----------
    lake
        Lake folder.
    tenants
        ``"all"`` or tenant ids.
    by
        ``random``; ``category`` or ``city`` (from ``tenant.json``, missing →
        ``unknown``); or ``weather`` (:func:`weather_class`). Tenants sharing
        a key are split into as few near-equal groups as ``max_size`` allows.
    max_size
        Largest group; 15–30 keeps one fit to a few minutes and is enough to pool.
    seed
        Order of tenants within a key (and of the random partition).
    """
    if by not in GROUP_BY:
        raise ValueError(f"group-by must be one of {GROUP_BY}, got '{by}'")
    if max_size < 1:
        raise ValueError(f"max group size must be ≥ 1, got {max_size}")
    ids = resolve_tenants(lake, tenants)
    if by == "random":
        keys = dict.fromkeys(ids, "all")
    elif by == "weather":
        keys = weather_class(lake, ids)
    else:
        keys = {t: str(read_tenant_meta(Path(lake) / t).get(by) or "unknown") for t in ids}
    rng = np.random.default_rng(seed)
    groups: list[list[str]] = []
    for key in sorted(set(keys.values())):
        members = [t for t in ids if keys[t] == key]
        members = [members[i] for i in rng.permutation(len(members))]
        for chunk in np.array_split(np.array(members, dtype=object), math.ceil(len(members) / max_size)):
            groups.append(sorted(chunk.tolist()))
    return groups


def _malloc_for_sampling() -> None:
    """Undo dask's worker malloc setting, which makes NUTS spend most of its time in the kernel.

    Dask nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536``; setting any
    threshold turns off glibc's adaptive mmap threshold, so every large
    temporary of each gradient evaluation becomes an mmap/munmap pair plus page
    faults (measured: 70 % system time, sampling ~3× slower). Restore large
    thresholds for this process; harmless where glibc is not in use.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD (glibc's maximum on 64-bit)
    except (OSError, AttributeError):
        pass


def fit_group(lake: str, tenants: list[str], folder: str, spec: dict, sampler: dict) -> dict:
    """Fit one group and write its run folder; runs inside a Dask worker.

    Returns the group's summary (small enough to travel back to the client).
    """
    os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")
    _malloc_for_sampling()
    from bayes_mmm.core.spec import ModelSpec
    from bayes_mmm.inference.fit import SamplerConfig, fit
    from bayes_mmm.runs.summary import save_run

    result = fit(load_lake(lake, tenants), ModelSpec.from_dict(spec), SamplerConfig(**{**sampler, "progress": False}))
    check_not_cancelled(folder)
    return save_run(result, folder, lake=lake, overwrite=True)


def run_group(lake: str, tenants: list[str], folder: str, spec: dict, sampler: dict) -> dict:
    """The task a worker runs: skip a group whose run was cancelled while it was queued, else fit it.

    Dask's cancel is asynchronous, so a queued group can still start after Ctrl-C; it must not fit.
    """
    check_not_cancelled(folder)
    return fit_group(lake, tenants, folder, spec, sampler)


def check_not_cancelled(folder: str | Path) -> None:
    """Refuse to write a group whose run was interrupted meanwhile.

    A task already running on a remote worker cannot be stopped; when the client's
    temporary run folder is gone (Ctrl-C, an error), writing would re-create it.
    """
    if not Path(folder).parent.is_dir():
        raise RuntimeError(f"the run this group belongs to was cancelled; not writing {folder}")


def cancel(client: Any, futures: Sequence[Any]) -> None:
    """Cancel submitted group fits: queued ones never start, running ones are released (see :func:`check_not_cancelled`)."""
    if futures:
        client.cancel(list(futures), force=True)


def _cluster(scheduler: Any, n_workers: int | None, chains: int):
    """A ``(client, owned)`` pair: connect to ``scheduler`` or start a local cluster."""
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        return scheduler, False  # an existing Client
    if scheduler:
        try:
            return Client(scheduler), True
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}: {exc}); start one with "
                "`dask scheduler` and `dask worker ADDRESS`, or leave --scheduler out for a local cluster"
            ) from None
    # nutpie runs each group's chains on threads of its own: one task per `chains` cores.
    n = n_workers or max(1, (os.cpu_count() or 1) // max(chains, 1))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0)
    return Client(cluster), True


def fit_groups(
    data: str | Path,
    out: str | Path,
    tenants: str | Sequence[str] = "all",
    by: str = "random",
    max_size: int = 20,
    spec_kwargs: dict[str, Any] | None = None,
    sampler_kwargs: dict[str, Any] | None = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    retries: int = 1,
    overwrite: bool = False,
    console: Any | None = None,
) -> dict:
    """Partition a lake, fit every group on Dask, and merge the groups into one run folder.

    Parameters
    ----------
    data, out
        Lake folder and run folder to create (atomically: a failed or
        interrupted run leaves nothing behind).
    tenants, by, max_size
        Which tenants and how to group them (:func:`partition`).
    spec_kwargs, sampler_kwargs
        As for :func:`bayes_mmm.api.fit_lake`; every group uses the same.
    scheduler
        ``None`` for a local cluster of ``n_workers`` (default: cores ÷ chains),
        a scheduler address (``tcp://host:8786``), or a ``distributed.Client``.
    retries
        How many times a failed group is submitted again before it is given up.

    Returns
    -------
    dict
        The merged summary (summary.json's content).
    """
    from distributed import as_completed

    from bayes_mmm.inference.fit import SamplerConfig
    from bayes_mmm.runs.summary import data_hash

    spec = ModelSpec(**(spec_kwargs or {}))
    sampler = SamplerConfig(**(sampler_kwargs or {}))
    atomic.ensure_writable(out, overwrite, inputs=(data,), foreign=not_a_run)
    data = Path(data).resolve()
    groups = partition(data, tenants, by, max_size, seed=sampler.seed)
    spec, screen = screened_spec(spec, data, groups)
    ids = [f"g{k:03d}" for k in range(len(groups))]
    say = console.print if console is not None else (lambda *a, **k: None)
    say(f"{sum(map(len, groups))} tenants in {len(groups)} groups (by {by}, ≤ {max_size} each): "
        + ", ".join(f"{g} ({len(m)})" for g, m in zip(ids, groups, strict=True)))
    t0 = time.perf_counter()
    client, owned = _cluster(scheduler, n_workers, sampler.chains)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    attempts = dict.fromkeys(ids, 1)
    submitted: list[Any] = []
    try:
        say(f"Dask scheduler {client.scheduler.address} with {len(client.scheduler_info()['workers'])} workers")
        with atomic.folder(out, overwrite=overwrite) as tmp:
            folder = {g: str((tmp / RunFolder.group_folder_name(g)).resolve()) for g in ids}
            (tmp / GROUPS_DIR).mkdir()  # its presence tells a worker the run is still wanted

            owner: dict[str, str] = {}

            def submit(g: str):
                fut = client.submit(
                    run_group, str(data), groups[ids.index(g)], folder[g], spec.to_dict(),
                    {**sampler.__dict__}, key=f"fit-{g}-{attempts[g]}-{os.getpid()}-{time.time_ns()}", pure=False,
                )
                owner[fut.key] = g
                submitted.append(fut)
                return fut

            pending = as_completed([submit(g) for g in ids])
            with _progress(console) as bar:
                task = bar.add_task("groups", total=len(ids)) if bar is not None else None
                for fut in pending:
                    g = owner[fut.key]
                    if fut.status == "error":
                        exc = fut.exception()
                        if attempts[g] <= retries:
                            attempts[g] += 1
                            say(f"[yellow]group {g} failed ({type(exc).__name__}: {exc}); "
                                f"retrying ({attempts[g] - 1}/{retries})[/]")
                            pending.add(submit(g))
                            continue
                        errors[g] = f"{type(exc).__name__}: {exc}"
                        say(f"[bold red]group {g} failed after {attempts[g]} attempts:[/] {errors[g]}")
                    else:
                        results[g] = fut.result()
                        c = results[g]["convergence"]
                        say(f"group {g} ({len(groups[ids.index(g)])} tenants) "
                            f"{'[green]converged[/]' if c['ok'] else '[bold yellow]NOT converged[/]'}: "
                            f"R-hat {c['rhat_max']}, ESS {c['ess_bulk_min']}, {c['divergences']} div, "
                            f"{results[g]['sampler']['seconds']} s")
                    if bar is not None:
                        bar.advance(task)
            if not results:
                raise RuntimeError(f"every group failed; first error: {next(iter(errors.values()))}")
            wall = time.perf_counter() - t0
            merged = merge(ids, groups, results, errors, attempts, {"by": by, "max_size": max_size}, wall)
            merged["data"]["lake"] = str(data)
            merged["data"]["hash"] = data_hash(data, merged["data"]["tenants"])
            if screen is not None:
                merged["adstock_screen"] = written(screen)
            RunFolder(tmp).write_summary(merged)
    except BaseException:  # Ctrl-C or an error: no group may go on fitting for a run that will not be written
        cancel(client, submitted)
        raise
    finally:
        if owned:
            client.close()
            if client.cluster is not None:
                client.cluster.close()
    return RunFolder(out).summary()


def screened_spec(spec: ModelSpec, data: Path, groups: list[list[str]]) -> tuple[ModelSpec, dict | None]:
    """``spec`` with the adstock screen decided once over every group's tenants, and its evidence.

    Groups fitted with different carry-over shapes could not share a population prior or one
    summary, so the screen (:mod:`bayes_mmm.model.adstock_screen`) runs here, a group's screen
    inputs at a time (no noise fits or QR: the workers build the designs), and every group gets its verdict. Any other adstock comes back unchanged with None.
    """
    from dataclasses import replace

    from bayes_mmm.model.adstock_screen import combine_screens
    from bayes_mmm.model.design import screen_design

    if spec.adstock != "screen" or not spec.media:
        return spec, None
    screens = []
    for members in groups:
        try:
            screens.append(screen_design(load_lake(data, members), spec)[1])
        except ValueError:  # e.g. a tenant without training days: its group fails on the worker, reported there
            continue
    found = combine_screens(screens)
    return replace(spec, adstock=found["chosen"]), found


def _progress(console: Any | None):
    """A rich progress bar over groups (a no-op context without a console)."""
    import contextlib

    if console is None:
        return contextlib.nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("fitting groups"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def held_pool_scales(summaries: list[dict]) -> dict[str, list[str]]:
    """Channels whose pooling scales some group held (each group's summary names its own); a channel every scale of
    which some group held is not listed again among those whose ROAS scale alone another group held."""
    every = list(dict.fromkeys(c for s in summaries for c in s["sampler"].get("fixed_pool_scale", [])))
    roas = [c for c in dict.fromkeys(c for s in summaries for c in s["sampler"].get("fixed_roas_pool_scale", [])) if c not in every]
    return {k: v for k, v in (("fixed_pool_scale", every), ("fixed_roas_pool_scale", roas)) if v}


def merge(
    ids: list[str],
    groups: list[list[str]],
    results: dict[str, dict],
    errors: dict[str, str],
    attempts: dict[str, int],
    grouping: dict,
    seconds: float,
) -> dict:
    """One summary (data contract §3) over the groups' summaries, plus a ``groups`` list.

    Convergence is the worst over groups (``ok`` only if every group is ok
    and none failed); LOO elpd and p_loo add up over groups (their data are
    disjoint), their standard errors add in quadrature.
    """
    ok = [results[g] for g in ids if g in results]
    first = ok[0]
    conv = [s["convergence"] for s in ok]
    worst = sorted(((f"{g}:{k}", v) for g in results for k, v in results[g]["convergence"]["worst_rhat"].items()),
                   key=lambda kv: -kv[1])[:5]
    low = sorted(((f"{g}:{k}", v) for g in results for k, v in results[g]["convergence"]["worst_ess_bulk"].items()),
                 key=lambda kv: kv[1])[:5]
    convergence = {
        "rhat_max": max(c["rhat_max"] for c in conv),
        "ess_bulk_min": min(c["ess_bulk_min"] for c in conv),
        "ess_tail_min": min(c["ess_tail_min"] for c in conv),
        "divergences": sum(c["divergences"] for c in conv),
        "ok": all(c["ok"] for c in conv) and not errors,
        "thresholds": first["convergence"]["thresholds"],
        "worst_rhat": dict(worst),
        "worst_ess_bulk": dict(low),
        "groups_ok": sum(c["ok"] for c in conv),
        "groups_failed": len(errors),
    }
    loos = [s["loo"] for s in ok]
    loo = {
        "elpd": round(sum(x["elpd"] for x in loos), 2),
        "se": round(float(np.sqrt(sum(x["se"] ** 2 for x in loos))), 2),
        "p_loo": round(sum(x["p_loo"] for x in loos), 2),
        "pareto_k_over_0_7": sum(x["pareto_k_over_0_7"] for x in loos),
        "n": sum(x["n"] for x in loos),
    }
    tenants, group_list = {}, []
    for g, members in zip(ids, groups, strict=True):
        entry = {"id": g, "folder": RunFolder.group_folder_name(g), "tenants": members, "attempts": attempts[g]}
        if g in results:
            s = results[g]
            entry.update(status="ok", convergence=s["convergence"], sampler=s["sampler"], run_id=s["run_id"])
            for tid, t in s["tenants"].items():
                tenants[tid] = {**t, "group": g}
        else:
            entry.update(status="failed", error=errors[g])
        group_list.append(entry)
    config = {**first["config"], "grouping": grouping}
    chash = config_hash(config)
    channels = list(dict.fromkeys(c for s in ok for c in s["data"]["channels"]))
    return {
        "run_id": f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-groups{len(ids)}-{chash[:6]}",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bayes_mmm_version": __version__,
        "data": {
            "lake": first["data"]["lake"],
            "tenants": list(tenants),
            "channels": channels,
            "start": min(s["data"]["start"] for s in ok),
            "end": max(s["data"]["end"] for s in ok),
        },
        "config": config,
        "config_hash": chash,
        "sampler": {
            **{k: first["sampler"][k] for k in SAMPLER_KEYS},
            # Sized to each group's data: the fewest any group ran (``groups[*].sampler`` has each group's own).
            **{k: min(s["sampler"][k] for s in ok) for k in ("draws", "tune") if all(s["sampler"].get(k) is not None for s in ok)},
            "seconds": round(seconds, 2),
            "group_seconds": round(sum(s["sampler"]["seconds"] for s in ok), 2),
            "rounds": max(s["sampler"].get("rounds", 1) for s in ok),
            **held_pool_scales(ok),
        },
        "convergence": convergence,
        "loo": loo,
        "tenants": tenants,
        "groups": group_list,
        **({"lift_calibration": calibration} if (calibration := lift_calibration(tenants)) else {}),
    }


def run_folders(run_dir: str | Path) -> list[Path]:
    """The folders holding posteriors: the run itself, or each group that was fitted (see :class:`RunFolder`)."""
    return [f.path for f in RunFolder(run_dir).run_folders()]


def group_of(run_dir: str | Path, tenant: str | None = None) -> Path:
    """The run folder holding ``tenant``: the run itself, or its group folder for a grouped run."""
    return RunFolder(run_dir).group_of(tenant).path
