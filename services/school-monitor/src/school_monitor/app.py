from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from c2r_common.app import ServiceSpec, build_app
from school_monitor.agents.auth import DeviceTokenVerifier
from school_monitor.agents.deployment_keys.auth import DeploymentKeyVerifier
from school_monitor.agents.deployment_keys.router import router as deployment_keys_router
from school_monitor.agents.router import router as agents_router
from school_monitor.background import run_background_loop
from school_monitor.config import SchoolMonitorSettings
from school_monitor.gigameter.enrollment.router import router as giga_enrollment_router
from school_monitor.gigameter.grants import write_grants
from school_monitor.gigameter.pull.router import router as giga_pull_router
from school_monitor.gigameter.router import router as giga_meter_router
from school_monitor.ingestion.group_commit import GroupCommitter
from school_monitor.measurements.router import measurements_router, pings_router
from school_monitor.notifications.router import router as notifications_router
from school_monitor.rollups.queries import ScanCache
from school_monitor.rollups.router import router as connectivity_router
from school_monitor.schools.router import router as schools_router
from school_monitor.status.router import router as alerts_router

SERVICE_NAME = "school-monitor"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.group_committer = GroupCommitter(app.state.database, app.state.settings)
    app.state.summary_scan_cache = ScanCache(app.state.settings.summary_scan_seconds)
    device_tokens = DeviceTokenVerifier(app.state.settings)
    app.state.extra_verifiers.append(device_tokens)
    app.state.extra_verifiers.append(DeploymentKeyVerifier(app.state.settings))
    app.state.agent_revocation_listeners = [
        device_tokens.forget,
        write_grants(app.state).forget,
    ]
    try:
        async with run_background_loop(app):
            yield
    finally:
        await app.state.group_committer.close()


SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R school-monitor",
    description="School connectivity in the Giga model: the school registry, agents pushing "
    "measurements and ping checks, connectivity status, daily rollups and country summaries.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    routers=[
        measurements_router,
        pings_router,
        giga_meter_router,
        giga_pull_router,
        giga_enrollment_router,
        schools_router,
        # Before the agents' /{agent_id} routes, which would take "deployment-keys" for an id.
        deployment_keys_router,
        agents_router,
        connectivity_router,
        alerts_router,
        notifications_router,
    ],
    openapi_tags=[
        {"name": "schools", "description": "The school registry."},
        {"name": "agents", "description": "Measuring devices and their tokens."},
        {"name": "measurements", "description": "Speed tests pushed by agents."},
        {"name": "pings", "description": "Connectivity checks pushed by agents."},
        {"name": "connectivity", "description": "Country and region summaries, daily series."},
        {"name": "alerts", "description": "Status changes of schools."},
        {
            "name": "notifications",
            "description": "Subscriptions to events (schools and areas going offline, agents "
            "silent), delivered as signed webhooks or e-mail, and their delivery log.",
        },
        {"name": "giga-meter", "description": "The Giga Meter-compatible measurement API."},
    ],
    lifespan=lifespan,
)


def create_app(settings: SchoolMonitorSettings) -> FastAPI:
    return build_app(SPEC, settings)
