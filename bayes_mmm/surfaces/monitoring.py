"""The report's "Monitoring" section (monitor.json in the run folder) and a refreshed run's ROAS moves vs its parent."""

from __future__ import annotations

from pathlib import Path

from bayes_mmm.analysis.diagnostics import interval_moves
from bayes_mmm.analysis.monitor import MONITOR_JSON
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import kind_of, read_json
from bayes_mmm.runs.folder import SUMMARY
from bayes_mmm.surfaces import plots


def monitoring(run_dir: Path, summary: dict) -> dict | None:
    """What the Monitoring section shows, or ``None`` when the run folder has no monitor.json.

    Returns ``{"checked", "rows", "figure", "other_run", "not_checked"}``: one row per tenant with its R², MAPE and
    90 % coverage on the new periods, the reference it is judged against, the drift reasons and the
    action; ``other_run`` is the run id of a monitor.json written for another run (shown as a warning);
    ``not_checked`` the tenants without new revenue yet, and why.
    """
    path = Path(run_dir) / MONITOR_JSON
    if not path.exists():
        return None
    report = read_json(path, hint="run `bayes-mmm monitor RUN --data LAKE` again")
    tenants = report.get("tenants") if isinstance(report, dict) else None
    if not isinstance(tenants, dict) or not all(isinstance(e, dict) for e in tenants.values()):
        raise DataError(f"must hold an object with per-tenant entries under 'tenants', found {kind_of(tenants)}", file=path,
                        hint="run `bayes-mmm monitor RUN --data LAKE` again")
    rows = [{"tenant": t, "r2": e.get("r2"), "mape": e.get("mape"), "coverage_90": e.get("coverage_90"),
             "reference": e.get("reference") or {}, "action": e.get("action", "–"),
             "reasons": [*e.get("model_drift_reasons", []), *e.get("data_drift", [])]} for t, e in tenants.items()]
    figure = None
    if rows:
        figure = plots.fig_to_data_uri(plots.fig_monitor(
            [r["tenant"] for r in rows], [r["reference"].get("r2_on_new_periods") for r in rows],
            [r["r2"] for r in rows], [r["action"] for r in rows]))
    other = report.get("run_id") if report.get("run_id") not in (None, summary.get("run_id")) else None
    not_checked = report.get("not_checked") if isinstance(report.get("not_checked"), dict) else {}
    return {"checked": report.get("checked") or {}, "rows": rows, "figure": figure, "other_run": other, "not_checked": not_checked}


def parent_moves(summary: dict) -> dict | None:
    """ROAS/mROAS moves of a refreshed run vs its parent (``summary["parent"]``), or ``None`` for a first fit.

    Returns ``{"parent", "rows", "missing"}``; ``missing`` names the parent's summary.json when it is
    no longer where the refresh found it (the rows are then empty).
    """
    parent = summary.get("parent")
    if not isinstance(parent, dict):
        return None
    path = Path(str(parent.get("path", ""))) / SUMMARY
    if not path.is_file():
        return {"parent": parent, "rows": [], "missing": str(path)}
    old = read_json(path)
    if not isinstance(old, dict) or not isinstance(old.get("tenants"), dict):
        raise DataError("the parent run's summary has no per-tenant entries", file=path, hint="refresh from a complete run")
    return {"parent": parent, "rows": interval_moves(old, summary).to_dict(orient="records"), "missing": None}
