"""Figures of the diagnostic report: pure functions from arrays to matplotlib figures.

Every ``fig_*`` function takes plain numpy arrays or an InferenceData slice and
returns a :class:`matplotlib.figure.Figure`; :func:`fig_to_data_uri` turns one
into an inline PNG (and closes it) so the report has no external files.
Revenue is in currency units per day, spend in currency units per day.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

# Agg before pyplot: reports are rendered on headless CI machines and servers.
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from scipy.stats import rankdata

from bayes_mmm.model.response import lag_weights, steady_state

# Labels come from input (channel and tenant names): "$…$" must print as written, not as mathtext.
matplotlib.rcParams["text.parse_math"] = False
DPI = 90
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]
BAND90, BAND50 = (5, 95), (25, 75)

__all__ = [
    "fig_adstock",
    "fig_allocation",
    "fig_contributions",
    "fig_cv",
    "fig_loo_k",
    "fig_monitor",
    "fig_ppc_density",
    "fig_ppc_time",
    "fig_prior_posterior",
    "fig_rank",
    "fig_response",
    "fig_roas_forest",
    "fig_to_data_uri",
    "fig_truth",
    "fig_weather",
]


def _fig(width: float, height: float, ncols: int = 1, nrows: int = 1, left: float = 0.75, bottom: float = 0.55, top: float = 0.35) -> tuple[Figure, np.ndarray]:
    """A figure with a flat array of axes, created without pyplot's global state.

    Margins are fixed in inches instead of ``layout="tight"``: tight layout
    draws every figure twice, which doubled the report's render time, and
    our figures have known label sizes.
    """
    fig = Figure(figsize=(width, height), dpi=DPI)
    gap_w = 1.0 / (width / ncols) if ncols > 1 else 0.2
    gap_h = 0.75 / (height / nrows) if nrows > 1 else 0.2
    fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, bottom=bottom / height, top=1 - top / height, wspace=gap_w, hspace=gap_h)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


def _color(j: int) -> str:
    return COLORS[j % len(COLORS)]


def fig_to_data_uri(fig: Figure) -> str:
    """Encode ``fig`` as a ``data:image/png;base64`` URI and close it."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def fig_rank(draws: dict[str, np.ndarray], channels: Sequence[str], bins: int = 20) -> Figure:
    """Rank histograms per chain of each parameter, one panel per parameter.

    ``draws[name]`` has shape ``(chain, draw, channel)``. Ranks are taken over
    all chains (as in ``az.plot_rank``); each line is one chain of one channel,
    scaled so a perfectly mixed chain is flat at 1. The grey band is the
    95 % range of a uniform histogram with this many draws.
    """
    names = list(draws)
    fig, axes = _fig(4.5 * max(len(names), 1), 3, ncols=max(len(names), 1))
    styles = ["-", "--", ":", "-."]
    for ax, name in zip(axes, names, strict=False):
        d = draws[name]
        n_chain, n_draw = d.shape[:2]
        p = 1 / bins
        half = 1.96 * np.sqrt((1 - p) / (n_draw * p))
        ax.axhspan(1 - half, 1 + half, color="0.88", lw=0)
        edges = np.linspace(0, 1, bins + 1)
        for j, ch in enumerate(channels):
            ranks = rankdata(d[:, :, j].ravel()).reshape(n_chain, n_draw) / (n_chain * n_draw)
            for c in range(n_chain):
                counts, _ = np.histogram(ranks[c], edges)
                ax.stairs(counts / (n_draw * p), edges, color=_color(j), ls=styles[c % len(styles)], lw=1.1, label=ch if c == 0 else None)
        ax.axhline(1, color="k", lw=0.6)
        ax.set_title(f"Rank plot: {name}")
        ax.set_xlabel("rank quantile (all chains)")
        ax.set_ylabel("relative frequency (1 = uniform)")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, ncols=len(channels), loc="lower center")
    return fig


def fig_ppc_time(dates: np.ndarray, observed: np.ndarray, draws: np.ndarray, train: np.ndarray | None = None,
                 unit: str = "day") -> Figure:
    """Observed daily revenue against the posterior predictive mean with 50 % and 90 % bands.

    ``draws`` has shape ``(S, T)``; days outside ``train`` (hold-out) are shaded.
    """
    fig, (ax,) = _fig(9, 3)
    own = np.isfinite(draws).any(axis=0)  # the tenant's own periods: a run's tenants may span different dates
    dates, observed, draws = dates[own], observed[own], draws[:, own]
    train = None if train is None else train[own]
    q = np.nanpercentile(draws, [*BAND90, *BAND50], axis=0)
    ax.fill_between(dates, q[0], q[1], color=_color(0), alpha=0.2, lw=0, label="90 % predictive")
    ax.fill_between(dates, q[2], q[3], color=_color(0), alpha=0.35, lw=0, label="50 % predictive")
    ax.plot(dates, np.nanmean(draws, axis=0), color=_color(0), lw=1, label="predictive mean")
    ax.plot(dates, observed, "k.", ms=2, label="observed")
    if train is not None and not train.all():
        ax.fill_between(dates, 0, 1, where=~train, transform=ax.get_xaxis_transform(), color="0.85", alpha=0.5, lw=0, label="not trained on")
    ax.set_title("Posterior predictive check over time")
    ax.set_xlabel("date")
    ax.set_ylabel(f"revenue / {unit}")
    ax.legend(fontsize=7, ncols=5, loc="upper left")
    return fig


def fig_ppc_density(observed: np.ndarray, draws: np.ndarray, n_lines: int = 40, unit: str = "day") -> Figure:
    """Histogram of observed revenue per period over those of ``n_lines`` predictive draws."""
    fig, (ax,) = _fig(4.5, 3)
    obs = observed[np.isfinite(observed)]
    finite = draws[np.isfinite(draws)]
    lo, hi = np.percentile(np.concatenate([obs, finite]), [0.5, 99.5]) if obs.size else (0.0, 1.0)
    bins = np.linspace(lo, hi, 40)
    # np.histogram + stairs: ax.hist builds a patch per call and is 5x slower.
    for s in draws[: min(n_lines, len(draws))]:
        ax.stairs(np.histogram(s[np.isfinite(s)], bins, density=True)[0], bins, color=_color(0), alpha=0.15, lw=0.8)
    ax.stairs(np.histogram(obs, bins, density=True)[0], bins, color="k", lw=1.6, label="observed")
    ax.plot([], [], color=_color(0), alpha=0.5, label="predictive draws")
    ax.set_title(f"Distribution of revenue per {unit}")
    ax.set_xlabel(f"revenue / {unit}")
    ax.set_ylabel("density (per currency unit)")
    ax.legend(fontsize=7)
    return fig


def fig_loo_k(dates: np.ndarray, k: np.ndarray, unit: str = "day") -> Figure:
    """PSIS-LOO Pareto k per training period; k > 0.7 marks periods LOO cannot be trusted on."""
    fig, (ax,) = _fig(9, 2.4)
    bad = k > 0.7
    ax.scatter(dates[~bad], k[~bad], s=5, color=_color(0), label="k ≤ 0.7")
    ax.scatter(dates[bad], k[bad], s=12, color="tab:red", label=f"k > 0.7 ({int(bad.sum())} {unit}s)")
    for level, style in ((0.5, ":"), (0.7, "--")):
        ax.axhline(level, color="0.4", ls=style, lw=0.8)
    ax.set_title(f"LOO Pareto k per {unit}")
    ax.set_xlabel("date")
    ax.set_ylabel("Pareto k")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def fig_cv(folds: Sequence[dict]) -> Figure:
    """Hold-out R² of the MMM against the best simple baseline per walk-forward fold."""
    fig, (ax,) = _fig(5, 2.8)
    x = np.arange(len(folds))
    model = [f.get("r2", np.nan) for f in folds]
    base = [f.get("baseline_r2", np.nan) for f in folds]
    ax.bar(x - 0.2, np.asarray(model, float), 0.4, color=_color(0), label="MMM")
    ax.bar(x + 0.2, np.asarray(base, float), 0.4, color="0.6", label="best baseline")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [str(f.get("fold", i)) for i, f in enumerate(folds)])
    ax.set_title("Walk-forward CV: hold-out R² per fold")
    ax.set_xlabel("fold")
    ax.set_ylabel("R² (hold-out)")
    ax.legend(fontsize=7)
    return fig


def fig_contributions(dates: np.ndarray, baseline: np.ndarray, contributions: np.ndarray, channels: Sequence[str],
                      observed: np.ndarray | None = None, unit: str = "day") -> Figure:
    """Stacked posterior-mean revenue per period: baseline plus each channel ``(C, T)``."""
    fig, (ax,) = _fig(9, 3)
    ax.stackplot(dates, baseline, *contributions, labels=["baseline", *channels], colors=["0.8", *[_color(j) for j in range(len(channels))]], alpha=0.85)
    if observed is not None:
        ax.plot(dates, observed, color="k", lw=0.6, label="observed")
    ax.set_title("Revenue decomposition (posterior mean)")
    ax.set_xlabel("date")
    ax.set_ylabel(f"revenue / {unit}")
    ax.legend(fontsize=7, ncols=len(channels) + 2, loc="upper left")
    return fig


def response_curves(spend: np.ndarray, spend_scale: float, y_scale: float, beta: np.ndarray, half_sat: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Steady-state revenue/day ``(S, G)`` for a constant daily spend grid ``spend`` (G,), at average weather."""
    return y_scale * beta[:, None] * steady_state(spend, spend_scale, half_sat, shape)


def fig_response(grids: Sequence[np.ndarray], curves: Sequence[np.ndarray], current: Sequence[float], channels: Sequence[str],
                 unit: str = "day") -> Figure:
    """Response curve per channel (mean and 90 % band) with the current mean spend per period."""
    n = len(channels)
    fig, axes = _fig(3.1 * n, 2.8, ncols=n)
    for j, (ax, g, c, cur, ch) in enumerate(zip(axes, grids, curves, current, channels, strict=True)):
        q = np.percentile(c, BAND90, axis=0)
        ax.fill_between(g, q[0], q[1], color=_color(j), alpha=0.25, lw=0, label="90 % band")
        ax.plot(g, c.mean(axis=0), color=_color(j), label="mean")
        ax.axvline(cur, color="k", ls="--", lw=0.8, label="current mean spend")
        ax.set_title(ch)
        ax.set_xlabel(f"spend / {unit}")
        ax.set_ylabel(f"incremental revenue / {unit}")
        ax.set_xlim(0, g[-1])
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def adstock_weights(kind: str, alpha: np.ndarray, l_max: int, peak: np.ndarray | None = None) -> np.ndarray:
    """Normalised adstock weights ``(S, l_max)`` of the model's adstock ``kind`` (``ModelSpec.adstock``)."""
    return lag_weights(kind, alpha, l_max, peak)


def fig_adstock(weights: Sequence[np.ndarray], channels: Sequence[str], unit: str = "day") -> Figure:
    """Adstock weights over lags per channel (mean, 90 % band); a long tail is slow decay."""
    fig, (ax,) = _fig(5, 3)
    for j, (w, ch) in enumerate(zip(weights, channels, strict=True)):
        lags = np.arange(w.shape[-1])
        q = np.percentile(w, BAND90, axis=0)
        ax.fill_between(lags, q[0], q[1], color=_color(j), alpha=0.2, lw=0)
        ax.plot(lags, w.mean(axis=0), "o-", ms=3, color=_color(j), label=ch)
    ax.set_title(f"Adstock: share of a {unit}'s spend acting k {unit}s later")
    ax.set_xlabel(f"lag ({unit}s)")
    ax.set_ylabel("weight (sums to 1)")
    ax.legend(fontsize=7)
    return fig


def fig_weather(temp: np.ndarray, temp_mult: Sequence[np.ndarray], rain: np.ndarray, rain_mult: Sequence[np.ndarray], channels: Sequence[str]) -> Figure:
    """Media effectiveness multiplier ``exp(γ·z)`` vs temperature (°C) and rain (mm), 90 % bands."""
    fig, axes = _fig(9, 3, ncols=2)
    for ax, x, mults, label in ((axes[0], temp, temp_mult, "temperature (°C)"), (axes[1], rain, rain_mult, "rain (mm / day)")):
        for j, (m, ch) in enumerate(zip(mults, channels, strict=True)):
            q = np.percentile(m, BAND90, axis=0)
            ax.fill_between(x, q[0], q[1], color=_color(j), alpha=0.18, lw=0)
            ax.plot(x, m.mean(axis=0), color=_color(j), label=ch)
        ax.axhline(1, color="k", lw=0.6)
        ax.set_xlabel(label)
        ax.set_ylabel("effectiveness multiplier (×)")
    axes[0].set_title("Media effect vs temperature")
    axes[1].set_title("Media effect vs rain")
    axes[0].legend(fontsize=7)
    return fig


def fig_allocation(channels: Sequence[str], current: Sequence[float], plan: Sequence[float]) -> Figure:
    """Current against recommended total spend per channel over the plan's days."""
    fig, (ax,) = _fig(5, 2.8)
    x = np.arange(len(channels))
    ax.bar(x - 0.2, current, 0.4, color="0.6", label="current")
    ax.bar(x + 0.2, plan, 0.4, color=_color(2), label="recommended")
    ax.set_xticks(x, list(channels))
    ax.set_title("Budget allocation over the plan")
    ax.set_xlabel("channel")
    ax.set_ylabel("spend (total over plan days)")
    ax.legend(fontsize=7)
    return fig


def fig_truth(pairs: Sequence[dict]) -> Figure:
    """Posterior mean and 90 % interval of ROAS against the true ROAS per channel."""
    fig, (ax,) = _fig(5, 0.5 + 0.45 * max(len(pairs), 2))
    y = np.arange(len(pairs))
    mean = np.array([p["mean"] for p in pairs], float)
    err = np.array([[p["mean"] - p["q05"], p["q95"] - p["mean"]] for p in pairs], float).T.reshape(2, -1)
    ax.errorbar(mean, y, xerr=err, fmt="o", color=_color(0), capsize=3, label="posterior mean, 90 %")
    ax.scatter([p["true_roas"] for p in pairs], y, marker="x", s=50, color="tab:red", zorder=3, label="true ROAS")
    ax.set_yticks(y, [p["channel"] for p in pairs])
    ax.invert_yaxis()
    ax.set_title("ROAS recovery against ground truth")
    ax.set_xlabel("ROAS (revenue per unit spend)")
    ax.legend(fontsize=7)
    return fig


def fig_lift(tests: Sequence[dict]) -> Figure:
    """Each used lift test: measured ± se (black) against the model's prediction, mean and 90 % interval (blue)."""
    fig, (ax,) = _fig(5.5, 0.6 + 0.45 * max(len(tests), 2))
    y = np.arange(len(tests))
    pred = np.array([[t["predicted"]["mean"], t["predicted"]["q05"], t["predicted"]["q95"]] for t in tests], float).reshape(-1, 3)
    ax.errorbar(pred[:, 0], y - 0.12, xerr=np.abs(pred[:, [0]] - pred[:, 1:]).T, fmt="o", color=_color(0), capsize=3,
                label="model, 90 %")
    ax.errorbar([t["measured"] for t in tests], y + 0.12, xerr=[t["se"] for t in tests], fmt="s", color="black", capsize=3,
                label="measured ± se")
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(y, [f"{t['channel']} {t.get('start', '')}".strip() for t in tests])
    ax.invert_yaxis()
    ax.set_title("Lift tests: experiment against model")
    ax.set_xlabel("incremental revenue over the test")
    ax.legend(fontsize=7)
    return fig


def fig_roas_forest(labels: Sequence[str], mean: np.ndarray, q05: np.ndarray, q95: np.ndarray, channel_index: Sequence[int]) -> Figure:
    """Forest plot of ROAS (mean, 90 % interval) of every tenant×channel pair."""
    n = len(labels)
    left = 0.2 + 0.055 * max((len(x) for x in labels), default=10)  # ~0.055 in per 7 pt character
    fig, (ax,) = _fig(5 + left, 0.9 + 0.2 * max(n, 3), left=left, top=0.4)
    y = np.arange(n)
    for j in sorted(set(channel_index)):
        sel = np.asarray(channel_index) == j
        ax.hlines(y[sel], q05[sel], q95[sel], color=_color(j), lw=2)
        ax.plot(mean[sel], y[sel], "o", color=_color(j), ms=4)
    ax.axvline(1, color="k", ls="--", lw=0.7)
    ax.set_yticks(y, list(labels), fontsize=7)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_title("ROAS: mean and 90 % interval (dashed = break-even)")
    ax.set_xlabel("ROAS (revenue per unit spend)")
    return fig


def fig_prior_posterior(panels: Sequence[dict], channels: Sequence[str]) -> Figure:
    """Prior against posterior per channel, one panel per parameter.

    Each panel dict has ``title``, ``prior`` ``(channel, 2)`` 90 % ranges,
    ``post`` ``(channel, 3)`` 5/50/95 % quantiles and ``log`` (log x axis).
    The grey band is the prior, the coloured line the posterior (dot = median).
    """
    n, ncols = len(panels), min(len(panels), 3)
    nrows = -(-n // ncols)
    fig, axes = _fig(3.3 * ncols, 0.6 + (0.5 + 0.3 * len(channels)) * nrows, ncols=ncols, nrows=nrows)
    y = np.arange(len(channels))
    for ax, p in zip(axes, panels, strict=False):
        prior, post = np.asarray(p["prior"], float), np.asarray(p["post"], float)
        ax.hlines(y, prior[:, 0], prior[:, 1], color="0.8", lw=9, label="prior 90 %")
        for j in range(len(channels)):
            ax.hlines(y[j], post[j, 0], post[j, 2], color=_color(j), lw=2, label="posterior 90 %" if j == 0 else None)
            ax.plot(post[j, 1], y[j], "o", color=_color(j), ms=4)
        if p.get("log"):
            ax.set_xscale("log")
            # 1-2-5 ticks in plain numbers: ranges like 0.4–2.3 would otherwise show one labelled tick.
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(y, list(channels), fontsize=7)
        ax.set_ylim(len(channels) - 0.5, -0.5)
        ax.set_title(p["title"], fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    if n < len(axes):  # an empty slot: the legend goes there, off the data
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower right", fontsize=7, bbox_to_anchor=(0.95, 0.15))
    else:
        axes[0].legend(fontsize=6)
    return fig


def fig_monitor(tenants: Sequence[str], reference: Sequence[float | None], new: Sequence[float | None], actions: Sequence[str]) -> Figure:
    """R² on the new periods per tenant (coloured by action) against the reference R² on the same periods (grey)."""
    fig, (ax,) = _fig(5.5, 0.8 + 0.35 * max(len(tenants), 2), left=1.8)
    y = np.arange(len(tenants))
    ref, now = (np.array([np.nan if x is None else x for x in v], float) for v in (reference, new))
    colour = {"ok": "tab:green", "investigate": "tab:orange", "retrain": "tab:red"}
    ax.hlines(y, np.fmin(ref, now), np.fmax(ref, now), color="0.75", lw=2)
    ax.scatter(ref, y, color="0.45", marker="|", s=120, label="reference (expected on these periods)")
    ax.scatter(now, y, c=[colour.get(a, "0.2") for a in actions], s=36, zorder=3, label="new periods")
    ax.set_yticks(y, list(tenants))
    ax.invert_yaxis()
    ax.set_xlabel("R²")
    ax.set_title("Monitoring: R² on the new periods vs reference")
    ax.legend(fontsize=7, loc="lower left")
    return fig
