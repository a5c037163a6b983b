"""The plumbing every service app shares, wired in one place."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from c2r_common.api_docs import install_docs
from c2r_common.auth import TokenVerifier
from c2r_common.db import Database
from c2r_common.errors import (
    UnhandledErrorMiddleware,
    install_error_handlers,
    install_problem_openapi,
)
from c2r_common.health import health_router
from c2r_common.limits import BodySizeLimitMiddleware
from c2r_common.observability import RequestContextMiddleware, add_metrics_endpoint
from c2r_common.openapi_examples import keep_example_nulls
from c2r_common.operation_ids import operation_id
from c2r_common.response_headers import declare_response_headers
from c2r_common.route_statuses import declare_route_statuses
from c2r_common.runtime_metrics import register_runtime_metrics
from c2r_common.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@dataclass
class ServiceSpec:
    name: str
    title: str
    description: str
    version: str
    alembic_ini: Path
    routers: Sequence[APIRouter]
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)
    # Extra start-up/shut-down work of the service (clients, background relays).
    lifespan: Lifespan | None = None


def build_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """A FastAPI app with database, auth, problem+json errors, metrics, logs and health."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database: Database = app.state.database
        async with database.checkpoints():
            if spec.lifespan is None:
                yield
            else:
                async with spec.lifespan(app):
                    yield
        await database.dispose()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        openapi_tags=[*spec.openapi_tags, {"name": "health", "description": "Probes."}],
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # install_docs: the pages' assets are served here, not by a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.database = Database(settings.database_url, background_checkpoints=True)
    app.state.token_verifier = TokenVerifier(settings)
    app.state.extra_verifiers = []
    install_error_handlers(app)
    install_problem_openapi(app)
    declare_route_statuses(app)
    declare_response_headers(app)
    keep_example_nulls(app)
    app.add_middleware(UnhandledErrorMiddleware)  # innermost: answered inside the others
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    add_metrics_endpoint(app)
    register_runtime_metrics(app, spec.name, spec.version)
    app.include_router(health_router(spec.name, spec.alembic_ini))
    for router in spec.routers:
        app.include_router(router)
    return app
