"""Deployment keys: created by an admin for countries, shown once, stored hashed, revocable,
optionally expiring; a key opens no native route, only the Giga Meter ones."""

import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from school_monitor.agents.models import DeploymentKey

KEYS = "/v1/agents/deployment-keys"
# A Giga Meter route that any deployment key may call.
GIGA_COUNTRY_CHECK = "/api/v1/dailycheckapp_countries/RW"


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        KEYS, json={"name": "Giga Meter build", "countries": ["RWA"]} | body, headers=headers
    )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_key_is_shown_once_and_stored_hashed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await create_key(client, admin, expires_at="2030-01-01T00:00:00Z")
    assert response.status_code == 201, response.text
    created = response.json()
    key = created["key"]
    assert key.startswith("c2rkey_")
    assert len(key) > 40
    assert created["countries"] == ["RWA"]
    assert created["expires_at"].startswith("2030-01-01T00:00:00")
    shown = await client.get(f"{KEYS}/{created['id']}", headers=admin)
    assert shown.status_code == 200
    assert "key" not in shown.json()
    listed = await client.get(KEYS, headers=admin)
    assert created["id"] in [item["id"] for item in listed.json()["items"]]
    assert all("key" not in item for item in listed.json()["items"])
    async with app.state.database.sessionmaker() as session:
        record = await session.scalar(
            select(DeploymentKey).where(DeploymentKey.id == uuid.UUID(created["id"]))
        )
    assert record is not None
    assert_kept_only_as_hash_and_hint(app, record, key)
    assert listed_text_holds_at_most_the_hint(listed.text, key)


def assert_kept_only_as_hash_and_hint(app: FastAPI, record: DeploymentKey, key: str) -> None:
    """The row holds the key's HMAC under the server's pepper, its last four characters,
    and nothing else of it (no part of it longer than the hint, in any column)."""
    pepper = app.state.settings.key_pepper
    assert record.key_hash == hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
    assert record.key_hash != hashlib.sha256(key.encode()).hexdigest()
    assert record.key_hint == key[-4:]
    for column in DeploymentKey.__table__.columns:
        stored = str(getattr(record, column.key))
        assert listed_text_holds_at_most_the_hint(stored, key), (column.key, stored)


def listed_text_holds_at_most_the_hint(text: str, key: str) -> bool:
    return not any(key[i : i + 5] in text for i in range(len(key) - 4))


async def test_an_imported_key_is_stored_hashed_under_the_pepper(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = "Upstream_" + uuid.uuid4().hex[:31]  # 40 characters, not all random
    created = await create_key(client, admin, key=key)
    assert created.status_code == 201, created.text
    assert created.json()["key_hint"] == key[-4:]
    listed = await client.get(KEYS, headers=admin)
    assert listed_text_holds_at_most_the_hint(listed.text, key)
    async with app.state.database.sessionmaker() as session:
        record = await session.get(DeploymentKey, uuid.UUID(created.json()["id"]))
    assert record is not None
    assert_kept_only_as_hash_and_hint(app, record, key)
    assert (await client.get(GIGA_COUNTRY_CHECK, headers=bearer(key))).status_code == 200


async def test_predictable_imported_keys_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for predictable in ("a" * 40, "password" * 4, "abcd" * 10):
        response = await create_key(client, admin, key=predictable)
        assert response.status_code == 422, predictable
        problem = response.json()["errors"][0]
        assert problem["field"] == "body.key"
        assert problem["message"].endswith("a key is too predictable: use a random one")


async def test_a_key_works_on_the_giga_routes_and_opens_no_native_route(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key = (await create_key(client, admin)).json()["key"]
    assert (await client.get(GIGA_COUNTRY_CHECK, headers=bearer(key))).status_code == 200
    checked = 0
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/api/v1"):
            continue
        # Any value fits a path parameter: the credential is checked before it.
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        for method in operations:
            if (await client.request(method, path)).status_code != 401:
                continue  # open (health, docs): nothing to refuse
            response = await client.request(method, path, headers=bearer(key))
            assert response.status_code == 403, (method, template, response.text)
            checked += 1
    assert checked >= 20


async def test_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await create_key(client, admin)).json()
    assert (await client.get(GIGA_COUNTRY_CHECK, headers=bearer(created["key"]))).status_code == 200
    revoked = await client.post(f"{KEYS}/{created['id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = await client.get(GIGA_COUNTRY_CHECK, headers=bearer(created["key"]))
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_an_expired_key_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await create_key(client, admin)).json()
    async with app.state.database.sessionmaker() as session:
        record = await session.get(DeploymentKey, uuid.UUID(created["id"]))
        assert record is not None
        record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.commit()
    response = await client.get(GIGA_COUNTRY_CHECK, headers=bearer(created["key"]))
    assert response.status_code == 401


async def test_an_unknown_key_is_a_401(client: httpx.AsyncClient) -> None:
    response = await client.get(GIGA_COUNTRY_CHECK, headers=bearer("k" * 48))
    assert response.status_code == 401


async def test_an_expiry_in_the_past_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await create_key(client, admin, expires_at="2020-01-01T00:00:00Z")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.expires_at"


async def test_an_existing_builds_key_can_be_registered_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    existing = "upstream-build-key-" + uuid.uuid4().hex
    created = await create_key(client, admin, key=existing)
    assert created.status_code == 201, created.text
    assert created.json()["key"] == existing
    assert (await client.get(GIGA_COUNTRY_CHECK, headers=bearer(existing))).status_code == 200
    again = await create_key(client, admin, key=existing)
    assert again.status_code == 409


async def test_keys_that_could_be_guessed_or_taken_for_tokens_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for bad in ("short", "a.b.c" + "x" * 40, "c2rdev_" + "x" * 40, "with space " + "x" * 30):
        response = await create_key(client, admin, key=bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "body.key"


async def test_only_admins_manage_keys(client: httpx.AsyncClient, auth_headers: Any) -> None:
    response = await create_key(client, auth_headers("agents:write"))
    assert response.status_code == 403
    assert (await client.get(KEYS, headers=auth_headers("agents:write"))).status_code == 403


async def test_an_admin_limited_to_countries_stays_within_them(
    client: httpx.AsyncClient, admin: dict[str, str], auth_headers: Any
) -> None:
    rwanda_admin = auth_headers("admin", countries=["RWA"])
    assert (await create_key(client, rwanda_admin, countries=["KEN"])).status_code == 403
    assert (await create_key(client, rwanda_admin, countries=["RWA", "KEN"])).status_code == 403
    kenyan = (await create_key(client, admin, countries=["KEN"])).json()
    rwandan = (await create_key(client, rwanda_admin)).json()
    listed = [item["id"] for item in (await client.get(KEYS, headers=rwanda_admin)).json()["items"]]
    assert rwandan["id"] in listed
    assert kenyan["id"] not in listed
    hidden = await client.get(f"{KEYS}/{kenyan['id']}", headers=rwanda_admin)
    unknown = await client.get(f"{KEYS}/{uuid.uuid4()}", headers=rwanda_admin)
    assert hidden.status_code == unknown.status_code == 404
    revoke = await client.post(f"{KEYS}/{kenyan['id']}/revoke", headers=rwanda_admin)
    assert revoke.status_code == 404


async def test_countries_must_be_known(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for countries in ([], ["XXX"], ["RW"]):
        response = await create_key(client, admin, countries=countries)
        assert response.status_code == 422, countries
        assert response.json()["errors"][0]["field"].startswith("body.countries")
