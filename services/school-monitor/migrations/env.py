from school_monitor.config import get_settings
from school_monitor.models import Base
from c2r_common.migrations import run_env

run_env(Base.metadata, default_url=lambda: get_settings().database_url)
