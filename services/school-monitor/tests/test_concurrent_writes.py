"""Concurrent writers that read before they write (idempotent batches read their key,
school updates read the school) wait for each other instead of answering 503 on SQLite:
they claim the write lock before their first read. Real commits, one database file."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

CLIENTS, ROUNDS, ITEMS = 6, 5, 50


def _batch(school_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    items = [
        {
            "uuid": str(uuid.uuid4()),
            "school_id": school_id,
            "measured_at": (now - timedelta(seconds=n)).isoformat(),
            "download_mbps": 25.0,
            "upload_mbps": 10.0,
            "latency_ms": 40.0,
        }
        for n in range(ITEMS)
    ]
    return {"items": items}


async def _client_rounds(
    http: httpx.AsyncClient, admin: dict[str, str], number: int
) -> list[tuple[str, int]]:
    """One client: registers its school, then per round pushes an idempotent batch, sends
    it again (a retry), updates the school and registers another; every status."""
    body = {"giga_id": f"conc-{number}-{uuid.uuid4().hex[:8]}", "name": "GS", "country_iso3": "RWA"}
    created = await http.post("/v1/schools", json=body, headers=admin)
    statuses = [("create", created.status_code)]
    school_id = created.json()["id"]
    for round_ in range(ROUNDS):
        batch, key = _batch(school_id), {"Idempotency-Key": f"conc-{uuid.uuid4()}"}
        for attempt in ("batch", "batch retry"):
            pushed = await http.post("/v1/measurements/batch", json=batch, headers=admin | key)
            statuses.append((attempt, pushed.status_code))
        patch = {"num_students": 100 + round_, "tags": [f"round-{round_}"]}
        patched = await http.patch(f"/v1/schools/{school_id}", json=patch, headers=admin)
        statuses.append(("patch", patched.status_code))
        another = body | {"giga_id": f"{body['giga_id']}-{round_}"}
        statuses.append(
            ("create", (await http.post("/v1/schools", json=another, headers=admin)).status_code)
        )
    return statuses


async def test_six_clients_pushing_idempotent_batches_and_updating_schools_all_succeed(
    committing_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    results = await asyncio.gather(
        *(_client_rounds(committing_client, admin, n) for n in range(CLIENTS))
    )
    statuses = [status for result in results for status in result]
    failed = [(what, status) for what, status in statuses if not 200 <= status < 300]
    assert failed == []
    assert len(statuses) == CLIENTS * (1 + 4 * ROUNDS)
    school = (
        await committing_client.get(
            "/v1/schools", params={"country": "RWA", "tag": f"round-{ROUNDS - 1}"}, headers=admin
        )
    ).json()
    assert len(school["items"]) == CLIENTS
    assert {s["num_students"] for s in school["items"]} == {100 + ROUNDS - 1}
