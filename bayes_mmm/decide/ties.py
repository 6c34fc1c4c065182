"""Channels the data cannot tell apart move together: their split stays, their total may move.

When two channels' spend moves together, the posterior knows their *sum*'s effect far
better than how it splits (issue 16: a plan that shifted budget between two co-flighted
channels lost money). Holding both at today's spend is safe but gives up the part the data
do support. A tie keeps each tenant's split within an entangled group at today's shares
``s`` and lets the group's total ``U`` move: channel ``m`` gets ``s_m · U``. That is a
linear change of variables, so the optimiser, the projections, pacing and do-no-harm all
work unchanged on the reduced plan (one cell per group, on its first channel, the others
fixed at 0), and the problem feeds the channels through ``Problem.mix``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.sparse.csgraph import connected_components

from bayes_mmm.analysis.identification import CORR_MAX
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.spend_variation import TOGETHER_MIN
from bayes_mmm.decide.problem import Problem, fed


def entangled_groups(
    summary: Mapping[str, Any], tenants: Sequence[str], channels: Sequence[str], flagged: np.ndarray, free: np.ndarray,
    threshold: float = CORR_MAX,
) -> list[tuple[int, tuple[int, ...]]]:
    """``(tenant index, channel indices)`` groups: each flagged channel with the free channels it is entangled with.

    ``flagged`` and ``free`` are ``(N, C)``: channels the identification check flags, and channels a
    plan may move (active, not named in the user's bounds). Groups sharing a channel are merged.
    Entangled: |log-ROAS correlation| above the identification check's own threshold, or spend
    flighted together or against each other (|correlation| above :data:`~bayes_mmm.data.spend_variation.TOGETHER_MIN`).
    """
    out = []
    for i, t in enumerate(tenants):
        entry = (summary.get("tenants") or {}).get(t) or {}
        corr, spend = entry.get("roas_correlation") or {}, entry.get("spend_correlation") or {}
        link = np.zeros((len(channels), len(channels)), dtype=bool)
        for a in np.flatnonzero(flagged[i] & free[i]):
            for b in np.flatnonzero(free[i]):
                r, q = ((m.get(channels[a]) or {}).get(channels[b]) for m in (corr, spend))
                link[a, b] = b != a and ((r is not None and abs(float(r)) > threshold) or (q is not None and abs(float(q)) > TOGETHER_MIN))
        _, label = connected_components(link, directed=False)
        for k in np.unique(label):
            members = tuple(int(j) for j in np.flatnonzero(label == k))
            if len(members) > 1:
                out.append((i, members))
    return out


@dataclass(frozen=True)
class Ties:
    """Groups of one tenant's channels whose split is kept at ``shares``.

    ``groups`` lists ``(tenant, channels)``; ``shares`` ``(N, C)`` is each tied channel's share of its
    group's current spend. The reduced plan holds a group's total on its first channel.
    """

    groups: tuple[tuple[int, tuple[int, ...]], ...]
    shares: np.ndarray

    @classmethod
    def of(cls, groups: Sequence[tuple[int, tuple[int, ...]]], current: np.ndarray) -> Ties:
        """Ties at the current plan's shares ``(N, C, D)``.

        A member with no current spend has no share to keep, so it leaves its group (the trust
        region keeps it near 0 anyway); a group left with one member is no group.
        """
        spent = current.sum(axis=-1)
        shares = np.ones(spent.shape)
        kept = []
        for i, members in groups:
            live = [m for m in members if spent[i, m] > 0]
            if len(live) > 1:
                shares[i, live] = spent[i, live] / spent[i, live].sum()
                kept.append((i, tuple(live)))
        return cls(tuple(kept), shares)

    def mix(self) -> np.ndarray:
        """``(N, C, C)``: what each channel receives from the reduced plan's cells."""
        n, c = self.shares.shape
        mix = np.tile(np.eye(c), (n, 1, 1))
        for i, members in self.groups:
            lead = members[0]
            for m in members:
                mix[i, m, m] = 0.0
                mix[i, m, lead] = self.shares[i, m]
        return mix

    def problem(self, prob: Problem) -> Problem:
        """``prob`` fed through the ties (itself when there are none)."""
        return replace(prob, mix=self.mix()) if self.groups else prob

    def reduce(self, plan: np.ndarray) -> np.ndarray:
        """The reduced plan: each group's total on its first channel, 0 on the others."""
        out = plan.copy()
        for i, members in self.groups:
            out[i, members[0]] = plan[i, list(members)].sum(axis=0)
            out[i, list(members[1:])] = 0.0
        return out

    def expand(self, plan: np.ndarray) -> np.ndarray:
        """A reduced plan back to one cell per channel (each tied channel its share of the group's total)."""
        return fed(plan, self.mix() if self.groups else None)

    def bounds(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the reduced plan: a group's total keeps every member within its own bounds.

        Raises :class:`DataError` when a group's members leave its total no room.
        """
        lo, hi = lower.copy(), upper.copy()
        for i, members in self.groups:
            s = self.shares[i, list(members), None]
            lo[i, members[0]] = (lower[i, list(members)] / s).max(axis=0)
            hi[i, members[0]] = (upper[i, list(members)] / s).min(axis=0)
            lo[i, list(members[1:])] = hi[i, list(members[1:])] = 0.0
        if not (lo <= hi * (1 + 1e-9) + 1e-9).all():
            raise DataError("a tied group's members leave its total no room")
        return lo, hi

    def describe(self, tenants: Sequence[str], channels: Sequence[str]) -> list[str]:
        """``tenant:a+b (shares 60/40)`` per group, for plan.json and the CLI."""
        return [f"{tenants[i]}:{'+'.join(channels[m] for m in members)} "
                f"(shares {'/'.join(f'{100 * self.shares[i, m]:.0f}' for m in members)} %)" for i, members in self.groups]


NO_TIES = Ties((), np.ones((0, 0)))
