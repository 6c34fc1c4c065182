"""Experiment tracking: log a run folder's settings, metrics and files to MLflow (``--mlflow``).

MLflow is optional (``pip install 'bayes-mmm[tracking]'``) and imported only here, lazily.
The usual MLflow conventions apply: the tracking store comes from ``MLFLOW_TRACKING_URI``;
an active run (``mlflow.start_run()`` in a notebook or a wrapping script) receives the
logs; otherwise a new run is started in the experiment named by ``--mlflow-experiment``
or ``MLFLOW_EXPERIMENT_NAME`` (MLflow's ``Default`` when neither is set).

Keys
    Parameters: ``run_id``, ``config_hash``, ``spec.<field>`` (priors flattened, e.g.
    ``spec.priors.roas_pool``), ``sampler.<setting>``, ``data.start|end|cadence|n_tenants|
    channels|hash|lake``. Metrics of a fit: ``rhat_max``, ``ess_bulk_min``, ``ess_tail_min``,
    ``divergences``, ``converged``, ``sampler.seconds`` (and ``sample_seconds``,
    ``compile_seconds``), ``loo.elpd|se|p_loo``, ``r2.<tenant>``, ``mape.<tenant>``.
    Grouped runs (``fit --group-size``) add, per group ``<g>``, the parameters
    ``group.<g>.status|tenants|attempts|run_id|error``, the metrics of the group's own
    fit as ``group.<g>.rhat_max`` … ``group.<g>.loo.elpd`` and the group folder's files
    under the artifact directory ``groups/<g>/``.
    Tenant ids and channel names are user input: each part of a key is reduced to
    MLflow's safe characters, with a short hash appended whenever that changed it, so two
    different names never share a key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bayes_mmm.core.errors import DataError
from bayes_mmm.runs.folder import ALLOCATION, EVALUATION, IDATA, MODEL_CARD, MONITOR, REPORT, SUMMARY, RunFolder

INSTALL = "pip install 'bayes-mmm[tracking]'"
#: Run-folder files logged by default (when present); ``idata.nc`` only with ``artifacts="all"``.
ARTIFACTS = (SUMMARY, MODEL_CARD, REPORT, EVALUATION, ALLOCATION, MONITOR)
ARTIFACT_CHOICES = ("default", "all")
#: Characters kept in one part of a key: a subset of MLflow's on every OS (no ``/`` or ``:``),
#: without ``.``, which separates the parts.
UNSAFE = re.compile(r"[^A-Za-z0-9_\- ]")
MAX_PART, MAX_VALUE = 100, 5000  # MLflow: keys ≤ 250, parameter values ≤ 6000 characters
PARAM_BATCH, METRIC_BATCH = 100, 1000  # MLflow's per-request limits


def require_mlflow() -> Any:
    """The ``mlflow`` module; a one-line DataError naming the extra to install when it is missing."""
    try:
        import mlflow
    except ImportError:
        raise DataError("--mlflow needs the mlflow package, which is not installed", hint=INSTALL) from None
    return mlflow


def key_part(name: Any) -> str:
    """``name`` as one part of an MLflow key: safe characters only, plus a hash of the original if it had to change."""
    text = str(name)
    clean = UNSAFE.sub("_", text)[:MAX_PART]
    if clean == text and clean.strip():
        return clean
    return f"{clean}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


def mlflow_key(*parts: Any) -> str:
    """A valid MLflow parameter or metric key from its parts, joined by ``.``."""
    return ".".join(key_part(p) for p in parts)


def param_value(value: Any) -> str:
    """A parameter as MLflow stores it: strings as they are, everything else as JSON (``200``, ``true``, ``[1.0, 5.0]``)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def flatten(obj: Any, *prefix: str) -> dict[str, str]:
    """Nested dicts as ``{"a.b.c": value}`` parameters (lists and scalars are leaves)."""
    if isinstance(obj, Mapping) and obj:
        out: dict[str, str] = {}
        for k, v in obj.items():
            out.update(flatten(v, *prefix, k))
        return out
    return {mlflow_key(*prefix): param_value(obj)}


def run_params(summary: dict) -> dict[str, str]:
    """Parameters of a run: its identity, model spec (priors included), sampler settings and data window."""
    data = summary.get("data") or {}
    sampler = {k: v for k, v in (summary.get("sampler") or {}).items() if not k.endswith("seconds")}
    params = {
        "run_id": param_value(summary.get("run_id")),
        "config_hash": param_value(summary.get("config_hash")),
        "bayes_mmm_version": param_value(summary.get("bayes_mmm_version")),
        **flatten(((summary.get("config") or {}).get("spec") or {}), "spec"),
        **flatten(sampler, "sampler"),
        **{mlflow_key("data", k): param_value(data[k]) for k in ("start", "end", "cadence", "hash", "lake", "channels") if k in data},
        "data.n_tenants": param_value(len(data.get("tenants") or summary.get("tenants") or [])),
    }
    if summary.get("parent"):
        params["parent.run_id"] = param_value(summary["parent"].get("run_id"))
    return params


def _numbers(pairs: Iterable[tuple[str, Any]]) -> dict[str, float]:
    """The pairs whose value is a number (``None`` and missing entries are left out)."""
    return {k: float(v) for k, v in pairs if isinstance(v, int | float) and not isinstance(v, bool)}


def _run_pairs(summary: dict) -> list[tuple[str, Any]]:
    """Convergence, sampling time and LOO of a run summary, as (key, value) pairs."""
    conv, sampler, loo = (summary.get(k) or {} for k in ("convergence", "sampler", "loo"))
    pairs = [(k, conv.get(k)) for k in ("rhat_max", "ess_bulk_min", "ess_tail_min", "divergences")]
    pairs += [("converged", int(conv["ok"]))] if isinstance(conv.get("ok"), bool) else []
    pairs += [(f"sampler.{k}", sampler.get(k)) for k in ("seconds", "sample_seconds", "compile_seconds", "group_seconds")]
    return pairs + [(f"loo.{k}", loo.get(k)) for k in ("elpd", "se", "p_loo", "pareto_k_over_0_7")]


def fit_metrics(summary: dict) -> dict[str, float]:
    """Convergence, sampling time, LOO and each tenant's in-sample ``r2``/``mape`` of a run summary."""
    pairs = _run_pairs(summary)
    for tid, entry in (summary.get("tenants") or {}).items():
        fit = entry.get("fit") or {}
        pairs += [(mlflow_key(m, tid), fit.get(m)) for m in ("r2", "mape")]
    return _numbers(pairs)


def cv_metrics(summary: dict, pass_rate: float | None = None) -> dict[str, float]:
    """Each tenant's walk-forward ``cv.r2_mean``/``cv.mape_mean``/``cv.go`` and the pass rate."""
    pairs: list[tuple[str, Any]] = [("cv.pass_rate", pass_rate)]
    for tid, entry in (summary.get("tenants") or {}).items():
        cv = entry.get("cv") or {}
        pairs += [(mlflow_key("cv", m, tid), cv.get(m)) for m in ("r2_mean", "mape_mean")]
        go = (cv.get("verdict") or {}).get("go")
        pairs += [(mlflow_key("cv", "go", tid), int(go))] if isinstance(go, bool) else []
    return _numbers(pairs)


def monitor_params(report: dict) -> dict[str, str]:
    """The checked window of a monitor report."""
    checked = report.get("checked") or {}
    return {**{mlflow_key("monitor", k): param_value(v) for k, v in checked.items()},
            "monitor.lake": param_value(report.get("lake"))}


def monitor_metrics(report: dict, actions: Sequence[str]) -> dict[str, float]:
    """Each tenant's new-period ``r2``/``mape``/``coverage_90`` (and reference R²) and how many tenants got each action."""
    tenants = report.get("tenants") or {}
    pairs: list[tuple[str, Any]] = []
    for tid, e in tenants.items():
        pairs += [(mlflow_key("monitor", m, tid), e.get(m)) for m in ("r2", "mape", "coverage_90")]
        pairs += [(mlflow_key("monitor", "reference_r2", tid), (e.get("reference") or {}).get("r2_on_new_periods"))]
    counts = [e.get("action") for e in tenants.values()]
    pairs += [(mlflow_key("monitor", "actions", a), counts.count(a)) for a in actions]
    return _numbers(pairs)


def group_params(summary: dict) -> dict[str, str]:
    """Each group's status, tenants and attempts, with its run id (fitted) or error (failed)."""
    params: dict[str, str] = {}
    for g in summary.get("groups") or []:
        for k in ("status", "tenants", "attempts", "run_id", "error"):
            if g.get(k) is not None:
                params[mlflow_key("group", g["id"], k)] = param_value(g[k])
    return params


def fitted_groups(run_dir: str | Path) -> list[tuple[str, RunFolder]]:
    """``(group id, folder)`` of each fitted group of a grouped run; empty for a joint run."""
    folder = RunFolder(run_dir)
    summary = folder.summary()
    ok = [g for g in summary.get("groups") or [] if g["status"] == "ok"]
    # run_folders() resolves (and checks) the same ok groups in the same order
    return [(g["id"], f) for g, f in zip(ok, folder.run_folders(), strict=True)] if ok else []


def group_metrics(run_dir: str | Path) -> dict[str, float]:
    """Convergence, sampling time and LOO of each fitted group, read from its own summary (``group.<g>.<metric>``)."""
    out: dict[str, float] = {}
    for gid, f in fitted_groups(run_dir):
        out.update(_numbers((mlflow_key("group", gid) + "." + k, v) for k, v in _run_pairs(f.summary())))
    return out


def group_artifacts(run_dir: str | Path, artifacts: str = "default") -> list[tuple[Path, str]]:
    """Each fitted group's files with the artifact directory they go to (``groups/<g>``)."""
    return [(p, "/".join(("groups", key_part(gid)))) for gid, f in fitted_groups(run_dir) for p in run_artifacts(f.path, artifacts)]


def run_artifacts(run_dir: str | Path, artifacts: str = "default", extra: Sequence[str | Path] = ()) -> list[Path]:
    """The run folder's files to log (those present), ``extra`` files after them; ``idata.nc`` with ``"all"``."""
    if artifacts not in ARTIFACT_CHOICES:
        raise DataError(f"--mlflow-artifacts must be one of {', '.join(ARTIFACT_CHOICES)}, got {artifacts!r}")
    names = (*ARTIFACTS, IDATA) if artifacts == "all" else ARTIFACTS
    files = [Path(run_dir) / n for n in names] + [Path(p) for p in extra]
    seen: list[Path] = []
    for f in files:
        if f.is_file() and f.resolve() not in {s.resolve() for s in seen}:
            seen.append(f)
    return seen


def _chunks(items: dict, size: int) -> Iterable[dict]:
    keys = list(items)
    for i in range(0, len(keys), size):
        yield {k: items[k] for k in keys[i : i + size]}


def log_run(
    params: dict[str, str],
    metrics: dict[str, float],
    files: Sequence[Path | tuple[Path, str]],
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Log to the active MLflow run, or to a new run in ``experiment``; returns the MLflow run id.

    Parameters
    ----------
    params, metrics
        Keys from :func:`mlflow_key`; values from :func:`param_value` and floats.
    files
        Logged as artifacts under their file names; a ``(path, directory)`` pair goes to that artifact directory.
    experiment
        Experiment of a new run (else ``MLFLOW_EXPERIMENT_NAME`` or MLflow's default);
        ignored when a run is active, which is where the caller asked the logs to go.
    """
    mlflow = require_mlflow()
    from mlflow.exceptions import MlflowException

    try:
        active = mlflow.active_run()
        if active is not None:
            _log(mlflow, params, metrics, files, tags)
            return active.info.run_id
        if experiment:
            mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name) as run:
            _log(mlflow, params, metrics, files, tags)
        return run.info.run_id
    except MlflowException as exc:  # e.g. a parameter the active run already holds with another value
        first = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0][:300]
        raise DataError(f"MLflow refused the logs: {first}",
                        hint="log to a new run (end the active one), or check MLFLOW_TRACKING_URI") from None


def _log(mlflow: Any, params: dict, metrics: dict, files: Sequence[Path | tuple[Path, str]], tags: dict | None) -> None:
    for chunk in _chunks(params, PARAM_BATCH):
        mlflow.log_params(chunk)
    for chunk in _chunks(metrics, METRIC_BATCH):
        mlflow.log_metrics(chunk)
    if tags:
        mlflow.set_tags(tags)
    for f in files:
        path, directory = f if isinstance(f, tuple) else (f, None)
        mlflow.log_artifact(str(path), directory)
