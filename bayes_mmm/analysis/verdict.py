"""The go/no-go rule of a tenant, in one place: used by CV, the model card and the report.

A tenant is *go* when the run converged and, with walk-forward CV, its holdout
R² reaches the bar of its weather class, its MAPE is under 15 % and its RMSE
is at least 10 % below the best baseline's; without CV, its in-sample R² must
reach the bar (and the verdict says CV is still missing). The weather class is
the one recorded at fit time in summary.json (``tenants.<id>.sensitivity``:
tenant.json's ``sensitivity``, else estimated from the data by
:func:`bayes_mmm.data.sensitivity.dataset_sensitivity`) — never the tenant id.
"""

from __future__ import annotations

import math

from bayes_mmm.core.numbers import fmt, value
from bayes_mmm.data.sensitivity import DEFAULT_CLASS

#: Holdout-R² bar by weather class: weather-driven revenue is more predictable, so more is asked.
R2_BAR = {"extreme": 0.65, "high": 0.65, "medium": 0.45, "none": 0.15}
MAPE_BAR = 15.0
BASELINE_MARGIN = 0.10  # the model's holdout RMSE must beat the best baseline's by 10 %
NO_CV = "no walk-forward CV yet (bayes-mmm cv)"
NOT_CONVERGED = "sampler did not converge"
FOLDS_NOT_CONVERGED = "no CV fold converged (cv --tune/--draws)"
#: Said beside a go too: the model may forecast well while the data cannot split revenue between channels.
NONE_IDENTIFIED = "no channel's ROAS is identified: plans keep today's mix"
#: Reasons that inform and do not turn a go into a no-go.
NOTES = (NO_CV, NONE_IDENTIFIED)


def class_of(entry: dict) -> str:
    """Weather class of a summary's tenant entry; runs from before it was recorded count as medium."""
    return (entry.get("sensitivity") or {}).get("class") or DEFAULT_CLASS


def cv_verdict(cv: dict, sensitivity_class: str) -> dict:
    """Go/no-go of CV means (``r2_mean``, ``mape_mean``, ``rmse_mean``, ``baseline_rmse_mean``).

    Returns ``{"go", "r2_bar", "reasons"}``; NaN metrics (no folds) fail every test. A tenant
    whose every fold's fit failed the convergence gate (``folds[*].converged`` False) is no-go
    whatever its scores: they are not a converged model's.
    """
    bar = R2_BAR[sensitivity_class]
    folds = cv.get("folds") or []
    reasons = [FOLDS_NOT_CONVERGED] if folds and not any(f.get("converged", True) for f in folds) else []
    if not math.isfinite(value(cv["r2_mean"])):  # NaN in memory, null once written: no other score either
        return {"go": False, "r2_bar": bar, "reasons": [*reasons, "no holdout R² (no fold scored)"]}
    if not value(cv["r2_mean"]) >= bar:
        reasons.append(f"holdout R² {fmt(cv['r2_mean'])} < {bar:.2f}")
    if not value(cv["mape_mean"]) < MAPE_BAR:
        reasons.append(f"MAPE {fmt(cv['mape_mean'], '.1f')} % ≥ {MAPE_BAR:.0f} %")
    if not value(cv["rmse_mean"]) <= (1 - BASELINE_MARGIN) * value(cv["baseline_rmse_mean"]):
        reasons.append(f"RMSE {fmt(cv['rmse_mean'], '.0f')} not 10 % below best baseline {fmt(cv['baseline_rmse_mean'], '.0f')}")
    return {"go": not reasons, "r2_bar": bar, "reasons": reasons}


def derived_verdict(summary: dict, tenant: str) -> dict:
    """The rule applied to a run's summary: ``{"go", "reasons"}``."""
    entry = summary["tenants"][tenant]
    ok = summary.get("convergence", {}).get("ok", False)
    reasons = [] if ok else [NOT_CONVERGED]
    cv = entry.get("cv")
    if cv and "verdict" in cv:
        reasons += cv["verdict"]["reasons"]
    else:
        bar = R2_BAR[class_of(entry)]
        if not math.isfinite(value(entry["fit"]["r2"])):
            reasons.append("no in-sample R² (revenue does not vary)")
        elif not value(entry["fit"]["r2"]) >= bar:
            reasons.append(f"in-sample R² {fmt(entry['fit']['r2'])} < {bar:.2f}")
        reasons.append(NO_CV)
    reasons += identification_notes(entry)
    return {"go": bool(ok and not [r for r in reasons if r not in NOTES]), "reasons": reasons}


def identification_notes(entry: dict) -> list[str]:
    """``[NONE_IDENTIFIED]`` when every channel of a tenant's summary entry is flagged, else nothing."""
    ident = entry.get("identification") or {}
    return [NONE_IDENTIFIED] if ident and all(v.get("flagged") for v in ident.values()) else []


def tenant_verdicts(summary: dict) -> dict[str, dict]:
    """:func:`derived_verdict` of every tenant of a run (the ``verdicts`` of summary.json)."""
    return {t: derived_verdict(summary, t) for t in summary["tenants"]}


def _read_stored(stored: object) -> dict:
    """A stored verdict in any of the shapes older runs and tools wrote (dict, bool or "go"/"no-go")."""
    if isinstance(stored, dict):
        go = bool(stored.get("go", str(stored.get("decision", "")).lower() == "go"))
        reasons = stored.get("reasons") or ([stored["reason"]] if stored.get("reason") else [])
        return {"go": go, "reasons": [str(r) for r in reasons]}
    if isinstance(stored, bool):
        return {"go": stored, "reasons": []}
    return {"go": str(stored).strip().lower() == "go", "reasons": [str(stored)]}


def tenant_verdict(summary: dict, tenant: str) -> dict:
    """Go/no-go of a tenant as the report shows it, with ``source`` ``"stored"`` or ``"derived"``.

    A verdict stored in the summary (per tenant, in its ``cv`` entry, or in the
    top-level ``verdicts`` map) wins; otherwise :func:`derived_verdict` decides.
    """
    entry = summary["tenants"][tenant]
    # ``is None``, not truthiness: a stored ``False`` is a verdict too.
    candidates = (entry.get("verdict"), (entry.get("cv") or {}).get("verdict"), (summary.get("verdicts") or {}).get(tenant))
    stored = next((v for v in candidates if v is not None), None)
    if stored is not None:  # a CV verdict judged the forecast; the media split is said all the same
        read = _read_stored(stored)
        notes = [n for n in identification_notes(entry) if n not in read["reasons"]]
        return {**read, "reasons": read["reasons"] + notes, "source": "stored"}
    return {**derived_verdict(summary, tenant), "source": "derived"}
