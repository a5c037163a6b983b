"""SLA due dates per stage, the overdue list and counts, reminders of upcoming deadlines."""

from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from c2r_common.testing import TokenFactory


def gauge(stage: str) -> float | None:
    return REGISTRY.get_sample_value("c2r_intake_overdue_requests", {"stage": stage})


async def test_each_stage_gets_a_due_date_in_business_days(
    api: Any, clock: Any, rwanda: dict[str, str]
) -> None:
    call = await api.create_call()
    # Wednesday 10 June 2026, 10:00 in Geneva: acknowledge within 5 business days.
    request = await api.submit(rwanda, call["id"])
    assert request["stage_due_at"] == "2026-06-17T22:00:00Z"  # end of Wednesday 17 June
    review = await api.walk(request["id"], "screening", "under_review")
    # 30 business days from 10 June: Wednesday 22 July, end of day in Geneva.
    assert review["stage_due_at"] == "2026-07-22T22:00:00Z"


async def test_configured_holidays_push_the_due_date(
    app: FastAPI, api: Any, clock: Any, rwanda: dict[str, str]
) -> None:
    from request_intake.business_days import BusinessCalendar

    original = app.state.sla_policy
    holidays = frozenset({datetime(2026, 6, 11).date(), datetime(2026, 6, 12).date()})
    app.state.sla_policy = type(original)(
        original.targets, BusinessCalendar(holidays=holidays), original.zone
    )
    try:
        call = await api.create_call()
        request = await api.submit(rwanda, call["id"])
    finally:
        app.state.sla_policy = original
    assert request["stage_due_at"] == "2026-06-19T22:00:00Z"


async def test_overdue_requests_are_listed_counted_and_measured_by_stage(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    waiting = await api.submit(rwanda, call["id"], title="waiting")
    screened = await api.submit(rwanda, call["id"], title="screened")
    await api.walk(screened["id"], "screening")
    clock.now = datetime.fromisoformat("2026-06-17T21:59:59Z")  # a second before due
    before = await client.get("/v1/requests/overdue", headers=api.staff)
    assert before.json()["items"] == []
    clock.advance(seconds=2)
    after = await client.get("/v1/requests/overdue", headers=api.staff)
    assert [r["id"] for r in after.json()["items"]] == [waiting["id"]]
    clock.advance(days=14)
    everything = await client.get("/v1/requests/overdue", headers=api.staff)
    assert [r["title"] for r in everything.json()["items"]] == ["waiting", "screened"]
    only = await client.get(
        "/v1/requests/overdue", params={"stage": "screening"}, headers=api.staff
    )
    assert [r["title"] for r in only.json()["items"]] == ["screened"]
    summary = await client.get("/v1/requests/overdue/summary", headers=api.staff)
    assert summary.json()["total"] == 2
    assert summary.json()["by_stage"]["submitted"] == 1
    assert summary.json()["by_stage"]["screening"] == 1
    assert gauge("submitted") == 1
    assert gauge("screening") == 1
    assert gauge("under_review") == 0


async def test_leaving_a_stage_clears_its_overdue_state(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    clock.advance(days=30)
    assert len((await client.get("/v1/requests/overdue", headers=api.staff)).json()["items"]) == 1
    await api.walk(request["id"], "screening")
    assert (await client.get("/v1/requests/overdue", headers=api.staff)).json()["items"] == []


async def test_a_focal_point_sees_only_its_countrys_overdue_requests(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    client: httpx.AsyncClient,
) -> None:
    call = await api.create_call()
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"])
    await api.submit(kenya, call["id"], country_iso3="KEN")
    mine = await api.submit(rwanda, call["id"])
    clock.advance(days=30)
    response = await client.get("/v1/requests/overdue", headers=rwanda)
    assert [r["id"] for r in response.json()["items"]] == [mine["id"]]


async def test_reminders_list_calls_closing_and_slas_due_soonest_first(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    soon = await api.create_call(title="closing soon", closes_at="2026-06-12T17:00:00")
    await api.create_call(title="closing later", closes_at="2026-08-01T17:00:00")
    request = await api.submit(rwanda, soon["id"])
    response = await client.get(
        "/v1/requests/reminders", params={"within_days": 10}, headers=api.staff
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["kind"], i["title"]) for i in items] == [
        ("call_closing", "closing soon"),
        ("sla_due", request["title"]),
    ]
    assert items[1]["stage"] == "submitted"
    wider = await client.get(
        "/v1/requests/reminders", params={"within_days": 60}, headers=api.staff
    )
    assert [i["title"] for i in wider.json()["items"]][-1] == "closing later"
    default = await client.get("/v1/requests/reminders", headers=api.staff)  # 7 days
    assert [i["kind"] for i in default.json()["items"]] == ["call_closing"]


async def test_a_focal_point_is_reminded_only_of_calls_its_country_may_answer(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    await api.create_call(title="for Africa", closes_at="2026-06-12T17:00:00")
    await api.create_call(
        title="for Europe", eligible_regions=["Europe"], closes_at="2026-06-12T18:00:00"
    )
    response = await client.get("/v1/requests/reminders", headers=rwanda)
    assert [i["title"] for i in response.json()["items"]] == ["for Africa"]
    staff_view = await client.get("/v1/requests/reminders", headers=api.staff)
    assert [i["title"] for i in staff_view.json()["items"]] == ["for Africa", "for Europe"]
