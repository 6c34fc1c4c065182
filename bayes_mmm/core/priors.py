"""Media priors as data: one frozen, validated dataclass that users can set and runs record.

ROAS is stated the way analysts think about it, as a central 90 % range per
channel (``{"email": (3, 12), "*": (0.5, 10)}``). The other media parameters are
stored as a normal ``(loc, scale)`` on the scale the model samples them on
(logit adstock, log half-saturation, log Hill shape, weather γ itself), so the
defaults are today's numbers exactly; :meth:`MediaPriors.from_ranges` (used by
the CLI) states them as 90 % ranges on the natural scale instead, and
:meth:`MediaPriors.interval` turns any of them back into one for display.

=============  ==========================  ====================================
parameter      sampled as                  default (90 % range, natural scale)
=============  ==========================  ====================================
ROAS           log, per channel            0.5–10 (until 2026-11-29: 1–5)
adstock α      logit, N(−0.5, 1)           0.10–0.76 (geometric decay per day)
half-sat.      log, N(0, 0.5)              0.44–2.28 × mean positive daily spend
Hill shape     log, N(log 1.3, 0.3)        0.79–2.13
weather γ      N(0, 0.2)                   −0.33–0.33 per sd of weather
=============  ==========================  ====================================

With pooling, a tenant's value is ``mu_c + sigma_c·z`` with ``mu_c`` from the
prior above and ``sigma_c ~ HalfNormal(pool)``; unpooled tenants get a normal of
the same variance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

Z90 = 1.6448536269514722
DEFAULT_CHANNEL = "*"
Range = tuple[float, float]
#: The default central 90 % ROAS range of every channel: an order of magnitude around 2.2. Independent lakes hold true
#: ROAS from 0.2 (display) to 27 (email); the earlier 1–5 was the range our own generator draws from (1.5–4) and held
#: weak channels' ROAS inside it (benchmarks/RESULTS.md §33).
DEFAULT_ROAS: Range = (0.5, 10.0)
#: The default before: runs whose summary records no ROAS prior were fitted with it.
LEGACY_ROAS: Range = (1.0, 5.0)

#: Normal-prior fields: name → (link of the sampled scale, what the CLI calls it).
NORMAL_FIELDS = {"adstock": "logit", "half_sat": "log", "hill": "log", "weather": "identity", "peak": "logit"}
POOL_FIELDS = ("roas_pool", "adstock_pool", "half_sat_pool", "weather_pool")


def _z(mass: float) -> float:
    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass}")
    return Z90 if mass == 0.9 else float(math.sqrt(2) * _erfinv(mass))


def _erfinv(p: float) -> float:
    from scipy.special import erfinv  # imported late: core stays light for the CLI's --help

    return float(erfinv(p))


def _link(kind: str, x: float) -> float:
    # numpy's log, as the model always used: math.log may differ in the last bit.
    if kind == "log":
        return float(np.log(x))
    if kind == "logit":
        return float(np.log(x / (1 - x)))
    return x


def _inverse_link(kind: str, x: float) -> float:
    if kind == "log":
        return math.exp(x)
    if kind == "logit":
        return 1 / (1 + math.exp(-x))
    return x


def check_range(name: str, value: Any, kind: str = "log") -> Range:
    """``(low, high)`` as floats, finite, ``low < high`` and inside the parameter's domain."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ValueError(f"{name} must be finite with low < high, got ({low:g}, {high:g})")
    if kind in ("log", "logit") and low <= 0:
        raise ValueError(f"{name} must have 0 < low < high, got ({low:g}, {high:g})")
    if kind == "logit" and high >= 1:
        raise ValueError(f"{name} is a fraction: it needs 0 < low < high < 1, got ({low:g}, {high:g})")
    return low, high


def normal_from_range(low: float, high: float, kind: str = "log", mass: float = 0.9) -> tuple[float, float]:
    """``(loc, scale)`` of a normal on the ``kind`` scale whose central ``mass`` interval is ``[low, high]``.

    ``kind="log"`` is Meridian's ``lognormal_dist_from_range``; ``"logit"`` a
    logit-normal for fractions; ``"identity"`` a plain normal.
    """
    lo, hi = _link(kind, low), _link(kind, high)
    return (lo + hi) / 2, (hi - lo) / (2 * _z(mass))


def lognormal_dist_from_range(low: float, high: float, mass: float = 0.9) -> tuple[float, float]:
    """Log-normal ``(mu, sigma)`` whose central ``mass`` interval is ``[low, high]``."""
    return normal_from_range(low, high, "log", mass)


def range_of_normal(loc: float, scale: float, kind: str = "log", mass: float = 0.9) -> Range:
    """Inverse of :func:`normal_from_range`: the central ``mass`` interval on the natural scale."""
    z = _z(mass)
    return _inverse_link(kind, loc - z * scale), _inverse_link(kind, loc + z * scale)


def _roas_items(roas: Mapping[str, Any] | tuple) -> tuple[tuple[str, Range], ...]:
    items = dict(roas)
    if DEFAULT_CHANNEL not in items:
        raise ValueError(f"roas needs a '{DEFAULT_CHANNEL}' entry for the channels not named, got keys {sorted(items)}")
    out = {str(k): check_range(f"roas prior of '{k}'", v) for k, v in items.items()}
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class MediaPriors:
    """Every media prior of the hierarchical model, validated on construction.

    Parameters
    ----------
    roas
        Central 90 % ROAS range per channel, ``"*"`` for every other channel
        (log-normal). Stored as sorted ``(channel, (low, high))`` pairs so the
        spec stays hashable; a dict is accepted.
    adstock, half_sat, hill, weather, peak
        ``(loc, scale)`` of a normal on the sampled scale: logit of the
        geometric decay α, log of the half-saturation in multiples of the
        channel's mean positive daily spend, log of the Hill shape, weather
        sensitivity γ per standard deviation of weather, logit of the delayed
        adstock's peak as a fraction of half the window.
    roas_pool, adstock_pool, half_sat_pool, weather_pool
        HalfNormal scale of the between-tenant sd (pooled fits); 0: that parameter is not pooled.
    noise
        HalfNormal scale of the residual sd on the scaled revenue axis.
    """

    roas: tuple[tuple[str, Range], ...] = ((DEFAULT_CHANNEL, DEFAULT_ROAS),)
    roas_pool: float = 0.3
    adstock: tuple[float, float] = (-0.5, 1.0)
    adstock_pool: float = 0.5
    half_sat: tuple[float, float] = (0.0, 0.5)
    half_sat_pool: float = 0.3
    hill: tuple[float, float] = (float(np.log(1.3)), 0.3)
    weather: tuple[float, float] = (0.0, 0.2)
    weather_pool: float = 0.1
    peak: tuple[float, float] = (-1.0, 1.0)
    noise: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "roas", _roas_items(self.roas))
        for name in NORMAL_FIELDS:
            value = getattr(self, name)
            try:
                loc, scale = (float(v) for v in value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} prior must be (loc, scale), got {value!r}") from None
            if not (math.isfinite(loc) and math.isfinite(scale) and scale > 0):
                raise ValueError(f"{name} prior must have a finite loc and a finite scale > 0, got ({loc:g}, {scale:g})")
            object.__setattr__(self, name, (loc, scale))
        for name in (*POOL_FIELDS, "noise"):
            value = float(getattr(self, name))
            # A pool scale of 0 means "not pooled": that parameter's tenants are independent a priori.
            if not (math.isfinite(value) and (value >= 0 if name in POOL_FIELDS else value > 0)):
                raise ValueError(f"{name} must be finite and {'≥ 0 (0: not pooled)' if name in POOL_FIELDS else '> 0'}, got {value:g}")
            object.__setattr__(self, name, value)

    def roas_range(self, channel: str) -> Range:
        """The 90 % ROAS range of ``channel`` (its own, else the ``"*"`` default)."""
        ranges = dict(self.roas)
        return ranges.get(channel, ranges[DEFAULT_CHANNEL])

    def roas_params(self, channel: str) -> tuple[float, float]:
        """Log-normal ``(mu, sigma)`` of ``channel``'s ROAS."""
        return lognormal_dist_from_range(*self.roas_range(channel))

    def unknown_channels(self, channels: list[str]) -> list[str]:
        """Channels named in :attr:`roas` that are not in ``channels`` (typos, or absent from the data)."""
        return [c for c, _ in self.roas if c != DEFAULT_CHANNEL and c not in channels]

    def interval(self, name: str, channel: str = DEFAULT_CHANNEL) -> Range:
        """Central 90 % range of the population-level prior of ``name`` on the natural scale."""
        if name == "roas":
            return self.roas_range(channel)
        return range_of_normal(*getattr(self, name), NORMAL_FIELDS[name])

    def tenant_interval(self, name: str, channel: str = DEFAULT_CHANNEL, pooled: bool = True, draws: int = 40_000) -> Range:
        """Central 90 % range of one tenant's value before any data, on the natural scale.

        What a posterior is compared with: unpooled, the normal of variance
        ``scale² + pool²``; pooled, the marginal of ``mu + sigma·z`` (not normal),
        by Monte Carlo with a fixed seed so reports are reproducible.
        """
        kind = "log" if name == "roas" else NORMAL_FIELDS[name]
        loc, scale = self.roas_params(channel) if name == "roas" else getattr(self, name)
        pool = getattr(self, f"{name}_pool")
        if not pooled:
            return range_of_normal(loc, math.hypot(scale, pool), kind)
        rng = np.random.default_rng(0)
        x = rng.normal(loc, scale, draws) + np.abs(rng.normal(0.0, pool, draws)) * rng.normal(0.0, 1.0, draws)
        lo, hi = np.quantile(x, [0.05, 0.95])
        return _inverse_link(kind, float(lo)), _inverse_link(kind, float(hi))

    @classmethod
    def from_ranges(cls, roas: Mapping[str, Range] | None = None, **ranges: Any) -> MediaPriors:
        """Priors from 90 % ranges on the natural scale (``adstock=(0.1, 0.8)``, ``hill=(1, 3)``, …).

        Pool scales and ``noise`` pass through as numbers; parameters not given keep their default.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(ranges) - known)
        if unknown:
            raise ValueError(f"unknown prior {unknown}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        for name, value in ranges.items():
            if name in NORMAL_FIELDS:
                kwargs[name] = normal_from_range(*check_range(f"{name} prior", value, NORMAL_FIELDS[name]), NORMAL_FIELDS[name])
            else:
                kwargs[name] = value
        if roas is not None:
            kwargs["roas"] = roas
        return cls(**kwargs)

    def with_default_roas(self, low: float, high: float) -> MediaPriors:
        """The same priors with ``"*"`` set to ``(low, high)``."""
        return replace(self, roas={**dict(self.roas), DEFAULT_CHANNEL: (low, high)})

    def to_dict(self) -> dict:
        """Plain-JSON form (ROAS as ``{channel: [low, high]}``, normals as ``[loc, scale]``)."""
        d: dict[str, Any] = {"roas": {c: list(r) for c, r in self.roas}}
        for f in fields(self):
            if f.name != "roas":
                value = getattr(self, f.name)
                d[f.name] = list(value) if isinstance(value, tuple) else value
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MediaPriors:
        """Inverse of :meth:`to_dict`; unknown keys are an error, missing ones keep their default."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown media prior {unknown}; known: {sorted(known)}")
        return cls(**{k: (dict(v) if k == "roas" else v) for k, v in d.items()})


def parse_range(option: str, text: str) -> Range:
    """``"LOW:HIGH"`` as two floats; a malformed value names ``option``."""
    parts = text.split(":")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{option}: '{text}' is not LOW:HIGH (two numbers, e.g. 1:5)") from None
    return low, high


def parse_roas_ranges(option: str, text: str) -> dict[str, Range]:
    """``"email=3:12,*=1:5"`` as ``{"email": (3, 12), "*": (1, 5)}``; each channel once."""
    out: dict[str, Range] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        channel, sep, value = item.partition("=")
        channel = channel.strip()
        if not sep or not channel:
            raise ValueError(f"{option}: '{item}' is not CHANNEL=LOW:HIGH (e.g. 'email=3:12,*=1:5')")
        if channel in out:
            raise ValueError(f"{option}: channel '{channel}' is given twice")
        out[channel] = parse_range(f"{option} {channel}", value.strip())
    if not out:
        raise ValueError(f"{option}: empty; give CHANNEL=LOW:HIGH pairs (e.g. 'email=3:12,*=1:5')")
    return out


def priors_from_options(
    roas: str | None = None,
    roas_default: Range | None = None,
    **ranges: str | None,
) -> MediaPriors:
    """:class:`MediaPriors` from CLI-style text (``roas="email=3:12"``, ``adstock="0.1:0.8"``, …).

    ``roas_default`` is the ``"*"`` range when ``roas`` does not name one. Every
    error starts with the option it comes from (``--adstock-prior: …``).
    """
    roas_ranges = parse_roas_ranges("--roas-prior", roas) if roas else {}
    if DEFAULT_CHANNEL not in roas_ranges:
        roas_ranges[DEFAULT_CHANNEL] = roas_default or DEFAULT_ROAS
    elif roas_default is not None:
        raise ValueError("--roas-prior: '*=' and --roas-low/--roas-high both set the default range; give one")
    kwargs: dict[str, Range] = {}
    for name, text in ranges.items():
        if text is not None:
            kwargs[name] = parse_range(_option(name), text)
    try:
        return MediaPriors.from_ranges(roas=roas_ranges, **kwargs)
    except ValueError as exc:
        name = str(exc).split(" ", 1)[0]
        option = "--roas-prior" if name == "roas" else _option(name)
        raise ValueError(f"{option}: {exc}") from None


def _option(name: str) -> str:
    return f"--{name.replace('_', '-')}-prior"
