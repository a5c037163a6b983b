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


def get_settings() -> SchoolMonitorSettings:
    return load_settings(SchoolMonitorSettings)
