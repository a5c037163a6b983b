"""The hand-off to assessment-api: an internal event on the common outbox, written in the
approval's transaction, delivered by the dispatcher's hand-off sender with backoff, across
outages, restarts and a sender killed mid-send, in a lane of its own that no hanging
webhook receiver holds up."""

import asyncio
import contextlib
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import delete, func, select
from webhook_receiver import WebhookReceiver

from c2r_common.notifications.dispatcher import dispatch_forever, retry_delay
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_common.testing import TokenFactory, app_on_fresh_database, asgi_client
from request_intake.clock import install_clock
from request_intake.models import (
    NOTIFICATIONS,
    AssistanceRequest,
    Call,
    IdempotencyRecord,
    RequestEvent,
)
from request_intake.outbox.sender import classify_answer
from request_intake.outbox.service import HANDOFF_EVENT_TYPE, HANDOFF_SUBSCRIPTION_ID

SUBSCRIPTIONS = "/v1/requests/subscriptions"
SUBMITTED = "org.itu.c2r.request.submitted"
CHANGED = "org.itu.c2r.request.status_changed"


async def approved_assessment(api: Any, rwanda: dict[str, str]) -> dict[str, Any]:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    return await api.walk(request["id"], "screening", "under_review", "approved")


async def outbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/requests/outbox", headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_approving_an_assessment_request_writes_one_outbox_entry(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    approved = await approved_assessment(api, rwanda)
    entries = await outbox(client, api.staff)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["status"] == "pending"
    assert entry["request_id"] == approved["id"]
    assert entry["idempotency_key"] == f"c2r-outbox-{entry['id']}"
    assert entry["payload"] == {
        "country_iso3": "RWA",
        "period": "2026",
        "title": approved["title"],
        "source_request_id": approved["id"],
    }


async def test_other_approvals_and_refused_transitions_write_nothing(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    training = await api.submit(rwanda, call["id"], assistance_type="training")
    await api.walk(training["id"], "screening", "under_review", "approved")
    assessment = await api.submit(rwanda, call["id"])
    await api.walk(assessment["id"], "screening", "under_review")
    stale = await api.move(api.staff, assessment["id"], "approved", **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert await outbox(client, api.staff) == []


async def test_delivery_creates_the_draft_and_links_it_back(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    assessment_api: Any,
    relay: Any,
) -> None:
    await assessment_api.start()
    approved = await approved_assessment(api, rwanda)
    report = await relay.run_once()
    assert report.delivered == 1
    created = next(iter(assessment_api.assessments.values()))
    request = (await client.get(f"/v1/requests/{approved['id']}", headers=rwanda)).json()
    assert request["assessment_id"] == created["id"]
    assert request["version"] == approved["version"] + 1  # the link is a change: new ETag
    entry = (await outbox(client, api.staff))[0]
    assert (entry["status"], entry["result_id"], entry["attempts"]) == (
        "delivered",
        created["id"],
        1,
    )
    claims = jwt.decode(
        assessment_api.authorizations[0].removeprefix("Bearer "),
        DEVELOPMENT_JWT_SECRET,
        algorithms=["HS256"],
        audience="c2r-platform",
    )
    assert claims["scope"] == "assessments:write"
    assert claims["sub"] == "request-intake"
    assert (await relay.run_once()).attempted == 0  # nothing left to send


async def test_an_hour_long_outage_loses_nothing_and_creates_one_assessment(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    assessment_api: Any,
    relay: Any,
    settings: Any,
) -> None:
    approved = await approved_assessment(api, rwanda)
    outage_ends = clock.now + timedelta(hours=1)
    attempts = 0
    while clock.now < outage_ends:
        report = await relay.run_once()
        attempts += report.retried
        entry = (await outbox(client, api.staff))[0]
        wait = entry["next_attempt_at"]
        assert entry["status"] == "pending"
        assert "ConnectError" in entry["last_error"]
        clock.now = max(clock.now, datetime_of(wait))
    # Backoff grows but stays bounded: an hour of outage costs tens of attempts, not thousands.
    cap = settings.outbox_backoff_max_seconds
    assert 3600 / cap <= attempts <= 40
    summary = (await client.get("/v1/requests/outbox/summary", headers=api.staff)).json()
    assert summary["pending"] == 1
    assert REGISTRY.get_sample_value("c2r_intake_outbox_entries", {"status": "pending"}) == 1
    await assessment_api.start()
    clock.advance(seconds=cap)
    assert (await relay.run_once()).delivered == 1
    assert assessment_api.distinct_keys == 1
    assert assessment_api.calls == 1
    request = (await client.get(f"/v1/requests/{approved['id']}", headers=rwanda)).json()
    assert request["assessment_id"] == next(iter(assessment_api.assessments.values()))["id"]
    summary = (await client.get("/v1/requests/outbox/summary", headers=api.staff)).json()
    assert (summary["pending"], summary["delivered"]) == (0, 1)


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


async def test_a_permanent_refusal_is_visible_and_can_be_retried(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    assessment_api: Any,
    relay: Any,
) -> None:
    await assessment_api.start()
    assessment_api.mode = "reject"
    await approved_assessment(api, rwanda)
    assert (await relay.run_once()).dead == 1
    clock.advance(hours=2)
    assert (await relay.run_once()).attempted == 0  # failed entries are not resent by themselves
    entry = (await outbox(client, api.staff))[0]
    assert entry["status"] == "failed"
    assert entry["last_error"] == "HTTP 422: period must be a year"
    summary = (await client.get("/v1/requests/outbox/summary", headers=api.staff)).json()
    assert summary["failed"] == 1
    failed = await client.get("/v1/requests/outbox", params={"status": "failed"}, headers=api.staff)
    assert [e["id"] for e in failed.json()["items"]] == [entry["id"]]
    assessment_api.mode = "up"
    retried = await client.post(f"/v1/requests/outbox/{entry['id']}/retry", headers=api.staff)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    assert (await relay.run_once()).delivered == 1
    again = await client.post(f"/v1/requests/outbox/{entry['id']}/retry", headers=api.staff)
    assert again.status_code == 409


async def test_an_existing_assessment_is_linked_instead_of_created(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    assessment_api: Any,
    relay: Any,
) -> None:
    await assessment_api.start()
    assessment_api.mode = "exists"
    approved = await approved_assessment(api, rwanda)
    assert (await relay.run_once()).delivered == 1
    request = (await client.get(f"/v1/requests/{approved['id']}", headers=rwanda)).json()
    assert request["assessment_id"] == "00000000-0000-0000-0000-000000000007"


async def test_the_outbox_is_for_staff(client: httpx.AsyncClient, rwanda: dict[str, str]) -> None:
    assert (await client.get("/v1/requests/outbox", headers=rwanda)).status_code == 403


@given(
    st.integers(min_value=1, max_value=200),
    st.floats(min_value=0.01, max_value=60),
    st.floats(min_value=1, max_value=3600),
    st.floats(min_value=0, max_value=1),
)
def test_retry_delay_grows_and_stays_bounded(
    attempts: int, base: float, cap: float, jitter: float
) -> None:
    delay = retry_delay(attempts, base, cap, jitter).total_seconds()
    ceiling = min(cap, base * 2 ** (attempts - 1))
    assert ceiling / 2 - 1e-6 <= delay <= ceiling + 1e-6
    assert delay <= cap + 1e-6


# --- a restart in the middle of a delivery, on committed data ---------------------------


async def _linked(app: FastAPI, request_id: str, headers: dict[str, str]) -> str | None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        body = (await http.get(f"/v1/requests/{request_id}", headers=headers)).json()
    return None if body["assessment_id"] is None else str(body["assessment_id"])


async def test_an_outage_and_a_restart_mid_delivery_lose_nothing_and_duplicate_nothing(
    database_url: str,
    assessment_api: Any,
    auth_headers: Any,
    fresh_clock: Any,
    make_app: Any,
    make_relay: Any,
    api_for: Any,
) -> None:
    first = make_app(fresh_clock, assessment_api_url=assessment_api.url)
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    try:
        async with first.router.lifespan_context(first):
            transport = httpx.ASGITransport(app=first)
            async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
                approved = await approved_assessment(api_for(http), rwanda)
            # assessment-api is down for the first half hour ...
            relay = make_relay(first, assessment_api.url)
            for _ in range(6):
                assert (await relay.run_once()).retried == 1
                fresh_clock.advance(minutes=5)
            # ... then creates the draft, but its answer is lost on the way back ...
            await assessment_api.start()
            assessment_api.mode = "lose_response"
            assert (await relay.run_once()).retried == 1
            assessment_api.mode = "down"
            await assessment_api.stop()
        # ... request-intake restarts, assessment-api comes back half an hour later.
        fresh_clock.advance(minutes=30)
        await assessment_api.start()
        assessment_api.mode = "up"
        second = make_app(fresh_clock, assessment_api_url=assessment_api.url)
        async with second.router.lifespan_context(second):
            assert (await make_relay(second, assessment_api.url).run_once()).delivered == 1
            linked = await _linked(second, approved["id"], rwanda)
        assert assessment_api.distinct_keys == 1
        assert linked == next(iter(assessment_api.assessments.values()))["id"]
        assert assessment_api.calls == 2  # the lost answer, then the replay
    finally:
        await _delete_committed_rows(database_url)


async def _delete_committed_rows(database_url: str) -> None:
    from c2r_common.db import Database

    database = Database(database_url)
    models = (NOTIFICATIONS.delivery, NOTIFICATIONS.event, RequestEvent, AssistanceRequest)
    try:
        async with database.sessionmaker() as db:
            for model in (*models, Call, IdempotencyRecord):
                await db.execute(delete(model))
            await db.commit()
    finally:
        await database.dispose()


def test_the_answers_of_assessment_api_are_read_per_the_contract() -> None:
    def answer(status: int, body: Any) -> Any:
        return classify_answer(httpx.Response(status, json=body))

    created = "0b7c5a1e-2f7e-4a8e-9c1d-5f0a3b2c1d0e"
    assert answer(201, {"id": created, "status": "draft"}).result == created
    exists = answer(409, {"existing_assessment_id": created})
    assert (exists.ok, exists.result) == (True, created)
    # The same key still in flight there: the next attempt will get the stored answer.
    in_flight = answer(409, {"type": "https://c2r.itu.int/problems/idempotency-key-in-flight"})
    assert (in_flight.ok, in_flight.permanent) == (False, False)
    unreadable = answer(201, {"id": "not-a-uuid"})
    assert (unreadable.ok, unreadable.permanent) == (False, True)
    assert answer(403, {"detail": "no scope"}).error == "HTTP 403: no scope"
    assert answer(422, {"detail": "period must be a year"}).permanent
    for transient in (408, 425, 429, 500, 502, 503, 504):
        outcome = answer(transient, {"detail": "later"})
        assert (outcome.ok, outcome.permanent) == (False, False), transient


async def test_the_outbox_is_for_staff_not_country_limited_tokens(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    limited = auth_headers("requests:review", "requests:approve", countries=["RWA"])
    for path in ("/v1/requests/outbox", "/v1/requests/outbox/summary"):
        response = await client.get(path, headers=limited)
        assert response.status_code == 403, path
    staff = auth_headers("requests:review")
    assert (await client.get("/v1/requests/outbox", headers=staff)).status_code == 200


def test_refused_credentials_are_retried_not_failed() -> None:
    for status in (401, 403):
        outcome = classify_answer(httpx.Response(status, json={"detail": "bad token"}))
        assert (outcome.ok, outcome.permanent) == (False, False), status


# --- a sender killed mid-send, on committed data ----------------------------------------

# One dispatcher pass in a process of its own, as a replica runs it; killed by the test.
_SENDER_PROCESS = """
import asyncio, sys
from datetime import datetime
from c2r_common.db import Database
from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.settings import Environment
from request_intake.config import IntakeSettings
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.outbox.sender import handoff_senders

async def main(url, peer, now):
    settings = IntakeSettings(
        database_url=url, environment=Environment.TEST, assessment_api_url=peer
    )
    database = Database(url)
    senders = handoff_senders(settings)
    dispatcher = Dispatcher(NOTIFICATIONS, settings, "request-intake", service_senders=senders)
    await dispatcher.run_once(database.sessionmaker, datetime.fromisoformat(now))

asyncio.run(main(*sys.argv[1:]))
"""


async def _handoff_delivery(database_url: str) -> Any:
    from c2r_common.db import Database

    database = Database(database_url)
    try:
        async with database.sessionmaker() as db:
            d = NOTIFICATIONS.delivery
            return await db.scalar(select(d).where(d.subscription_id == HANDOFF_SUBSCRIPTION_ID))
    finally:
        await database.dispose()


async def test_a_sender_killed_mid_send_is_replaced_after_its_lease_and_one_assessment_is_made(
    service_under_test: Any,
    tmp_path: Path,
    assessment_api: Any,
    auth_headers: Any,
    api_for: Any,
    make_relay: Any,
    fresh_clock: Any,
) -> None:
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    overrides = {"assessment_api_url": assessment_api.url}
    start = fresh_clock.now
    async with app_on_fresh_database(service_under_test, tmp_path, **overrides) as app:
        clock = fresh_clock
        install_clock(app, clock)
        url = app.state.settings.database_url
        async with asgi_client(app) as http:
            approved = await approved_assessment(api_for(http), rwanda)
        await assessment_api.start()
        assessment_api.mode = "hold"  # creates the draft, answers only once released
        sender = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SENDER_PROCESS, url, assessment_api.url, start.isoformat()
        )
        try:
            await asyncio.wait_for(assessment_api.holding.wait(), 60)
        finally:
            sender.kill()  # SIGKILL: no mark, no cleanup
            await sender.wait()
        assert sender.returncode == -signal.SIGKILL
        leased = await _handoff_delivery(url)
        lease = timedelta(seconds=app.state.settings.notify_lease_seconds)
        assert (leased.status, leased.attempts) == ("pending", 1)
        assert leased.next_attempt_at == start + lease
        assessment_api.mode = "up"
        assessment_api.released.set()
        relay = make_relay(app, assessment_api.url)
        assert (await relay.run_once()).attempted == 0  # still leased to the dead sender
        clock.advance(seconds=lease.total_seconds() + 1)
        assert (await relay.run_once()).delivered == 1
        async with asgi_client(app) as http:
            request = (await http.get(f"/v1/requests/{approved['id']}", headers=rwanda)).json()
        delivered = await _handoff_delivery(url)
        assert (delivered.status, delivered.attempts) == ("delivered", 2)
    assert assessment_api.calls == 2
    assert assessment_api.distinct_keys == 1  # the same key both times: one assessment
    assert request["assessment_id"] == next(iter(assessment_api.assessments.values()))["id"]


async def test_the_built_in_subscription_is_no_users_and_its_event_type_no_ones_to_subscribe(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient, auth_headers: Any
) -> None:
    await approved_assessment(api, rwanda)
    admin = auth_headers("admin", subject="root")
    listed = await client.get("/v1/requests/subscriptions", headers=admin)
    assert listed.status_code == 200, listed.text
    assert str(HANDOFF_SUBSCRIPTION_ID) not in {s["id"] for s in listed.json()["items"]}
    built_in = f"/v1/requests/subscriptions/{HANDOFF_SUBSCRIPTION_ID}"
    for method, path in [
        ("GET", built_in),
        ("GET", f"{built_in}/deliveries"),
        ("POST", f"{built_in}/pause"),
        ("DELETE", built_in),
    ]:
        response = await client.request(method, path, headers=admin)
        assert response.status_code == 404, (method, path, response.text)
    asked = {"event_types": [HANDOFF_EVENT_TYPE], "webhook_url": "https://example.org/hook"}
    refused = await client.post("/v1/requests/subscriptions", json=asked, headers=admin)
    assert refused.status_code == 422, refused.text
    assert len(await outbox(client, api.staff)) == 1  # the hand-off still waits to be sent


async def test_an_approval_writes_the_built_in_subscription_back_if_it_went_missing(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient, app: FastAPI
) -> None:
    async with app.state.database.sessionmaker() as db:
        s = NOTIFICATIONS.subscription
        await db.execute(delete(s).where(s.id == HANDOFF_SUBSCRIPTION_ID))
        await db.commit()  # a savepoint of the test's transaction, rolled back after it
    approved = await approved_assessment(api, rwanda)
    [entry] = await outbox(client, api.staff)
    assert (entry["request_id"], entry["status"]) == (approved["id"], "pending")


# --- the hand-off's own lane, on committed data -----------------------------------------


async def _pending_webhooks(database_url: str) -> int:
    from c2r_common.db import Database

    database = Database(database_url)
    d = NOTIFICATIONS.delivery
    try:
        async with database.sessionmaker() as db:
            waiting = await db.scalar(
                select(func.count())
                .select_from(d)
                .where(d.subscription_id != HANDOFF_SUBSCRIPTION_ID, d.status == "pending")
            )
            return int(waiting or 0)
    finally:
        await database.dispose()


async def test_an_approval_is_handed_off_within_one_interval_while_webhooks_hang(
    service_under_test: Any,
    tmp_path: Path,
    assessment_api: Any,
    auth_headers: Any,
    api_for: Any,
    make_relay: Any,
    fresh_clock: Any,
) -> None:
    """The dispatcher's background loops on real commits: the focal point's receiver holds
    every webhook until its time limit, with a backlog that one pass in id order would
    take a minute to get through; the approval's hand-off, written after them, reaches
    assessment-api within one interval and is linked on the request."""
    interval, time_limit, backlog = 0.5, 4.0, 12
    overrides = {
        "assessment_api_url": assessment_api.url,
        "notify_relay_interval_seconds": interval,
        "notify_webhook_timeout_seconds": time_limit,
        "notify_allow_private_urls": True,
        "notify_pause_after_failures": 1000,  # the backlog keeps its receiver
    }
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    receiver = WebhookReceiver(hang=threading.Event()).start()
    await assessment_api.start()
    async with app_on_fresh_database(service_under_test, tmp_path, **overrides) as app:
        # The loops pass at the real time, after the fake clock's June: all written is due.
        install_clock(app, fresh_clock)
        url = app.state.settings.database_url
        loops: asyncio.Task[None] | None = None
        try:
            async with asgi_client(app) as http:
                api = api_for(http)
                hooks = {"webhook_url": receiver.url, "event_types": [CHANGED, SUBMITTED]}
                subscribed = await http.post(SUBSCRIPTIONS, json=hooks, headers=rwanda)
                assert subscribed.status_code == 201, subscribed.text
                receiver.secret = subscribed.json()["secret"]
                call = await api.create_call()
                for _ in range(backlog):
                    await api.submit(rwanda, call["id"], assistance_type="training")
                request = await api.submit(rwanda, call["id"])
                await api.walk(request["id"], "screening", "under_review")
                relay = make_relay(app, assessment_api.url)
                loops = asyncio.create_task(dispatch_forever(relay.dispatcher, app.state.database))
                await _until(lambda: bool(receiver.requests), 10)  # the webhooks' lane hangs
                approved = await api.walk(request["id"], "approved")
                started = time.monotonic()
                await _until(lambda: assessment_api.distinct_keys == 1, interval + time_limit)
                took = time.monotonic() - started
                linked = await _until_linked(app, approved["id"], rwanda, interval + time_limit)
            assert took < interval + 1.0  # one interval and the send, not one webhook's wait
            assert len(receiver.requests) <= 2
            assert await _pending_webhooks(url) >= backlog + 2  # the backlog still waits
            assert linked == next(iter(assessment_api.assessments.values()))["id"]
            delivered = await _handoff_delivery(url)
            assert (delivered.status, delivered.attempts) == ("delivered", 1)
        finally:
            if loops is not None:
                loops.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loops
            assert receiver.hang is not None
            receiver.hang.set()
            receiver.stop()


async def _until(condition: Any, seconds: float) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "not within the time allowed"
        await asyncio.sleep(0.02)


async def _until_linked(
    app: FastAPI, request_id: str, headers: dict[str, str], seconds: float
) -> str:
    started = time.monotonic()
    while (linked := await _linked(app, request_id, headers)) is None:
        assert time.monotonic() - started < seconds, "not linked within the time allowed"
        await asyncio.sleep(0.02)
    return linked
