"""Agents: device registration, hashed revocable tokens, pushes only for their school."""

import hashlib
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from school_monitor.agents.models import Agent


async def register(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/v1/agents", json=body, headers=admin)


async def test_token_is_returned_once_and_stored_hashed(
    app: FastAPI, client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    response = await register(
        client, admin, school_id=school["id"], hardware_id="9C-B6-D0-12-34-56", app_version="4.1"
    )
    assert response.status_code == 201
    created = response.json()
    token = created["token"]
    assert token.startswith("c2rdev_")
    assert len(token) > 40
    shown = await client.get(f"/v1/agents/{created['id']}", headers=admin)
    assert "token" not in shown.json()
    async with app.state.database.sessionmaker() as session:
        agent = await session.scalar(select(Agent).where(Agent.id == uuid.UUID(created["id"])))
    assert agent is not None
    assert agent.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (agent.token_hash, agent.token_hint)


async def test_generic_hardware_ids_are_refused(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    for generic in ("To be filled by O.E.M.", "00000000-0000-0000-0000-000000000000", " unknown "):
        response = await register(client, admin, school_id=school["id"], hardware_id=generic)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.hardware_id"


async def test_registering_for_an_unknown_school_is_a_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await register(client, admin, school_id=str(uuid.uuid4()), hardware_id="hw-1")
    assert response.status_code == 404


async def test_registering_needs_the_agents_scope(
    client: httpx.AsyncClient, make_school: Any, auth_headers: Any
) -> None:
    school = await make_school()
    response = await register(
        client, auth_headers("schools:write"), school_id=school["id"], hardware_id="hw-2"
    )
    assert response.status_code == 403


async def test_device_pushes_for_its_school_without_naming_it_and_is_seen(
    client: httpx.AsyncClient,
    make_school: Any,
    device_headers: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    school = await make_school()
    device = await device_headers(school["id"])
    item = measurement(app_version="4.2.0")
    response = await client.post("/v1/measurements", json=item, headers=device)
    assert response.status_code == 201, response.text
    agents = await client.get("/v1/agents", params={"school_id": school["id"]}, headers=admin)
    [agent] = agents.json()["items"]
    assert agent["last_seen_at"] is not None
    assert agent["app_version"] == "4.2.0"


async def test_device_token_pushing_for_another_school_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    device_headers: Any,
    measurement: Any,
) -> None:
    own, other = await make_school(), await make_school()
    device = await device_headers(own["id"])
    single = await client.post("/v1/measurements", json=measurement(other["id"]), headers=device)
    assert single.status_code == 403
    assert single.headers["content-type"] == "application/problem+json"
    batch = {"items": [measurement(own["id"]), measurement(other["id"])]}
    response = await client.post("/v1/measurements/batch", json=batch, headers=device)
    assert response.status_code == 403
    own_list = await client.get(
        f"/v1/schools/{own['id']}/measurements", headers={"Authorization": "x"}
    )
    assert own_list.status_code == 401


async def test_device_token_cannot_read_or_register(
    client: httpx.AsyncClient, make_school: Any, device_headers: Any
) -> None:
    school = await make_school()
    device = await device_headers(school["id"])
    assert (await client.get("/v1/schools", headers=device)).status_code == 403
    response = await register(client, device, school_id=school["id"], hardware_id="hw-3")
    assert response.status_code == 403


async def test_revoked_token_is_refused(
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    school = await make_school()
    created = (await register(client, admin, school_id=school["id"], hardware_id="hw-4")).json()
    device = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.post("/v1/measurements", json=measurement(), headers=device)).is_success
    revoked = await client.post(f"/v1/agents/{created['id']}/revoke", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    refused = await client.post("/v1/measurements", json=measurement(), headers=device)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_device_token_is_a_401(client: httpx.AsyncClient, measurement: Any) -> None:
    headers = {"Authorization": "Bearer c2rdev_not-a-real-token"}
    response = await client.post("/v1/measurements", json=measurement(), headers=headers)
    assert response.status_code == 401


async def test_a_device_has_one_active_agent_per_school(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    first = await register(client, admin, school_id=school["id"], hardware_id="hw-once")
    assert first.status_code == 201
    again = await register(client, admin, school_id=school["id"], hardware_id="hw-once")
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "body.hardware_id"
    revoked = await client.post(f"/v1/agents/{first.json()['id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    after_revocation = await register(client, admin, school_id=school["id"], hardware_id="hw-once")
    assert after_revocation.status_code == 201, after_revocation.text
