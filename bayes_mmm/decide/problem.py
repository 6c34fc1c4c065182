"""The allocation problem: the model's forward response of a spend plan, per posterior draw.

For tenant n, channel c and horizon day t (the model's arithmetic, :mod:`bayes_mmm.model.response`),

    contribution = y_scale[n] · β[n, c] · hill(x_t, half_sat, shape) · exp(γ[n, c] · z_t),

with ``x_t`` the adstocked spend divided by ``spend_scale[n, c]``. A plan covers
``D`` days starting the day after the data ends; the horizon runs ``L − 1``
days further so the plan's carry-over is counted, and the last ``L − 1``
observed days feed the adstock (carry-in). On those further days spend goes on
at today's level (``after``), as it does for a merchant after any plan: were
it 0 there, a plan's carry-over would land on unsaturated days and spend
loaded onto a plan's last days would look better than it is (an independent
pass, 2026-11-28: 40 % of a week on its last day claimed +433 at P 1.00; with
spend going on after the week, the truth has it lose). Incremental revenue is
the horizon's media revenue minus the same with nothing spent on plan days.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import xarray as xr

from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.model.draws import stacked
from bayes_mmm.model.response import convolve, convolve_transpose, hill, hill_slope, lag_weights, weather_multiplier


@dataclass
class Problem:
    """Arrays that define the response over draws S, tenants N, channels C, horizon days H.

    Attributes
    ----------
    weights : (S, N, C, L) adstock weights already divided by ``spend_scale``.
    x0 : (S, N, C, H) adstocked input from the observed history alone (carry-in).
    half_sat, shape : (S, N, C) Hill parameters.
    coef : (S, N, C, H) ``y_scale · β · exp(γ·z)``: currency per unit of Hill output.
    base : (S, N) media revenue of the horizon with nothing spent on plan days.
    n_days : D, days of the plan (H = D + L − 1).
    mix : (N, C, C) or None. With it, channel c of tenant n receives
        ``Σ_k mix[n, c, k] · plan[n, k]``: channels tied into one plan cell
        (:mod:`bayes_mmm.decide.ties`). None: each channel receives its own cell.
    """

    weights: np.ndarray
    x0: np.ndarray
    half_sat: np.ndarray
    shape: np.ndarray
    coef: np.ndarray
    base: np.ndarray
    n_days: int
    mix: np.ndarray | None = None

    @property
    def n_draws(self) -> int:
        """Number of posterior draws S."""
        return self.weights.shape[0]

    def _index(self, idx: tuple, mix: np.ndarray | None) -> Problem:
        arrays = {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name not in ("n_days", "mix")}
        return Problem(**arrays, n_days=self.n_days, mix=mix)

    def take(self, idx: np.ndarray) -> Problem:
        """The same problem on a subset of draws."""
        return self._index((idx,), self.mix)

    def for_tenants(self, idx: np.ndarray) -> Problem:
        """The same problem restricted to some tenants."""
        return self._index((slice(None), idx), None if self.mix is None else self.mix[idx])


def build_problem(
    weights: np.ndarray,
    spend_scale: np.ndarray,
    history: np.ndarray,
    beta: np.ndarray,
    half_sat: np.ndarray,
    shape: np.ndarray,
    gamma: np.ndarray | None,
    z: np.ndarray,
    n_days: int,
    after: np.ndarray | None = None,
) -> Problem:
    """Assemble a :class:`Problem` from model quantities.

    Parameters
    ----------
    weights
        ``(S, N, C, L)`` normalised adstock weights.
    spend_scale
        ``(N, C)`` spend divisor of the model.
    history
        ``(N, C, L − 1)`` observed spend of the last days, oldest first.
    beta
        ``(S, N, C)`` β in currency units (``y_scale · β`` of the model).
    half_sat, shape
        ``(S, N, C)`` Hill parameters.
    gamma
        ``(S, N, C, 2)`` weather sensitivity, or None for no weather effect.
    z
        ``(N, H, 2)`` standardised (temperature, log-rain) on the horizon days.
    n_days
        Plan days D.
    after
        ``(N, C)`` spend per day on the ``L − 1`` days after the plan (today's level); None: nothing.
    """
    s, n, c, n_lags = weights.shape
    horizon = n_days + n_lags - 1
    w = weights / spend_scale[None, :, :, None]
    tail = np.zeros((n, c, n_lags - 1)) if after is None else np.repeat(np.asarray(after, dtype=float)[..., None], n_lags - 1, axis=-1)
    fixed = np.concatenate([history, np.zeros((n, c, n_days)), tail], axis=-1)
    # Spend no plan changes, adstocked: the history's carry-in and the days after the plan.
    x0 = convolve(fixed, w, n_lags - 1 + horizon)[..., n_lags - 1 :]
    mult = np.ones((s, n, c, horizon)) if gamma is None else weather_multiplier(gamma, z)
    coef = beta[..., None] * mult
    base = (coef * hill(x0, half_sat[..., None], shape[..., None])).sum(axis=(2, 3))
    return Problem(w, x0, half_sat, shape, coef, base, n_days)


def fed(plan: np.ndarray, mix: np.ndarray | None) -> np.ndarray:
    """The spend each channel receives from a plan ``(N, C, D)``: the plan itself, or through ``mix`` ``(N, C, C)``."""
    return plan if mix is None else np.einsum("nck,nkd->ncd", mix, plan)


def _input(plan: np.ndarray, prob: Problem) -> np.ndarray:
    """Adstocked (scaled) input of the horizon: carry-in plus the plan's own, linear in the plan."""
    return prob.x0 + convolve(fed(plan, prob.mix), prob.weights, prob.x0.shape[-1])


def contributions(plan: np.ndarray, prob: Problem) -> np.ndarray:
    """Media revenue per draw, tenant, channel and horizon day ``(S, N, C, H)`` with the plan spent, carry-in included."""
    return prob.coef * hill(_input(plan, prob), prob.half_sat[..., None], prob.shape[..., None])


#: Relative difference below which two plans' revenues are a tie, not a win: float rounding of the same plan
#: (kept at today's mix, or a step of 0) must not read as P(beats current) 0.5 or 1.
TIE = 1e-9


def margin(current: np.ndarray) -> np.ndarray:
    """Per draw, how much more than ``current`` a plan must earn to beat it (:data:`TIE` relative, at least TIE)."""
    return TIE * np.maximum(np.abs(current), 1.0)


def prob_beats(plan: np.ndarray, current: np.ndarray) -> float:
    """P(plan earns more than current) over posterior draws of both revenues (same shape); ties do not count."""
    return float(np.mean(plan > current + margin(current)))


def response(plan: np.ndarray, prob: Problem) -> np.ndarray:
    """Incremental revenue per draw and tenant, ``(S, N)``, of a plan ``(N, C, D)``."""
    return contributions(plan, prob).sum(axis=(2, 3)) - prob.base


def concave_twin(prob: Problem, current: np.ndarray) -> Problem:
    """The same draws with every S-shaped curve (shape > 1) replaced by a concave one earning the same today.

    Per draw, tenant and channel the twin's curve is the Hill curve of shape 1 (Michaelis–Menten)
    with the draw's half-saturation, scaled so that on the horizon ``current`` ``(N, C, D)`` (with
    the history's carry-in) brings the channel exactly the media revenue it brings under the draw:
    the same revenue today, but no increasing returns. Draws of shape ≤ 1 are their own twin, and
    so is a channel with no input on the horizon (nothing to match the twin to). Why: a shape
    shared by a channel across tenants can be S-shaped where one tenant's own curve is not
    (RESULTS.md §34), and a move whose gain rests on increasing returns then over-claims.
    """
    x = _input(current, prob)
    unspent = x.max(axis=-1) <= 0
    shape = np.where(unspent, prob.shape, np.minimum(prob.shape, 1.0))
    k = prob.half_sat[..., None]
    today = (prob.coef * hill(x, k, prob.shape[..., None])).sum(axis=-1)
    twin = (prob.coef * hill(x, k, shape[..., None])).sum(axis=-1)
    scale = np.divide(today, twin, out=np.ones_like(today), where=~unspent & (twin > 0))
    coef = prob.coef * scale[..., None]
    base = (coef * hill(prob.x0, k, shape[..., None])).sum(axis=(2, 3))
    return replace(prob, shape=shape, coef=coef, base=base)


def response_and_grad(plan: np.ndarray, prob: Problem) -> tuple[np.ndarray, np.ndarray]:
    """:func:`response` and its exact gradient per draw, ``(S, N)`` and ``(S, N, C, D)``."""
    x = _input(plan, prob)
    s = prob.shape[..., None]
    h = hill(x, prob.half_sat[..., None], s)
    q = hill_slope(x, h, s, prob.coef)
    value = (prob.coef * h).sum(axis=(2, 3)) - prob.base
    grad = convolve_transpose(q, prob.weights, prob.n_days)
    # Chain rule through the tie: a plan cell's gradient is the mix-weighted sum over the channels it feeds.
    return value, grad if prob.mix is None else np.einsum("nck,sncd->snkd", prob.mix, grad)


def _per_tenant_channel(posterior: xr.Dataset, name: str, n: int, c: int, default: float) -> np.ndarray:
    """``(S, N, C)`` from a variable with dims (tenant, channel), (channel) or absent."""
    if name not in posterior:
        s = posterior.sizes["chain"] * posterior.sizes["draw"]
        return np.full((s, n, c), default)
    a = stacked(posterior[name])
    return np.broadcast_to(a[:, None, :], (a.shape[0], n, c)).copy() if a.ndim == 2 else a


def posterior_problem(
    post: xr.Dataset, const: xr.Dataset, spec: ModelSpec, sel: list[int], z: np.ndarray, n_days: int,
    n_lags: int | None = None, gap: np.ndarray | None = None, spend: np.ndarray | None = None,
    after: np.ndarray | None = None,
) -> Problem:
    """The :class:`Problem` of a fitted run for tenants ``sel`` (indices into the run's tenants).

    ``post`` must hold ``beta`` (scaled axis); ``z`` is ``(N, H, 2)`` horizon weather of the selected tenants.
    ``n_lags`` is the adstock window in periods (default ``spec.l_max``, right for daily runs);
    ``gap`` ``(N, C, G)`` is spend assumed between the data's end and the plan's start; ``spend``
    ``(N, C, T)`` the selected tenants' history the carry-over comes from (default: the run's);
    ``after`` ``(N, C)`` spend per period after the plan (:func:`build_problem`).
    """
    n_all, c = const.sizes["tenant"], const.sizes["channel"]
    alpha = _per_tenant_channel(post, "adstock_alpha", n_all, c, 0.0)
    peak = _per_tenant_channel(post, "adstock_peak", n_all, c, 0.0) if spec.adstock == "delayed" else None
    l_max = spec.windowed("daily").l_max if n_lags is None else n_lags
    weights = lag_weights(spec.adstock, alpha, l_max, peak)[:, sel]
    half_sat = _per_tenant_channel(post, "half_sat", n_all, c, 1.0)[:, sel]
    shape = _per_tenant_channel(post, "hill_shape", n_all, c, 1.0)[:, sel]
    gamma = stacked(post["weather_gamma"])[:, sel] if "weather_gamma" in post else None
    beta = stacked(post["beta"])[:, sel] * const["y_scale"].values[sel][None, :, None]
    spend = const["spend"].values[sel] if spend is None else spend
    if gap is not None and gap.shape[-1]:
        spend = np.concatenate([spend, gap], axis=-1)
    history = np.zeros((len(sel), c, l_max - 1))
    take = min(l_max - 1, spend.shape[-1])
    if take:
        history[..., l_max - 1 - take :] = spend[..., -take:]
    return build_problem(weights, const["spend_scale"].values[sel], history, beta, half_sat, shape, gamma, z, n_days, after)
