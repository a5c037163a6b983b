"""A focal point's countries stay private: a school or agent of another country is
answered as a missing one (the same 404 byte for byte but for the id asked for), and a
country of another's as an unknown country code."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory, assert_refused_alike

MISSING = str(uuid.UUID(int=1))
SchoolFactory = Callable[..., Awaitable[dict[str, Any]]]

SCHOOL_CALLS = [
    ("GET", "/v1/schools/{id}", None),
    ("PATCH", "/v1/schools/{id}", {"name": "Renamed"}),
    ("GET", "/v1/schools/{id}/status", None),
    ("GET", "/v1/schools/{id}/measurements", None),
    ("GET", "/v1/schools/{id}/daily", None),
    ("POST", "/v1/agents", {"school_id": "{id}", "hardware_id": "9C-B6-D0-12-34-56"}),
]


def _filled(body: dict[str, Any] | None, school_id: str) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: v.replace("{id}", school_id) for k, v in body.items()}


@pytest.mark.parametrize(("method", "path", "body"), SCHOOL_CALLS)
async def test_a_school_of_another_country_is_answered_as_a_missing_one(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    make_school: SchoolFactory,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    kenyan = await make_school("KEN")
    rwanda = auth_headers("schools:read", "schools:write", "agents:write", countries=["RWA"])

    async def ask(school_id: str) -> httpx.Response:
        url = path.replace("{id}", school_id)
        return await client.request(method, url, json=_filled(body, school_id), headers=rwanda)

    foreign = await ask(kenyan["id"])
    assert_refused_alike(foreign, kenyan["id"], await ask(MISSING), MISSING)
    assert "KEN" not in foreign.text


async def test_agents_listed_for_a_school_of_another_country_answer_as_a_missing_school(
    client: httpx.AsyncClient, auth_headers: TokenFactory, make_school: SchoolFactory
) -> None:
    kenyan = await make_school("KEN")
    rwanda = auth_headers("agents:write", countries=["RWA"])

    async def ask(school_id: str) -> httpx.Response:
        return await client.get("/v1/agents", params={"school_id": school_id}, headers=rwanda)

    assert_refused_alike(await ask(kenyan["id"]), kenyan["id"], await ask(MISSING), MISSING)


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/revoke")])
async def test_an_agent_of_another_country_is_answered_as_a_missing_one(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    admin: dict[str, str],
    make_school: SchoolFactory,
    method: str,
    suffix: str,
) -> None:
    kenyan = await make_school("KEN")
    body = {"school_id": kenyan["id"], "hardware_id": "9C-B6-D0-12-34-56"}
    agent = (await client.post("/v1/agents", json=body, headers=admin)).json()
    rwanda = auth_headers("agents:write", countries=["RWA"])

    async def ask(agent_id: str) -> httpx.Response:
        return await client.request(method, f"/v1/agents/{agent_id}{suffix}", headers=rwanda)

    foreign = await ask(agent["id"])
    assert_refused_alike(foreign, agent["id"], await ask(MISSING), MISSING)
    still = await client.get(f"/v1/agents/{agent['id']}", headers=admin)
    assert still.json()["revoked_at"] is None


@pytest.mark.parametrize("suffix", ["", "/daily"])
async def test_connectivity_of_another_country_is_answered_as_an_unknown_country(
    client: httpx.AsyncClient, auth_headers: TokenFactory, suffix: str
) -> None:
    rwanda = auth_headers("schools:read", countries=["RWA"])

    async def ask(iso3: str) -> httpx.Response:
        return await client.get(f"/v1/connectivity/countries/{iso3}{suffix}", headers=rwanda)

    assert_refused_alike(await ask("KEN"), "KEN", await ask("XYZ"), "XYZ")


async def test_an_import_row_taking_the_giga_id_of_another_countrys_school_hides_its_country(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    admin: dict[str, str],
    make_school: SchoolFactory,
) -> None:
    kenyan = await make_school("KEN")
    rwanda = auth_headers("schools:read", "schools:write", countries=["RWA"])
    body = f"school_id_giga,school_name,country_iso3\n{kenyan['giga_id']},Ecole,RWA\n"
    response = await client.post(
        "/v1/schools/import", content=body, headers=rwanda | {"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    [rejected] = response.json()["rejected"]
    assert "outside this token's countries" in rejected["reason"]
    assert "KEN" not in rejected["reason"]
    kept = await client.get(f"/v1/schools/{kenyan['id']}", headers=admin)
    assert (kept.json()["country_iso3"], kept.json()["name"]) == ("KEN", kenyan["name"])
