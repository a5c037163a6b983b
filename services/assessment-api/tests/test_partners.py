from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory

pytestmark = pytest.mark.usefixtures("seeded")


async def _partners(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get("/v1/partners", params=params, headers=headers)
    assert response.status_code == 200
    return {p["name"]: p for p in response.json()["items"]}


async def test_founding_and_other_partners_are_seeded(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    everyone = await _partners(client, headers)
    assert {"Saudi Arabia", "Australia", "Lithuania", "Czech Republic"} <= set(everyone)
    founding = await _partners(client, headers, founding="true")
    assert sorted(founding) == [
        "King Salman Humanitarian Aid and Relief Centre (KSrelief)",
        "Ministry of Internal Affairs and Communications (MIC), Japan",
    ]


async def test_steering_committee_membership_is_edited(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    australia = (await _partners(client, headers))["Australia"]
    updated = await client.patch(
        f"/v1/partners/{australia['id']}",
        json={"steering_committee": True},
        headers=auth_headers("assessments:write"),
    )
    assert updated.status_code == 200
    committee = await _partners(client, headers, steering_committee="true")
    assert "Australia" in committee


async def test_contributions_and_totals_by_partner_and_region(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    writer = auth_headers("assessments:write")
    partners = await _partners(client, headers)
    mic, lithuania = (
        partners["Ministry of Internal Affairs and Communications (MIC), Japan"],
        partners["Lithuania"],
    )
    for partner, amount, currency, region, countries in [
        (mic, "1000000.00", "USD", "Africa", ["RWA", "ZWE"]),
        (mic, "250000.50", "USD", "Africa", ["MRT"]),
        (mic, "100000", "JPY", None, []),
        (lithuania, "50000", "EUR", "Europe", ["MDA"]),
    ]:
        created = await client.post(
            "/v1/contributions",
            json={
                "partner_id": partner["id"],
                "amount": amount,
                "currency": currency,
                "contributed_on": "2023-03-01",
                "focus_region": region,
                "countries": countries,
                "phases": ["assessment", "pilot"],
            },
            headers=writer,
        )
        assert created.status_code == 201, created.text
    by_partner = await client.get(
        "/v1/contributions/totals", params={"by": "partner"}, headers=headers
    )
    rows = {(r["label"][:8], r["currency"]): r for r in by_partner.json()["totals"]}
    assert rows[("Ministry", "USD")]["total"] == "1250000.50"
    assert rows[("Ministry", "USD")]["contributions"] == 2
    assert rows[("Ministry", "JPY")]["total"] == "100000.00"
    by_region = await client.get(
        "/v1/contributions/totals", params={"by": "region"}, headers=headers
    )
    regions = {(r["key"], r["currency"]): r["total"] for r in by_region.json()["totals"]}
    assert regions == {
        ("Africa", "USD"): "1250000.50",
        ("Europe", "EUR"): "50000.00",
        ("unspecified", "JPY"): "100000.00",
    }
    rwanda = await client.get("/v1/contributions", params={"country_iso3": "RWA"}, headers=headers)
    assert [c["amount"] for c in rwanda.json()["items"]] == ["1000000.00"]


async def test_contribution_validation_names_the_field(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    partners = await _partners(client, auth_headers("assessments:read"))
    response = await client.post(
        "/v1/contributions",
        json={
            "partner_id": partners["Australia"]["id"],
            "amount": "-5",
            "currency": "usd",
            "contributed_on": "2023-03-01",
            "countries": ["XXX"],
        },
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.amount", "body.currency", "body.countries"}
    unknown = await client.post(
        "/v1/contributions",
        json={
            "partner_id": "00000000-0000-0000-0000-000000000000",
            "amount": "5",
            "currency": "USD",
            "contributed_on": "2023-03-01",
        },
        headers=auth_headers("assessments:write"),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.partner_id"
