import pytest
from fastapi import FastAPI

from assessment_api.app import ALEMBIC_INI, SERVICE_NAME, create_app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest


@pytest.fixture(scope="session")
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        name=SERVICE_NAME,
        alembic_ini=ALEMBIC_INI,
        make_settings=lambda url: AssessmentSettings(
            database_url=url, environment=Environment.TEST
        ),
        create_app=create_app,  # type: ignore[arg-type]
    )


@pytest.fixture
async def seeded(app: FastAPI, db_rollback: None) -> None:
    """The reference data every deployment is seeded with (methodology v1, beneficiaries),
    inside the test's rolled-back transaction."""
    async with app.state.database.sessionmaker() as db:
        await seed_reference(db)
        await db.commit()
