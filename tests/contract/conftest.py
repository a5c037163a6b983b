"""Runs the platform contract against each of the three service apps in turn."""

import pytest

import assessment_api.app
import request_intake.app
import school_monitor.app
from assessment_api.config import AssessmentSettings
from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest
from request_intake.config import IntakeSettings
from school_monitor.config import SchoolMonitorSettings

SERVICES = {
    "assessment-api": ServiceUnderTest(
        name="assessment-api",
        alembic_ini=assessment_api.app.ALEMBIC_INI,
        make_settings=lambda url: AssessmentSettings(
            database_url=url, environment=Environment.TEST
        ),
        create_app=assessment_api.app.create_app,  # type: ignore[arg-type]
    ),
    "request-intake": ServiceUnderTest(
        name="request-intake",
        alembic_ini=request_intake.app.ALEMBIC_INI,
        make_settings=lambda url: IntakeSettings(database_url=url, environment=Environment.TEST),
        create_app=request_intake.app.create_app,  # type: ignore[arg-type]
    ),
    "school-monitor": ServiceUnderTest(
        name="school-monitor",
        alembic_ini=school_monitor.app.ALEMBIC_INI,
        make_settings=lambda url: SchoolMonitorSettings(
            database_url=url, environment=Environment.TEST, max_body_bytes=64_000
        ),
        create_app=school_monitor.app.create_app,  # type: ignore[arg-type]
    ),
}

# A protected list endpoint and, where the service has one, a create endpoint of each.
LIST_PATHS = {
    "assessment-api": "/v1/countries",
    "request-intake": "/v1/sessions",
    "school-monitor": "/v1/schools",
}


@pytest.fixture(scope="session", params=sorted(SERVICES))
def service_under_test(request: pytest.FixtureRequest) -> ServiceUnderTest:
    return SERVICES[request.param]


@pytest.fixture
def list_path(service_under_test: ServiceUnderTest) -> str:
    return LIST_PATHS[service_under_test.name]
