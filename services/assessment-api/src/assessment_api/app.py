from pathlib import Path

from fastapi import FastAPI

from assessment_api.config import AssessmentSettings
from assessment_api.countries.router import router as countries_router
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
    routers=[countries_router],
    openapi_tags=[{"name": "countries", "description": "Countries and areas (UN M49, ITU-D)."}],
)


def create_app(settings: AssessmentSettings) -> FastAPI:
    return build_app(SPEC, settings)
