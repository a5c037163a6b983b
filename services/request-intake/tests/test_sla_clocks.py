"""SLA clocks of requests: first response, resolution and stages; paused while information
is requested, warnings, the report of SLAs met and missed, and a calendar per organisation."""

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from request_intake.reports.sla import tally
from request_intake.sla.clocks import ClockState, Target, pause, paused_time, state_of, stop
from request_intake.sla.models import SlaClock
from request_intake.sla_policy import SlaPolicy

START = datetime.fromisoformat("2026-06-10T08:00:00+00:00")  # the clock fixture's start


def clocks_by_target(sla: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["stage"] or c["target"]: c for c in sla["clocks"]}


async def request_sla(client: httpx.AsyncClient, request_id: str, headers: Any) -> dict[str, Any]:
    response = await client.get(f"/v1/requests/{request_id}/sla", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


CALL = {
    "title": "C2R technical assistance",
    "assistance_types": ["assessment"],
    "opens_at": "2026-06-01T09:00:00",
    "closes_at": "2026-06-30T23:59:59",
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_the_resolution_clock_pauses_while_information_is_requested(
    app: FastAPI, api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    policy: SlaPolicy = app.state.sla_policy
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])  # Wednesday 10 June 2026, 10:00 Geneva
    before = clocks_by_target(await request_sla(client, request["id"], rwanda))
    assert before["resolution"]["due_at"] == policy.due_after(START, 60).isoformat().replace(
        "+00:00", "Z"
    )
    await api.walk(request["id"], "screening")
    clock.advance(days=1)  # Thursday 11 June, 10:00
    await api.walk(request["id"], "info_requested")
    paused = clocks_by_target(await request_sla(client, request["id"], rwanda))
    assert paused["resolution"]["state"] == "paused"
    assert paused["first_response"]["state"] == "met"
    assert paused["screening"]["state"] == "met"
    clock.advance(days=4)  # Monday 15 June, 10:00: Thursday 14 h, Friday 24 h, Monday 10 h
    moved = await api.move(rwanda, request["id"], "resubmitted")
    assert moved.status_code == 200, moved.text
    after = clocks_by_target(await request_sla(client, request["id"], rwanda))
    resolution = after["resolution"]
    assert resolution["state"] == "running"
    assert resolution["paused_business_seconds"] == 48 * 3600
    # Moved by two business days: due at the end of the 62nd business day after submission.
    assert at(resolution["due_at"]) == policy.due_after(START, 62)
    assert at(resolution["due_at_local"]) == at(resolution["due_at"])
    assert resolution["due_at_local"].endswith("+02:00")  # Geneva summer time
    assert after["resubmitted"]["state"] == "running"
    decided = await api.walk(request["id"], "under_review", "approved")
    assert decided["status"] == "approved"
    final = clocks_by_target(await request_sla(client, request["id"], rwanda))
    assert final["resolution"]["state"] == "met"
    assert final["resolution"]["stopped_at"] == final["under_review"]["stopped_at"]


async def test_a_pause_over_a_weekend_moves_nothing(
    app: FastAPI, api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    clock.now = at("2026-06-12T20:00:00+02:00")  # Friday evening
    request = await api.submit(rwanda, call["id"])
    await api.walk(request["id"], "screening")
    clock.now = at("2026-06-12T23:00:00+02:00")
    await api.walk(request["id"], "info_requested")
    due = clocks_by_target(await request_sla(client, request["id"], rwanda))["resolution"]
    clock.now = at("2026-06-15T00:00:00+02:00")  # Monday's midnight: only the weekend passed
    await api.move(rwanda, request["id"], "resubmitted")
    later = clocks_by_target(await request_sla(client, request["id"], rwanda))["resolution"]
    assert later["paused_business_seconds"] == 3600  # Friday's last hour
    # Due at the end of a Friday, it moves an hour into the Monday after.
    assert due["due_at_local"] == "2026-09-05T00:00:00+02:00"
    assert later["due_at_local"] == "2026-09-07T01:00:00+02:00"


async def test_a_withdrawal_cancels_the_clocks_and_the_report_leaves_them_out(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    await api.move(rwanda, request["id"], "withdrawn")
    sla = await request_sla(client, request["id"], rwanda)
    assert {c["state"] for c in sla["clocks"]} == {"cancelled"}
    report = await client.get("/v1/requests/reports/sla", headers=api.staff)
    assert report.json()["rows"] == []


async def test_warnings_come_when_the_configured_share_of_time_is_left(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])  # first response due Wednesday 17 June
    # 14 h of the Wednesday and 5 business days are 134 h; a quarter (33.5 h) is left at
    # Tuesday 16 June, 14:30 Geneva.
    clock.now = at("2026-06-16T14:29:59+02:00")
    quiet = await client.get("/v1/requests/sla/warnings", headers=api.staff)
    assert quiet.status_code == 200
    assert quiet.json()["items"] == []
    clock.now = at("2026-06-16T14:30:00+02:00")
    warned = (await client.get("/v1/requests/sla/warnings", headers=rwanda)).json()["items"]
    assert {(w["target"], w["stage"], w["state"]) for w in warned} == {
        ("first_response", None, "warning"),
        ("stage", "submitted", "warning"),
    }
    assert {w["business_seconds_left"] for w in warned} == {33.5 * 3600}
    assert warned[0]["request_id"] == request["id"]
    clock.now = at("2026-06-18T01:00:00+02:00")
    late = (await client.get("/v1/requests/sla/warnings", headers=api.staff)).json()["items"]
    assert {w["state"] for w in late} == {"breached"}
    assert {w["business_seconds_left"] for w in late} == {-3600}


async def test_the_report_counts_slas_met_and_missed_per_stage_call_and_quarter(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(title="Africa call")
    quick = await api.submit(rwanda, call["id"], title="quick")
    await api.submit(rwanda, call["id"], title="slow")
    await api.walk(quick["id"], "screening")
    clock.now = at("2026-06-18T09:00:00+02:00")  # the slow one's first response is late
    response = await client.get("/v1/requests/reports/sla", headers=api.staff)
    assert response.status_code == 200
    rows = {
        (r["target"], r["stage"]): (r["quarter"], r["call_title"], r["met"], r["missed"], r["open"])
        for r in response.json()["rows"]
    }
    assert rows[("first_response", None)] == ("2026-Q2", "Africa call", 1, 1, 0)
    assert rows[("stage", "submitted")] == ("2026-Q2", "Africa call", 1, 1, 0)
    assert rows[("stage", "screening")] == ("2026-Q2", "Africa call", 0, 0, 1)
    assert rows[("resolution", None)] == ("2026-Q3", "Africa call", 0, 0, 2)
    other = await client.get(
        "/v1/requests/reports/sla",
        params={"call_id": "00000000-0000-0000-0000-000000000000"},
        headers=api.staff,
    )
    assert other.json()["rows"] == []


async def test_a_call_counts_on_its_organisations_calendar(
    app: FastAPI,
    settings: Any,
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
) -> None:
    original = app.state.sla_policy
    addis = {"country": "ET", "subdivision": None, "time_zone": "Africa/Addis_Ababa"}
    configured = type(settings).model_validate(
        settings.model_dump() | {"sla_calendars": {"itu-addis-ababa": addis}}
    )
    app.state.sla_policy = SlaPolicy.from_settings(configured)
    try:
        unknown = await client.post(
            "/v1/calls", json=CALL | {"sla_calendar": "x"}, headers=api.staff
        )
        assert unknown.status_code == 422
        assert "itu-addis-ababa" in unknown.text
        call = await api.create_call(sla_calendar="itu-addis-ababa")
        assert call["sla_calendar"] == "itu-addis-ababa"
        request = await api.submit(rwanda, call["id"])
        sla = await request_sla(client, request["id"], rwanda)
    finally:
        app.state.sla_policy = original
    assert (sla["calendar"], sla["time_zone"]) == ("itu-addis-ababa", "Africa/Addis_Ababa")
    first = clocks_by_target(sla)["first_response"]
    # Five Ethiopian business days from Wednesday 10 June: Wednesday 17 June, at midnight
    # in Addis Ababa (UTC+3).
    assert first["due_at_local"] == "2026-06-18T00:00:00+03:00"
    assert first["due_at"] == "2026-06-17T21:00:00Z"


async def test_a_withdrawal_while_paused_keeps_the_paused_business_time(
    app: FastAPI, api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    policy: SlaPolicy = app.state.sla_policy
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])  # Wednesday 10 June 2026, 10:00 Geneva
    await api.walk(request["id"], "screening")
    clock.advance(days=1)
    await api.walk(request["id"], "info_requested")
    clock.advance(days=4)  # Monday 15 June, 10:00: 48 business hours paused
    withdrawn = await api.move(rwanda, request["id"], "withdrawn")
    assert withdrawn.status_code == 200, withdrawn.text
    resolution = clocks_by_target(await request_sla(client, request["id"], rwanda))["resolution"]
    assert resolution["state"] == "cancelled"
    assert resolution["paused_business_seconds"] == 48 * 3600
    assert at(resolution["due_at"]) == policy.due_after(START, 62)


def test_a_clock_stopped_while_paused_is_met_against_its_shifted_due_date(app: FastAPI) -> None:
    policy: SlaPolicy = app.state.sla_policy
    due = policy.due_after(START, 2)
    stopped_clock = SlaClock(
        request_id=uuid.uuid4(),
        call_id=uuid.uuid4(),
        target=Target.RESOLUTION,
        stage=None,
        calendar=None,
        started_at=START,
        due_at=due,
        warn_at=due,
        paused_at=None,
        paused_microseconds=0,
        stopped_at=None,
        cancelled=False,
    )
    pause(stopped_clock, START)
    # Stopped a business day past the original due date, after three business days paused.
    stopped = policy.shifted(due, timedelta(days=1))
    stop(stopped_clock, stopped, policy)
    assert paused_time(stopped_clock) == policy.business_time(START, stopped)
    assert stopped_clock.paused_at is None
    assert stopped_clock.due_at == policy.shifted(due, paused_time(stopped_clock))
    assert state_of(stopped_clock, stopped) is ClockState.MET
    [outcomes] = tally([stopped_clock], stopped, policy).values()
    assert outcomes == Counter(met=1)
    # Stopping again changes nothing.
    stop(stopped_clock, policy.shifted(stopped, timedelta(days=5)), policy)
    assert stopped_clock.stopped_at == stopped
