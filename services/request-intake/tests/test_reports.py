"""Reports: counts by call, status, region and assistance type; CSV export."""

import csv
import io
from typing import Any

import httpx

from c2r_common.testing import TokenFactory


async def seed_requests(api: Any, auth_headers: TokenFactory) -> tuple[dict[str, Any], ...]:
    africa = await api.create_call(title="Africa call")
    anyone = await api.create_call(
        title="Open call", eligible_regions=[], assistance_types=["assessment", "workshop"]
    )
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"])
    fiji = auth_headers("requests:submit", "requests:read", countries=["FJI"])
    first = await api.submit(rwanda, africa["id"])
    await api.submit(kenya, africa["id"], country_iso3="KEN", assistance_type="training")
    await api.submit(fiji, anyone["id"], country_iso3="FJI", assistance_type="workshop")
    await api.walk(first["id"], "screening")
    return africa, anyone


async def test_counts_by_call_status_region_and_type(
    api: Any, clock: Any, auth_headers: TokenFactory, client: httpx.AsyncClient
) -> None:
    _, anyone = await seed_requests(api, auth_headers)
    report = (await client.get("/v1/requests/reports", headers=api.staff)).json()
    assert report["total"] == 3
    as_pairs = {
        dimension: {(row["label"], row["count"]) for row in report[dimension]}
        for dimension in ("by_call", "by_status", "by_region", "by_assistance_type")
    }
    assert as_pairs["by_call"] == {("Africa call", 2), ("Open call", 1)}
    assert as_pairs["by_status"] == {("submitted", 2), ("screening", 1)}
    assert as_pairs["by_region"] == {("Africa", 2), ("Asia & Pacific", 1)}
    assert as_pairs["by_assistance_type"] == {("assessment", 1), ("training", 1), ("workshop", 1)}
    one_call = await client.get(
        "/v1/requests/reports", params={"call_id": anyone["id"]}, headers=api.staff
    )
    assert one_call.json()["total"] == 1


async def test_a_focal_point_report_counts_only_its_countries(
    api: Any, clock: Any, auth_headers: TokenFactory, client: httpx.AsyncClient
) -> None:
    await seed_requests(api, auth_headers)
    rwanda = auth_headers("requests:read", countries=["RWA"])
    report = (await client.get("/v1/requests/reports", headers=rwanda)).json()
    assert report["total"] == 1
    assert report["by_country"] == [{"key": "RWA", "label": "Rwanda", "count": 1}]


async def test_csv_export_has_one_row_per_dimension_and_key(
    api: Any, clock: Any, auth_headers: TokenFactory, client: httpx.AsyncClient
) -> None:
    await seed_requests(api, auth_headers)
    response = await client.get("/v1/requests/reports/csv", headers=api.staff)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"dimension": "region", "key": "Africa", "label": "Africa", "count": "2"} in rows
    assert {r["dimension"] for r in rows} == {
        "call", "status", "region", "assistance_type", "country"
    }  # fmt: skip
    statuses = {r["key"]: int(r["count"]) for r in rows if r["dimension"] == "status"}
    assert statuses == {"submitted": 2, "screening": 1}
