from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]


def _value(value: float, **extra: Any) -> dict[str, Any]:
    return {"value": value, "year": 2024, "source": "ITU"} | extra


async def test_enters_a_value_and_keeps_every_change_in_history(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    path = f"/v1/assessments/{created['id']}/indicators/internet_users_pct"
    headers = auth_headers("assessments:write")
    first = await client.put(path, json=_value(30.5), headers=headers)
    assert first.status_code == 200
    assert first.json()["value"] == 30.5
    await client.put(path, json=_value(34, note="revised estimate"), headers=headers)
    removed = await client.delete(path, headers=headers)
    assert removed.status_code == 204
    history = await client.get(f"{path}/history", headers=auth_headers("assessments:read"))
    assert [c["value"] for c in history.json()["items"]] == [30.5, 34, None]
    assert history.json()["items"][1]["note"] == "revised estimate"
    listed = await client.get(
        f"/v1/assessments/{created['id']}/indicators", headers=auth_headers("assessments:read")
    )
    internet = next(i for i in listed.json() if i["code"] == "internet_users_pct")
    assert internet["value"] is None
    assert internet["pillar"] == "adoption"


async def test_unit_aware_validation_refuses_impossible_values(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    base = f"/v1/assessments/{created['id']}/indicators"
    headers = auth_headers("assessments:write")
    for code, value in [
        ("internet_users_pct", 101),
        ("mobile_broadband_price_gni_pct", -1),
        ("netp_adopted", 0.5),
    ]:
        response = await client.put(f"{base}/{code}", json=_value(value), headers=headers)
        assert response.status_code == 422, code
        assert response.json()["errors"][0]["field"] == "body.value"
    unknown = await client.put(f"{base}/no_such_indicator", json=_value(1), headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "path.code"


async def test_bulk_entry_is_all_or_nothing_and_names_each_bad_entry(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    base = f"/v1/assessments/{created['id']}/indicators"
    headers = auth_headers("assessments:write")
    entries = [
        {"code": "internet_users_pct"} | _value(40),
        {"code": "pop_coverage_4g_pct"} | _value(140),
        {"code": "ixp_count"} | _value(-2),
    ]
    refused = await client.post(base, json={"values": entries}, headers=headers)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == [
        "body.values.1.value",
        "body.values.2.value",
    ]
    listed = await client.get(base, headers=auth_headers("assessments:read"))
    assert all(i["value"] is None for i in listed.json())
    entries[1]["value"], entries[2]["value"] = 85, 1
    accepted = await client.post(base, json={"values": entries}, headers=headers)
    assert accepted.status_code == 200
    values = {i["code"]: i["value"] for i in accepted.json()}
    assert values["internet_users_pct"] == 40
    assert values["ixp_count"] == 1


async def test_values_are_frozen_once_completed(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    move: Mover,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment(values=required_values)
    await move(created["id"], "data_collection", "validation", "completed")
    response = await client.put(
        f"/v1/assessments/{created['id']}/indicators/internet_users_pct",
        json=_value(50),
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 409
    assert response.json()["current_status"] == "completed"


async def test_a_value_change_makes_an_earlier_etag_stale(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    headers = auth_headers("assessments:write")
    etag = f'"{created["revision"]}"'
    path = f"/v1/assessments/{created['id']}/indicators/internet_users_pct"
    first = await client.put(path, json=_value(30), headers=headers | {"If-Match": etag})
    assert first.status_code == 200
    stale = await client.put(path, json=_value(31), headers=headers | {"If-Match": etag})
    assert stale.status_code == 412
