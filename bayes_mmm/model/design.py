"""Turn a loaded lake into the constant arrays the model needs.

Everything that does not depend on parameters is computed here once:
scaling, lagged spend, weather features with their lags, the calendar, and
a per-tenant QR factorisation of the baseline design. Scaling and the QR are
fitted on the *training* days only (``train`` mask), so walk-forward
validation never sees the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_mmm.core.constants import (
    CADENCE_DAYS,
    CHANNEL,
    CONTROL,
    CONTROL_PREFIX,
    CONTROLS,
    DATE,
    EVENT,
    HOLIDAY,
    PERIOD_UNIT,
    PRECIP,
    REVENUE,
    SNOW,
    TEMP,
    TENANT,
    history_need,
)
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.calendar import CYBER_WEEK, calendar_name, is_holiday_column, own_holidays, period_holidays
from bayes_mmm.data.lake import weather_mask
from bayes_mmm.model.adstock_screen import resolve_adstock
from bayes_mmm.model.residual import (
    ar_tenants,
    lag_one,
    least_squares,
    media_proxies,
    noise_scale,
    prewhiten,
    student_weights,
    t_tempering,
)
from bayes_mmm.model.response import Array, lag_matrix

#: Below this temperature a day counts as cold, above ``HEAT_C`` as hot (°C).
COLD_C, HEAT_C = 15.0, 22.0
#: Weather features that modulate media effectiveness, in this order.
MEDIA_WEATHER = (TEMP, PRECIP)
LEVEL_PREFIX = "level_"  # baseline columns of the local level of tenants without weather


def periods(days: int, cadence: str) -> int:
    """A span given in days as a whole number of periods (at least 1): 14 days are 2 weeks."""
    return max(1, -(-int(days) // CADENCE_DAYS[cadence]))


@dataclass(frozen=True)
class WeatherStats:
    """Standardisation constants of one tenant, from its training days, and the media weather's soft clip (``spec.media_weather_clip``).

    ``temp_range``, ``precip_max`` and ``snow_max`` are the training days' range: the baseline's
    weather terms stay flat beyond it (:func:`weather_features`).
    """

    temp_mean: float
    temp_sd: float
    rain_mean: float
    rain_sd: float
    clip: float | None = None
    temp_range: tuple[float, float] | None = None
    precip_max: float | None = None
    snow_max: float | None = None


@dataclass
class Design:
    """Model-ready arrays for a set of tenants (dims in the attribute docs).

    Attributes
    ----------
    y : (tenant, date) revenue divided by ``y_scale``; 0 where not in ``train``.
    y_raw : (tenant, date) revenue in currency; NaN where blank or outside the tenant's data.
    train : (tenant, date) days that enter the likelihood.
    in_range : (tenant, date) days inside the tenant's data.
    spend : (tenant, channel, date) spend in currency.
    lagged : (tenant, channel, date, lag) spend / ``spend_scale``, lagged.
    zw : (tenant, date, 2) standardised temperature and log-rain for media (for a tenant
        without weather, :func:`seasonal_stand_in` or 0).
    X : (tenant, date, feature) baseline design on every day.
    Q : (tenant, date, feature) orthonormal basis of ``X[train]`` (0 elsewhere) in which
        the baseline coefficients are a priori independent.
    Rinv : (tenant, feature, feature) maps coefficients on Q to coefficients of ``X[..., keep]``.
    keep : per tenant, the columns of ``X`` that enter the QR (others add nothing).
    prior_var : (tenant, feature) prior variance of each coefficient on Q (0 = padding).
    lift : lift tests that enter the likelihood (``LiftData``), set by the fit; None for none.
    ar_rho : (tenant,) AR(1) coefficient of each tenant's noise (0: i.i.d.); ``Q`` and
        ``prior_var`` are then those of the whitened design (:mod:`bayes_mmm.model.residual`).
    noise_scale : (tenant, date) relative noise sd per day (1: constant noise); the residual
        and the design are divided by it before whitening.
    noise_power : (tenant,) the power ``p`` of ``noise_scale ∝ level^p`` (0: constant).
    noise_nu : (tenant,) Student-t degrees of freedom of the noise (inf: normal).
    tail_scale : (tenant, date) Student-t reweighting: the whitened residual and design are
        divided by it (1: normal noise), :func:`bayes_mmm.model.residual.student_weights`.
    """

    tenants: list[str]
    channels: list[str]
    dates: pd.DatetimeIndex
    spec: ModelSpec
    y: np.ndarray
    y_raw: np.ndarray
    y_scale: np.ndarray
    train: np.ndarray
    in_range: np.ndarray
    spend: np.ndarray
    spend_scale: np.ndarray
    lagged: np.ndarray
    zw: np.ndarray
    X: np.ndarray
    Q: np.ndarray
    Rinv: np.ndarray
    prior_var: np.ndarray
    keep: list[np.ndarray]
    feature_names: list[list[str]]
    weather_stats: list[WeatherStats]
    calendar: list[np.ndarray] = field(repr=False, default_factory=list)
    weather: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(repr=False, default_factory=list)
    cadence: str = "daily"
    has_weather: np.ndarray | None = None
    #: Lift tests in the likelihood (:class:`bayes_mmm.model.lift.LiftData`), None for none.
    lift: Any = None
    ar_rho: np.ndarray | None = None
    noise_scale: np.ndarray | None = None
    noise_power: np.ndarray | None = None
    noise_nu: np.ndarray | None = None
    tail_scale: np.ndarray | None = None
    #: The adstock screen's evidence when ``spec.adstock`` was ``"screen"`` (:mod:`bayes_mmm.model.adstock_screen`).
    adstock_screen: dict | None = None
    #: Each tenant's holiday calendar in words: its own ``holiday`` column, or :func:`~bayes_mmm.data.calendar.calendar_name`.
    holidays: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.has_weather is None:
            self.has_weather = np.ones(len(self.tenants), dtype=bool)
        if self.ar_rho is None:
            self.ar_rho = np.zeros(len(self.tenants))
        if self.noise_scale is None:
            self.noise_scale = np.ones(self.y.shape)
        if self.noise_power is None:
            self.noise_power = np.zeros(len(self.tenants))
        if self.noise_nu is None:
            self.noise_nu = np.full(len(self.tenants), np.inf)
        if self.tail_scale is None:
            self.tail_scale = np.ones(self.y.shape)

    @property
    def reweighted(self) -> np.ndarray:
        """``(tenant,)`` whose noise is AR(1), of varying scale or Student-t (residuals are whitened before the baseline's closed form)."""
        return (self.ar_rho > 0) | (self.noise_power > 0) | np.isfinite(self.noise_nu)

    @property
    def whitened(self) -> bool:
        """Whether any tenant's residual is whitened (:attr:`reweighted`)."""
        return bool(self.reweighted.any())

    @property
    def tempering(self) -> np.ndarray:
        """``(tenant,)`` power of each tenant's likelihood (1; below 1 for Student-t noise, :func:`~bayes_mmm.model.residual.t_tempering`)."""
        return t_tempering(self.noise_nu)

    def whiten(self, resid: Array, i: int | None = None) -> Array:
        """``resid`` ``(tenant, date)`` (or tenant ``i``'s ``(…, date)``) divided by the noise scale, prewhitened, then reweighted."""
        if i is None:
            return prewhiten(resid / self.noise_scale, self.ar_rho, self.train) / self.tail_scale
        return prewhiten(resid / self.noise_scale[i], float(self.ar_rho[i]), self.train[i]) / self.tail_scale[i]

    @property
    def before_regime(self) -> np.ndarray | None:
        """``(date,)`` 1.0 on days before ``spec.regime_start`` (:func:`~bayes_mmm.model.response.regime_scaled`); None without."""
        if self.spec.regime_start is None:
            return None
        return (self.dates < pd.Timestamp(self.spec.regime_start)).astype(float)

    @property
    def n_train(self) -> np.ndarray:
        """Training periods per tenant."""
        return self.train.sum(axis=1)

    @property
    def weather_lags(self) -> int:
        """Weather lags of the baseline in periods (``spec.weather_lags`` is stated in days)."""
        return self.spec.weather_lags // CADENCE_DAYS[self.cadence]

    @property
    def n_lags(self) -> int:
        """Adstock window in periods (``spec.l_max`` is stated in days)."""
        return periods(self.spec.l_max, self.cadence)


def _lags(x: np.ndarray, n: int) -> np.ndarray:
    """Columns x_t, x_{t-1}, ..., x_{t-n}; the first days repeat the first value."""
    cols = [x]
    for k in range(1, n + 1):
        cols.append(np.concatenate([np.repeat(x[:1], k), x[:-k]]))
    return np.stack(cols, axis=1)


def axis_centre(first: pd.Timestamp, last: pd.Timestamp, cadence: str = "daily") -> pd.Timestamp:
    """The middle of a date axis from ``first`` to ``last`` (a week counted at its middle): the trend's zero."""
    half_period = pd.Timedelta(days=(CADENCE_DAYS[cadence] - 1) / 2)
    return pd.Timestamp(first) + (pd.Timestamp(last) - pd.Timestamp(first)) / 2 + half_period


def calendar_features(
    dates: pd.DatetimeIndex, spec: ModelSpec, holiday: np.ndarray | None, cadence: str = "daily", country: str = "",
    trend_centre: pd.Timestamp | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Trend, yearly Fourier terms, day of week (daily data only) and holidays for some dates.

    The trend and the Fourier terms are functions of the date itself, so daily and weekly
    data of the same span get the same curves; a week's holiday columns count the holidays
    among its seven days. Without the tenant's own ``holiday`` column, the holidays are
    its ``country``'s (:func:`~bayes_mmm.data.calendar.holiday_table`; none given: US retail events),
    with the shopping week around Black Friday (:func:`~bayes_mmm.data.calendar.cyber_week`) when
    ``spec.cyber_week``. The trend is 0 at ``trend_centre`` (default: the middle of ``dates``); a design
    over more dates than a run's (a monitor's extended lake) passes the run's, so the run's baseline
    coefficients mean the same there.
    """
    step = CADENCE_DAYS[cadence]
    mid = dates + pd.Timedelta(days=(step - 1) / 2)  # a week is represented by its middle
    centre = axis_centre(dates[0], dates[-1], cadence) if trend_centre is None else pd.Timestamp(trend_centre)
    t = np.asarray((mid - centre) / pd.Timedelta(days=1), dtype=float) / 365.25
    doy = mid.day_of_year.to_numpy() / 365.25
    cols, names = [t], ["trend"]
    for k in range(1, spec.fourier_order + 1):
        cols += [np.sin(2 * np.pi * k * doy), np.cos(2 * np.pi * k * doy)]
        names += [f"sin_{k}", f"cos_{k}"]
    if step == 1:
        dow = dates.day_of_week.to_numpy()
        for d in range(1, 7):
            cols.append((dow == d).astype(float))
            names.append(f"dow_{d}")
    if holiday is not None:
        cols.append(holiday)
        names.append(HOLIDAY)
    else:
        hol = period_holidays(dates, step, country, spec.cyber_week)
        cols += [hol[c].to_numpy() for c in hol.columns]
        names += list(hol.columns)
    return np.stack(cols, axis=1), names


def local_level(n_dates: int, rows: np.ndarray, spacing: int) -> np.ndarray:
    """Gaussian bumps ``(date, K)`` centred every ``spacing`` periods over the training ``rows``, as wide as their spacing.

    With independent ridge priors on their coefficients they form a smooth random level
    (a low-rank Gaussian process); off the training span they fade to 0, so a forecast
    falls back on the seasonal baseline.
    """
    first, last = int(rows.min()), int(rows.max())
    centres = np.arange(first, last + spacing, spacing, dtype=float)
    t = np.arange(n_dates, dtype=float)[:, None]
    return np.exp(-0.5 * ((t - centres[None, :]) / spacing) ** 2)


def weather_features(temp: np.ndarray, precip: np.ndarray, snow: np.ndarray, stats: WeatherStats, lags: int) -> tuple[np.ndarray, list[str]]:
    """Baseline weather features with lags 0..``lags``.

    Temperature enters linearly and through saturating-free cold and heat
    degree terms (so demand can bend at the extremes), rain as log1p, and a
    rain×cold interaction.

    Weather beyond the training days' range (``stats.temp_range`` …) is held at its edge:
    a cold or heat slope learnt from a few days would otherwise extrapolate freely into an
    unseen winter (walk-forward holdout R² on 120–200-day histories −0.34 → −0.10, no
    lake worse; benchmarks/RESULTS.md §24).
    """
    if stats.temp_range is not None:
        temp = np.clip(temp, *stats.temp_range)
    if stats.precip_max is not None:
        precip = np.minimum(precip, stats.precip_max)
    if stats.snow_max is not None:
        snow = np.minimum(snow, stats.snow_max)
    z_temp = (temp - stats.temp_mean) / stats.temp_sd
    cold = np.maximum(COLD_C - temp, 0.0) / 10.0
    heat = np.maximum(temp - HEAT_C, 0.0) / 8.0
    rain = (np.log1p(precip) - stats.rain_mean) / stats.rain_sd
    snowf = np.log1p(snow)
    rain_cold = np.log1p(precip) * cold
    blocks = [("temp", z_temp), ("cold", cold), ("heat", heat), ("rain", rain)]
    cols, names = [], []
    for name, x in blocks:
        cols.append(_lags(x, lags))
        names += [f"{name}_l{k}" for k in range(lags + 1)]
    cols.append(_lags(snowf, min(lags, 1)))
    names += [f"snow_l{k}" for k in range(min(lags, 1) + 1)]
    cols.append(_lags(rain_cold, min(lags, 1)))
    names += [f"rain_cold_l{k}" for k in range(min(lags, 1) + 1)]
    return np.concatenate(cols, axis=1), names


def media_weather(temp: np.ndarray, precip: np.ndarray, stats: WeatherStats) -> np.ndarray:
    """Standardised (temperature, log1p rain), shape ``(T, 2)``, for the media multiplier.

    With ``stats.clip = c`` each is soft-clipped to ``c·tanh(z / c)``: nearly ``z`` within ±c/2 sd, never beyond
    ±c, so a few extreme days (rain is heavy-tailed) cannot give a channel a multiplier that imitates demand shocks.
    """
    z = np.stack(
        [(temp - stats.temp_mean) / stats.temp_sd, (np.log1p(precip) - stats.rain_mean) / stats.rain_sd],
        axis=1,
    )
    return z if stats.clip is None else stats.clip * np.tanh(z / stats.clip)


#: Day of year at which the seasonal stand-in for temperature peaks: late July, the northern temperate maximum.
SEASON_PEAK_DOY = 200


def seasonal_stand_in(dates: pd.DatetimeIndex, cadence: str = "daily") -> np.ndarray:
    """``(T, 2)`` media weather of a tenant without weather columns: the yearly cycle for temperature, no rain.

    ``√2·cos(2π(doy − 200)/365.25)`` has mean 0 and sd 1 over a year, like standardised
    temperature, and peaks in late July. Daily temperature in temperate climates is mostly
    this cycle, so γ's temperature entry learns the seasonal part of how weather changes
    media's effect; a southern-hemisphere tenant simply gets the opposite sign. A week is
    represented by its middle day, as in :func:`calendar_features`.
    """
    mid = dates + pd.Timedelta(days=(CADENCE_DAYS[cadence] - 1) / 2)
    doy = mid.day_of_year.to_numpy(dtype=float)
    season = np.sqrt(2.0) * np.cos(2 * np.pi * (doy - SEASON_PEAK_DOY) / 365.25)
    return np.stack([season, np.zeros_like(season)], axis=1)


def _orthonormal(
    X: np.ndarray, rows: np.ndarray, rho: float = 0.0, scale: np.ndarray | None = None,
    weight: np.ndarray | None = None, tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """QR of ``X[rows]`` transformed as the residual is (:meth:`Design.whiten`), dropping columns that add nothing.

    Returns (kept columns, Q, R).
    """
    keep = [0] + [j for j in range(1, X.shape[1]) if np.std(X[rows, j]) > 1e-9]
    if scale is not None:  # weighted least squares: a constant column stays "constant" (dropped above) after it
        X = X / scale[:, None]
    if rho > 0:
        mask = np.zeros(len(X), dtype=bool)
        mask[rows] = True
        X = prewhiten(X.T, rho, mask).T
    if weight is not None:
        X = X / weight[:, None]
    while True:
        q, r = np.linalg.qr(X[np.ix_(rows, keep)])
        d = np.abs(np.diag(r))
        weak = np.flatnonzero(d < tol * d.max())
        if len(weak) == 0:
            return np.asarray(keep), q, r
        del keep[int(weak[0])]


def _years(dates: pd.DatetimeIndex, rows: np.ndarray, cadence: str) -> float:
    """Span of the periods ``rows`` of ``dates`` in years, the last period included (52 weeks are 364 days)."""
    return ((dates[rows[-1]] - dates[rows[0]]).days + CADENCE_DAYS[cadence]) / 365.25


def _training_range(temp: np.ndarray, precip: np.ndarray, snow: np.ndarray, train: np.ndarray) -> tuple:
    """``(temp_range, precip_max, snow_max)`` over the training days, or ``None`` each without any."""
    if not train.any():
        return None, None, None
    return (float(temp[train].min()), float(temp[train].max())), float(precip[train].max()), float(snow[train].max())


def _tenant_weather(ds: xr.Dataset, i: int, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Temperature, precipitation and snow of tenant ``i`` with gaps filled (zeros where it has no weather).

    A missing temperature takes the training mean, missing rain and snow 0, so that filling
    never looks into the holdout.
    """
    def col(name: str) -> np.ndarray:
        return ds[name].values[i] if name in ds else np.full(ds.sizes[DATE], np.nan)

    temp = col(TEMP)
    fill = np.nanmean(temp[train]) if np.isfinite(temp[train]).any() else 0.0
    return np.nan_to_num(temp, nan=fill), np.nan_to_num(col(PRECIP), nan=0.0), np.nan_to_num(col(SNOW), nan=0.0)


def noise_structure(
    spec: ModelSpec, y: np.ndarray, X: np.ndarray, lagged: np.ndarray, train: np.ndarray, in_range: np.ndarray,
    has_weather: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every tenant's noise, from one least-squares fit each (:mod:`~bayes_mmm.model.residual`).

    Returns :class:`Design`'s ``ar_rho``, ``noise_scale``, ``noise_power``, ``noise_nu`` and
    ``tail_scale``. Each is estimated on what the earlier ones leave: the level's scale
    first, then ρ of the scaled residual, then the t tails of the whitened one.
    """
    n_t = len(y)
    ar_rho, scale, power = np.zeros(n_t), np.ones(y.shape), np.zeros(n_t)
    nu, tails = np.full(n_t, np.inf), np.ones(y.shape)
    ar = ar_tenants(spec.residual_ar, has_weather)
    student = spec.noise_tails == "student"
    for i in range(n_t):
        if not (ar[i] or spec.noise_scale == "level" or student):
            continue
        e, fitted = least_squares(y[i], X[i], media_proxies(lagged[i]), train[i])
        if spec.noise_scale == "level":
            s, power[i] = noise_scale(e, fitted, train[i])
            scale[i] = np.where(in_range[i], s, 1.0)
        if ar[i]:  # ρ of the scaled residual: the AR(1) part is what is left after the scale
            ar_rho[i] = lag_one(e / scale[i], train[i])
        if student:
            tails[i], nu[i] = student_weights(prewhiten(e / scale[i], ar_rho[i], train[i]), train[i])
    return {"ar_rho": ar_rho, "noise_scale": scale, "noise_power": power, "noise_nu": nu, "tail_scale": tails}


def build_design(ds: xr.Dataset, spec: ModelSpec | None = None, train: np.ndarray | None = None,
                 trend_centre: pd.Timestamp | None = None) -> Design:
    """Build the model arrays of a loaded lake.

    Parameters
    ----------
    ds
        Output of :func:`bayes_mmm.data.lake.load_lake`.
    spec
        Model settings (lags, Fourier order, prior scales).
    train
        Optional ``(tenant, date)`` mask of training days; defaults to every
        observed day. Scaling, weather standardisation and the QR use only
        these days.
    trend_centre
        Where the trend is 0 (default: the middle of the lake's dates; see :func:`calendar_features`).
    """
    spec = (spec or ModelSpec()).windowed(str(ds.attrs.get("cadence", "daily")))
    response = _response(ds, spec, train)
    baseline = _baseline(ds, spec, response, trend_centre)
    spec, screen = screen_of(spec, response, baseline)
    noise = noise_structure(spec, response["y"], baseline["X"], response["lagged"], response["train"],
                            response["in_range"], baseline["has_weather"])
    basis = _basis(spec, response, baseline, noise)
    # The basis keeps each tenant's estimable features: its names replace the padded list.
    return Design(spec=spec, **{**response, **baseline, **basis, **noise}, adstock_screen=screen)


def screen_design(ds: xr.Dataset, spec: ModelSpec, train: np.ndarray | None = None) -> tuple[ModelSpec, dict | None]:
    """The adstock screen's verdict on a lake, without the rest of the design (noise fits, QR).

    Same arrays and result as :func:`build_design`'s ``spec`` and ``adstock_screen``, at a
    fraction of the cost: a grouped fit screens every group's tenants in the client. Unlike
    :func:`build_design` it does not refuse a tenant with too few periods for its baseline
    (that refusal comes with the basis): such a tenant's group is screened, and fails on its worker.
    """
    spec = spec.windowed(str(ds.attrs.get("cadence", "daily")))
    response = _response(ds, spec, train)
    return screen_of(spec, response, _baseline(ds, spec, response))


def screen_of(spec: ModelSpec, response: dict, baseline: dict) -> tuple[ModelSpec, dict | None]:
    """:func:`bayes_mmm.model.adstock_screen.resolve_adstock` on a design's parts."""
    return resolve_adstock(spec, response["y"], baseline["X"], response["lagged"], response["train"], response["channels"])


def _response(ds: xr.Dataset, spec: ModelSpec, train: np.ndarray | None) -> dict:
    """Revenue and spend scaled per tenant on its training days, and the lagged spend."""
    tenants = [str(t) for t in ds[TENANT].values]
    observed = ds["observed"].values
    train = observed & (train if train is not None else True)
    n_t, n_c = len(tenants), ds.sizes[CHANNEL]
    if (train.sum(axis=1) == 0).any():
        bad = tenants[int(np.flatnonzero(train.sum(axis=1) == 0)[0])]
        raise ValueError(f"tenant '{bad}' has no training days")

    # Blank revenue stays NaN (never 0): it is not trained on, and observed_data must not show it as a period of 0.
    y_raw = np.where(observed, ds[REVENUE].values, np.nan)
    y_scale = np.array([y_raw[i, train[i]].mean() for i in range(n_t)])
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    spend = ds["spend"].values.transpose(0, 2, 1)  # (tenant, channel, date)
    spend_scale = np.ones((n_t, n_c))
    for i in range(n_t):
        for j in range(n_c):
            pos = spend[i, j, train[i]]
            pos = pos[pos > 0]
            if len(pos):
                spend_scale[i, j] = pos.mean()
    cadence = str(ds.attrs.get("cadence", "daily"))
    return {
        "tenants": tenants,
        "channels": [str(c) for c in ds[CHANNEL].values],
        "dates": pd.DatetimeIndex(ds[DATE].values),
        "cadence": cadence,
        "train": train,
        "in_range": ds["in_range"].values,
        "y": np.where(train, np.nan_to_num(y_raw) / y_scale[:, None], 0.0),
        "y_raw": y_raw,
        "y_scale": y_scale,
        "spend": spend,
        "spend_scale": spend_scale,
        "lagged": lag_matrix(spend / spend_scale[:, :, None], periods(spec.l_max, cadence)),
    }


def _country(ds: xr.Dataset, i: int) -> str:
    """Tenant ``i``'s ``tenant.json`` country ("" when the dataset carries none)."""
    return str(ds.coords["country"].values[i]) if "country" in ds.coords else ""


def _baseline(ds: xr.Dataset, spec: ModelSpec, response: dict, trend_centre: pd.Timestamp | None = None) -> dict:
    """Each tenant's baseline features (calendar, weather, level, events, controls) and media weather."""
    train, dates, cadence = response["train"], response["dates"], response["cadence"]
    n_t, n_d = train.shape
    holiday = ds[HOLIDAY].values if HOLIDAY in ds else None
    controls = ds[CONTROLS].values if CONTROLS in ds else None
    event = np.nan_to_num(ds[EVENT].values) if EVENT in ds else None
    has_weather = weather_mask(ds)
    feats, names, stats, zw, cal, raw, calendars = [], [], [], np.zeros((n_t, n_d, 2)), [], [], []
    for i in range(n_t):
        tr = train[i]
        temp, precip, snow = _tenant_weather(ds, i, tr)
        raw.append((temp, precip, snow))
        lr = np.log1p(precip[tr])
        st = WeatherStats(float(temp[tr].mean()), float(temp[tr].std() or 1.0), float(lr.mean()), float(lr.std() or 1.0),
                          spec.media_weather_clip, *_training_range(temp, precip, snow, tr))
        stats.append(st)
        own = own_holidays(None if holiday is None else holiday[i])
        c, cnames = calendar_features(dates, spec, own, cadence, _country(ds, i), trend_centre)
        cal.append(c)
        in_data = CYBER_WEEK in cnames and c[tr, cnames.index(CYBER_WEEK)].any()  # named only where it can act
        calendars.append("its own holiday column" if own is not None
                         else calendar_name(_country(ds, i)) + (" and the cyber week" if in_data else ""))
        parts, pnames = [np.ones((n_d, 1)), c], ["intercept", *cnames]
        if not has_weather[i] and spec.seasonal_media:
            zw[i] = seasonal_stand_in(dates, cadence)
        if has_weather[i]:
            # Without weather (and without the seasonal stand-in) zw stays 0: the media multiplier exp(γ·0) is 1.
            zw[i] = media_weather(temp, precip, st)
            w, wnames = weather_features(temp, precip, snow, st, spec.weather_lags // CADENCE_DAYS[cadence])
            parts.append(w)
            pnames += wnames
        elif spec.local_level_days:
            level = local_level(n_d, np.flatnonzero(tr), max(round(spec.local_level_days / CADENCE_DAYS[cadence]), 1))
            parts.append(level)
            pnames += [f"{LEVEL_PREFIX}{j}" for j in range(level.shape[1])]
        if event is not None and event[i].any():
            # Known unusual periods (promotions, outages) get their own level shift.
            parts.append(event[i][:, None])
            pnames.append(EVENT)
        if controls is not None:
            ctr = controls[i]
            mu, sd = ctr[tr].mean(axis=0), ctr[tr].std(axis=0)
            parts.append((ctr - mu) / np.where(sd > 0, sd, 1.0))
            pnames += [f"{CONTROL_PREFIX}{n}" for n in ds[CONTROL].values]
        feats.append(np.concatenate(parts, axis=1))
        names.append(pnames)

    # Tenants may differ in features (own holiday column vs the built-in calendar): pad with
    # zero columns, which the QR step drops as constant.
    k_max = max(f.shape[1] for f in feats)
    for i, f in enumerate(feats):
        if f.shape[1] < k_max:
            feats[i] = np.concatenate([f, np.zeros((n_d, k_max - f.shape[1]))], axis=1)
            names[i] = names[i] + [f"pad_{j}" for j in range(k_max - len(names[i]))]
    return {"X": np.stack(feats), "feature_names": names, "weather_stats": stats, "zw": zw, "calendar": cal,
            "weather": raw, "has_weather": has_weather, "holidays": calendars}


def _basis(spec: ModelSpec, response: dict, baseline: dict, noise: dict) -> dict:
    """Orthonormal baseline basis per tenant with independent priors (the marginal likelihood's)."""
    X, names, train, tenants = baseline["X"], baseline["feature_names"], response["train"], response["tenants"]
    n_t, n_d, k_max = X.shape
    Q = np.zeros((n_t, n_d, k_max))
    Rinv = np.zeros((n_t, k_max, k_max))
    prior_var = np.zeros((n_t, k_max))
    kept_names, kept = [], []
    for i in range(n_t):
        rows = np.flatnonzero(train[i])
        n_own = sum(not n.startswith("pad_") for n in names[i])  # padding is dropped, not estimated
        if len(rows) <= n_own + 10:
            raise ValueError(
                f"tenant '{tenants[i]}' has {len(rows)} training {PERIOD_UNIT[response['cadence']]}s, too few for {n_own} baseline features; "
                f"give it at least {history_need(response['cadence'])} of history or leave it out (--tenant)"
            )
        level = noise["noise_scale"][i] if noise["noise_power"][i] > 0 else None
        tails = noise["tail_scale"][i] if np.isfinite(noise["noise_nu"][i]) else None
        keep, q, r = _orthonormal(X[i], rows, noise["ar_rho"][i], level, tails)
        k = len(keep)
        kept.append(keep)
        kept_names.append([names[i][j] for j in keep])
        # The prior is stated on the coefficients b of the (unit-scale) features,
        # b ~ N(0, diag(v)), as a ridge would: that keeps collinear weather lags from
        # extrapolating wildly off the training window. X b = Q R b, so the QR
        # coefficients θ = R b have covariance R diag(v) Rᵀ = V diag(λ) Vᵀ; rotating
        # the basis to Q V makes them independent again (θ' ~ N(0, λ)), which keeps
        # the marginal likelihood closed-form and cheap.
        v = np.full(k, spec.baseline_scale**2)
        v[0] = spec.intercept_scale**2
        # Holidays are rare one-day spikes (Black Friday can double revenue): a wider prior.
        v[[is_holiday_column(n) or n in (HOLIDAY, EVENT) for n in kept_names[-1]]] = (2 * spec.baseline_scale) ** 2
        # Growth per year: with under two years of data it is confounded with the
        # yearly season and extrapolates badly unless kept modest.
        v[[n == "trend" for n in kept_names[-1]]] = spec.trend_scale**2
        v[[n.startswith(LEVEL_PREFIX) for n in kept_names[-1]]] = spec.local_level_scale**2
        # Part of a year cannot tell the yearly cycle from a trend: its terms' prior sd shrinks with the share
        # of a year the training days span, so they do not extrapolate the season into the months after.
        v[[n.startswith(("sin_", "cos_")) for n in kept_names[-1]]] *= min(1.0, _years(response["dates"], rows, response["cadence"])) ** 2
        lam, vecs = np.linalg.eigh((r * v) @ r.T)
        Q[i, rows, :k] = q @ vecs
        Rinv[i, :k, :k] = np.linalg.solve(r, vecs)
        prior_var[i, :k] = np.maximum(lam, 1e-12)
    return {"Q": Q, "Rinv": Rinv, "prior_var": prior_var, "keep": kept, "feature_names": kept_names}
