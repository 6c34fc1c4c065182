"""Names shared by every module: dims, column names and prefixes.

Defined once so that loading, model, diagnostics, allocator and report
cannot disagree.
"""

TENANT = "tenant"
DATE = "date"
CHANNEL = "channel"
WEATHER = "weather"

REVENUE = "revenue"
SPEND_PREFIX = "spend_"
CONTROL_PREFIX = "control_"
TEMP = "temp_c"
PRECIP = "precip_mm"
SNOW = "snow_cm"
HOLIDAY = "holiday"
EVENT = "event"
#: Columns holding 0/1 flags.
FLAG_COLUMNS = (HOLIDAY, EVENT)

REQUIRED_COLUMNS = (DATE, REVENUE)
#: Weather a tenant needs for weather terms; a tenant without both is modelled without weather.
WEATHER_COLUMNS = (TEMP, PRECIP)
NON_NEGATIVE_COLUMNS = (REVENUE, PRECIP, SNOW)

DAILY, WEEKLY = "daily", "weekly"
#: Length of one period of each cadence, in days.
CADENCE_DAYS = {DAILY: 1, WEEKLY: 7}
#: What one period of each cadence is called in messages ("3 weeks", "day(s)").
PERIOD_UNIT = {DAILY: "day", WEEKLY: "week"}
DAILY_STEMS = ("daily.parquet", "daily.csv")
WEEKLY_STEMS = ("weekly.parquet", "weekly.csv")
DATA_STEMS = (*DAILY_STEMS, *WEEKLY_STEMS)

#: Largest believable magnitude of any amount (spend, revenue, controls), per period.
MAX_AMOUNT = 1e12
#: Physically possible weather, per day (weekly totals scale by 7; temperatures do not).
MAX_ABS_TEMP_C = 60.0
MAX_PRECIP_MM_PER_DAY = 2000.0
MAX_SNOW_CM_PER_DAY = 500.0
#: Weather this flat carries no signal: the tenant is modelled without weather.
MIN_TEMP_SD_C = 0.5
TENANT_JSON = "tenant.json"
TRUTH_JSON = "truth.json"
TRUTH_DAILY = "truth_daily.parquet"

#: Minimum history a tenant needs before it can be fitted.
MIN_HISTORY_DAYS = 120
#: The same for weekly data: a weekly baseline has about 24 features (trend, season, weather, holidays)
#: estimated from the weeks themselves, and the fit needs ten periods more than it has features.
MIN_HISTORY_WEEKS = 40


def min_history(cadence: str) -> int:
    """Periods of history a tenant needs at ``cadence`` (:data:`MIN_HISTORY_DAYS` or :data:`MIN_HISTORY_WEEKS`)."""
    return MIN_HISTORY_WEEKS if cadence == WEEKLY else MIN_HISTORY_DAYS


def history_need(cadence: str) -> str:
    """The minimum history in words, e.g. ``120 days`` or ``40 weeks``."""
    return f"{min_history(cadence)} {PERIOD_UNIT.get(cadence, 'day')}s"

#: The demo's sampler (API and CLI). Two chains on two cores; four chains of 500 + 750 took 699 s for the gradient
#: budget two chains of 1,000 + 1,500 took in 535 s (idle, 2026-11-26: R-hat 1.0044, bulk ESS 678). That budget made
#: the demo 14 minutes on 2026-11-27; 600 + 1,000 keeps ESS above 400 at two thirds of the draws (RESULTS §13).
DEMO_CHAINS, DEMO_TUNE, DEMO_DRAWS = 2, 600, 1000

#: Scale of the half-normal prior on a refresh's per-channel sd of log ROAS changes (``ModelSpec.regime_sd``).
REFRESH_ROAS_CHANGE_SD = 0.5
