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

REQUIRED_COLUMNS = (DATE, REVENUE, TEMP, PRECIP)
NON_NEGATIVE_COLUMNS = (REVENUE, PRECIP, SNOW)

DAILY_STEMS = ("daily.parquet", "daily.csv")
TENANT_JSON = "tenant.json"
TRUTH_JSON = "truth.json"
TRUTH_DAILY = "truth_daily.parquet"

#: Minimum history a tenant needs before it can be fitted.
MIN_HISTORY_DAYS = 120
