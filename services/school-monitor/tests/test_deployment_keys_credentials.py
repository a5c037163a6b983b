"""gigameter.credentials: which caller may write for which Giga school, and as which device.

A deployment key writes only for a device registered for the school (named by the id the
registration answered, as the app sends it back in BrowserID, or by a hardware id); a
device token only for its own school; a JWT for the schools of its countries. A school of
another country is refused exactly like an unknown one.
"""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from c2r_common.auth import Principal, mint_token
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from school_monitor.agents.deployment_keys.auth import key_principal
from school_monitor.agents.models import DeploymentKey
from school_monitor.gigameter.credentials import WriteRefused, authorize_giga_write


async def new_key(client: httpx.AsyncClient, admin: dict[str, str], country: str) -> dict[str, Any]:
    body = {"name": "build", "countries": [country]}
    response = await client.post("/v1/agents/deployment-keys", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def key_of(app: FastAPI, created: dict[str, Any]) -> Principal:
    async with app.state.database.sessionmaker() as session:
        record = await session.get(DeploymentKey, uuid.UUID(created["id"]))
    assert record is not None
    return key_principal(record)


async def registered(client: httpx.AsyncClient, key: dict[str, Any], giga_id: str, mac: str) -> str:
    body = {"giga_id_school": giga_id, "mac_address": mac, "os": "windows", "app_version": "1.0.10"}
    response = await client.post(
        "/api/v1/dailycheckapp_schools",
        json=body,
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["user_id"])


async def authorize(
    app: FastAPI, principal: Principal, giga_id: str, *device_ids: str | None
) -> Any:
    async with app.state.database.sessionmaker() as session:
        return await authorize_giga_write(
            session, principal, giga_id_school=giga_id, device_ids=device_ids
        )


async def refusal(
    app: FastAPI, principal: Principal, giga_id: str, *device_ids: str
) -> WriteRefused:
    with pytest.raises(WriteRefused) as refused:
        await authorize(app, principal, giga_id, *device_ids)
    return refused.value


async def test_a_key_writes_for_a_device_it_registered_named_by_browser_id(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    school = await make_school(giga_id=str(uuid.uuid4()))
    created = await new_key(client, admin, "RWA")
    user_id = await registered(client, created, school["giga_id"], "install-1")
    principal = await key_of(app, created)
    grant = await authorize(app, principal, school["giga_id"].upper(), user_id)
    assert str(grant.school.id) == school["id"]
    assert str(grant.agent_id) == user_id
    assert grant.principal.kind == "device"
    assert str(grant.principal.claims["school_id"]) == school["id"]
    by_hardware = await authorize(app, principal, school["giga_id"], None, "install-1")
    assert str(by_hardware.agent_id) == user_id


async def test_a_key_is_refused_for_an_unregistered_device(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    school = await make_school()
    other = await make_school()
    created = await new_key(client, admin, "RWA")
    user_id = await registered(client, created, other["giga_id"], "install-2")
    principal = await key_of(app, created)
    for device_ids in ((), ("",), (str(uuid.uuid4()),), (user_id,)):
        refused = await refusal(app, principal, school["giga_id"], *device_ids)
        assert refused.reason == "unregistered_device", device_ids


async def test_a_revoked_device_is_not_registered_any_more(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    school = await make_school()
    created = await new_key(client, admin, "RWA")
    user_id = await registered(client, created, school["giga_id"], "install-3")
    revoked = await client.post(f"/v1/agents/{user_id}/revoke", headers=admin)
    assert revoked.status_code == 200
    refused = await refusal(app, await key_of(app, created), school["giga_id"], user_id)
    assert refused.reason == "unregistered_device"


async def test_a_school_of_another_country_is_refused_like_an_unknown_one(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    kenyan = await make_school("KEN")
    kenyan_key = await new_key(client, admin, "KEN")
    user_id = await registered(client, kenyan_key, kenyan["giga_id"], "install-4")
    rwandan = await key_of(app, await new_key(client, admin, "RWA"))
    foreign = await refusal(app, rwandan, kenyan["giga_id"], user_id)
    unknown = await refusal(app, rwandan, "no-such-giga-id", user_id)
    assert foreign.reason == unknown.reason == "unknown_school"
    assert "KEN" not in foreign.detail


async def test_a_jwt_writes_for_its_countries_and_a_device_token_for_its_school(
    app: FastAPI, make_school: Any
) -> None:
    school = await make_school()
    other = await make_school()
    writer = Principal(
        subject="u", scopes=frozenset({"measurements:write"}), countries=frozenset({"RWA"})
    )
    grant = await authorize(app, writer, school["giga_id"])
    assert grant.agent_id is None
    assert grant.principal is writer
    outsider = Principal(
        subject="u", scopes=frozenset({"measurements:write"}), countries=frozenset({"MRT"})
    )
    assert (await refusal(app, outsider, school["giga_id"])).reason == "unknown_school"
    own = Principal(
        subject="agent:x",
        scopes=frozenset({"measurements:write"}),
        countries=frozenset({"RWA"}),
        kind="device",
        claims={"school_id": uuid.UUID(school["id"]), "agent_id": uuid.uuid4()},
    )
    assert str((await authorize(app, own, school["giga_id"])).school.id) == school["id"]
    assert (await refusal(app, own, other["giga_id"])).reason == "unknown_school"


async def test_a_jwt_claiming_to_be_a_deployment_key_is_not_one(
    client: httpx.AsyncClient, settings: Any, make_school: Any
) -> None:
    school = await make_school()
    forged = mint_token(
        DEVELOPMENT_JWT_SECRET,
        subject="deployment-key:x",
        scopes=["giga:agent"],
        kind="deployment_key",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    headers = {"Authorization": f"Bearer {forged}"}
    response = await client.get(
        f"/api/v1/dailycheckapp_schools/{school['giga_id']}", headers=headers
    )
    assert response.status_code == 403
