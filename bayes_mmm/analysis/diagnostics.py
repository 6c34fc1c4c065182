"""Can this fit be trusted? Convergence, posterior predictive calibration, LOO.

All functions take an ``InferenceData`` as written to a run folder and
return plain tables or dicts, so the CLI, the report and notebooks share them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from bayes_mmm.core.constants import TENANT
from bayes_mmm.core.errors import DataError
from bayes_mmm.inference.judged import judged, quiet_arviz, run_unlearnt, sampled_names
from bayes_mmm.inference.loo import PointwiseLoo, pointwise_loo

#: Parameters worth a row in a per-tenant convergence table.
KEY_PARAMS = ("roas", "adstock_alpha", "half_sat", "weather_gamma", "sigma")


def _quiet(fn, *args, **kwargs):
    """``fn`` without warnings or ArviZ's "NaN-value" log: the cells :func:`judged` blanked are NaN on purpose."""
    with warnings.catch_warnings(), quiet_arviz():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


#: Columns of :func:`parameter_diagnostics` besides the labels.
STATS = ("mean", "r_hat", "ess_bulk", "ess_tail")


def parameter_diagnostics(idata: az.InferenceData, var_names: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Mean, R-hat, bulk and tail ESS of every scalar parameter, computed once for all tenants.

    The same estimators as ``az.summary`` (rank-normalised R-hat, bulk/tail ESS).
    One row per scalar: ``label`` as ``az.summary`` names it (``roas[t1, meta]``),
    ``param`` the label without the tenant coordinate (``roas[meta]``) and
    ``tenant`` (``None`` for shared parameters such as the Hill shape). Channels a tenant never
    spent on in training have no rows (:mod:`bayes_mmm.inference.judged`).
    """
    post = idata.posterior
    names = [v for v in (var_names or sampled_names(post)) if v in post]
    post = judged(post, names, run_unlearnt(idata))
    stats = {
        "mean": post.mean(("chain", "draw")),
        "r_hat": _quiet(az.rhat, post),
        "ess_bulk": _quiet(az.ess, post, method="bulk"),
        "ess_tail": _quiet(az.ess, post, method="tail"),
    }
    rows = []
    for name in names:
        da = stats["r_hat"][name]
        coords = [[str(c) for c in da[d].values] if d in da.coords else [str(c) for c in range(da.sizes[d])] for d in da.dims]
        values = {k: stats[k][name].transpose(*da.dims).values for k in STATS}
        for pos in np.ndindex(*da.shape):
            if np.isnan(values["mean"][pos]):  # blanked: a channel the tenant never spent on
                continue
            labels = [coords[a][p] for a, p in enumerate(pos)]
            own = [lab for d, lab in zip(da.dims, labels, strict=True) if d != TENANT]
            rows.append({
                "label": name + (f"[{', '.join(labels)}]" if labels else ""),
                "param": name + (f"[{', '.join(own)}]" if own else ""),
                "tenant": labels[da.dims.index(TENANT)] if TENANT in da.dims else None,
                **{k: float(values[k][pos]) for k in STATS},
            })
    return pd.DataFrame(rows, columns=["label", "param", "tenant", *STATS])


def convergence_table(idata: az.InferenceData, tenant: str | None = None) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per parameter, worst R-hat first.

    With ``tenant``, only that tenant's key parameters (plus the shared,
    channel-level ones such as the Hill shape), labelled without the tenant.
    """
    post = idata.posterior
    names = sampled_names(post)
    if tenant is None:
        table = parameter_diagnostics(idata, names).set_index("label")
    else:
        names = [v for v in names if v in KEY_PARAMS or (TENANT not in post[v].dims and not v.endswith("_z"))]
        table = parameter_diagnostics(idata, names)
        table = table[(table["tenant"] == tenant) | table["tenant"].isna()].set_index("param")
    table.index.name = None
    return table[["r_hat", "ess_bulk", "ess_tail"]].sort_values("r_hat", ascending=False)


def sampler_health(idata: az.InferenceData, max_depth: int = 10) -> dict:
    """Divergences, E-BFMI per chain and share of draws that hit the tree-depth limit."""
    ss = idata.sample_stats
    div = int(ss["diverging"].sum()) if "diverging" in ss else 0
    bfmi = _quiet(az.bfmi, idata) if "energy" in ss else np.array([np.nan])
    depth = None
    for key in ("maxdepth_reached", "reached_max_treedepth"):
        if key in ss:
            depth = float(ss[key].mean())
    if depth is None and "depth" in ss:
        depth = float((ss["depth"] >= max_depth).mean())
    return {
        "divergences": div,
        "bfmi_min": round(float(np.min(bfmi)), 3),
        "bfmi_low": bool(np.min(bfmi) < 0.3),
        "treedepth_saturation": None if depth is None else round(depth, 4),
    }


def ppc_calibration(idata: az.InferenceData) -> pd.DataFrame:
    """Share of observed days inside the posterior predictive 50 % and 90 % bands, per tenant.

    Well calibrated: about 0.50 and 0.90. Much lower means over-confident
    (bands too narrow), much higher means under-fitting noise.
    """
    pp = idata.posterior_predictive["revenue"]
    obs = idata.observed_data["revenue"]
    train = idata.constant_data["train"] if "train" in idata.constant_data else obs.notnull()
    rows = []
    for t in obs[TENANT].values:
        m = train.sel({TENANT: t}).values.astype(bool)
        y = obs.sel({TENANT: t}).values[m]
        # Each tenant's own days only: days outside its range are NaN (tenants of a run may span different dates).
        draws = pp.sel({TENANT: t}).stack(sample=("chain", "draw")).transpose("sample", ...).values[:, m]
        qq = np.quantile(draws, [0.05, 0.25, 0.75, 0.95], axis=0)
        rows.append(
            {
                TENANT: str(t),
                "inside_50": round(float(np.mean((qq[1] <= y) & (y <= qq[2]))), 3),
                "inside_90": round(float(np.mean((qq[0] <= y) & (y <= qq[3]))), 3),
                "days": int(m.sum()),
            }
        )
    return pd.DataFrame(rows).set_index(TENANT)


def loo_by_tenant(idata: az.InferenceData, loo: PointwiseLoo | None = None) -> pd.DataFrame:
    """PSIS-LOO split by tenant: elpd, se and Pareto-k counts (k > 0.7 is unreliable).

    ``loo`` reuses an earlier :func:`~bayes_mmm.inference.loo.pointwise_loo` of ``idata``.
    """
    loo = loo or pointwise_loo(idata)
    tenants, elpd_i, k = loo.obs_tenant, loo.elpd_i, loo.pareto_k
    rows = []
    for t in pd.unique(tenants):
        m = tenants == t
        rows.append(
            {
                TENANT: str(t),
                "elpd": round(float(elpd_i[m].sum()), 2),
                "se": round(float(np.sqrt(m.sum() * elpd_i[m].var())), 2),
                "k_0.5_0.7": int(((k[m] > 0.5) & (k[m] <= 0.7)).sum()),
                "k_over_0.7": int((k[m] > 0.7).sum()),
                "k_max": round(float(k[m].max()), 3),
            }
        )
    return pd.DataFrame(rows).set_index(TENANT)


def compare_runs(runs: dict[str, az.InferenceData], hashes: dict[str, str | None] | None = None) -> pd.DataFrame:
    """``az.compare`` (LOO, stacking weights) of runs fitted on the same data.

    Raises ``ValueError`` when the runs were not fitted on the same observations: their numbers differ, or
    their recorded data hashes (``summary.json`` ``data.hash``; runs without one are not judged) do.
    """
    sizes = {name: idata.log_likelihood["revenue"].sizes["obs"] for name, idata in runs.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"runs were fitted on different data (observations per run: {sizes}); LOO cannot compare them")
    if len({h for h in (hashes or {}).values() if h}) > 1:
        # The hash covers the lake's files as bytes (lift tests included; CSV and parquet of the same data differ):
        # a false "different" only costs the ranking, a false "same" would rank fits of other data.
        raise ValueError(f"runs were fitted on different data (data hashes {hashes}): the same number of days with "
                         "other values, or other lake files (lift tests, format); LOO cannot compare them")
    table = _quiet(az.compare, runs, ic="loo")
    return table[["rank", "elpd_loo", "p_loo", "elpd_diff", "weight", "se", "dse", "warning"]]


def load_runs(run_dirs: list[str | Path]) -> dict[str, az.InferenceData]:
    """InferenceData of several run folders keyed by folder name."""
    from bayes_mmm.runs.folder import RunFolder

    out, hashes = {}, {}
    for d in run_dirs:
        idata, summary = RunFolder(d).load()
        name = Path(d).name
        key = name if name not in out else str(d)
        out[key] = idata
        hashes[key] = (summary.get("data") or {}).get("hash")
    if len({h for h in hashes.values() if h}) > 1:
        raise DataError(f"runs were fitted on different data (data hashes {hashes}); LOO cannot compare them",
                        hint="compare model variants fitted on the same lake")
    return out


def interval_moves(old: dict, new: dict) -> pd.DataFrame:
    """How ROAS and mROAS moved between two runs of the same tenants (summary.json dicts).

    One row per tenant, channel and metric both runs have, with both central 90 %
    intervals; ``moved`` is true when they do not overlap — a change larger than
    either run's uncertainty allows.
    """
    rows = []
    for tid in (t for t in new["tenants"] if t in old["tenants"]):
        for metric in ("roas", "mroas"):
            a, b = old["tenants"][tid].get(metric, {}), new["tenants"][tid].get(metric, {})
            for ch in (c for c in b if c in a):
                if a[ch]["q05"] is None or b[ch]["q05"] is None:
                    continue
                moved = b[ch]["q05"] > a[ch]["q95"] or b[ch]["q95"] < a[ch]["q05"]
                rows.append({TENANT: tid, "channel": ch, "metric": metric,
                             **{f"old_{k}": a[ch][k] for k in ("mean", "q05", "q95")},
                             **{f"new_{k}": b[ch][k] for k in ("mean", "q05", "q95")}, "moved": bool(moved)})
    return pd.DataFrame(rows, columns=[TENANT, "channel", "metric", "old_mean", "old_q05", "old_q95",
                                       "new_mean", "new_q05", "new_q95", "moved"])


def compare_versions(run_dirs: list[str | Path]) -> dict:
    """LOO comparison (when the runs share their observations) and ROAS/mROAS moves of each run vs the first.

    Returns ``{"loo": DataFrame or None, "loo_note": str, "moves": {run name: DataFrame}}``.
    """
    from bayes_mmm.runs.summary import load_run

    loaded = {str(d): load_run(d) for d in run_dirs}
    names = {str(d): Path(d).name if Path(d).name not in [Path(x).name for x in run_dirs if x != d] else str(d) for d in run_dirs}
    runs = {names[k]: v[0] for k, v in loaded.items()}
    hashes = {names[k]: (v[1].get("data") or {}).get("hash") for k, v in loaded.items()}
    try:
        loo, note = compare_runs(runs, hashes), ""
    except ValueError as exc:  # a refreshed run has more observations: LOO cannot compare, the moves still can
        loo, note = None, str(exc)
    first = str(run_dirs[0])
    moves = {names[k]: interval_moves(loaded[first][1], v[1]) for k, v in loaded.items() if k != first}
    return {"loo": loo, "loo_note": note, "moves": moves}
