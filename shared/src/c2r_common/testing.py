"""Pytest fixtures shared by the service suites (loaded as a plugin by the root conftest).

A service's conftest defines one fixture, `service_under_test`, returning a
:class:`ServiceUnderTest`; these fixtures then give it a database built by running its
migrations (SQLite or PostgreSQL, chosen by ``C2R_TEST_DB``), an app, per-test
transaction rollback and an HTTP client on the ASGI app.
"""

import base64
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from c2r_common.auth import mint_token
from c2r_common.db import Database
from c2r_common.idempotency import IdempotencyRecordMixin
from c2r_common.migrations import upgrade_to_head
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, ServiceSettings

DEFAULT_TEST_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class ServiceUnderTest:
    name: str
    alembic_ini: Path
    make_settings: Callable[[str], ServiceSettings]  # database URL -> settings
    create_app: Callable[[ServiceSettings], FastAPI]


def selected_backend() -> str:
    backend = os.environ.get("C2R_TEST_DB", "sqlite")
    if backend not in {"sqlite", "postgresql"}:
        raise RuntimeError(f"C2R_TEST_DB must be sqlite or postgresql, not {backend!r}")
    return backend


def pg_server_url() -> str:
    """The PostgreSQL server the tests create their databases on (C2R_TEST_PG_URL)."""
    return os.environ.get("C2R_TEST_PG_URL", DEFAULT_TEST_PG_URL)


def pg_database_url(name: str) -> str:
    """The async URL of database `name` on the test server."""
    url = make_url(pg_server_url()).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def pg_admin(*statements: str) -> None:
    """Runs statements (CREATE/DROP DATABASE) outside a transaction on the server."""
    url = make_url(pg_server_url())
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(alembic_ini: Path, slug: str, folder: Path) -> AsyncIterator[str]:
    """A new database on the selected backend, its schema built by the Alembic migrations;
    its URL. A SQLite file goes in `folder`; a PostgreSQL database is dropped afterwards."""
    if selected_backend() == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / f'{slug}.db'}"
        await anyio.to_thread.run_sync(upgrade_to_head, alembic_ini, url)
        yield url
        return
    name = f"c2r_test_{slug}_{uuid.uuid4().hex[:8]}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await pg_admin(drop, f'CREATE DATABASE "{name}"')
    url = pg_database_url(name)
    try:
        await anyio.to_thread.run_sync(upgrade_to_head, alembic_ini, url)
        yield url
    finally:
        await pg_admin(drop)


@pytest.fixture(scope="session")
async def database_url(
    service_under_test: ServiceUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A fresh database for the service, shared by the session's tests."""
    slug = service_under_test.name.replace("-", "_")
    folder = tmp_path_factory.mktemp(slug)
    async with fresh_database(service_under_test.alembic_ini, slug, folder) as url:
        yield url


@pytest.fixture(scope="session")
def settings(service_under_test: ServiceUnderTest, database_url: str) -> ServiceSettings:
    return service_under_test.make_settings(database_url)


@pytest.fixture(scope="session")
async def app(
    service_under_test: ServiceUnderTest, settings: ServiceSettings
) -> AsyncIterator[FastAPI]:
    application = service_under_test.create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def db_rollback(app: FastAPI) -> AsyncIterator[None]:
    """Every session of the test (requests and background work alike) joins one outer
    transaction that is rolled back afterwards: services' commits become savepoints."""
    database: Database = app.state.database
    original = database.sessionmaker
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        database.sessionmaker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield
        finally:
            database.sessionmaker = original
            await transaction.rollback()


@pytest.fixture
async def client(app: FastAPI, db_rollback: None) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http:
        yield http


@asynccontextmanager
async def app_on_fresh_database(
    service_under_test: ServiceUnderTest, folder: Path, **overrides: Any
) -> AsyncIterator[FastAPI]:
    """The app on a database of its own and without the per-test rollback, its settings
    those of the suite with `overrides` (validated like any settings): every commit is
    real, for the tests of what commits when, seen from another session."""
    slug = service_under_test.name.replace("-", "_")
    async with fresh_database(service_under_test.alembic_ini, slug, folder) as url:
        settings = service_under_test.make_settings(url)
        if overrides:
            settings = settings.model_validate(settings.model_dump() | overrides)
        application = service_under_test.create_app(settings)
        async with application.router.lifespan_context(application):
            yield application


@asynccontextmanager
async def asgi_client(
    app: FastAPI, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app itself; a server error is answered, not raised."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as http:
        yield http


@pytest.fixture
async def committing_app(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """`app_on_fresh_database` with the suite's settings."""
    async with app_on_fresh_database(service_under_test, tmp_path) as application:
        yield application


@pytest.fixture
async def committing_client(committing_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(committing_app) as http:
        yield http


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def auth_headers(settings: ServiceSettings) -> TokenFactory:
    """`auth_headers("schools:read", countries=["RWA"])` -> an Authorization header."""

    def make(
        *scopes: str, countries: Iterable[str] | None = None, subject: str = "test-user"
    ) -> dict[str, str]:
        token = mint_token(
            DEVELOPMENT_JWT_SECRET,
            subject=subject,
            scopes=scopes,
            countries=countries,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        return {"Authorization": f"Bearer {token}"}

    return make


async def check_expired_keys_pruned(
    service_under_test: ServiceUnderTest,
    model: type[IdempotencyRecordMixin],
    folder: Path,
    timeout_seconds: float = 20.0,
) -> None:
    """The service's own app, run as outside tests (background work on), forgets an expired
    Idempotency-Key and keeps a fresh one; looked at from a session of its own."""
    overrides = {
        "environment": "development",
        "idempotency_retention_hours": 1.0,
        "idempotency_prune_seconds": 0.05,
    }
    async with app_on_fresh_database(service_under_test, folder, **overrides) as app:
        database: Database = app.state.database
        async with database.sessionmaker() as session:
            for key, age in (("expired", timedelta(hours=2)), ("fresh", timedelta(0))):
                record = model()
                record.scope, record.key, record.request_hash = "test", key, ""
                record.status_code, record.response_body = 201, "{}"
                record.created_at = datetime.now(UTC) - age
                session.add(record)
            await session.commit()
        with anyio.fail_after(timeout_seconds):
            while (keys := await _stored_keys(database, model)) != {"fresh"}:
                assert "fresh" in keys
                await anyio.sleep(0.05)


async def _stored_keys(database: Database, model: type[IdempotencyRecordMixin]) -> set[str]:
    async with database.sessionmaker() as session:
        return set(await session.scalars(select(model.key)))


# --- refused inputs (the tests/test_input_*.py of every service) ----------------------


def assert_field_refused(response: httpx.Response, field: str, status: int = 422) -> None:
    """A problem+json refusal naming `field` (e.g. `body.num_students`) among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json().get("errors", [])], response.text


def assert_refused_alike(
    foreign: httpx.Response, foreign_id: str, missing: httpx.Response, missing_id: str
) -> None:
    """An object outside the caller's countries refused exactly as a missing one: the same
    status, media type and body byte for byte, once each names its own id as `{id}` and
    the fields of the request itself (instance, request_id) are set aside."""

    def shape(response: httpx.Response, asked: str) -> tuple[int, str, str]:
        body = re.sub(r'"(instance|request_id)":"[^"]*",?', "", response.text)
        return response.status_code, response.headers["content-type"], body.replace(asked, "{id}")

    assert shape(foreign, foreign_id) == shape(missing, missing_id)
    assert foreign.status_code == 404, foreign.text


def forged_cursor(values: Any) -> str:
    """A cursor this API never issued: `values` JSON-encoded as c2r_common.pagination does."""
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pydantic_bound_keys(node: Any, path: str = "") -> list[str]:
    """Where an OpenAPI document shows a bound under pydantic's name (ge, le, gt, lt), which
    clients and fuzzers do not read, instead of JSON Schema's (minimum, maximum...)."""
    if isinstance(node, dict):
        found = [f"{path}.{key}" for key in node if key in {"ge", "le", "gt", "lt"}]
        return found + [p for k, v in node.items() for p in pydantic_bound_keys(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in pydantic_bound_keys(v, f"{path}.{i}")]
    return []
