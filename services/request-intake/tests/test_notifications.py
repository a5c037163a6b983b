"""The requests' and calls' events through the notifications outbox: the subscriptions API
under /v1/requests/subscriptions; a request's submission and moves delivered once to a real
receiver that verifies their signatures, for its subscriber's country only; an event
committed with its move and never without it; the scan for SLA clocks and calls, repeated
and run by two replicas at once, writing each event once, and only what is news; its events
delivered to a real signed receiver and to a real SMTP server (in French); a receiver down
then up getting every event once, in order per subject; the public call events reaching a
focal point, a country-less event that is not public not. Every commit real (a database of
the test's own), looked at from another session."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import func, select
from webhook_receiver import WebhookReceiver, free_port

from c2r_common.auth import Principal, Scope
from c2r_common.notifications.catalogue import (
    CallClosing,
    CallOpened,
    RequestStatusChanged,
    SlaDueSoon,
    SlaOverdue,
)
from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.notifications.testing import Inbox, drain
from c2r_common.testing import ServiceUnderTest, TokenFactory, asgi_client, fresh_database
from request_intake import flows
from request_intake.app import create_app
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.schemas import TransitionIn
from request_intake.assistance_requests.workflow import Status
from request_intake.background import SERVICE
from request_intake.calls.models import Call
from request_intake.calls.service import call_changes
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.notifications.service import NEWS_FOR, notify
from request_intake.sla.models import SlaClock
from request_intake.sla.service import SlaAlarm, sla_alarm
from request_intake.sla_policy import app_sla_policy

SUBSCRIPTIONS = "/v1/requests/subscriptions"
PREFIX = "org.itu.c2r."
SUBMITTED = PREFIX + "request.submitted"
CHANGED = PREFIX + "request.status_changed"
INFO = PREFIX + "request.info_requested"
DUE_SOON = PREFIX + "request.sla_due_soon"
OVERDUE = PREFIX + "request.sla_overdue"
OPENED, CLOSING, CLOSED = PREFIX + "call.opened", PREFIX + "call.closing", PREFIX + "call.closed"
REQUEST_TYPES = [SUBMITTED, CHANGED, INFO]
ALL_TYPES = [*REQUEST_TYPES, DUE_SOON, OVERDUE, OPENED, CLOSING, CLOSED]
QUESTION = "Please attach the ministry's letter of support."
STAFF = Principal(
    subject="staff",
    scopes=frozenset({Scope.REQUESTS_READ, Scope.REQUESTS_REVIEW, Scope.REQUESTS_APPROVE}),
)


def settings_for(service_under_test: ServiceUnderTest, url: str, **overrides: Any) -> Any:
    base = service_under_test.make_settings(url)
    values = {
        "notify_allow_private_urls": True,
        "notify_backoff_base_seconds": 1.0,
        "notify_webhook_timeout_seconds": 5.0,
    }
    return base.model_validate(base.model_dump() | values | overrides)


@asynccontextmanager
async def replicas(
    service_under_test: ServiceUnderTest,
    folder: Path,
    clock: Callable[[], datetime],
    count: int = 1,
    **overrides: Any,
) -> AsyncIterator[list[FastAPI]]:
    """`count` apps (each its own engine and pool, as replicas) on one database of the
    test's own: every commit is real."""
    async with fresh_database(service_under_test.alembic_ini, "intake_notify", folder) as url:
        settings = settings_for(service_under_test, url, **overrides)
        apps = [create_app(settings, clock) for _ in range(count)]
        async with contextlib_stack(apps):
            yield apps


@asynccontextmanager
async def contextlib_stack(apps: list[FastAPI]) -> AsyncIterator[None]:
    if not apps:
        yield
        return
    async with apps[0].router.lifespan_context(apps[0]), contextlib_stack(apps[1:]):
        yield


async def counts(app: FastAPI) -> dict[str, int]:
    """Events per type, read from a session of its own: what is committed."""
    e = NOTIFICATIONS.event
    async with app.state.database.sessionmaker() as session:
        rows = await session.execute(select(e.type, func.count()).group_by(e.type))
    return {row[0]: row[1] for row in rows}


async def deliveries_of(app: FastAPI, subscription_id: str) -> list[str]:
    """The event types delivered (or due) to a subscription, in order."""
    d = NOTIFICATIONS.delivery
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(
            select(d.event_type)
            .where(d.subscription_id == uuid.UUID(subscription_id))
            .order_by(d.id)
        )
    return list(rows)


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def ask_information(api: Any, request_id: str) -> None:
    await api.walk(request_id, "screening")
    response = await api.client.post(
        f"/v1/requests/{request_id}/transitions",
        json={"to": "info_requested", "comment": QUESTION},
        headers=api.staff,
    )
    assert response.status_code == 200, response.text


# --- the subscriptions API --------------------------------------------------------------


async def test_the_subscriptions_api_is_mounted_beside_the_requests(
    client: httpx.AsyncClient, auth_headers: TokenFactory, app: FastAPI
) -> None:
    focal = auth_headers("requests:read", countries=["RWA"], subject="focal-rwa")
    listed = await client.get(SUBSCRIPTIONS, headers=focal)
    assert listed.status_code == 200, listed.text  # not taken for a request id
    assert listed.json()["items"] == []
    body = {"email": "focal@example.org", "event_types": REQUEST_TYPES}
    created = await subscribe(client, focal, **body)
    assert created["countries"] == ["RWA"]  # none asked: the token's own
    got = await client.get(f"{SUBSCRIPTIONS}/{created['id']}", headers=focal)
    assert got.status_code == 200, got.text
    # A focal point may not subscribe to another country; nor anyone to another service's
    # events.
    kenya = await client.post(SUBSCRIPTIONS, json=body | {"countries": ["KEN"]}, headers=focal)
    assert kenya.status_code == 403, kenya.text
    schools = body | {"event_types": [PREFIX + "school.offline"]}
    assert (await client.post(SUBSCRIPTIONS, json=schools, headers=focal)).status_code == 422
    no_scope = await client.get(SUBSCRIPTIONS, headers=auth_headers("schools:read"))
    assert no_scope.status_code == 403
    # A reviewer takes one mail a day of what is due.
    reviewer = auth_headers("requests:read", "requests:review", subject="reviewer")
    digest = await subscribe(
        client, reviewer, email="reviewer@itu.int", event_types=[DUE_SOON, OVERDUE], digest=True
    )
    assert digest["digest"] is True
    assert digest["countries"] is None
    paths = app.openapi()["paths"]
    assert (
        paths[SUBSCRIPTIONS]["post"]["operationId"] == "request_notifications_create_subscription"
    )
    deliveries = paths[f"{SUBSCRIPTIONS}/{{subscription_id}}/deliveries"]["get"]
    assert deliveries["operationId"] == "request_notifications_list_deliveries"


# --- a request's submission and moves ---------------------------------------------------


async def test_a_focal_point_receives_its_own_requests_events_once_signed(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    auth_headers: TokenFactory,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
) -> None:
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"], subject="ke")
    async with replicas(service_under_test, tmp_path, fresh_clock) as [app]:
        receiver = WebhookReceiver().start()
        try:
            async with asgi_client(app) as client:
                subscription = await subscribe(
                    client, rwanda, webhook_url=receiver.url, event_types=REQUEST_TYPES
                )
                receiver.secret = subscription["secret"]
                api = api_for(client)
                call = await api.create_call()
                ours = await api.submit(rwanda, call["id"])
                theirs = await api.submit(kenya, call["id"], country_iso3="KEN")
                await ask_information(api, theirs["id"])
                fresh_clock.advance(hours=1)
                await ask_information(api, ours["id"])
                fresh_clock.advance(hours=1)
                answered = await api.move(rwanda, ours["id"], "resubmitted")
                assert answered.status_code == 200, answered.text
                await drain(app, NOTIFICATIONS, SERVICE)
        finally:
            receiver.stop()
    assert receiver.refused_signatures == 0
    got = [(r.event["type"], r.event["data"].get("to_status")) for r in receiver.requests]
    assert got == [
        (SUBMITTED, None),
        (CHANGED, "screening"),
        (CHANGED, "info_requested"),
        (INFO, None),
        (CHANGED, "resubmitted"),
    ]
    assert len({r.webhook_id for r in receiver.requests}) == 5
    for received in receiver.requests:
        assert received.webhook_id == received.event["id"]
        assert received.event["source"] == "/request-intake"
        assert received.event["subject"] == f"requests/{ours['id']}"
        assert received.event["c2rcountry"] == "RWA"
        assert received.event["data"]["call_title"] == call["title"]
    asked = receiver.requests[3].event["data"]
    assert asked["message"] == QUESTION
    assert asked["status"] == "info_requested"
    changed = receiver.requests[2].event["data"]
    assert (changed["from_status"], changed["role"]) == ("screening", "reviewer")


async def test_an_event_is_committed_with_its_move_and_never_without_it(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
    staff: dict[str, str],
) -> None:
    async with replicas(service_under_test, tmp_path, fresh_clock) as [app]:
        async with asgi_client(app) as client:
            await subscribe(
                client, staff, webhook_url="http://127.0.0.1:9/hooks", event_types=ALL_TYPES
            )
            api = api_for(client)
            call = await api.create_call()
            request = await api.submit(rwanda, call["id"])
            assert await counts(app) == {SUBMITTED: 1}
            # Refused: a focal point screening, a move the workflow has not.
            assert (await api.move(rwanda, request["id"], "screening")).status_code == 403
            assert (await api.move(staff, request["id"], "approved")).status_code == 409
            assert await counts(app) == {SUBMITTED: 1}

        sessionmaker = app.state.database.sessionmaker
        move = TransitionIn(to=Status.SCREENING, comment="screening it")
        policy = app_sla_policy(app)
        async with sessionmaker() as session:
            row = await session.get(AssistanceRequest, uuid.UUID(request["id"]))
            assert row is not None
            await flows.transition(session, row, move, STAFF, fresh_clock(), policy)
            assert await counts(app) == {SUBMITTED: 1}  # written, not committed: unseen
            await session.rollback()
        assert await counts(app) == {SUBMITTED: 1}

        async with sessionmaker() as session:
            row = await session.get(AssistanceRequest, uuid.UUID(request["id"]))
            assert row is not None
            assert row.status == Status.SUBMITTED
            await flows.transition(session, row, move, STAFF, fresh_clock(), policy)
            await session.commit()
        assert await counts(app) == {SUBMITTED: 1, CHANGED: 1}
        d = NOTIFICATIONS.delivery
        async with sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(d)) == 2


# --- the scan: SLA clocks and calls -----------------------------------------------------

# The scans' call opens 2026-06-08 09:00 and closes 2026-06-30 23:59:59 in Geneva (news
# when first scanned on the 10th); the request is submitted on Wednesday 10 June (START):
# its first-response and submitted-stage clocks are due in 5 business days, by the end of
# Wednesday 17 June, Geneva time.
RECENT_CALL = {"opens_at": "2026-06-08T09:00:00"}
SCANS = [
    # (moment, events this scan writes)
    (datetime(2026, 6, 10, 9, 0, tzinfo=UTC), {OPENED: 1}),
    (datetime(2026, 6, 17, 12, 0, tzinfo=UTC), {DUE_SOON: 2}),
    (datetime(2026, 6, 18, 12, 0, tzinfo=UTC), {OVERDUE: 2}),
    (datetime(2026, 6, 24, 0, 0, tzinfo=UTC), {CLOSING: 1}),
    (datetime(2026, 7, 1, 0, 0, tzinfo=UTC), {CLOSED: 1}),
]


async def scan(app: FastAPI, moment: datetime) -> int:
    return await flows.notification_scan(
        app.state.database.sessionmaker, app.state.settings, moment, app_sla_policy(app)
    )


async def test_each_sla_and_call_event_is_written_once_however_often_scanned(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
) -> None:
    async with replicas(service_under_test, tmp_path, fresh_clock) as [app]:
        async with asgi_client(app) as client:
            focal = await subscribe(
                client, rwanda, webhook_url="http://127.0.0.1:9/hooks", event_types=ALL_TYPES
            )
            api = api_for(client)
            call = await api.create_call(**RECENT_CALL)
            request = await api.submit(rwanda, call["id"])
        expected = {SUBMITTED: 1}
        for moment, written in SCANS:
            assert await scan(app, moment) == sum(written.values()), moment
            assert await scan(app, moment) == 0  # the same scan again: nothing new
            expected |= written
            assert await counts(app) == expected
        # The focal point of Rwanda hears of the call too: public, about no one country.
        assert await deliveries_of(app, focal["id"]) == [
            SUBMITTED, OPENED, DUE_SOON, DUE_SOON, OVERDUE, OVERDUE, CLOSING, CLOSED,
        ]  # fmt: skip
        e = NOTIFICATIONS.event
        async with app.state.database.sessionmaker() as session:
            events = list(await session.scalars(select(e).order_by(e.created_at, e.type)))
        by_type = {event.type: event for event in events}
        due = by_type[DUE_SOON]
        assert due.subject == f"requests/{request['id']}"
        assert due.country_iso3 == "RWA"
        assert due.data["due_at_local"] == "2026-06-18T00:00:00+02:00"
        assert due.data["target"] in ("first_response", "stage")
        closing = by_type[CLOSING].data
        assert closing["days_left"] == 7
        assert closing["deadline"] == "2026-06-30T23:59:59+02:00"
        assert by_type[CLOSED].country_iso3 is None


async def test_a_first_scan_announces_what_is_news_and_the_report_keeps_the_rest(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
) -> None:
    # The scan first runs on 1 August (a first deployment): the request's clocks fell due on
    # 17 June, the year's call opened in January, the spring call closed in March: history.
    # Only the summer call, opened four days ago, is news.
    first = datetime(2026, 8, 1, 8, 0, tzinfo=UTC)
    async with (
        replicas(service_under_test, tmp_path, fresh_clock) as [app],
        asgi_client(app) as client,
    ):
        api = api_for(client)
        january = {"opens_at": "2026-01-05T09:00:00"}
        year = await api.create_call(title="2026", closes_at="2026-12-31T23:59:59", **january)
        await api.create_call(title="Spring", closes_at="2026-03-31T23:59:59", **january)
        summer = await api.create_call(
            title="Summer", opens_at="2026-07-28T09:00:00", closes_at="2026-09-30T23:59:59"
        )
        request = await api.submit(rwanda, year["id"])
        assert await scan(app, first) == 1
        e = NOTIFICATIONS.event
        async with app.state.database.sessionmaker() as session:
            written = (await session.execute(select(e.type, e.subject))).all()
        assert sorted(written) == sorted(
            [(SUBMITTED, f"requests/{request['id']}"), (OPENED, f"calls/{summer['id']}")]
        )
        # The clocks overdue for six weeks are where they always were: the overdue report.
        fresh_clock.now = first
        overdue = await client.get("/v1/requests/overdue", headers=api.staff)
        assert overdue.status_code == 200, overdue.text
        assert [item["id"] for item in overdue.json()["items"]] == [request["id"]]


async def test_two_replicas_scanning_at_once_write_each_event_once(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
) -> None:
    async with replicas(service_under_test, tmp_path, fresh_clock, count=2) as apps:
        async with asgi_client(apps[0]) as client:
            api = api_for(client)
            call = await api.create_call(**RECENT_CALL)
            for n in range(5):
                await api.submit(rwanda, call["id"], title=f"Request {n}")
        sqlite = apps[0].state.settings.database_url.startswith("sqlite")
        expected: dict[str, int] = {SUBMITTED: 5}
        for moment, written in SCANS:
            # Five requests: five times the SLA events, once the call's.
            written = {t: n * (5 if t in (DUE_SOON, OVERDUE) else 1) for t, n in written.items()}
            scans = [scan(app, moment) for app in apps for _ in range(2)]
            # PostgreSQL: all at once. One process serves a SQLite file: its rounds take
            # turns (the write lock), so there they run one after the other.
            emitted = [await one for one in scans] if sqlite else await asyncio.gather(*scans)
            assert sum(emitted) == sum(written.values()), (moment, emitted)
            expected |= written
            assert await counts(apps[1]) == expected


class UnlistedCallOpened(CallOpened):
    """A call's event as every type is unless it says otherwise: not public."""

    public: ClassVar[bool] = False


async def test_an_event_about_no_country_reaches_a_focal_point_only_if_public(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
    staff: dict[str, str],
) -> None:
    moment = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    hooks = "http://127.0.0.1:9/hooks"
    async with replicas(service_under_test, tmp_path, fresh_clock) as [app]:
        async with asgi_client(app) as client:
            focal = await subscribe(client, rwanda, webhook_url=hooks, event_types=[OPENED])
            everyone = await subscribe(client, staff, webhook_url=hooks, event_types=[OPENED])
            call = await api_for(client).create_call()
        assert await scan(app, moment) == 1  # the call opened: public
        async with app.state.database.sessionmaker() as session:
            row = await session.get(Call, uuid.UUID(call["id"]))
            assert row is not None
            [(opened, _)] = call_changes(row, moment, closing_days=7)
            unlisted = UnlistedCallOpened(**opened.model_dump())
            assert await notify(session, unlisted, at=moment, key="unlisted")
            await session.commit()
        # Rwanda's focal point hears of the public call only; a subscription with no
        # country limit hears of both.
        assert await deliveries_of(app, focal["id"]) == [OPENED]
        assert await deliveries_of(app, everyone["id"]) == [OPENED, OPENED]


def test_a_clock_is_due_soon_from_its_warning_or_its_last_business_days() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    clock = SlaClock(
        started_at=start, due_at=start + timedelta(days=10), warn_at=start + timedelta(days=8)
    )
    early = start + timedelta(days=5)
    assert sla_alarm(clock, early, timedelta(days=5), due_days=0) is None
    assert sla_alarm(clock, early, timedelta(days=5), due_days=4) is None
    assert sla_alarm(clock, early, timedelta(days=4), due_days=4) is SlaAlarm.DUE_SOON
    assert sla_alarm(clock, clock.warn_at, timedelta(days=2), due_days=0) is SlaAlarm.DUE_SOON
    assert sla_alarm(clock, clock.due_at, timedelta(0), due_days=0) is SlaAlarm.DUE_SOON
    after = clock.due_at + timedelta(seconds=1)
    assert sla_alarm(clock, after, timedelta(0), due_days=0) is SlaAlarm.OVERDUE
    # Overdue is news for a week after the due date; a scan first seeing it later is silent.
    week = clock.due_at + NEWS_FOR
    assert sla_alarm(clock, week, timedelta(0), due_days=0) is SlaAlarm.OVERDUE
    assert sla_alarm(clock, week + timedelta(seconds=1), timedelta(0), due_days=4) is None


def test_a_call_is_announced_open_closing_and_closed_at_its_own_instants() -> None:
    opens = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    closes = datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC)
    call = Call(
        id=uuid.uuid4(),
        title="C2R call",
        assistance_types=["assessment"],
        eligible_regions=["Africa"],
        eligible_countries=[],
        time_zone="Africa/Kigali",
        opens_at=opens,
        closes_at=closes,
        grace_period_minutes=60,
        created_at=opens - timedelta(days=1),
    )

    def kinds(moment: datetime, days: int = 7) -> list[tuple[str, str]]:
        return [(data.event_type, key) for data, key in call_changes(call, moment, days)]

    opened = [(OPENED, f"opened@{opens.isoformat()}")]
    assert kinds(opens - timedelta(seconds=1)) == []
    assert kinds(opens) == opened
    # News for a week: a scan first seeing the call later does not announce its opening.
    assert kinds(opens + NEWS_FOR) == opened
    assert kinds(opens + NEWS_FOR + timedelta(seconds=1)) == []
    # A call made after its opening date is news from its making.
    call.created_at = opens + timedelta(days=12)
    assert kinds(opens + timedelta(days=12, hours=1)) == opened
    assert kinds(call.created_at + NEWS_FOR + timedelta(seconds=1)) == []
    call.created_at = opens - timedelta(days=1)
    assert kinds(closes - timedelta(days=7, seconds=1)) == []
    assert [k for k, _ in kinds(closes - timedelta(days=7))] == [CLOSING]
    assert [k for k, _ in kinds(opens + timedelta(days=2), days=30)] == [OPENED, CLOSING]
    closed = [(CLOSED, f"closed@{closes.isoformat()}")]
    assert kinds(closes + timedelta(seconds=1)) == closed
    assert kinds(closes + NEWS_FOR) == closed
    assert kinds(closes + NEWS_FOR + timedelta(seconds=1)) == []
    [(closed, _)] = call_changes(call, closes + timedelta(seconds=1), 7)
    # In the call's own zone (Kigali, UTC+2), the grace period's end too.
    assert closed.model_dump(mode="json")["deadline"] == "2026-06-30T23:59:59+02:00"
    assert closed.model_dump(mode="json")["accepts_until"] == "2026-07-01T00:59:59+02:00"


def test_titles_say_one_day_or_several_and_name_clocks_and_statuses_in_words() -> None:
    call = {
        "call_id": uuid.uuid4(),
        "call_title": "C2R",
        "assistance_types": ["assessment"],
        "eligible_regions": ["Africa"],
        "eligible_countries": [],
        "time_zone": "Europe/Zurich",
        "opens_at": datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        "deadline": datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC),
        "deadline_utc": datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC),
    }
    one, three = CallClosing(**call, days_left=1), CallClosing(**call, days_left=3)
    assert one.title("en").startswith("Call C2R closes in 1 day (")
    assert three.title("en").startswith("Call C2R closes in 3 days (")
    assert one.title("fr").startswith("L'appel C2R se termine dans 1 jour (")
    assert three.title("fr").startswith("L'appel C2R se termine dans 3 jours (")
    assert one.title("de") == one.title("en")  # a language without titles: English
    due = datetime(2026, 6, 17, 22, 0, tzinfo=UTC)
    notice = {
        "request_id": uuid.uuid4(),
        "request_title": "Évaluation",
        "country_iso3": "RWA",
        "call_id": call["call_id"],
        "call_title": "C2R",
        "assistance_type": "assessment",
        "status": "screening",
        "due_at": due,
        "due_at_local": due,
    }
    stage = SlaOverdue(**notice, target="stage", stage="screening")
    assert stage.title("fr").startswith(
        "Échéance de l'étape « présélection » de la demande Évaluation (RWA) dépassée"
    )
    first = SlaDueSoon(**notice, target="first_response", stage=None, business_seconds_left=60)
    assert first.title("fr").startswith("Échéance de première réponse de la demande Évaluation")
    assert first.title("en").startswith("SLA first response of request Évaluation (RWA) due")
    assert stage.title("en").startswith('SLA stage "screening" of request Évaluation (RWA)')
    request = {k: v for k, v in notice.items() if k not in {"due_at", "due_at_local"}}
    moved = RequestStatusChanged(
        **request,
        from_status="screening",
        to_status="info_requested",
        role="screener",
        comment="ok",
        changed_at=due,
    )
    assert moved.title("en") == "Request Évaluation (RWA): screening → info requested"
    assert moved.title("fr") == (
        "Demande Évaluation (RWA) : en présélection → informations demandées"
    )


# --- e-mail -----------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Any:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_a_focal_point_is_mailed_the_request_for_information_in_french(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    mail_settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    async with (
        replicas(service_under_test, tmp_path, fresh_clock, **mail_settings) as [app],
        asgi_client(app) as client,
    ):
        await subscribe(
            client, rwanda, email="focal@minict.gov.rw", language="fr", event_types=[INFO]
        )
        api = api_for(client)
        call = await api.create_call()
        request = await api.submit(rwanda, call["id"], title="Évaluation du Rwanda")
        await ask_information(api, request["id"])
        await drain(app, NOTIFICATIONS, SERVICE)
    [mail] = inbox.messages
    assert mail["To"] == "focal@minict.gov.rw"
    assert mail["Subject"] == (
        "Des informations complémentaires sont demandées pour Évaluation du Rwanda (RWA)"
    )
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert QUESTION in body.get_content()


async def test_a_clock_is_due_soon_earlier_with_a_number_of_business_days(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
) -> None:
    # Monday 15 June, 14:00 in Geneva: the 5-day clocks of Wednesday's request have 2 days
    # and 10 hours of business time left, more than their warning share (1.25 days).
    monday = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    async with replicas(service_under_test, tmp_path, fresh_clock, notify_sla_due_days=3) as [app]:
        async with asgi_client(app) as client:
            api = api_for(client)
            call = await api.create_call()
            await api.submit(rwanda, call["id"])
        settings = app.state.settings
        sessionmaker = app.state.database.sessionmaker
        policy = app_sla_policy(app)
        share_only = settings.model_copy(update={"notify_sla_due_days": 0})
        await flows.notification_scan(sessionmaker, share_only, monday, policy)
        assert DUE_SOON not in await counts(app)
        assert await scan(app, monday) == 2  # the first-response and the stage clocks
        assert (await counts(app))[DUE_SOON] == 2


async def test_a_running_service_scans_in_its_background_loop(
    service_under_test: ServiceUnderTest, tmp_path: Path, fresh_clock: Any, api_for: Any
) -> None:
    # Outside tests (here: development), the lifespan runs the scan every few moments.
    background = {"environment": "development", "notify_scan_seconds": 0.05}
    async with replicas(service_under_test, tmp_path, fresh_clock, **background) as [app]:
        async with asgi_client(app) as client:
            await api_for(client).create_call(**RECENT_CALL)
        for _ in range(100):
            if OPENED in await counts(app):
                break
            await asyncio.sleep(0.05)
        assert await counts(app) == {OPENED: 1}


# --- delivery of the scan's events, and through an outage --------------------------------

SCAN_TYPES = [DUE_SOON, OVERDUE, OPENED, CLOSING, CLOSED]


async def test_the_scans_events_reach_a_signed_webhook_and_a_french_mailbox(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    mail_settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    receiver = WebhookReceiver().start()
    try:
        async with replicas(service_under_test, tmp_path, fresh_clock, **mail_settings) as [app]:
            async with asgi_client(app) as client:
                hook = await subscribe(
                    client, rwanda, webhook_url=receiver.url, event_types=SCAN_TYPES
                )
                receiver.secret = hook["secret"]
                mailbox = {"email": "focal@minict.gov.rw", "language": "fr"}
                await subscribe(client, rwanda, event_types=[OVERDUE], **mailbox)
                api = api_for(client)
                call = await api.create_call(**RECENT_CALL)
                request = await api.submit(rwanda, call["id"], title="Évaluation du Rwanda")
            for moment, written in SCANS:
                assert await scan(app, moment) == sum(written.values()), moment
                await drain(app, NOTIFICATIONS, SERVICE, start=moment)
    finally:
        receiver.stop()
    assert receiver.refused_signatures == 0
    got = [r.event["type"] for r in receiver.requests]
    assert got == [OPENED, DUE_SOON, DUE_SOON, OVERDUE, OVERDUE, CLOSING, CLOSED]
    assert len({r.webhook_id for r in receiver.requests}) == len(got)
    for received in receiver.requests:
        assert received.webhook_id == received.event["id"]
        assert received.event["source"] == "/request-intake"
        if received.event["type"] in (DUE_SOON, OVERDUE):
            assert received.event["subject"] == f"requests/{request['id']}"
            assert received.event["c2rcountry"] == "RWA"
        else:  # a call's: public, about no country
            assert received.event["subject"] == f"calls/{call['id']}"
            assert "c2rcountry" not in received.event
    closing = receiver.requests[5].event["data"]
    assert (closing["days_left"], closing["deadline"]) == (7, "2026-06-30T23:59:59+02:00")
    # The two overdue clocks (first response, submitted stage) by mail, named in French.
    assert sorted(mail["Subject"] for mail in inbox.messages) == [
        f"Échéance de l'étape « soumission » de la demande Évaluation du Rwanda (RWA) {OVER}",
        f"Échéance de première réponse de la demande Évaluation du Rwanda (RWA) {OVER}",
    ]
    assert {mail["To"] for mail in inbox.messages} == {"focal@minict.gov.rw"}


OVER = "dépassée depuis le 2026-06-18 00:00:00+02:00"


async def test_a_receiver_down_then_up_gets_every_event_once_in_order_per_subject(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    auth_headers: TokenFactory,
    fresh_clock: Any,
    api_for: Any,
    rwanda: dict[str, str],
    staff: dict[str, str],
) -> None:
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"], subject="ke")
    receiver = WebhookReceiver()  # its port reserved, nothing listening: connections refused
    d = NOTIFICATIONS.delivery
    async with replicas(service_under_test, tmp_path, fresh_clock) as [app]:
        sessionmaker = app.state.database.sessionmaker
        dispatcher = Dispatcher(NOTIFICATIONS, app.state.settings, SERVICE)
        try:
            async with asgi_client(app) as client:
                hook = await subscribe(
                    client, staff, webhook_url=receiver.url, event_types=ALL_TYPES
                )
                receiver.secret = hook["secret"]
                api = api_for(client)
                call = await api.create_call(**RECENT_CALL)
                ours = await api.submit(rwanda, call["id"])
                theirs = await api.submit(kenya, call["id"], country_iso3="KEN")
                assert await scan(app, fresh_clock()) == 1  # the call opened
                for attempt in range(3):  # the receiver is down: every attempt fails
                    if attempt:
                        fresh_clock.advance(seconds=30)
                    report = await dispatcher.run_once(sessionmaker, now=fresh_clock())
                    assert report.retried > 0
                    assert report.delivered == 0
                # More moves while it is down, due at once but behind their subjects' first.
                await ask_information(api, ours["id"])
                await api.walk(theirs["id"], "screening")
            async with sessionmaker() as session:
                failed = await session.scalar(select(func.max(d.attempts)))
                assert failed is not None
                assert failed >= 3
            receiver.start()
            # From the last failed pass on: the subjects' first deliveries come due again
            # seconds later (their backoff); the ones behind them, due already, wait.
            await drain(app, NOTIFICATIONS, SERVICE, start=fresh_clock())
        finally:
            await dispatcher.aclose()
            receiver.stop()
        e = NOTIFICATIONS.event
        async with sessionmaker() as session:
            rows = await session.execute(
                select(e.subject, e.id).join(d, d.event_id == e.id).order_by(d.id)
            )
            written = [(subject, str(event_id)) for subject, event_id in rows]
    assert receiver.refused_signatures == 0
    # Once each: as many requests as events, none repeated.
    assert sorted(r.webhook_id for r in receiver.requests) == sorted(i for _, i in written)
    subjects = {subject for subject, _ in written}
    assert subjects == {f"requests/{ours['id']}", f"requests/{theirs['id']}", f"calls/{call['id']}"}
    for subject in subjects:
        arrived = [r.webhook_id for r in receiver.requests if r.event["subject"] == subject]
        assert arrived == [i for s, i in written if s == subject], subject
    assert len(written) == 7  # 2 submitted, the call opened, 3 status changes, 1 question
