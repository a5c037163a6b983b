"""Every event type of each service's catalogue, end to end on real commits: one sample of
each written with the service's own emit, delivered to a real signed webhook receiver and a
real SMTP server (aiosmtpd) across an outage of both, then a relay process SIGKILLed while
the receiver holds a request, then a drain: each event reaches the receiver once past its
dedupe on webhook-id (the killed one twice on the wire, under the same id), each its own
mail once with its title in the subscription's language, and nothing is left pending or
dead, as read from another engine."""

import asyncio
import json
import signal
import sys
import textwrap
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin

import httpx
from aiosmtpd.controller import Controller
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from webhook_receiver import WebhookReceiver, free_port

import assessment_api.notifications.service as assessment_notifications
import request_intake.notifications.service as intake_notifications
import school_monitor.notifications.service as school_notifications
from assessment_api.notifications.models import NOTIFICATIONS as ASSESSMENT_MODELS
from c2r_common.auth import mint_token
from c2r_common.db import Database
from c2r_common.notifications.catalogue import EVENT_TYPES as CATALOGUE
from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.notifications.events import Event, EventData, event_id
from c2r_common.notifications.models import NotificationModels
from c2r_common.notifications.outbox import emit
from c2r_common.notifications.testing import Inbox, drain
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from request_intake.notifications.models import NOTIFICATIONS as INTAKE_MODELS
from school_monitor.notifications.models import NOTIFICATIONS as SCHOOL_MODELS

Write = Callable[[AsyncSession, EventData, datetime, str], Awaitable[bool]]


async def _school_emit(db: AsyncSession, data: EventData, at: datetime, key: str) -> bool:
    # school-monitor has no notify of its own: its detector emits through the outbox so.
    event = Event.of(data, source=school_notifications.SOURCE, time=at, key=key)
    return await emit(db, event, SCHOOL_MODELS, at)


def _notify(service_notify: Any) -> Write:
    async def write(db: AsyncSession, data: EventData, at: datetime, key: str) -> bool:
        return bool(await service_notify(db, data, at=at, key=key))

    return write


@dataclass(frozen=True)
class Catalogue:
    subscriptions: str
    event_types: tuple[str, ...]
    models: NotificationModels
    write: Write
    language: str  # of the e-mail subscription
    settings_class: str  # module:class, for the relay process
    models_module: str


CATALOGUES = {
    "school-monitor": Catalogue(
        "/v1/alerts/subscriptions",
        school_notifications.EVENT_TYPES,
        SCHOOL_MODELS,
        _school_emit,
        "fr",
        "school_monitor.config:SchoolMonitorSettings",
        "school_monitor.notifications.models",
    ),
    "assessment-api": Catalogue(
        "/v1/assessments/subscriptions",
        assessment_notifications.EVENT_TYPES,
        ASSESSMENT_MODELS,
        _notify(assessment_notifications.notify),
        "en",
        "assessment_api.config:AssessmentSettings",
        "assessment_api.notifications.models",
    ),
    "request-intake": Catalogue(
        "/v1/requests/subscriptions",
        intake_notifications.EVENT_TYPES,
        INTAKE_MODELS,
        _notify(intake_notifications.notify),
        "fr",
        "request_intake.config:IntakeSettings",
        "request_intake.notifications.models",
    ),
}
ADMIN = {
    "Authorization": "Bearer "
    + mint_token(DEVELOPMENT_JWT_SECRET, subject="catalogue", scopes=("admin",))
}
MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def sample(model: type[BaseModel], n: int) -> Any:
    """A valid instance of `model` from its fields' types (one value per type; countries
    are RWA, ids fresh, so that each event has a subject of its own)."""
    values = {name: _value(field.annotation, name, n) for name, field in model.model_fields.items()}
    return model(**values)


def _value(annotation: Any, name: str, n: int) -> Any:
    args = get_args(annotation)
    if get_origin(annotation) is list:
        return [_value(args[0], name, n)]
    if isinstance(annotation, UnionType):  # X | None: an X
        return _value(next(a for a in args if a is not type(None)), name, n)
    simple: dict[Any, Callable[[], Any]] = {
        uuid.UUID: uuid.uuid4,
        datetime: lambda: MOMENT + timedelta(hours=n),
        bool: lambda: False,
        int: lambda: n + 2,
        float: lambda: 12.5,
        str: lambda: "RWA" if "countr" in name else f"{name} {n}",
    }
    if annotation in simple:
        return simple[annotation]()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sample(annotation, n)
    raise TypeError(f"no sample for {name}: {annotation}")


# A dispatcher on its own, in a process the test kills.
RELAY_SCRIPT = textwrap.dedent(
    """
    import asyncio, importlib, json, sys
    from c2r_common.db import Database
    from c2r_common.notifications.dispatcher import Dispatcher
    from c2r_common.settings import Environment

    async def main() -> None:
        service, url, settings_class, models_module, overrides = sys.argv[1:]
        module, name = settings_class.split(":")
        settings = getattr(importlib.import_module(module), name)(
            database_url=url, environment=Environment.TEST, **json.loads(overrides)
        )
        models = importlib.import_module(models_module).NOTIFICATIONS
        database = Database(settings.database_url)
        dispatcher = Dispatcher(models, settings, service)
        while True:
            await dispatcher.run_once(database.sessionmaker)
            await asyncio.sleep(0.05)

    asyncio.run(main())
    """
)


async def subscribe(client: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def statuses(url: str, models: NotificationModels, ids: list[str]) -> list[str]:
    """The subscriptions' deliveries' statuses, read through an engine of its own."""
    d = models.delivery
    other = Database(url)
    try:
        async with other.sessionmaker() as session:
            wanted = [uuid.UUID(i) for i in ids]
            rows = await session.scalars(select(d.status).where(d.subscription_id.in_(wanted)))
            return [str(status) for status in rows]
    finally:
        await other.dispose()


async def relay_killed_mid_delivery(
    service: str,
    url: str,
    catalogue: Catalogue,
    overrides: dict[str, Any],
    receiver: WebhookReceiver,
) -> None:
    """Starts a relay process and SIGKILLs it once the receiver holds its first request."""
    relay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RELAY_SCRIPT,
        service,
        url,
        catalogue.settings_class,
        catalogue.models_module,
        json.dumps(overrides),
    )
    try:
        for _ in range(1500):
            if receiver.requests or relay.returncode is not None:
                break
            await asyncio.sleep(0.02)
        assert receiver.requests, "the relay sent nothing"
        relay.send_signal(signal.SIGKILL)
        await relay.wait()
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()


async def test_every_event_reaches_a_webhook_and_a_mailbox_once_across_an_outage_and_a_kill(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    service = service_under_test.name
    catalogue = CATALOGUES[service]
    smtp_port, hold = free_port(), threading.Event()
    receiver = WebhookReceiver(hang=hold)  # not started: connections are refused
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)  # started later
    overrides: dict[str, Any] = {
        "notify_allow_private_urls": True,
        "notify_backoff_base_seconds": 1.0,
        "notify_backoff_max_seconds": 8.0,
        "notify_webhook_timeout_seconds": 5.0,
        "notify_lease_seconds": 2.0,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "none",
    }
    async with (
        app_on_fresh_database(service_under_test, tmp_path, **overrides) as app,
        asgi_client(app) as client,
    ):
        url = app.state.settings.database_url
        types = list(catalogue.event_types)
        hook = await subscribe(
            client, catalogue.subscriptions, event_types=types, webhook_url=receiver.url
        )
        receiver.secret = hook["secret"]
        assert receiver.secret.startswith("whsec_")
        mail = await subscribe(
            client,
            catalogue.subscriptions,
            event_types=types,
            email="ops@example.org",
            language=catalogue.language,
        )
        ids = await write_samples(app, catalogue)
        try:
            # Both down: every delivery is tried once and fails, none is lost.
            await drain_once_down(app, catalogue, service, len(ids))
            receiver.start()
            smtp.start()
            await relay_killed_mid_delivery(service, url, catalogue, overrides, receiver)
            hold.set()  # from now on the receiver answers at once
            await drain(
                app, catalogue.models, service, start=datetime.now(UTC) + timedelta(seconds=3)
            )
        finally:
            hold.set()
            receiver.stop()
            if smtp.loop.is_running():
                smtp.stop()
        remaining = await statuses(url, catalogue.models, [hook["id"], mail["id"]])
    assert sorted(remaining) == ["delivered"] * (2 * len(ids))
    assert_webhooks_once(receiver, ids)
    assert_mails_once(inbox, ids, catalogue.language)


def assert_webhooks_once(receiver: WebhookReceiver, ids: dict[str, EventData]) -> None:
    assert receiver.refused_signatures == 0  # every request carried a valid signature
    wire = [r.webhook_id for r in receiver.requests]
    killed = wire[0]
    assert wire.count(killed) == 2  # the killed one again, with its webhook-id
    assert len(wire) == len(ids) + 1
    assert sorted(receiver.unique) == sorted(ids)
    for webhook_id, received in receiver.unique.items():
        assert received.event["id"] == webhook_id
        assert received.event["type"] == ids[webhook_id].event_type
        assert received.event["data"] == ids[webhook_id].model_dump(mode="json")


def assert_mails_once(inbox: Inbox, ids: dict[str, EventData], language: str) -> None:
    mails = [m for m in inbox.messages if m["To"] == "ops@example.org"]
    assert len(mails) == len(inbox.messages)
    # A subject longer than a header line is folded right after "Subject:" by the stdlib;
    # the unfolded value keeps that space, which mail clients trim.
    subjects = sorted(str(m["Subject"]).strip() for m in mails)
    assert subjects == sorted(d.title(language) for d in ids.values())
    assert len({m["Message-ID"] for m in mails}) == len(ids)


async def write_samples(app: Any, catalogue: Catalogue) -> dict[str, EventData]:
    """One sample of each of the service's event types, each written with the service's
    emit in a transaction of its own, committed; the samples by event id."""
    samples = [sample(CATALOGUE[t], n) for n, t in enumerate(catalogue.event_types)]
    assert [s.event_type for s in samples] == list(catalogue.event_types)
    at = datetime.now(UTC)
    for n, data in enumerate(samples):
        async with app.state.database.sessionmaker() as session:
            assert await catalogue.write(session, data, at, f"change-{n}")
            await session.commit()
    return {
        str(event_id(d.event_type, d.subject(), f"change-{n}")): d for n, d in enumerate(samples)
    }


async def drain_once_down(app: Any, catalogue: Catalogue, service: str, count: int) -> None:
    """One dispatcher pass with the receiver and the SMTP server down: nothing delivered,
    every delivery (one webhook, one mail per event) pending again, after one attempt."""
    dispatcher = Dispatcher(catalogue.models, app.state.settings, service)
    try:
        report = await dispatcher.run_once(app.state.database.sessionmaker)
    finally:
        await dispatcher.aclose()
    assert report.delivered == 0
    d = catalogue.models.delivery
    async with app.state.database.sessionmaker() as session:
        rows = (await session.execute(select(d.status, d.attempts))).all()
    assert sorted((str(s), a) for s, a in rows) == [("pending", 1)] * (2 * count)
