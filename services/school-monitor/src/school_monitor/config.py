from pydantic import Field
from pydantic_settings import SettingsConfigDict

from c2r_common.settings import ServiceSettings, load_settings


class SchoolMonitorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_SCHOOLS_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./data/school-monitor.db", description="the service's own database"
    )
    # Batches of 5,000 measurements and school master-data CSVs are larger than most bodies.
    max_body_bytes: int = Field(33_554_432, gt=0, description="largest request body accepted")

    benchmark_download_mbps: float = Field(
        20.0, gt=0, description="Giga's global 'good' threshold for download speed"
    )
    country_benchmarks_mbps: dict[str, float] = Field(
        default_factory=dict,
        description='per-country replacement of the benchmark, e.g. {"RWA": 10}',
    )
    offline_after_minutes: int = Field(
        60, gt=0, description="a school with no data for this long is offline"
    )
    max_measurement_age_days: int = Field(
        30, gt=0, description="measurements older than this are refused"
    )
    background_interval_seconds: float = Field(
        30.0,
        ge=0,
        description="how often the offline sweep and the metric gauges run (0: never)",
    )
    group_commits_in_flight: int = Field(
        2,
        ge=1,
        description="how many group commits of single pushes may run at once on PostgreSQL "
        "(SQLite has a single writer: always one)",
    )
    device_token_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="how long a verified device token is trusted without a database lookup; "
        "a revocation made on another replica takes effect within this time",
    )
    summary_scan_seconds: float = Field(
        10.0,
        ge=0,
        description="how long the scanned parts of a country summary (medians, schools "
        "reporting in 24 h) are reused before being read again from the indexes (0: never)",
    )
    import_chunk_rows: int = Field(
        500,
        ge=1,
        le=100_000,
        description="CSV import rows committed per transaction: a write made during an "
        "import waits for one chunk at most",
    )
    extra_generic_hardware_ids: list[str] = Field(
        default_factory=list, description="hardware ids refused besides the built-in list"
    )

    def benchmark_for(self, iso3: str) -> float:
        return self.country_benchmarks_mbps.get(iso3.upper(), self.benchmark_download_mbps)


def get_settings() -> SchoolMonitorSettings:
    return load_settings(SchoolMonitorSettings)
