"""Model settings as one frozen, validated dataclass; CLI options map onto it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

ADSTOCKS = ("geometric", "delayed")
HILL_SHAPES = ("channel", "fixed")


@dataclass(frozen=True)
class ModelSpec:
    """What the hierarchical MMM contains and which priors it uses.

    Parameters
    ----------
    l_max
        Adstock window in days (lag 0 included).
    adstock
        ``"geometric"`` or ``"delayed"`` (peak after a few days).
    media
        Include media at all; ``False`` gives a baseline-only model to compare against.
    weather_media
        Let weather scale each channel's effectiveness, ``exp(γ·w_t)``.
    pooled
        Partially pool media parameters across tenants; ``False`` gives each
        tenant its own fixed priors (no borrowing of strength).
    hill_shape
        ``"channel"``: one Hill shape per channel learned from all tenants;
        ``"fixed"``: shape 1 (Meridian's default).
    centered
        Which pooled tenant×channel parameters to sample centred (``roas``,
        ``half_sat``, ``adstock``, ``gamma``); the rest are non-centred.
        Centred mixes faster where the data pin each tenant down (ROAS from
        two years of daily data), non-centred where they do not.
    roas_prior
        A 90 % range for a typical channel ROAS, e.g. ``(1, 5)``: "ROAS is
        probably 1–5x". Sets the log-normal prior on the population ROAS.
    fourier_order, weather_lags
        Yearly seasonality terms and weather lags (0..n days) in the baseline.
    baseline_scale, intercept_scale, trend_scale
        Prior sd of baseline coefficients (unit-scale features), in units of
        mean revenue; the trend's is per year.
    """

    l_max: int = 14
    adstock: str = "geometric"
    media: bool = True
    weather_media: bool = True
    pooled: bool = True
    hill_shape: str = "channel"
    roas_prior: tuple[float, float] = (1.0, 5.0)
    centered: tuple[str, ...] = ("roas", "half_sat")
    fourier_order: int = 3
    weather_lags: int = 3
    baseline_scale: float = 0.5
    intercept_scale: float = 2.0
    trend_scale: float = 0.15

    def __post_init__(self) -> None:
        if self.l_max < 1:
            raise ValueError(f"l_max must be ≥ 1, got {self.l_max}")
        if self.adstock not in ADSTOCKS:
            raise ValueError(f"adstock must be one of {ADSTOCKS}, got '{self.adstock}'")
        if self.hill_shape not in HILL_SHAPES:
            raise ValueError(f"hill_shape must be one of {HILL_SHAPES}, got '{self.hill_shape}'")
        lo, hi = self.roas_prior
        if not 0 < lo < hi:
            raise ValueError(f"roas_prior must be (low, high) with 0 < low < high, got {self.roas_prior}")
        unknown = set(self.centered) - {"roas", "half_sat", "adstock", "gamma"}
        if unknown:
            raise ValueError(f"centered may name roas, half_sat, adstock, gamma; got {sorted(unknown)}")
        if self.weather_lags < 0 or self.fourier_order < 0:
            raise ValueError("weather_lags and fourier_order must be ≥ 0")

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        """Inverse of :meth:`to_dict` (e.g. from a run's summary.json ``config.spec``)."""
        d = dict(d)
        d["roas_prior"] = tuple(d["roas_prior"])
        d["centered"] = tuple(d.get("centered", ()))
        return cls(**d)

    def to_dict(self) -> dict:
        """Plain-JSON form, for summary.json and hashing."""
        d = asdict(self)
        d["roas_prior"] = list(self.roas_prior)
        d["centered"] = list(self.centered)
        return d
