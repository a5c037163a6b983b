import httpx
import pytest

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from c2r_common.testing import TokenFactory

pytestmark = pytest.mark.usefixtures("seeded")


async def test_default_methodology_v1_is_seeded_with_sourced_targets(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get("/v1/methodologies/1", headers=auth_headers("assessments:read"))
    assert response.status_code == 200
    body = response.json()
    pillars = {p["code"] for p in body["definition"]["pillars"]}
    assert pillars == {
        "coverage",
        "adoption",
        "affordability",
        "digital_skills",
        "anchor_institutions",
        "network_resilience",
        "policy",
    }
    indicators = {i["code"]: i for p in body["definition"]["pillars"] for i in p["indicators"]}
    internet = {t["applies_to"]: t["value"] for t in indicators["internet_users_pct"]["targets"]}
    assert internet == {"all": 75, "developing": 65, "ldc": 35}
    price = indicators["mobile_broadband_price_gni_pct"]
    assert price["direction"] == "lower_is_better"
    assert price["targets"][0]["value"] == 2
    assert indicators["basic_digital_skills_pct"]["targets"][0]["value"] == 60
    assert all(t["source"] for i in indicators.values() for t in i["targets"])


async def test_publishing_creates_the_next_version_and_latest_follows(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    definition = DEFAULT_METHODOLOGY.model_copy(update={"name": "v2 draft"})
    published = await client.post(
        "/v1/methodologies",
        json=definition.model_dump(mode="json"),
        headers=auth_headers("assessments:approve"),
    )
    assert published.status_code == 201
    assert published.json()["version"] == 2
    headers = auth_headers("assessments:read")
    latest = await client.get("/v1/methodologies/latest", headers=headers)
    assert latest.json()["version"] == 2
    listed = await client.get("/v1/methodologies", headers=headers)
    assert [m["version"] for m in listed.json()["items"]] == [1, 2]


async def test_invalid_definition_names_the_field_and_stores_nothing(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    body = DEFAULT_METHODOLOGY.model_dump(mode="json")
    body["pillars"][0]["indicators"][0]["goalpost_min"] = 500
    response = await client.post(
        "/v1/methodologies", json=body, headers=auth_headers("assessments:approve")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.pillars.0.indicators.0")
    listed = await client.get("/v1/methodologies", headers=auth_headers("assessments:read"))
    assert len(listed.json()["items"]) == 1


async def test_publishing_needs_the_approve_scope(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.post(
        "/v1/methodologies",
        json=DEFAULT_METHODOLOGY.model_dump(mode="json"),
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 403


async def test_assessments_stay_pinned_to_their_methodology_version(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    writer = auth_headers("assessments:write")
    old = await client.post(
        "/v1/assessments", json={"country_iso3": "RWA", "period": "2025"}, headers=writer
    )
    extra = (
        DEFAULT_METHODOLOGY.pillars[0]
        .indicators[0]
        .model_copy(
            update={"code": "fibre_backbone_km", "name": "Fibre backbone", "required": False}
        )
    )
    pillars = list(DEFAULT_METHODOLOGY.pillars)
    pillars[0] = pillars[0].model_copy(update={"indicators": [*pillars[0].indicators, extra]})
    v2 = DEFAULT_METHODOLOGY.model_copy(update={"name": "v2", "pillars": pillars})
    await client.post(
        "/v1/methodologies",
        json=v2.model_dump(mode="json"),
        headers=auth_headers("assessments:approve"),
    )
    new = await client.post(
        "/v1/assessments", json={"country_iso3": "RWA", "period": "2026"}, headers=writer
    )
    pinned = await client.post(
        "/v1/assessments",
        json={"country_iso3": "RWA", "period": "2027", "methodology_version": 1},
        headers=writer,
    )
    assert old.json()["methodology_version"] == 1
    assert new.json()["methodology_version"] == 2
    assert pinned.json()["methodology_version"] == 1
    reader = auth_headers("assessments:read")
    old_codes = {
        i["code"]
        for i in (
            await client.get(f"/v1/assessments/{old.json()['id']}/indicators", headers=reader)
        ).json()
    }
    new_codes = {
        i["code"]
        for i in (
            await client.get(f"/v1/assessments/{new.json()['id']}/indicators", headers=reader)
        ).json()
    }
    assert new_codes - old_codes == {"fibre_backbone_km"}


async def test_country_limited_tokens_cannot_change_shared_data(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    focal_point = auth_headers(
        "assessments:read", "assessments:write", "assessments:approve", countries=["MRT"]
    )
    publish = await client.post(
        "/v1/methodologies", json=DEFAULT_METHODOLOGY.model_dump(mode="json"), headers=focal_point
    )
    beneficiary = await client.put(
        "/v1/countries/MRT/beneficiary", json={"source": "self-declared"}, headers=focal_point
    )
    partner = await client.post(
        "/v1/partners", json={"name": "Someone", "kind": "government"}, headers=focal_point
    )
    assert publish.status_code == beneficiary.status_code == partner.status_code == 403
    assert "limited to countries" in publish.json()["detail"]
