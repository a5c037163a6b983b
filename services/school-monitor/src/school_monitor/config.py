import hashlib
import hmac

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.settings import load_settings
from school_monitor.retention.rules import retention_covers_window, shortest_retention_months

MIN_PEPPER_LENGTH = 16


class SchoolMonitorSettings(NotifyingSettings):
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
    deployment_key_pepper: SecretStr | None = Field(
        None,
        description="server-side secret under which deployment keys are hashed (HMAC-SHA256), "
        "so that a copy of the database does not let imported keys be guessed offline; "
        "without it, one derived from jwt_secret (then rotating that secret voids the keys)",
    )
    extra_generic_hardware_ids: list[str] = Field(
        default_factory=list, description="hardware ids refused besides the built-in list"
    )

    raw_retention_months: int = Field(
        0,
        ge=0,
        description="whole months of raw measurements and ping checks kept before the "
        "current one (PostgreSQL drops their monthly partitions, SQLite deletes the rows); "
        "rollups, country figures and the schools' status are kept whatever this is. Must "
        "reach past max_measurement_age_days (0: raw rows are kept forever)",
    )
    partitions_ahead_months: int = Field(
        3,
        ge=1,
        description="monthly partitions of measurements and pings created ahead of the "
        "current month (PostgreSQL)",
    )

    # Notifications (the dispatcher's own settings come from NotifyingSettings).
    notify_min_duration_minutes: float = Field(
        15.0,
        ge=0,
        description="a school's new status must hold this long before it is notified, so "
        "that a flapping link raises one event, not one per flap",
    )
    area_outage_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="share of an area's (country or admin1) reporting schools that, gone "
        "offline within area_outage_window_minutes, make one area outage event",
    )
    area_outage_window_minutes: float = Field(
        60.0, gt=0, description="the window in which the schools of an area outage went offline"
    )
    area_outage_min_schools: int = Field(
        5, ge=1, description="areas with fewer reporting schools raise no area outage"
    )
    area_recovery_share: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="an area outage is over once the area's offline share falls below this",
    )
    agent_silent_days: int = Field(
        7, ge=1, description="an agent that sent nothing for this many days raises one event"
    )

    @model_validator(mode="after")
    def _retention_reaches_past_the_acceptance_window(self) -> "SchoolMonitorSettings":
        # A retry of an accepted item must always find its row (and so be a duplicate).
        if not retention_covers_window(self.raw_retention_months, self.max_measurement_age_days):
            shortest = shortest_retention_months(self.max_measurement_age_days)
            raise ValueError(
                f"raw_retention_months={self.raw_retention_months} would remove rows inside "
                f"the acceptance window of max_measurement_age_days="
                f"{self.max_measurement_age_days}: use at least {shortest}, or 0 to keep all"
            )
        return self

    @model_validator(mode="after")
    def _deployment_keys_have_a_pepper(self) -> "SchoolMonitorSettings":
        if self.deployment_key_pepper is None and self.jwt_secret is None:
            raise ValueError("set deployment_key_pepper (or jwt_secret) to hash deployment keys")
        pepper = self.deployment_key_pepper
        if pepper is not None and len(pepper.get_secret_value()) < MIN_PEPPER_LENGTH:
            raise ValueError(f"deployment_key_pepper has at least {MIN_PEPPER_LENGTH} characters")
        return self

    @property
    def key_pepper(self) -> bytes:
        """The secret deployment keys are hashed under."""
        if self.deployment_key_pepper is not None:
            return self.deployment_key_pepper.get_secret_value().encode()
        assert self.jwt_secret is not None  # refused above otherwise
        # Derived, so that the HMAC key is not the token-signing key itself.
        secret = self.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"c2r deployment keys", hashlib.sha256).digest()

    def benchmark_for(self, iso3: str) -> float:
        return self.country_benchmarks_mbps.get(iso3.upper(), self.benchmark_download_mbps)


def get_settings() -> SchoolMonitorSettings:
    return load_settings(SchoolMonitorSettings)
