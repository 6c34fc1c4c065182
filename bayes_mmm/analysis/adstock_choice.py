"""Choosing the adstock by PSIS-LOO: fit both carry-over shapes and keep the delayed one only when the data say so.

The geometric adstock peaks on the day of spend; the delayed one can peak days later.
Where the truth peaks late the delayed fit wins LOO by hundreds of elpd; where it does
not, the extra freedom costs coverage at small sizes (benchmarks/RESULTS.md §16). So
the choice is asymmetric: geometric stays unless LOO prefers delayed clearly.
"""

from __future__ import annotations

import arviz as az

from bayes_mmm.analysis.diagnostics import compare_runs

#: Delayed replaces geometric only when LOO prefers it by more than this many standard errors of the difference.
CLEAR_SE = 2.0
#: The shapes tried, the default first.
CANDIDATES = ("geometric", "delayed")


def choose_adstock(idatas: dict[str, az.InferenceData], converged: dict[str, bool]) -> dict:
    """The adstock to keep and why, from fits of both shapes on the same data.

    A converged fit is kept over an unconverged one (an unconverged fit's LOO is not
    trusted); between fits alike in that, delayed is kept only when LOO prefers it by
    more than :data:`CLEAR_SE` standard errors. If LOO cannot compare them, geometric stays.

    Parameters
    ----------
    idatas
        ``{"geometric": idata, "delayed": idata}`` with pointwise log-likelihoods.
    converged
        Whether each fit passed the convergence gate.

    Returns
    -------
    dict
        summary.json's ``adstock_choice``: ``chosen``, ``reason``, the delayed fit's ``elpd_gain``
        over geometric with its ``dse`` (None when LOO failed), and per shape ``elpd``, ``se``, ``converged``.
    """
    fits = {k: {"converged": bool(converged[k])} for k in CANDIDATES}
    try:
        table = compare_runs(idatas)
    except (ValueError, KeyError, AttributeError) as exc:  # e.g. no pointwise log-likelihood: keep the default, say why
        return {"chosen": "geometric", "reason": f"LOO could not compare the fits ({exc})", "elpd_gain": None, "dse": None,
                "fits": fits}
    gain = float(table.loc["delayed", "elpd_loo"] - table.loc["geometric", "elpd_loo"])
    dse = float(table["dse"].max())  # the non-reference row holds the se of the difference
    loo = f"{gain:+.1f} ± {dse:.1f} elpd for delayed"
    if converged["geometric"] != converged["delayed"]:
        chosen = "geometric" if converged["geometric"] else "delayed"
        reason = f"only the {chosen} fit converged ({loo}, not trusted from an unconverged fit)"
    else:
        chosen = "delayed" if gain > CLEAR_SE * dse else "geometric"
        reason = (f"LOO prefers the delayed peak clearly ({loo})" if chosen == "delayed"
                  else f"the delayed peak is not clearly better ({loo}; needs > {CLEAR_SE:g} se)")
        if not converged["geometric"]:
            reason += "; neither fit converged"
    for k in CANDIDATES:
        fits[k] |= {"elpd": round(float(table.loc[k, "elpd_loo"]), 2), "se": round(float(table.loc[k, "se"]), 2)}
    return {"chosen": chosen, "reason": reason, "elpd_gain": round(gain, 2), "dse": round(dse, 2), "fits": fits}
