from pathlib import Path

from fastapi import FastAPI

from c2r_common.app import ServiceSpec, build_app
from request_intake.config import IntakeSettings
from request_intake.sessions.router import router as sessions_router

SERVICE_NAME = "request-intake"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R request-intake",
    description="Calls for technical assistance, Member State requests with deadlines, "
    "the review workflow and its SLAs, and information sessions.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    routers=[sessions_router],
    openapi_tags=[{"name": "sessions", "description": "Information sessions and participants."}],
)


def create_app(settings: IntakeSettings) -> FastAPI:
    return build_app(SPEC, settings)
