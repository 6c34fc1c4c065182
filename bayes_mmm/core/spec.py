"""Model settings as one frozen, validated dataclass; CLI options map onto it."""

from __future__ import annotations

import math
import numbers
from dataclasses import InitVar, asdict, dataclass, field, replace

from bayes_mmm.core.constants import CADENCE_DAYS
from bayes_mmm.core.priors import LEGACY_ROAS, MediaPriors

#: The carry-over shapes the model has; ``"screen"`` (the default) picks one of them from the data before
#: sampling (:mod:`bayes_mmm.model.adstock_screen`), so a fitted run's settings always name a shape.
ADSTOCKS = ("geometric", "delayed")
ADSTOCK_CHOICES = (*ADSTOCKS, "screen")
HILL_SHAPES = ("channel", "fixed")
#: How far below ``hill_shape_max`` the Hill prior's 95 % point must stay (the ceiling bends it by at most 10 %).
HILL_MARGIN = 1.2
AR_CHOICES = ("auto", "all", "none")
NOISE_SCALES = ("none", "level")
NOISE_TAILS = ("normal", "student")


#: The adstock window ``fit`` uses when none is given, in days. Two periods of weekly data cut off a weekly
#: carry-over of 0.5 at 75 % of its weight; eight keep 99.6 %. On PyMC-Marketing's weekly ROAS data (true
#: ROAS 0.93, 1.71) two weeks left both outside the 90 % intervals, eight covered both (benchmarks/RESULTS.md §24).
WINDOW_DAYS = {"daily": 14, "weekly": 56}


@dataclass(frozen=True)
class ModelSpec:
    """What the hierarchical MMM contains and which priors it uses.

    Parameters
    ----------
    l_max
        Adstock window in days (lag 0 included); ``None`` (the default): by the data's cadence
        (:data:`WINDOW_DAYS`: 14 days of daily data, 8 weeks of weekly data). A fit records the
        window it used, in whole periods (:meth:`windowed`: 10 days of weekly data are 14).
    adstock
        ``"geometric"``, ``"delayed"`` (peak after a few days) or ``"screen"`` (default): the
        delayed shape where a least-squares screen of the training data finds spend acting
        days later, else geometric (:func:`bayes_mmm.model.adstock_screen.screen_adstock`).
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
        ``half_sat``, ``adstock``, ``gamma``) for every tenant; the rest are
        non-centred. ``None`` (the default) decides per tenant from its number of
        training periods (:mod:`bayes_mmm.model.parameterisation`): centred mixes
        faster where the data pin a tenant down, non-centred where they do not.
    priors
        Every media prior (:class:`bayes_mmm.core.priors.MediaPriors`): ROAS
        90 % ranges per channel, adstock, half-saturation, Hill shape, weather
        γ, pooling scales. Recorded in summary.json and the config hash.
    roas_prior
        Shorthand kept for old code: a 90 % range for every channel's ROAS not
        named in ``priors`` (the ``"*"`` entry), e.g. ``(1, 5)``.
    fourier_order, weather_lags
        Yearly seasonality terms and weather lags (0..n days) in the baseline.
    baseline_scale, intercept_scale, trend_scale
        Prior sd of baseline coefficients (unit-scale features), in units of
        mean revenue; the trend's is per year.
    local_level_days, local_level_scale
        Lever (off: ``0``) for tenants without weather columns: a smooth local level in
        the baseline, Gaussian bumps every ``local_level_days`` days (as wide as their
        spacing) over the training span, each with prior sd ``local_level_scale`` (units of
        mean revenue), integrated out like every baseline term. Meant to stand in for the
        demand the unobserved weather moves. Off by default: on the default universe with
        weather hidden (20 × 730) 28-day bumps raised ROAS coverage only from 72 % to 75 %
        and the median error from 9.8 % to 12.0 % (benchmarks/RESULTS.md §9).
    half_sat_floor
        Identification lever (default ``0.1``; off: ``None``): a soft floor on each
        tenant×channel half-saturation at this quantile of the channel's positive daily
        spend, so a channel cannot become an on/off switch that imitates weather-driven
        demand (:mod:`bayes_mmm.model.levers`).
    media_weather_bound
        Identification lever (default ``0.693 ≈ log 2``; off: ``None``): bound ``B`` on the
        log media multiplier, ``|γ·z| ≤ B`` over the tenant's observed weather (weather at
        most halves or doubles a channel's effect), through tanh. The floor and the bound are on by
        default since every scenario of the robustness table held with them
        (benchmarks/RESULTS.md §22).
    hill_shape_max
        Identification lever (default ``3``; off: ``None``): a soft ceiling on the shared Hill
        shape (:func:`bayes_mmm.model.levers.soft_ceiling`), the upper end of Robyn's default
        range (0.5–3). A steeper shape makes a channel a threshold switch: on an independent
        20-tenant lake the shared meta shape wandered between 3.2 and 7.4 across chains, far
        beyond its prior, and no parameter of any tenant mixed (R-hat 1.35, benchmarks/RESULTS.md §31).
    media_weather_clip
        Identification lever (off: ``None``): soft clip ``c`` of the standardised weather in
        the media multiplier, ``c·tanh(z / c)`` (e.g. ``2``): γ stays free, but a few extreme
        days (heavy-tailed rain) cannot multiply a channel by ``e^{γ·z}`` with ``z`` of 4–8 sd.
    regime_start, regime_sd
        A change of media effectiveness (off: ``None``), used by ``refresh``: from
        ``regime_start`` (ISO date) on, each tenant×channel's ROAS may differ from its
        earlier value by a factor ``exp(roas_change)``, ``roas_change ~ N(0, τ_c)`` pooled per
        channel, ``τ_c ~ HalfNormal(regime_sd)``: a channel that moved nowhere shrinks towards no change.
        ``roas`` is then the ROAS of the current regime (from ``regime_start`` on),
        which everything forward-looking (plans, forecasts, monitoring) uses.
    residual_ar
        Which tenants' noise is AR(1) rather than i.i.d. (:mod:`bayes_mmm.model.residual`):
        ``"auto"`` (default) those without weather columns, whose unobserved weather
        demand lasts for days; ``"all"``; ``"none"``. ρ is estimated per tenant.
    noise_scale
        ``"none"``: noise of constant sd; ``"level"``: each tenant's noise sd grows with its
        level as ``level^p``, ``p`` in [0, 1] estimated per tenant (0 leaves it constant;
        :func:`bayes_mmm.model.residual.noise_scale`).
    noise_tails
        ``"normal"``: normal noise; ``"student"``: Student-t noise, ``ν`` estimated per tenant
        from a least-squares fit (normal where the tails do not call for less), fitted by
        reweighting each day and tempering the likelihood to the t's information
        (:func:`bayes_mmm.model.residual.student_weights`): promotion spikes and outliers
        no longer pull the media estimates.
    seasonal_media
        For tenants without weather columns, the yearly temperature cycle stands in for
        temperature in the media multiplier (:func:`bayes_mmm.model.design.seasonal_stand_in`),
        so the seasonal part of weather's effect on media is learnt rather than assumed 1.
        Tenants with weather are unaffected. Off by default (their multiplier is exactly 1):
        on the default universe with weather hidden it moved ROAS coverage only from 77 % to
        78 % and did not converge (benchmarks/RESULTS.md §12).
    cyber_week
        A baseline column for the shopping week around Black Friday
        (:func:`bayes_mmm.data.calendar.cyber_week`), beside the built-in or a country's calendar
        (not beside a tenant's own ``holiday`` column). Demand is up for days around Black
        Friday, and merchants push spend that week: with one-day holiday columns only, an
        independent lake's search channel explained the week with an S-shaped curve and its ROAS
        fell to 1.0–1.8 against a true 2.1–3.3 (benchmarks/RESULTS.md §29).
    pool_min_tenants
        A channel fewer tenants than this spend on keeps its between-tenant spread (the
        pooling scale) fixed at the prior's instead of learning it
        (:func:`bayes_mmm.model.parameterisation.fixed_scale_channels`); its mean is still
        pooled. 0: every spread is learnt, as before the option existed.
    pool_informed
        For a channel's ROAS scale, count toward ``pool_min_tenants`` only the tenants whose own
        data show the channel's effect: spend that varies and does not move with another channel's
        (:func:`bayes_mmm.data.spend_variation.informs_alone`). ``False``: every tenant that spends
        on it (runs written before it).
    """

    l_max: int | None = None
    adstock: str = "screen"
    media: bool = True
    weather_media: bool = True
    pooled: bool = True
    hill_shape: str = "channel"
    priors: MediaPriors = field(default_factory=MediaPriors)
    roas_prior: InitVar[tuple[float, float] | None] = None
    centered: tuple[str, ...] | None = None
    fourier_order: int = 3
    weather_lags: int = 3
    baseline_scale: float = 0.5
    intercept_scale: float = 2.0
    trend_scale: float = 0.15
    local_level_days: int = 0
    local_level_scale: float = 0.2
    half_sat_floor: float | None = 0.1
    media_weather_bound: float | None = 0.693
    hill_shape_max: float | None = 3.0
    media_weather_clip: float | None = None
    regime_start: str | None = None
    regime_sd: float = 0.5
    residual_ar: str = "auto"
    seasonal_media: bool = False
    noise_scale: str = "none"
    noise_tails: str = "normal"
    cyber_week: bool = True
    pool_min_tenants: int = 5
    pool_informed: bool = True

    def __post_init__(self, roas_prior: tuple[float, float] | None) -> None:
        if self.l_max is not None and self.l_max < 1:
            raise ValueError(f"l_max must be ≥ 1, got {self.l_max}")
        if self.adstock not in ADSTOCK_CHOICES:
            raise ValueError(f"adstock must be one of {ADSTOCK_CHOICES}, got '{self.adstock}'")
        if self.hill_shape not in HILL_SHAPES:
            raise ValueError(f"hill_shape must be one of {HILL_SHAPES}, got '{self.hill_shape}'")
        if isinstance(self.priors, dict):
            object.__setattr__(self, "priors", MediaPriors.from_dict(self.priors))
        if roas_prior is not None:
            object.__setattr__(self, "priors", self.priors.with_default_roas(*roas_prior))
        if self.centered is not None and not isinstance(self.centered, tuple):
            object.__setattr__(self, "centered", tuple(self.centered))
        unknown = set(self.centered or ()) - {"roas", "half_sat", "adstock", "gamma"}
        if unknown:
            raise ValueError(f"centered may name roas, half_sat, adstock, gamma; got {sorted(unknown)}")
        if self.weather_lags < 0 or self.fourier_order < 0:
            raise ValueError("weather_lags and fourier_order must be ≥ 0")
        if self.local_level_days < 0 or not self.local_level_scale > 0:
            raise ValueError("local_level_days must be ≥ 0 (0: off) and local_level_scale > 0")
        if self.hill_shape_max is not None:
            if not 1 < self.hill_shape_max < math.inf:
                raise ValueError(f"hill_shape_max is the largest Hill shape: it must be > 1 (1 is a concave curve) and finite, "
                                 f"got {self.hill_shape_max}")
            top = self.priors.interval("hill")[1]
            if self.media and self.hill_shape == "channel" and top > self.hill_shape_max / HILL_MARGIN:
                # The ceiling bends the prior's own range: by 10 % at ceiling / 1.2, by 16 % at the ceiling.
                raise ValueError(f"the Hill shape prior (--hill-prior) reaches {top:g} at its 95 % point, too close to "
                                 f"hill_shape_max {self.hill_shape_max:g}, which would bend it: keep the prior below "
                                 f"{self.hill_shape_max / HILL_MARGIN:.3g} (hill_shape_max / {HILL_MARGIN}), raise hill_shape_max "
                                 "to at least 1.2 × the prior's upper end, or set it to none")
        if self.half_sat_floor is not None and not 0 < self.half_sat_floor < 1:
            raise ValueError(f"half_sat_floor is a quantile of positive spend: it must be in (0, 1), got {self.half_sat_floor}")
        if self.media_weather_bound is not None and not self.media_weather_bound > 0:
            raise ValueError(f"media_weather_bound must be > 0 (e.g. 0.693 = log 2), got {self.media_weather_bound}")
        if self.media_weather_clip is not None and not self.media_weather_clip > 0:
            raise ValueError(f"media_weather_clip must be > 0 (in sd of weather, e.g. 2), got {self.media_weather_clip}")
        if self.regime_start is not None:
            import pandas as pd

            try:
                pd.Timestamp(self.regime_start)
            except ValueError:
                raise ValueError(f"regime_start must be an ISO date, got {self.regime_start!r}") from None
        if self.residual_ar not in AR_CHOICES:
            raise ValueError(f"residual_ar must be one of {AR_CHOICES}, got '{self.residual_ar}'")
        if self.noise_scale not in NOISE_SCALES:
            raise ValueError(f"noise_scale must be one of {NOISE_SCALES}, got '{self.noise_scale}'")
        if self.noise_tails not in NOISE_TAILS:
            raise ValueError(f"noise_tails must be one of {NOISE_TAILS}, got '{self.noise_tails}'")
        if isinstance(self.pool_min_tenants, bool) or not isinstance(self.pool_min_tenants, numbers.Integral) or self.pool_min_tenants < 0:
            raise ValueError(f"pool_min_tenants must be a whole number ≥ 0 (0: learn every pooling scale), got {self.pool_min_tenants!r}")
        object.__setattr__(self, "pool_min_tenants", int(self.pool_min_tenants))  # numpy's ints too, plain in JSON
        if not self.regime_sd > 0:
            raise ValueError(f"regime_sd is the prior sd of a log ROAS change: it must be > 0, got {self.regime_sd}")

    def windowed(self, cadence: str) -> ModelSpec:
        """These settings with the adstock window the data's ``cadence`` gives, in whole periods' days.

        Unset: :data:`WINDOW_DAYS`; set: rounded up to whole periods, so that what a run records
        (its model card, summary.json) is the window the model used.
        """
        step = CADENCE_DAYS[cadence]
        days = WINDOW_DAYS[cadence] if self.l_max is None else self.l_max
        return replace(self, l_max=-(-days // step) * step)

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        """Inverse of :meth:`to_dict` (e.g. from a run's summary.json ``config.spec``)."""
        d = dict(d)
        # Summaries written before priors were data hold only ``roas_prior``; it maps onto "*".
        raw, old_roas = d.pop("priors", None), d.pop("roas_prior", None)
        d["priors"] = MediaPriors.from_dict(raw or {})
        if raw is None:  # those runs had 1–5 unless they said otherwise, whatever today's default
            d["priors"] = d["priors"].with_default_roas(*(old_roas or LEGACY_ROAS))
        # Absent in the oldest summaries (everything non-centred then); None is the per-tenant rule.
        centered = d.get("centered", ())
        d["centered"] = None if centered is None else tuple(centered)
        d.setdefault("l_max", 14)  # every run recorded its window; 14 days was the only one before cadences
        d.setdefault("adstock", "geometric")  # a recorded spec names its fitted shape; the oldest had only geometric
        d.setdefault("local_level_days", 0)  # runs written before the lever existed had none
        d.setdefault("residual_ar", "none")  # runs written before AR(1) residuals had i.i.d. noise
        d.setdefault("seasonal_media", False)  # runs written before the stand-in: weather-less media multiplier 1
        d.setdefault("noise_scale", "none")  # runs written before it had noise of constant sd
        d.setdefault("noise_tails", "normal")  # runs written before it had normal noise
        d.setdefault("cyber_week", False)  # runs written before the column had one-day holiday columns only
        d.setdefault("pool_min_tenants", 0)  # runs written before it learnt every pooling scale
        d.setdefault("pool_informed", False)  # runs written before it counted every tenant that spends
        # Runs written before the identification levers existed had neither, whatever today's default.
        d.setdefault("half_sat_floor", None)
        d.setdefault("hill_shape_max", None)  # runs written before the ceiling had an unbounded shape
        d.setdefault("media_weather_bound", None)
        return cls(**d)

    def to_dict(self) -> dict:
        """Plain-JSON form, for summary.json and hashing."""
        d = asdict(self)
        d["priors"] = self.priors.to_dict()
        d["centered"] = None if self.centered is None else list(self.centered)
        if self.regime_start is None:  # no regime change: the keys stay out, so config hashes stay as they were
            del d["regime_start"], d["regime_sd"]
        if self.residual_ar == "none":  # i.i.d. noise everywhere, as before the option existed: same hash
            del d["residual_ar"]
        if not self.seasonal_media:  # as before the option existed: same hash
            del d["seasonal_media"]
        if self.noise_scale == "none":  # as before the option existed: same hash
            del d["noise_scale"]
        if self.noise_tails == "normal":  # as before the option existed: same hash
            del d["noise_tails"]
        if self.media_weather_clip is None:  # as before the option existed: same hash
            del d["media_weather_clip"]
        if self.hill_shape_max is None:  # as before the ceiling existed: same hash
            del d["hill_shape_max"]
        if not self.cyber_week:  # as before the column existed: same hash
            del d["cyber_week"]
        if not self.pool_informed or self.pool_min_tenants == 0:  # as before it existed (or moot): same hash
            del d["pool_informed"]
        if self.pool_min_tenants == 0:  # as before the option existed: same hash
            del d["pool_min_tenants"]
        return d
