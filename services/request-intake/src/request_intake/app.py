from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from c2r_common.app import ServiceSpec, build_app
from c2r_common.db import utcnow
from request_intake.assistance_requests.router import router as requests_router
from request_intake.calls.router import router as calls_router
from request_intake.clock import Clock, install_clock
from request_intake.config import IntakeSettings
from request_intake.outbox.relay import OutboxRelay
from request_intake.outbox.router import router as outbox_router
from request_intake.sessions.router import router as sessions_router
from request_intake.sla.policy import SlaPolicy

SERVICE_NAME = "request-intake"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Creates the assessment-api client and runs the outbox relay beside the app."""
    settings: IntakeSettings = app.state.settings
    relay = OutboxRelay.for_settings(app, settings)
    app.state.outbox_relay = relay
    if settings.outbox_relay_enabled:
        relay.start()
    try:
        yield
    finally:
        await relay.stop()


SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R request-intake",
    description="Calls for technical assistance, Member State requests with deadlines, "
    "the review workflow and its SLAs, the hand-off to assessment-api, and information "
    "sessions.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    # Fixed paths under /v1/requests come before the request routes.
    routers=[calls_router, outbox_router, requests_router, sessions_router],
    openapi_tags=[
        {"name": "calls", "description": "Calls for technical-assistance requests."},
        {"name": "requests", "description": "Member State requests and their workflow."},
        {"name": "outbox", "description": "The hand-off of approved requests."},
        {"name": "sessions", "description": "Information sessions and participants."},
    ],
    lifespan=lifespan,
)


def create_app(settings: IntakeSettings, clock: Clock = utcnow) -> FastAPI:
    app = build_app(SPEC, settings)
    install_clock(app, clock)
    app.state.sla_policy = SlaPolicy.from_settings(settings)
    return app
