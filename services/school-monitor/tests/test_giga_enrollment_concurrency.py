"""Enrollment writes and revocations under concurrent requests, on real commits: a device
registering several times at once gets one agent, and a revocation is not undone by a
request that read the credential while the revocation was being committed."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client
from school_monitor.agents.models import Agent

REGISTRATIONS = 5
COUNTRY_CHECK = "/api/v1/dailycheckapp_countries/RW"


@pytest.fixture
async def committing(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with (
        app_on_fresh_database(service_under_test, tmp_path, background_interval_seconds=0) as app,
        asgi_client(app) as http,
    ):
        yield app, http


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def school_and_key(http: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """(school id, its Giga id, a Rwandan deployment key)."""
    giga_id = str(uuid.uuid4())
    body = {"giga_id": giga_id, "name": "GS Test", "country_iso3": "RWA"}
    school = await http.post("/v1/schools", json=body, headers=admin)
    assert school.status_code == 201, school.text
    key = await http.post(
        "/v1/agents/deployment-keys", json={"name": "build", "countries": ["RWA"]}, headers=admin
    )
    assert key.status_code == 201, key.text
    return school.json()["id"], giga_id, key.json()["key"]


async def test_concurrent_registrations_of_one_device_give_one_agent(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, http = committing
    school_id, giga_id, key = await school_and_key(http, auth_headers("admin"))
    body = {
        "giga_id_school": giga_id,
        "mac_address": str(uuid.uuid4()),
        "device_hardware_id": "4C4C4544-0042-8050-B4C0-C4C04F4E3332",
        "os": "windows",
        "app_version": "2.0.2",
        "country_code": "RW",
    }
    answers = await asyncio.gather(
        *(
            http.post("/api/v1/dailycheckapp_schools", json=body, headers=bearer(key))
            for _ in range(REGISTRATIONS)
        )
    )
    assert sorted(a.status_code for a in answers) == [200] * (REGISTRATIONS - 1) + [201], [
        a.text for a in answers
    ]
    user_ids = {a.json()["data"]["user_id"] for a in answers}
    async with app.state.database.sessionmaker() as session:
        agents = (
            await session.scalars(select(Agent).where(Agent.school_id == uuid.UUID(school_id)))
        ).all()
    assert [str(agent.id) for agent in agents] == list(user_ids)
    assert agents[0].revoked_at is None


class CommitHold:
    """Runs `during` while the next session to commit has flushed its work but not yet
    committed it: the window in which a concurrent request reads the old state."""

    def __init__(self, app: FastAPI) -> None:
        self.during: Callable[[], Awaitable[Any]] | None = None
        hold = self

        class HeldSession(AsyncSession):
            async def commit(self) -> None:
                during, hold.during = hold.during, None
                if during is not None:
                    await self.flush()
                    await during()
                await super().commit()

        database = app.state.database
        database.sessionmaker = async_sessionmaker(
            database.engine, expire_on_commit=False, class_=HeldSession
        )


async def test_a_key_read_while_its_revocation_commits_is_refused_after_it(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, http = committing
    admin = auth_headers("admin")
    _, _, key = await school_and_key(http, admin)
    key_id = (await http.get("/v1/agents/deployment-keys", headers=admin)).json()["items"][0]["id"]
    hold = CommitHold(app)
    seen_during: list[int] = []

    async def concurrent_check() -> None:
        seen_during.append((await http.get(COUNTRY_CHECK, headers=bearer(key))).status_code)

    hold.during = concurrent_check
    revoked = await http.post(f"/v1/agents/deployment-keys/{key_id}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert seen_during == [200]  # the revocation was not committed yet
    after = await http.get(COUNTRY_CHECK, headers=bearer(key))
    assert after.status_code == 401, after.text


async def test_a_device_token_read_while_its_revocation_commits_is_refused_after_it(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, http = committing
    admin = auth_headers("admin")
    school_id, _, _ = await school_and_key(http, admin)
    registered = await http.post(
        "/v1/agents", json={"school_id": school_id, "hardware_id": "hw-held"}, headers=admin
    )
    assert registered.status_code == 201, registered.text
    agent_id, token = registered.json()["id"], registered.json()["token"]
    hold = CommitHold(app)
    seen_during: list[int] = []

    async def concurrent_call() -> None:
        # Any authenticated call verifies the token (this one is then refused for its scope).
        seen_during.append((await http.get("/v1/schools", headers=bearer(token))).status_code)

    hold.during = concurrent_call
    revoked = await http.post(f"/v1/agents/{agent_id}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert seen_during == [403]  # still a valid token, without the scope
    after = await http.get("/v1/schools", headers=bearer(token))
    assert after.status_code == 401, after.text
