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
#: The loaded lake's control values (tenant, date, control) and the dimension that names them.
CONTROLS, CONTROL = "controls", "control"
TEMP = "temp_c"
PRECIP = "precip_mm"
SNOW = "snow_cm"
HOLIDAY = "holiday"
EVENT = "event"
#: Columns holding 0/1 flags.
FLAG_COLUMNS = (HOLIDAY, EVENT)

REQUIRED_COLUMNS = (DATE, REVENUE)
#: Channel names that clash with a plan table's columns (wide ``date, tenant_id, <channel>…``; a wide plan with
#: channels ``channel`` and ``spend`` reads as the long ``date, tenant_id, channel, spend``): refused at the door.
RESERVED_CHANNELS = (DATE, "tenant_id", CHANNEL, "spend")
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

#: The demo's sampler (API and CLI): the fit's own, four chains sized from the data (300 warm-up + 1,000 draws with a
#: year or more) and a second round only when the first mixes too slowly. The earlier two chains of 600 + 1,000
#: (RESULTS §13) gave a bulk ESS of 321 (< 400: not converged) on the default universe once the identification
#: levers were the default; four chains of 300 + 1,000 gave 901 in one round (RESULTS §21–§22).
DEMO_CHAINS: int = 4
DEMO_TUNE: int | None = None
DEMO_DRAWS: int | None = None

#: Scale of the half-normal prior on a refresh's per-channel sd of log ROAS changes (``ModelSpec.regime_sd``).
REFRESH_ROAS_CHANGE_SD = 0.5
