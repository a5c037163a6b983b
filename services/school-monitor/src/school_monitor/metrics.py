"""Domain metrics of school-monitor (HTTP metrics come from c2r_common)."""

from prometheus_client import Counter, Gauge, Histogram

KNOWN_SOURCES = frozenset({"native", "DailyCheckApp", "MLab", "giga-meter"})

MEASUREMENTS_INGESTED = Counter(
    "c2r_school_monitor_measurements_ingested_total",
    "Measurements and ping checks newly stored, by kind and source.",
    ["kind", "source"],
)
MEASUREMENTS_DUPLICATE = Counter(
    "c2r_school_monitor_measurements_duplicate_total",
    "Measurements and ping checks acknowledged but not stored again (same UUID).",
    ["kind"],
)
MEASUREMENTS_REJECTED = Counter(
    "c2r_school_monitor_measurements_rejected_total",
    "Measurements and ping checks refused, by kind, reason and source.",
    ["kind", "reason", "source"],
)
INGEST_LATENCY = Histogram(
    "c2r_school_monitor_ingest_duration_seconds",
    "Time to validate and store one ingest request, by kind.",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ALERTS_RAISED = Counter(
    "c2r_school_monitor_alerts_total",
    "Status-change alerts raised, by kind.",
    ["kind"],
)
SCHOOLS_BY_STATUS = Gauge(
    "c2r_school_monitor_schools",
    "Registered schools by country and connectivity status (refreshed from the counters).",
    ["country", "status"],
)
# By area, for the outage alerts (an area's schools going offline together). `admin1` is the
# school's first-level area from the master data ("" when unknown), so the series are bounded
# by the registered areas of each country (tens, not one per school); only areas with a
# monitored school have series.
SCHOOLS_MONITORED = Gauge(
    "c2r_school_monitor_schools_monitored",
    "Schools that reported at least once, by country (ISO3) and first-level area.",
    ["country", "admin1"],
)
SCHOOLS_OFFLINE = Gauge(
    "c2r_school_monitor_schools_offline",
    "Schools that reported at least once and are offline now, by country and first-level area.",
    ["country", "admin1"],
)
AGENTS_SEEN_24H = Gauge(
    "c2r_school_monitor_agents_seen_24h",
    "Agents that pushed data in the last 24 hours.",
)


def source_label(source: str | None) -> str:
    """Bounded label values: an agent cannot create a time series per typo."""
    return source if source in KNOWN_SOURCES else "other"
