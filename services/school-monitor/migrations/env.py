from c2r_common.migrations import run_env
from school_monitor.config import get_settings
from school_monitor.models import Base

run_env(Base.metadata, default_url=lambda: get_settings().database_url)
