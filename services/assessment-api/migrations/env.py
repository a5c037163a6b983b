from assessment_api.config import get_settings
from assessment_api.models import Base
from c2r_common.migrations import run_env

run_env(Base.metadata, default_url=lambda: get_settings().database_url)
