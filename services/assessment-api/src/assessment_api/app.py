from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from assessment_api.assessments.router import router as assessments_router
from assessment_api.background import SERVICE, pruning_idempotency_keys
from assessment_api.config import AssessmentSettings
from assessment_api.connectivity.reader import SchoolMonitorReader
from assessment_api.countries.router import router as countries_router
from assessment_api.indicators.router import router as indicators_router
from assessment_api.methodology.router import router as methodologies_router
from assessment_api.notifications.models import NOTIFICATIONS
from assessment_api.notifications.router import TAG as NOTIFICATIONS_TAG
from assessment_api.notifications.router import router as notifications_router
from assessment_api.partners.router import contributions_router, partners_router
from assessment_api.programmes.router import router as programmes_router
from assessment_api.reports.router import assessments_reports, countries_reports
from assessment_api.rescoring.router import router as rescoring_router
from assessment_api.scoring.router import router as scores_router
from c2r_common.app import ServiceSpec, build_app
from c2r_common.auth import Scope, service_token_provider
from c2r_common.client import ServiceClient
from c2r_common.notifications.dispatcher import dispatching

SERVICE_NAME = "assessment-api"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def school_monitor_reader(settings: AssessmentSettings) -> SchoolMonitorReader:
    token = settings.school_monitor_token
    credentials = service_token_provider(
        settings,
        subject=SERVICE_NAME,
        scopes=[Scope.SCHOOLS_READ],
        static_token=token.get_secret_value() if token else None,
    )
    client = ServiceClient(
        settings.school_monitor_url,
        token_provider=credentials,
        timeout_seconds=settings.school_monitor_timeout_seconds,
        retries=settings.school_monitor_retries,
    )
    return SchoolMonitorReader(client, budget_seconds=settings.school_monitor_timeout_seconds)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One pooled client to school-monitor, the pruning of expired idempotency keys and the
    notification dispatcher, for the life of the app."""
    app.state.school_monitor = school_monitor_reader(app.state.settings)
    try:
        async with (
            pruning_idempotency_keys(app),
            dispatching(
                app.state.database, NOTIFICATIONS, app.state.settings, SERVICE
            ) as dispatcher,
        ):
            app.state.notification_dispatcher = dispatcher
            yield
    finally:
        await app.state.school_monitor.aclose()


SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R assessment-api",
    description="Country digital-resilience assessments under the Connect2Recover methodology: "
    "countries, methodology, indicators, scores, gaps, the 5-phase programme and partners.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    lifespan=lifespan,
    # Fixed paths (/v1/assessments/compare) come before the routers with path parameters.
    routers=[
        assessments_reports,
        countries_reports,
        countries_router,
        methodologies_router,
        # Before /v1/assessments/{assessment_id}, which would take "subscriptions" for an id.
        notifications_router,
        assessments_router,
        indicators_router,
        scores_router,
        rescoring_router,
        programmes_router,
        partners_router,
        contributions_router,
    ],
    openapi_tags=[
        {"name": "countries", "description": "Countries and areas (UN M49, ITU-D)."},
        {"name": "methodologies", "description": "The C2R methodology as versioned data."},
        {"name": "assessments", "description": "Country assessments and their lifecycle."},
        {"name": "indicators", "description": "Indicator values of an assessment, with history."},
        {"name": "scores", "description": "Scores, UMC bands and ranked gaps."},
        {"name": "reports", "description": "Exports, time series, comparisons, regions."},
        {"name": "programmes", "description": "Each country's 5-phase C2R programme."},
        {"name": "partners", "description": "Partners, contributions and their totals."},
        {
            "name": NOTIFICATIONS_TAG,
            "description": "Subscriptions to the assessments' events (completed, accepted by "
            "the country, published, translated), delivered as signed webhooks or e-mail, and "
            "their delivery log.",
        },
    ],
)


def create_app(settings: AssessmentSettings) -> FastAPI:
    return build_app(SPEC, settings)
