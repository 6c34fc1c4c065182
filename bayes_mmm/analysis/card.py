"""The model card: what was fitted, how well, where it can be trusted — in markdown."""

from __future__ import annotations

import math

from bayes_mmm.analysis.identification import answered, flagged
from bayes_mmm.analysis.verdict import tenant_verdicts
from bayes_mmm.core.numbers import fmt
from bayes_mmm.core.priors import LEGACY_ROAS
from bayes_mmm.model.design import periods
from bayes_mmm.runs.folder import CARD_TITLE

LIMITS = (
    "Media effects are identified from spend variation: a channel whose spend barely moves (always capped, "
    "never dark) gets its ROAS mostly from the prior and the other tenants.",
    "The Hill shape is shared by all tenants per channel (and, by default, kept below 3: --hill-shape-max); half-saturation and "
    "adstock are weakly identified with under two years of data (Jin et al. 2017), ROAS much better. Where tenants' "
    "curves differ in shape, intervals are too narrow: on an independent lake of sharp S-curves (a threshold, then "
    "saturation) that vary by tenant, 70 % of the 90 % ROAS intervals covered the truth.",
    "Weather enters the baseline linearly through lagged temperature, cold/heat degrees, rain, snow and "
    "rain×cold; effects beyond those shapes are absorbed by noise. Beyond the training days' weather range the "
    "baseline's weather terms stay flat.",
    "Holdout predictions take weather as observed (a perfect forecast); real forecasts add error.",
    "The ROAS prior is log-normal, so it has no mass at zero: a channel with no effect at all still shows a small "
    "positive ROAS (on PyMC-Marketing's ROAS data with one channel's effect removed: 0.43, 90 % interval 0.22–0.71, "
    "flagged as identified). Only a lift test tells a dead channel from a weak one.",
    "Pointwise log-likelihood for LOO is conditional on the baseline coefficients drawn per posterior draw "
    "(and, with AR(1) noise, on the neighbouring periods); holidays make some periods influential (Pareto k > 0.7).",
)
#: Said only for weekly runs.
WEEKLY_LIMIT = (
    "Saturation is fitted to weekly totals, so it cannot see a channel saturating within the week. Where spend comes "
    "in bursts of a few days (email sends, flash sales) the true marginal ROAS is lower than shown: on the default "
    "universe's weekly version the intervals covered the true marginal ROAS for 70 % of tenant×channels (email 55 %, "
    "overestimated by 42 % on average) against 93 % for ROAS. Plans from weekly runs favour such channels; "
    "daily data fix that."
)
#: Said only when some tenant has no weather columns.
WEATHERLESS_LIMIT = (
    "Tenants without weather columns have no weather terms: the demand the unobserved weather moves is read as "
    "noise (AR(1) by default), and their ROAS intervals are still too narrow (77 % coverage of 90 % intervals on "
    "the default universe with its weather hidden, where a regression that knows every true response shape covers "
    "82 %): weather also changes how well media works, and only weather data fix that (Open-Meteo history, "
    "`bayes-mmm import --weather`)."
)


def rounds_note(sampler: dict) -> str:
    """What the sampler ran beyond one round: a diverged round run again with smaller steps, top-up rounds."""
    notes = []
    if sampler.get("retried_divergences"):
        how = ("with nothing centred" if sampler.get("retry") == "nothing centred"
               else f"with smaller steps (target_accept {sampler['target_accept_kept']})")
        notes.append(f"a round with {sampler['retried_divergences']} divergences was discarded and the fit started "
                     f"over {how}")
    rounds = sampler.get("rounds", 1)
    if rounds > 1:
        notes.append(f"× {rounds} rounds: fresh chains added, the first round mixed too slowly")
    return f" ({'; '.join(notes)})" if notes else ""


def tenants_with(summary: dict, key: str) -> dict:
    """``tenant -> value`` of a per-tenant summary entry, for the tenants where it is set and non-zero."""
    return {tid: e[key] for tid, e in summary["tenants"].items() if e.get(key)}


def noise_lines(summary: dict) -> list[str]:
    """The card's lines on AR(1) noise, noise that grows with the level and Student-t noise, naming the tenants; none when none applies."""
    lines = []
    ar = tenants_with(summary, "residual_ar")
    if ar:
        named = ", ".join(f"{t} (ρ {r:.2f})" for t, r in ar.items())
        lines.append(f"- Noise: AR(1), ρ estimated once per tenant from a least-squares fit, for {named}; "
                     "i.i.d. normal for the others.")
    power = tenants_with(summary, "noise_power")
    if power:
        named = ", ".join(f"{t} (p {p:.1f})" for t, p in power.items())
        lines.append(f"- Noise sd grows with the level as level^p (weighted least squares, p estimated once per tenant) "
                     f"for {named}; constant for the others.")
    nu = tenants_with(summary, "noise_nu")
    if nu:
        named = ", ".join(f"{t} (ν {v:g})" for t, v in nu.items())
        lines.append(f"- Noise: Student-t for {named}; ν estimated once per tenant from a least-squares fit, days reweighted "
                     "and the likelihood tempered to the t's information; normal for the others.")
    return lines


def _window(spec: dict, data: dict) -> str:
    """The adstock window in the run's periods: "14 days", or "56 days (8 weeks)" for a weekly run (rounded up, as the model)."""
    days = spec.get("l_max")
    if data.get("cadence") != "weekly" or not isinstance(days, int):
        return f"{days} days"
    weeks = periods(days, "weekly")
    return f"{days} days ({weeks} week{'s' if weeks != 1 else ''})"


def holiday_lines(summary: dict) -> list[str]:
    """The card's line on holiday calendars, naming the tenants of each (older runs record none: no line)."""
    by: dict[str, list[str]] = {}
    for t, e in summary["tenants"].items():
        if e.get("holidays"):
            by.setdefault(e["holidays"], []).append(t)
    if not by:
        return []
    if len(by) == 1:
        return [f"- Holidays: {next(iter(by))} for every tenant."]
    return ["- Holidays: " + "; ".join(f"{name} for {', '.join(ts)}" for name, ts in by.items()) + "."]


def _roas_ranges(spec: dict) -> str:
    """ROAS prior ranges of a recorded spec, e.g. ``email 3–12, others 1–5`` (old runs: ``roas_prior``)."""
    ranges = (spec.get("priors") or {}).get("roas") or {"*": spec.get("roas_prior") or list(LEGACY_ROAS)}  # neither: fitted with 1–5
    named = [f"{ch} {lo:g}–{hi:g}" for ch, (lo, hi) in ranges.items() if ch != "*"]
    lo, hi = ranges["*"]
    return ", ".join([*named, f"{'others ' if named else ''}{lo:g}–{hi:g}"])


def lever_lines(spec: dict) -> list[str]:
    """The card's line on the identification levers a run was fitted with; none when all were off."""
    parts = []
    if spec.get("half_sat_floor") is not None:
        parts.append(f"each half-saturation softly above the {100 * spec['half_sat_floor']:g} % quantile of its "
                     "channel's positive spend")
    if spec.get("media_weather_bound") is not None:
        f = math.exp(spec["media_weather_bound"])
        parts.append(f"weather multiplies a channel's effect by {1 / f:.2f}–{f:.2f} at most over the observed weather")
    if spec.get("hill_shape_max") is not None and spec.get("hill_shape") == "channel" and spec.get("media", True):
        parts.append(f"each channel's Hill shape softly below {spec['hill_shape_max']:g}")
    return [f"- Identification levers: {'; '.join(parts)}."] if parts else []


def lift_lines(summary: dict) -> list[str]:
    """The card's experiment-calibration section; empty without lift tests."""
    cal = summary.get("lift_calibration")
    if not cal:
        return []
    chans = cal.get("calibrated_channels", {})
    lines = ["", "## Experiment calibration",
             f"- {cal['used']} of {cal['tests']} lift tests in the likelihood; measured values inside the model's 90 % "
             f"interval: {cal['inside_90']} of {cal['used']}, inside it widened by the measurement se: "
             f"{cal['inside_90_with_se']} of {cal['used']}."]
    if chans:
        lines += ["- Experiment-calibrated channels: " + "; ".join(f"{t}: {', '.join(c)}" for t, c in chans.items()) + "."]
    widths = [f"{t} {ch} {100 * w['width_90']:.0f} % ({w['tests']} test{'s' * (w['tests'] > 1)})"
              for t, by in cal.get("experiment_width_90", {}).items() for ch, w in by.items() if w["width_90"] is not None]
    if widths:
        lines += ["- On their own the tests pin each calibrated effect to a 90 % width (relative to the effect) of: "
                  + "; ".join(widths) + ". A ROAS interval is narrower only by what the observational data add; "
                  "four times as many tests of the same precision halve the width."]
    lines += ["- Other channels are calibrated by observational data and pooling only."]
    return lines


def identification_lines(summary: dict) -> list[str]:
    """The card's identification section: flagged tenant×channels with reasons and fixes (none for old runs)."""
    if not any("identification" in e for e in summary["tenants"].values()):
        return []
    lines = ["", "## Identification of channels"]
    rows = flagged(summary)
    lifted = [f"- A lift test answers {t} {ch}: {'; '.join(why)}." for t, ch, why in answered(summary)]
    if not rows:
        return [*lines, "- All channels identified: ROAS contraction, correlation between channels and chain agreement checked.",
                *lifted]
    lines += ["", "| tenant | channel | contraction | why not identified | what would help |", "|---|---|---|---|---|"]
    for t, ch, e in rows:
        lines.append(f"| {t} | {ch} | {e['contraction']:.2f} | {'; '.join(e['reasons'])} | {'; '.join(e['fixes'])} |")
    return [*lines, *([""] if lifted else []), *lifted]


def screen_line(summary: dict) -> str | None:
    """What the adstock screen chose and on what evidence; None when the run's adstock was set by hand."""
    sc = summary.get("adstock_screen")
    if not sc:
        return None
    chosen = summary.get("config", {}).get("spec", {}).get("adstock", sc["chosen"])
    ev = ", ".join(f"{c} {v['gain']:+.1f} (bar {v['bar']:.1f}, peak {v['peak']:g})" for c, v in sc["channels"].items()
                   if v["peak"] is not None)
    why = ("spend acts days after it is spent" if chosen == "delayed" else "the channels' responses do not peak clearly later")
    total = sc.get("total")  # runs screened before the total was recorded judged channel by channel
    over = f"; over all channels {total['gain']:+.1f} (bar {total['bar']:.1f})" if total and ev else ""
    detail = sc.get("reason") or ("least-squares log-likelihood of the best delayed shape, at a peak shared by the tenants, "
                                  "over the best geometric one: " + (ev or "no channel's spend varies") + over)
    return f"adstock {chosen}, chosen from the data before sampling: {why} ({detail})"


def _sentence(text: str) -> str:
    """``text`` with its first letter upper-case and the rest as written (``str.capitalize`` lower-cases channel names)."""
    return text[:1].upper() + text[1:]


def pooling_line(summary: dict) -> str | None:
    """Channels whose between-tenant spread was held at the prior's (too few tenants to learn it); None if none."""
    sampler, spec = summary.get("sampler", {}), summary.get("config", {}).get("spec", {})
    where = " of a group" if summary.get("groups") else ""  # grouped runs: each group's own count
    bar = spec.get("pool_min_tenants")
    said = []
    if fixed := sampler.get("fixed_pool_scale"):
        said.append(f"pooling scale held at the prior's for {', '.join(fixed)}: fewer than {bar} tenants{where} spend on "
                    f"{'it' if len(fixed) == 1 else 'them'}, too few to learn how much tenants differ")
    if roas := sampler.get("fixed_roas_pool_scale"):
        said.append(f"ROAS pooling scale held at the prior's for {', '.join(roas)}: fewer than {bar} tenants{where} show "
                    f"{'it' if len(roas) == 1 else 'them'} in their own data (spend that varies and does not move with "
                    "another channel's), too few to learn how much their ROAS differ")
    return "; ".join(said) + " (the channel's mean is still pooled)" if said else None


def regime_lines(summary: dict) -> list[str]:
    """A refreshed run's ROAS change since its parent: which channels moved, per tenant (90 % interval off 1)."""
    start = summary.get("config", {}).get("spec", {}).get("regime_start")
    if not start:
        return []
    lines = [f"- ROAS may change from {start} on (refresh; `roas_change` pooled per channel): ROAS is the current "
             "regime's; earlier days are fitted with ROAS / change factor."]
    for t, e in summary["tenants"].items():
        moved = [f"{ch} ×{f['mean']:.2f} [{f['q05']:.2f}, {f['q95']:.2f}]" for ch, f in e.get("roas_change_factor", {}).items()
                 if f.get("q95") is not None and (f["q95"] < 1 or f["q05"] > 1)]
        if moved:
            lines.append(f"  - {t}: {', '.join(moved)}")
    return lines


def recovery_line(overall: dict) -> str:
    """`evaluate`'s headline; a measure the truth could not give (another simulator's ROAS-only truth.json) is left out."""
    def known(key: str) -> bool:
        return isinstance(overall.get(key), int | float) and math.isfinite(overall[key])

    parts = [f"{overall['coverage_90']:.0%} of true ROAS inside the 90 % intervals ({overall.get('pairs', '?')} tenant×channel pairs)"
             if known("coverage_90") else "no true ROAS to compare"]
    if known("median_abs_rel_error"):
        parts.append(f"median |relative error| {overall['median_abs_rel_error']:.1%}")
    if known("contribution_share_mae"):
        parts.append(f"contribution-share MAE {overall['contribution_share_mae']:.3f}")
    return "- " + "; ".join(parts) + "."


def model_card(summary: dict, evaluation: dict | None = None) -> str:
    """Render the model card of a run as markdown."""
    d, s, c = summary["data"], summary["sampler"], summary["convergence"]
    spec = summary.get("config", {}).get("spec", {})
    verdicts = tenant_verdicts(summary)
    lines = [
        f"{CARD_TITLE}{summary['run_id']}",
        "",
        "## Data",
        f"- Lake `{d['lake']}`, {len(d['tenants'])} tenants, channels {', '.join(d['channels'])}, {d['start']} to {d['end']}.",
        "",
        "## Model",
        "- Hierarchical PyMC model over all tenants: "
        f"{spec.get('adstock', 'geometric')} adstock (window {_window(spec, d)}), Hill saturation "
        f"(shape {spec.get('hill_shape')}), weather×media {'on' if spec.get('weather_media') else 'off'}, "
        f"pooling {'on' if spec.get('pooled') else 'off'}.",
        f"- Priors: ROAS 90 % range {_roas_ranges(spec)} (log-normal, pooled per channel); baseline "
        f"coefficients N(0, {spec.get('baseline_scale')}²) on unit-scale features, trend N(0, {spec.get('trend_scale')}²) per year, "
        f"intercept N(0, {spec.get('intercept_scale')}²); baseline integrated out analytically.",
        *lever_lines(spec),
        *holiday_lines(summary),
        *regime_lines(summary),
        *noise_lines(summary),
        *([f"- {_sentence(screen)}."] if (screen := screen_line(summary)) else []),
        *([f"- {_sentence(pool)}."] if (pool := pooling_line(summary)) else []),
        *([f"- Adstock chosen by PSIS-LOO between geometric and delayed: {summary['adstock_choice']['chosen']} "
           f"({summary['adstock_choice']['reason']})."] if "adstock_choice" in summary else []),
        "",
        "## Convergence",
        f"- {s['name']}, {s['chains']} chains × ({s['tune']} tune + {s['draws']} draws){rounds_note(s)}, {s.get('seconds')} s.",
        f"- R-hat max {c['rhat_max']}, bulk ESS min {c['ess_bulk_min']}, tail ESS min {c['ess_tail_min']}, "
        f"divergences {c['divergences']}: **{'converged' if c['ok'] else 'NOT converged — do not use the numbers'}**.",
    ]
    if "loo" in summary:
        lo = summary["loo"]
        lines += [f"- LOO: elpd {lo['elpd']} (se {lo['se']}), p_loo {lo['p_loo']}, {lo['pareto_k_over_0_7']} of {lo.get('n', '?')} periods with Pareto k > 0.7."]
    cv_rows = [(t, e["cv"]) for t, e in summary["tenants"].items() if e.get("cv")]
    if cv_rows:
        lines += ["", "## Walk-forward cross-validation", "", "| tenant | holdout R² | MAPE % | best baseline R² | verdict |", "|---|---|---|---|---|"]
        for t, cv in cv_rows:
            lines.append(f"| {t} | {fmt(cv['r2_mean'])} | {fmt(cv['mape_mean'], '.1f')} | {fmt(cv['baseline_r2_mean'])} | "
                         f"{'go' if cv['verdict']['go'] else 'no-go'} |")
    if evaluation and evaluation.get("overall"):
        lines += ["", "## Recovery of the synthetic truth", recovery_line(evaluation["overall"])]
    lines += lift_lines(summary)
    lines += identification_lines(summary)
    lines += ["", "## Verdict per tenant", "", "| tenant | verdict | why |", "|---|---|---|"]
    for t, v in verdicts.items():
        lines.append(f"| {t} | {'GO' if v['go'] else 'NO-GO'} | {'; '.join(v['reasons']) or 'meets the bar'} |")
    limits = [*LIMITS, *([WEATHERLESS_LIMIT] if any(e.get("weather") is False for e in summary["tenants"].values()) else []),
              *([WEEKLY_LIMIT] if (summary.get("data") or {}).get("cadence") == "weekly" else [])]
    lines += ["", "## Known limits", *[f"- {x}" for x in limits], ""]
    return "\n".join(lines)
