from request_intake.config import get_settings
from request_intake.models import Base
from c2r_common.migrations import run_env

run_env(Base.metadata, default_url=lambda: get_settings().database_url)
