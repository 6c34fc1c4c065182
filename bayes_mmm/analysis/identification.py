"""Can the data tell a tenant's channels apart? Contraction, ROAS correlation and chain agreement.

For each tenant×channel with spend in the training window (issue 17, part 3):

* **Contraction** of log-ROAS: ``1 − Var_post / Var_prior``. ``Var_post`` is the
  variance of ``log roas`` over all draws of all chains. ``Var_prior`` is the
  variance one tenant's log-ROAS has before any data, analytically: pooled, it is
  ``mu_c + sigma_c·z`` with ``mu_c ~ N(m, sd)``, ``sigma_c ~ HalfNormal(pool)``,
  ``z ~ N(0, 1)`` (or centred ``N(mu_c, sigma_c)``, the same marginal), whose
  variance is ``sd² + E[sigma_c²] = sd² + pool²``; unpooled tenants get a normal of
  that same variance; a cold start (population prior) has ``scale²`` of its
  moment-matched normal. 1 means the data pinned ROAS down, 0 that they said nothing.
* **Correlation** between channels' log-ROAS within the tenant (all draws). Two
  channels whose spend moves together trade ROAS against each other: a strong
  negative correlation.
* **Chain agreement**: per-chain medians of ROAS more than half the pooled 90 %
  width apart, or R-hat of that ROAS above 1.05, is a sign of several modes.

A tenant×channel is flagged *not identified* when its contraction is low, or its 90 % interval spans more
than a factor of 3.8 (a vague prior makes contraction easy; this does not loosen with it), or it
correlates strongly (|r| > 0.6) with another channel while its interval is wide
(and then that other channel too: the pair's split is what the data cannot decide),
or the chains disagree, or its spend barely varies and hardly ever pauses (interquartile
range under 10 % of the median on spend days, off on at most 10 % of the days: a daily cap
or a fixed budget, whose effect no day isolates, whatever the posterior says), or its spend
moves with (or against) another channel's (|correlation| above 0.9 over the training periods:
flighted together, or one budget split between them, so the tenant's own data know one
combination of the pair, not each, however narrow a pooled posterior makes it look), or its
spend follows revenue (a near-fixed share of each period's revenue that moves with it: a
commission, a bid on a revenue target — revenue drives that budget as much as the budget drives
revenue, so a high ROAS may be revenue's pull on the spend); each reason comes with what would fix it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np

from bayes_mmm.core.constants import CHANNEL, TENANT
from bayes_mmm.core.priors import Z90
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.spend_variation import SPREAD_MIN, TOGETHER_MIN, follows_revenue, spend_correlations, spreads
from bayes_mmm.runs.lift import calibrated_channels

if TYPE_CHECKING:  # arviz costs seconds to import; the allocator reads this module's thresholds only
    import arviz as az

#: Below this contraction the posterior of log-ROAS is barely narrower than the prior.
CONTRACTION_MIN = 0.5
#: Above this posterior sd of log-ROAS the 90 % interval spans more than a factor of 3.8, whatever the prior:
#: contraction alone would call a vague prior's posterior identified. The value is the sd at which the
#: contraction rule flags under a 1–5 prior pooled (√(0.5 · (0.489² + 0.3²))), the default until 2026-11-29: a
#: wider default does not make the data's verdict easier.
LOG_SD_MAX = 0.406
#: |correlation| of log-ROAS above which two channels are entangled …
CORR_MAX = 0.6
#: … when the channel's 90 % interval is also wider than this multiple of its median.
WIDE_REL = 0.6
#: R-hat of one ROAS above which its chains are taken to disagree.
RHAT_MAX = 1.05

FIX_VARIATION = "more spend variation on {ch} (pauses, flights, budget steps)"
FIX_APART = "move {ch}'s spend independently of {other}"
FIX_HISTORY = "a longer history (two years or more)"
FIX_LIFT = "a lift test on {ch}"
FIX_FIXED = "weeks of {ch} at a budget set apart from sales (a fixed amount, or a holdout)"


def prior_log_roas_var(spec: ModelSpec, channels: list[str], population: Mapping | None = None) -> np.ndarray:
    """Prior variance ``(channel,)`` of one tenant's log-ROAS (see the module docstring).

    ``population`` is a population prior's plain form (``config.population_prior`` of
    summary.json, :meth:`~bayes_mmm.model.population.PopulationPrior.to_dict`).
    """
    if population is not None:
        # (channel,) for a population prior; (tenant, channel) for a warm start from a run's own posterior.
        scale = np.asarray(population["scale"]["log_roas"], dtype=float)
        return scale[..., [list(population["channels"]).index(c) for c in channels]] ** 2
    pri = spec.priors
    return np.array([pri.roas_params(c)[1] ** 2 + pri.roas_pool**2 for c in channels])


def contraction(log_draws: np.ndarray, prior_var: float) -> float:
    """``1 − Var(log_draws) / prior_var`` (draws of all chains, flattened)."""
    return float(1.0 - np.var(np.asarray(log_draws).ravel()) / prior_var)


def chain_disagreement(roas: np.ndarray) -> dict:
    """Per-chain medians and R-hat of one ROAS ``(chain, draw)``; ``disagree`` per the module's rule."""
    medians = np.median(roas, axis=1)
    import arviz as az

    lo, hi = np.quantile(roas, [0.05, 0.95])
    rhat = float(az.rhat(np.asarray(roas, dtype=float)))
    spread = float(medians.max() - medians.min())
    return {
        "medians": [round(float(m), 3) for m in medians],
        "rhat": round(rhat, 3),
        "disagree": bool(spread > (hi - lo) / 2 or rhat > RHAT_MAX),
    }


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _spend_reasons(
    ch: str, spread: float, together: Mapping[str, float], follows: float, lifted: Collection[str],
) -> list[tuple[str, str, list[str], str | None]]:
    """What the training spend alone says against identifying ``ch``: ``(kind, reason, fixes, lift-tested channel or None)``.

    A used lift test on ``ch`` measures its effect where the spend data cannot, and one on a
    partner whose spend moves with ``ch`` splits the pair (the data know their sum): such a
    reason is answered by that test's channel.
    """
    mine = ch if ch in lifted else None
    found = []
    for other, r in sorted(together.items()):
        if abs(r) > TOGETHER_MIN:  # together, or against each other (one budget split between them)
            how = "with" if r > 0 else "against"
            found.append(("together", f"spend moves {how} {other} (correlation {r:+.2f} over the training periods): "
                          "no period isolates either's effect",
                          [FIX_APART.format(ch=ch, other=other), FIX_LIFT.format(ch=ch)], mine or (other if other in lifted else None)))
    if spread < SPREAD_MIN:
        found.append(("flat", f"spend barely varies (interquartile range {spread:.0%} of the median on spend days): "
                      "the response above today's level is never observed",
                      [FIX_VARIATION.format(ch=ch), FIX_LIFT.format(ch=ch)], mine))
    if np.isfinite(follows):
        found.append(("follows", f"spend follows revenue (a near-fixed share of it, correlation {follows:+.2f} over the training periods): "
                       "revenue may drive this budget (a commission, a bid on a revenue target) as much as the budget drives revenue",
                      [FIX_LIFT.format(ch=ch), FIX_FIXED.format(ch=ch)], mine))
    return found


def channel_verdict(
    ch: str, roas: np.ndarray, prior_var: float, corr: Mapping[str, float], spread: float = float("nan"),
    together: Mapping[str, float] | None = None, follows: float = float("nan"), lifted: Collection[str] = (),
) -> dict:
    """Identification of one tenant×channel from its ROAS draws ``(chain, draw)``.

    ``corr`` maps the tenant's other channels to their log-ROAS correlation with ``ch``;
    ``spread`` is :func:`~bayes_mmm.data.spend_variation.spend_spread` of its training spend (NaN: not judged);
    ``together`` maps other channels to their spend correlation with ``ch`` (judged against
    :data:`~bayes_mmm.data.spend_variation.TOGETHER_MIN`); ``follows`` the correlation of its spend with revenue
    where :func:`~bayes_mmm.data.spend_variation.follows_revenue` finds the one following the other (NaN: not);
    ``lifted`` the tenant's channels a used lift test calibrates: the spend data's reasons they answer
    are kept under ``answered_by_lift`` and flag nothing (the posterior's own checks still do).
    Returns ``{contraction, flagged, reasons, fixes, chains, follows_revenue[, answered_by_lift]}``;
    ``follows_revenue`` is true when the spend follows revenue and no used lift test answers it.
    """
    c = contraction(np.log(roas), prior_var)
    q05, q50, q95 = np.quantile(roas, [0.05, 0.5, 0.95])
    wide = (q95 - q05) / q50 > WIDE_REL
    chains = chain_disagreement(roas)
    reasons, fixes, answered = [], [], []
    sd = float(np.std(np.log(roas)))
    if c < CONTRACTION_MIN:
        said = "the data narrowed the prior little" if c >= 0 else "the posterior is wider than the prior: the data say little about it"
        reasons.append(f"low contraction {c:.2f} < {CONTRACTION_MIN}: {said}")
    elif sd > LOG_SD_MAX:
        reasons.append(f"wide posterior: its 90 % interval spans a factor of {np.exp(2 * Z90 * sd):.1f} "
                       f"(more than {np.exp(2 * Z90 * LOG_SD_MAX):.1f}), though narrower than the prior")
    if c < CONTRACTION_MIN or sd > LOG_SD_MAX:
        fixes += [FIX_VARIATION.format(ch=ch), FIX_HISTORY, FIX_LIFT.format(ch=ch)]
    for other, r in sorted(corr.items(), key=lambda kv: kv[1]):
        if abs(r) > CORR_MAX and wide:
            sign = "negative" if r < 0 else "positive"
            reasons.append(f"strong {sign} correlation with {other} ({r:+.2f}) and a wide interval")
            fixes += [FIX_APART.format(ch=ch, other=other), FIX_LIFT.format(ch=ch)]
    pulled = False  # spend follows revenue, and no lift test answers it
    for kind, reason, fix, by in _spend_reasons(ch, spread, together or {}, follows, lifted):
        if by is None:
            reasons.append(reason)
            fixes += fix
            pulled |= kind == "follows"
        else:
            answered.append(f"{reason} — answered by the lift test on {by}")
    if chains["disagree"]:
        meds = ", ".join(f"{m:.2f}" for m in chains["medians"])
        reasons.append(f"chains disagree (medians {meds}; R-hat {chains['rhat']:.2f})")
        fixes += [FIX_LIFT.format(ch=ch), FIX_HISTORY]
    return {"contraction": round(c, 3), "flagged": bool(reasons), "reasons": reasons, "fixes": _dedup(fixes),
            "chains": chains, "follows_revenue": bool(pulled), **({"answered_by_lift": answered} if answered else {})}


def tenant_identification(
    roas: np.ndarray, channels: list[str], prior_var: np.ndarray, active: np.ndarray, spread: np.ndarray | None = None,
    spend_corr: np.ndarray | None = None, follows: np.ndarray | None = None, lifted: Collection[str] = (),
) -> dict:
    """``{"identification", "roas_correlation", "spend_correlation"}`` of one tenant from ROAS draws ``(chain, draw, channel)``.

    Only ``active`` channels (spend in the training window) are judged; the others have no ROAS.
    ``spread`` is each channel's :func:`~bayes_mmm.data.spend_variation.spend_spread` (None: not judged);
    ``spend_corr`` ``(channel, channel)`` the correlation of their training spend (None: not judged);
    ``follows`` per channel :func:`~bayes_mmm.data.spend_variation.follows_revenue` (None: not judged);
    ``lifted`` the channels a used lift test calibrates (:func:`channel_verdict`).
    """
    spread = np.full(len(channels), np.nan) if spread is None else spread
    spend_corr = np.full((len(channels), len(channels)), np.nan) if spend_corr is None else spend_corr
    follows = np.full(len(channels), np.nan) if follows is None else follows
    idx = np.flatnonzero(active)
    names = [channels[j] for j in idx]
    logs = np.log(roas[..., idx]).reshape(-1, len(idx))
    corr = np.corrcoef(logs, rowvar=False) if len(idx) > 1 else np.ones((1, 1))
    corr = np.atleast_2d(corr)
    out = {}
    for a, j in enumerate(idx):
        others = {names[b]: float(corr[a, b]) for b in range(len(idx)) if b != a}
        together = {channels[k]: float(spend_corr[j, k]) for k in idx if k != j and np.isfinite(spend_corr[j, k])}
        out[channels[j]] = channel_verdict(channels[j], roas[..., j], float(prior_var[j]), others, float(spread[j]), together,
                                           float(follows[j]), lifted)
    flag_partners(out, corr, names)

    def matrix(m: np.ndarray) -> dict:  # (active, active), by name; NaN (a constant spend) as null
        return {a: {b: None if not np.isfinite(m[i, k]) else round(float(m[i, k]), 3) for k, b in enumerate(names)}
                for i, a in enumerate(names)}

    return {"identification": out, "roas_correlation": matrix(corr), "spend_correlation": matrix(spend_corr[np.ix_(idx, idx)])}


def flag_partners(verdicts: dict[str, dict], corr: np.ndarray, names: list[str]) -> None:
    """Flag (in place) the partner of a channel flagged for a trade-off with it.

    The wide channel of an entangled pair is flagged by :func:`channel_verdict`; its partner's
    interval may look narrow only because its spend is larger, but its ROAS moves with the same
    split the data cannot decide. Naming both says what the data do know: the pair's sum.
    """
    for a, ch in enumerate(names):
        if not any(r.startswith("strong") for r in verdicts[ch]["reasons"]):
            continue
        for b, other in enumerate(names):
            e = verdicts[other]
            if b == a or abs(corr[a, b]) <= CORR_MAX or e["flagged"]:
                continue
            e["reasons"].append(f"entangled with {ch} ({corr[a, b]:+.2f}), whose interval is wide: "
                                "the data know the pair's sum better than its split")
            e["fixes"] = _dedup([*e["fixes"], FIX_APART.format(ch=other, other=ch), FIX_LIFT.format(ch=other)])
            e["flagged"] = True


def identification(
    idata: az.InferenceData, spec: ModelSpec, population: Mapping | None = None, lifted: Mapping[str, Collection[str]] | None = None,
) -> dict[str, dict]:
    """Per tenant ``{"identification": {channel: …}, "roas_correlation": {channel: {channel: r}}}``.

    Uses every chain of ``idata.posterior["roas"]``; spend and training days come from
    ``constant_data``; ``lifted`` maps tenants to the channels a used lift test calibrates.
    Empty when the run has no media.
    """
    post = idata.posterior
    if "roas" not in post:
        return {}
    channels = [str(c) for c in post[CHANNEL].values]
    prior_var = prior_log_roas_var(spec, channels, population)
    const = idata.constant_data
    train = const["train"].transpose(TENANT, "date").values.astype(bool)
    raw = const["spend"].transpose(TENANT, CHANNEL, "date").values
    spend = (raw * train[:, None, :]).sum(axis=-1)
    spread, spend_corr = spreads(raw, train), spend_correlations(raw, train)
    revenue = idata.observed_data["revenue"].transpose(TENANT, "date").values if "observed_data" in idata.groups() else None
    follows = follows_revenue(raw, revenue, train) if revenue is not None else np.full(spread.shape, np.nan)
    roas = post["roas"].transpose("chain", "draw", TENANT, CHANNEL).values
    tenants = [str(t) for t in post[TENANT].values]
    if prior_var.ndim == 2:  # per tenant (warm start): rows follow the prior's own tenant order
        order = list((population or {}).get("tenants") or tenants)
        prior_var = prior_var[[order.index(t) for t in tenants]]
    return {
        t: tenant_identification(
            roas[:, :, i], channels, prior_var[i] if prior_var.ndim == 2 else prior_var, spend[i] > 0, spread[i], spend_corr[i],
            follows[i], (lifted or {}).get(t, ()),
        )
        for i, t in enumerate(tenants)
    }


def flagged(summary: Mapping) -> list[tuple[str, str, dict]]:
    """``(tenant, channel, entry)`` of every tenant×channel a run's summary flags as not identified."""
    return [
        (t, ch, e)
        for t, entry in summary.get("tenants", {}).items()
        for ch, e in (entry.get("identification") or {}).items()
        if e.get("flagged")
    ]


def answered(summary: Mapping) -> list[tuple[str, str, list[str]]]:
    """``(tenant, channel, reasons)`` where a used lift test answers what the spend data alone could not tell."""
    return [
        (t, ch, list(e["answered_by_lift"]))
        for t, entry in summary.get("tenants", {}).items()
        for ch, e in (entry.get("identification") or {}).items()
        if e.get("answered_by_lift")
    ]


def attach(summary: dict, idata: az.InferenceData, spec: ModelSpec, population: Mapping | None = None) -> dict:
    """Write :func:`identification` into ``summary["tenants"][t]`` (in place) and return the summary.

    The summary's lift-test entries say which channels a used test calibrates.
    """
    lifted = calibrated_channels(summary["tenants"])
    for tid, entry in identification(idata, spec, population, lifted).items():
        if tid in summary["tenants"]:
            summary["tenants"][tid].update(entry)
    return summary
