from c2r_common.migrations import run_env
from school_monitor.config import get_settings
from school_monitor.models import Base
from school_monitor.retention.service import compared_with_the_models

run_env(
    Base.metadata,
    default_url=lambda: get_settings().database_url,
    include_name=compared_with_the_models,
)
