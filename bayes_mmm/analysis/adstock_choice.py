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

    Parameters
    ----------
    idatas
        ``{"geometric": idata, "delayed": idata}`` with pointwise log-likelihoods.
    converged
        Whether each fit passed the convergence gate (LOO of an unconverged fit is not trusted).

    Returns
    -------
    dict
        summary.json's ``adstock_choice``: ``chosen``, per shape ``elpd``, ``se`` and
        ``converged``, the delayed fit's ``elpd_gain`` over geometric with its ``dse``, and ``reason``.
    """
    table = compare_runs(idatas)
    elpd = {k: float(table.loc[k, "elpd_loo"]) for k in CANDIDATES}
    gain = elpd["delayed"] - elpd["geometric"]
    dse = float(table["dse"].max())  # the non-reference row holds the se of the difference
    clear = gain > CLEAR_SE * dse
    if clear and (converged["delayed"] or not converged["geometric"]):
        chosen, reason = "delayed", f"LOO prefers the delayed peak by {gain:.1f} ± {dse:.1f} elpd"
    elif clear:  # a converged default is not traded for an unconverged fit, whose LOO is not trusted
        chosen, reason = "geometric", f"the delayed fit wins LOO ({gain:+.1f} ± {dse:.1f} elpd) but did not converge"
    else:
        chosen, reason = "geometric", f"the delayed peak is not clearly better ({gain:+.1f} ± {dse:.1f} elpd; needs > {CLEAR_SE:g} se)"
    return {
        "chosen": chosen,
        "reason": reason,
        "elpd_gain": round(gain, 2),
        "dse": round(dse, 2),
        "fits": {k: {"elpd": round(elpd[k], 2), "se": round(float(table.loc[k, "se"]), 2), "converged": bool(converged[k])}
                 for k in CANDIDATES},
    }
