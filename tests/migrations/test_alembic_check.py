"""`alembic check` for every service on the selected database (CI runs both): a database
built by the migrations has exactly the schema the models describe, so neither can change
without the other. The service's own env.py runs, with what it leaves out of the
comparison (school-monitor's partitions)."""

from pathlib import Path

import anyio
import pytest

from c2r_common.migrations import check_models_match
from c2r_common.testing import fresh_database

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["assessment-api", "request-intake", "school-monitor"]


@pytest.mark.parametrize("service", SERVICES)
async def test_the_models_match_the_migrations(service: str, tmp_path: Path) -> None:
    alembic_ini = ROOT / "services" / service / "alembic.ini"
    slug = f"check_{service.replace('-', '_')}"
    async with fresh_database(alembic_ini, slug, tmp_path) as url:
        await anyio.to_thread.run_sync(check_models_match, alembic_ini, url)
