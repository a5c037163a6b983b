"""Real concurrent writers, each on its own connection, on a database of their own (the
per-test rollback shares one connection, which would serialise them)."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI

from assessment_api.app import ALEMBIC_INI, create_app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.migrations import upgrade_to_head
from c2r_common.settings import Environment
from c2r_common.testing import TokenFactory, pg_admin, pg_database_url

WRITERS = 6


@pytest.fixture
async def own_database_url(tmp_path: Path) -> AsyncIterator[str]:
    if os.environ.get("C2R_TEST_DB", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/race.db"
        return
    name = f"c2r_test_race_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    yield pg_database_url(name)
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def racing_client(own_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await anyio.to_thread.run_sync(upgrade_to_head, ALEMBIC_INI, own_database_url)
    app: FastAPI = create_app(
        AssessmentSettings(database_url=own_database_url, environment=Environment.TEST)
    )
    async with app.state.database.sessionmaker() as db:
        await seed_reference(db)
        await db.commit()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.database.dispose()


async def test_concurrent_creates_of_one_country_and_period_make_one_assessment(
    racing_client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:write", "assessments:read")

    async def create(n: int) -> httpx.Response:
        return await racing_client.post(
            "/v1/assessments",
            json={"country_iso3": "RWA", "period": "2030"},
            headers=headers | {"Idempotency-Key": f"writer-{n}"},
        )

    answers = await asyncio.gather(*(create(n) for n in range(WRITERS)))
    created = [a for a in answers if a.status_code == 201]
    assert len(created) == 1
    winner = created[0].json()["id"]
    for answer in answers:
        # The losers are told which assessment exists, or (SQLite's single write lock)
        # asked to retry; never a 500.
        assert answer.status_code in (201, 409, 503), answer.text
        if answer.status_code == 409:
            assert answer.json()["existing_assessment_id"] == winner
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
    listed = await racing_client.get("/v1/assessments", headers=headers)
    assert [a["id"] for a in listed.json()["items"]] == [winner]


async def test_concurrent_edits_of_one_revision_let_exactly_one_through(
    racing_client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:write", "assessments:read")
    created = await racing_client.post(
        "/v1/assessments", json={"country_iso3": "ZWE", "period": "2030"}, headers=headers
    )
    path = f"/v1/assessments/{created.json()['id']}"
    etag = created.headers["etag"]

    async def rename(n: int) -> httpx.Response:
        return await racing_client.patch(
            path, json={"title": f"Edit {n}"}, headers=headers | {"If-Match": etag}
        )

    answers = await asyncio.gather(*(rename(n) for n in range(WRITERS)))
    accepted = [a for a in answers if a.status_code == 200]
    assert len(accepted) == 1
    assert all(a.status_code in (200, 412, 503) for a in answers), [a.text for a in answers]
    current = await racing_client.get(path, headers=headers)
    assert current.json()["title"] == accepted[0].json()["title"]
    assert current.json()["revision"] == 2
