"""Liveness (`/healthz`) and readiness (`/readyz`: database reachable, migrations at head)."""

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from c2r_common.db import Database
from c2r_common.migrations import applied_revisions, head_revisions


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    service: str
    detail: str | None = None


def health_router(service: str, alembic_ini: Path) -> APIRouter:
    router = APIRouter(tags=["health"])
    expected_heads = head_revisions(alembic_ini)  # read once: the code on disk does not change

    @router.get("/healthz", response_model=Health, summary="The process is alive")
    async def healthz() -> Health:
        return Health(status="ok", service=service)

    @router.get(
        "/readyz",
        response_model=Health,
        summary="The database is reachable and its schema is at the migrations' head",
        responses={503: {"model": Health}},
    )
    async def readyz(request: Request) -> Health | JSONResponse:
        database: Database = request.app.state.database
        try:
            async with database.engine.connect() as connection:
                applied = await applied_revisions(connection)
        except Exception as exc:  # any failure to reach the database means not ready
            return _unavailable(service, f"database unreachable: {type(exc).__name__}")
        if applied != expected_heads:
            detail = f"schema at {sorted(applied)}, code expects {sorted(expected_heads)}"
            return _unavailable(service, detail)
        return Health(status="ok", service=service)

    return router


def _unavailable(service: str, detail: str) -> JSONResponse:
    body = Health(status="unavailable", service=service, detail=detail)
    return JSONResponse(body.model_dump(), status_code=503)
