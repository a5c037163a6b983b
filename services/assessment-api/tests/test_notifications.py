"""The assessments' events through the notifications outbox: the subscriptions API under
/v1/assessments/subscriptions; each lifecycle event delivered once to a real receiver that
verifies its signature; an event committed with its change, and never without it."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import func, select
from webhook_receiver import WebhookReceiver, free_port

from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus, TransitionIn
from assessment_api.background import SERVICE
from assessment_api.notifications.models import NOTIFICATIONS
from assessment_api.seed import seed_reference
from c2r_common.auth import Principal, Scope
from c2r_common.notifications.testing import Inbox, drain
from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client

SUBSCRIPTIONS = "/v1/assessments/subscriptions"
ASSESSMENT_TYPES = [
    "org.itu.c2r.assessment.completed",
    "org.itu.c2r.assessment.accepted",
    "org.itu.c2r.assessment.published",
    "org.itu.c2r.assessment.translated",
]
ASSESSOR = Principal(subject="assessor", scopes=frozenset({Scope.ADMIN}))


@asynccontextmanager
async def notifying_app(
    service_under_test: ServiceUnderTest, folder: Path, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on a database of its own (every commit real), seeded, webhooks to loopback
    allowed."""
    async with (
        app_on_fresh_database(
            service_under_test,
            folder,
            notify_allow_private_urls=True,
            notify_backoff_base_seconds=1.0,
            notify_webhook_timeout_seconds=5.0,
            **overrides,
        ) as app,
        asgi_client(app) as client,
    ):
        async with app.state.database.sessionmaker() as session:
            await seed_reference(session)
            await session.commit()
        yield app, client


async def open_assessment(
    client: httpx.AsyncClient, headers: dict[str, str], country: str, values: dict[str, float]
) -> str:
    created = await client.post(
        "/v1/assessments", json={"country_iso3": country, "period": "2026"}, headers=headers
    )
    assert created.status_code == 201, created.text
    entries = [
        {"code": code, "value": value, "year": 2025, "source": "test"}
        for code, value in values.items()
    ]
    entered = await client.post(
        f"/v1/assessments/{created.json()['id']}/indicators",
        json={"values": entries},
        headers=headers,
    )
    assert entered.status_code == 200, entered.text
    return str(created.json()["id"])


async def move(
    client: httpx.AsyncClient, headers: dict[str, str], assessment_id: str, *statuses: str
) -> None:
    for status in statuses:
        response = await client.post(
            f"/v1/assessments/{assessment_id}/transitions", json={"to": status}, headers=headers
        )
        assert response.status_code == 200, response.text


async def counts(app: FastAPI) -> tuple[int, int]:
    """(events, deliveries), read from a session of its own: what is committed."""
    async with app.state.database.sessionmaker() as session:
        events = await session.scalar(select(func.count()).select_from(NOTIFICATIONS.event))
        deliveries = await session.scalar(select(func.count()).select_from(NOTIFICATIONS.delivery))
    return int(events or 0), int(deliveries or 0)


async def test_the_subscriptions_api_is_mounted_beside_the_assessments(
    client: httpx.AsyncClient, auth_headers: TokenFactory, app: FastAPI
) -> None:
    reader = auth_headers("assessments:read", countries=["RWA"], subject="focal-rwa")
    listed = await client.get(SUBSCRIPTIONS, headers=reader)
    assert listed.status_code == 200, listed.text  # not taken for an assessment id
    assert listed.json()["items"] == []
    # A mailbox: the suite's settings refuse webhooks to addresses that do not resolve.
    body = {"email": "focal@example.org", "countries": ["RWA"]}
    created = await client.post(
        SUBSCRIPTIONS, json=body | {"event_types": ASSESSMENT_TYPES}, headers=reader
    )
    assert created.status_code == 201, created.text
    assert created.json()["countries"] == ["RWA"]
    got = await client.get(f"{SUBSCRIPTIONS}/{created.json()['id']}", headers=reader)
    assert got.status_code == 200, got.text
    # Another service's events are not offered here, nor another country to a focal point.
    schools = await client.post(
        SUBSCRIPTIONS, json=body | {"event_types": ["org.itu.c2r.school.offline"]}, headers=reader
    )
    assert schools.status_code == 422, schools.text
    kenya = body | {"event_types": ASSESSMENT_TYPES, "countries": ["KEN"]}
    assert (await client.post(SUBSCRIPTIONS, json=kenya, headers=reader)).status_code == 403
    no_scope = await client.get(SUBSCRIPTIONS, headers=auth_headers("schools:read"))
    assert no_scope.status_code == 403
    paths = app.openapi()["paths"]
    assert paths[SUBSCRIPTIONS]["post"]["operationId"] == (
        "assessment_notifications_create_subscription"
    )
    assert paths[f"{SUBSCRIPTIONS}/{{subscription_id}}/deliveries"]["get"]["operationId"] == (
        "assessment_notifications_list_deliveries"
    )


async def test_each_event_of_an_assessment_reaches_the_webhook_once_signed(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    auth_headers: TokenFactory,
    required_values: dict[str, float],
) -> None:
    admin = auth_headers("admin")
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver().start()
        try:
            focal = auth_headers("assessments:read", countries=["RWA"], subject="focal-rwa")
            subscription = await client.post(
                SUBSCRIPTIONS,
                json={"webhook_url": receiver.url, "event_types": ASSESSMENT_TYPES},
                headers=focal,
            )
            assert subscription.status_code == 201, subscription.text
            receiver.secret = subscription.json()["secret"]
            rwanda = await open_assessment(client, admin, "RWA", required_values)
            kenya = await open_assessment(client, admin, "KEN", required_values)
            await move(client, admin, kenya, "data_collection", "validation", "completed")
            await move(client, admin, rwanda, "data_collection", "validation", "completed")
            # Sent back and completed again: a second completion, a second event.
            await move(client, admin, rwanda, "validation", "completed")
            await move(client, admin, rwanda, "accepted_by_country", "published")
            translation = f"/v1/assessments/{rwanda}/translations/fr"
            for status in ("in_progress", "completed", "completed"):  # finished once
                put = await client.put(translation, json={"status": status}, headers=admin)
                assert put.status_code == 200, put.text
            await drain(app, NOTIFICATIONS, SERVICE)
        finally:
            receiver.stop()
        assert receiver.refused_signatures == 0
        # The focal point of Rwanda hears of Rwanda only, each event once.
        assert [r.event["type"] for r in receiver.requests] == [
            "org.itu.c2r.assessment.completed",
            "org.itu.c2r.assessment.completed",
            "org.itu.c2r.assessment.accepted",
            "org.itu.c2r.assessment.published",
            "org.itu.c2r.assessment.translated",
        ]
        assert len({r.webhook_id for r in receiver.requests}) == 5
        for received in receiver.requests:
            assert received.webhook_id == received.event["id"]
            assert received.event["source"] == "/assessment-api"
            assert received.event["subject"] == f"assessments/{rwanda}"
            assert received.event["c2rcountry"] == "RWA"
            assert received.event["data"]["country_iso3"] == "RWA"
        translated = receiver.requests[-1].event["data"]
        assert translated["language"] == "fr"
        # The Kenyan completion is in the outbox, for whoever subscribes to Kenya.
        assert await counts(app) == (6, 5)
        log = await client.get(
            f"{SUBSCRIPTIONS}/{subscription.json()['id']}/deliveries", headers=focal
        )
        assert {i["status"] for i in log.json()["items"]} == {"delivered"}


async def test_an_event_is_committed_with_its_transition_and_never_without_it(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    auth_headers: TokenFactory,
    required_values: dict[str, float],
) -> None:
    admin = auth_headers("admin")
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        subscribed = await client.post(
            SUBSCRIPTIONS,
            json={"webhook_url": "http://127.0.0.1:9/hooks", "event_types": ASSESSMENT_TYPES},
            headers=admin,
        )
        assert subscribed.status_code == 201, subscribed.text
        missing = dict(list(required_values.items())[1:])
        assessment_id = await open_assessment(client, admin, "RWA", missing)
        await move(client, admin, assessment_id, "data_collection", "validation")
        # Refused moves: a required indicator missing, a status not reachable from here.
        for status in ("completed", "published"):
            refused = await client.post(
                f"/v1/assessments/{assessment_id}/transitions",
                json={"to": status},
                headers=admin,
            )
            assert refused.status_code == 409, refused.text
        assert await counts(app) == (0, 0)

        sessionmaker = app.state.database.sessionmaker
        async with sessionmaker() as session:
            assessment = await session.get(Assessment, uuid.UUID(assessment_id))
            assert assessment is not None
            moved = TransitionIn(to=AssessmentStatus.COMPLETED)
            await assessments.transition(session, assessment, moved, ASSESSOR)
            assert await counts(app) == (0, 0)  # written, not committed: unseen elsewhere
            await session.rollback()
        assert await counts(app) == (0, 0)

        async with sessionmaker() as session:
            assessment = await session.get(Assessment, uuid.UUID(assessment_id))
            assert assessment is not None
            assert assessment.status == AssessmentStatus.VALIDATION
            await assessments.transition(session, assessment, moved, ASSESSOR)
            await session.commit()
        assert await counts(app) == (1, 1)  # the event and its delivery, with the move
        async with sessionmaker() as session:
            [event] = list(await session.scalars(select(NOTIFICATIONS.event)))
        assert event.type == "org.itu.c2r.assessment.completed"
        assert event.country_iso3 == "RWA"
        assert event.data["revision"] == assessment.revision


async def test_a_focal_point_is_mailed_the_acceptance_in_french(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    auth_headers: TokenFactory,
    required_values: dict[str, float],
) -> None:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    admin = auth_headers("admin")
    try:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
            focal = auth_headers("assessments:read", countries=["RWA"], subject="focal-rwa")
            subscribed = await client.post(
                SUBSCRIPTIONS,
                json={
                    "email": "focal@example.org",
                    "language": "fr",
                    "event_types": ["org.itu.c2r.assessment.accepted"],
                },
                headers=focal,
            )
            assert subscribed.status_code == 201, subscribed.text
            rwanda = await open_assessment(client, admin, "RWA", required_values)
            steps = ("data_collection", "validation", "completed", "accepted_by_country")
            await move(client, admin, rwanda, *steps)
            await drain(app, NOTIFICATIONS, SERVICE)
    finally:
        smtp.stop()
    [mail] = inbox.messages
    assert mail["To"] == "focal@example.org"
    assert mail["Subject"] == "Évaluation Rwanda 2026 (RWA, 2026) acceptée par le pays"
