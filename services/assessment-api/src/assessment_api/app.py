from pathlib import Path

from fastapi import FastAPI

from assessment_api.assessments.router import router as assessments_router
from assessment_api.config import AssessmentSettings
from assessment_api.countries.router import router as countries_router
from assessment_api.indicators.router import router as indicators_router
from assessment_api.methodology.router import router as methodologies_router
from assessment_api.sqlite_transactions import use_explicit_transactions
from c2r_common.app import ServiceSpec, build_app

SERVICE_NAME = "assessment-api"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R assessment-api",
    description="Country digital-resilience assessments under the Connect2Recover methodology: "
    "countries, methodology, indicators, scores, gaps, the 5-phase programme and partners.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    routers=[countries_router, methodologies_router, assessments_router, indicators_router],
    openapi_tags=[
        {"name": "countries", "description": "Countries and areas (UN M49, ITU-D)."},
        {"name": "methodologies", "description": "The C2R methodology as versioned data."},
        {"name": "assessments", "description": "Country assessments and their lifecycle."},
        {"name": "indicators", "description": "Indicator values of an assessment, with history."},
    ],
)


def create_app(settings: AssessmentSettings) -> FastAPI:
    app = build_app(SPEC, settings)
    use_explicit_transactions(app.state.database.engine)
    return app
