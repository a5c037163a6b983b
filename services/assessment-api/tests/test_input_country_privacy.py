"""A focal point's countries stay private: an object of another country is answered as a
missing one (the same 404, byte for byte but for the id asked for), and compare leaves
another country out instead of calling it unassessed."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory, assert_refused_alike

pytestmark = pytest.mark.usefixtures("seeded")

MISSING = str(uuid.UUID(int=1))
AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/audit", None),
        ("POST", "/transitions", {"to": "data_collection"}),
    ],
)
async def test_an_assessment_of_another_country_is_answered_as_a_missing_one(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    rwanda = await create_assessment("RWA", "2026")
    focal = auth_headers("assessments:read", "assessments:write", countries=["ZWE"])

    async def ask(assessment_id: str) -> httpx.Response:
        url = f"/v1/assessments/{assessment_id}{suffix}"
        return await client.request(method, url, json=body, headers=focal)

    foreign = await ask(rwanda["id"])
    assert_refused_alike(foreign, rwanda["id"], await ask(MISSING), MISSING)
    assert "RWA" not in foreign.text


async def test_a_programme_of_another_country_is_answered_as_an_unknown_country(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    await create_assessment("ZWE", "2022")
    focal = auth_headers("assessments:read", countries=["MRT"])
    foreign = await client.get("/v1/programmes/ZWE", headers=focal)
    unknown = await client.get("/v1/programmes/XYZ", headers=focal)
    assert_refused_alike(foreign, "ZWE", unknown, "XYZ")


async def test_scores_of_another_country_are_answered_as_an_unknown_country(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    focal = auth_headers("assessments:read", countries=["MRT"])
    foreign = await client.get("/v1/countries/ZWE/scores", headers=focal)
    unknown = await client.get("/v1/countries/XYZ/scores", headers=focal)
    assert_refused_alike(foreign, "ZWE", unknown, "XYZ")


async def test_compare_leaves_other_countries_out(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    move: Callable[..., Awaitable[httpx.Response]],
    required_values: dict[str, float],
) -> None:
    for country in ("MRT", "ZWE"):
        created = await create_assessment(country, "2022", values=required_values)
        await move(created["id"], "data_collection", "validation", "completed")
    focal = auth_headers("assessments:read", countries=["MRT", "RWA"])
    response = await client.get(
        "/v1/assessments/compare", params={"countries": "MRT,ZWE,RWA,KEN"}, headers=focal
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["country_iso3"] for r in body["rows"]] == ["MRT"]
    assert body["not_assessed"] == ["RWA"]
