from pathlib import Path

from fastapi import FastAPI

from c2r_common.app import ServiceSpec, build_app
from school_monitor.config import SchoolMonitorSettings
from school_monitor.schools.router import router as schools_router

SERVICE_NAME = "school-monitor"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R school-monitor",
    description="School connectivity in the Giga model: the school registry, agents pushing "
    "measurements and ping checks, connectivity status, daily rollups and country summaries.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    routers=[schools_router],
    openapi_tags=[{"name": "schools", "description": "The school registry."}],
)


def create_app(settings: SchoolMonitorSettings) -> FastAPI:
    return build_app(SPEC, settings)
