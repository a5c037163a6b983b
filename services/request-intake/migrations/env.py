from c2r_common.migrations import run_env
from request_intake.config import get_settings
from request_intake.models import Base

run_env(Base.metadata, default_url=lambda: get_settings().database_url)
