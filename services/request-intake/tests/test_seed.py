"""The example data of the embedded default."""

from typing import Any

import httpx
from fastapi import FastAPI

from request_intake.seed import CLOSED_CALL_ID, OPEN_CALL_ID, seed


async def test_seed_loads_the_may_2023_call_an_open_call_and_requests_once(
    app: FastAPI, client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    await seed(app.state.database)
    await seed(app.state.database)  # a second run adds nothing
    closed = (await client.get(f"/v1/calls/{CLOSED_CALL_ID}", headers=staff)).json()
    assert closed["closes_at"] == "2023-05-19T23:59:59+02:00"
    assert closed["state"] == "closed"
    assert closed["eligible_regions"] == ["Africa"]
    open_call = (await client.get(f"/v1/calls/{OPEN_CALL_ID}", headers=staff)).json()
    assert open_call["state"] == "open"
    requests = (await client.get("/v1/requests", params={"limit": 100}, headers=staff)).json()
    statuses = sorted(r["status"] for r in requests["items"])
    assert statuses == sorted(
        ["under_review", "approved", "info_requested", "submitted", "rejected", "withdrawn",
         "submitted"]
    )  # fmt: skip
    sessions = (await client.get("/v1/sessions", headers=staff)).json()["items"]
    assert [(s["participant_count"], s["member_state_count"]) for s in sessions] == [(68, 15)]
    outbox = (await client.get("/v1/requests/outbox", headers=staff)).json()["items"]
    assert [e["payload"]["country_iso3"] for e in outbox] == ["ZWE"]
    overdue = (await client.get("/v1/requests/overdue", headers=staff)).json()["items"]
    assert overdue  # 2023 stages long past their SLA


async def test_a_late_request_to_the_seeded_call_names_its_deadline(
    app: FastAPI, client: httpx.AsyncClient, api: Any, rwanda: dict[str, str]
) -> None:
    await seed(app.state.database)
    body = api.body(str(CLOSED_CALL_ID))
    response = await client.post("/v1/requests", json=body, headers=rwanda)
    assert response.status_code == 409
    assert "2023-05-19T23:59:59+02:00 (Europe/Geneva)" in response.json()["detail"]
