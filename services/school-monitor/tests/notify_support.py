"""What the notification tests share: the app on a database of the test's own with
webhooks to loopback allowed, subscriptions made through the API, events written and
committed, and the dispatcher run until nothing is due."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from c2r_common.auth import mint_token
from c2r_common.notifications.catalogue import SchoolOffline, SchoolOnline
from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.notifications.events import Event
from c2r_common.notifications.outbox import emit
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from school_monitor.notifications.models import NOTIFICATIONS

SUBSCRIPTIONS = "/v1/alerts/subscriptions"
SERVICE = "school-monitor"
ALL_TYPES = [
    "org.itu.c2r.school.offline",
    "org.itu.c2r.school.online",
    "org.itu.c2r.school.below_benchmark",
    "org.itu.c2r.school.recovered",
    "org.itu.c2r.area.outage",
    "org.itu.c2r.area.recovered",
    "org.itu.c2r.agent.silent",
]


def bearer(
    *scopes: str, countries: list[str] | None = None, subject: str = "ops"
) -> dict[str, str]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, subject=subject, scopes=scopes, countries=countries)
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer("admin", subject="notify-admin")


@asynccontextmanager
async def notifying_app(
    service_under_test: ServiceUnderTest, folder: Path, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = {
        "notify_allow_private_urls": True,
        "notify_backoff_base_seconds": 1.0,
        "notify_backoff_max_seconds": 8.0,
        "notify_webhook_timeout_seconds": 5.0,
    } | overrides
    async with (
        app_on_fresh_database(service_under_test, folder, **settings) as app,
        asgi_client(app) as client,
    ):
        yield app, client


async def subscribe(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(
        SUBSCRIPTIONS, json={"event_types": ALL_TYPES} | body, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def school_event(index: int, subject: int, online: bool, at: datetime) -> Event:
    """The `index`-th change of school number `subject` (alternately offline and online)."""
    model = SchoolOnline if online else SchoolOffline
    data = model(
        school_id=uuid.UUID(int=subject + 1),
        giga_id=f"giga-{subject}",
        name=f"School {subject}",
        country_iso3="RWA",
        admin1="Kigali",
        changed_at=at + timedelta(seconds=index),
    )
    return Event.of(data, source="/school-monitor", time=at, key=str(index))


async def emit_committed(app: FastAPI, events: list[Event]) -> None:
    async with app.state.database.sessionmaker() as session:
        for event in events:
            assert await emit(session, event, NOTIFICATIONS)
        await session.commit()


def dispatcher_of(app: FastAPI) -> Dispatcher:
    return Dispatcher(NOTIFICATIONS, app.state.settings, SERVICE)


async def drain(
    app: FastAPI, dispatcher: Dispatcher, *, start: datetime, passes: int = 60
) -> datetime:
    """Runs passes, each a little later than the one before (past any backoff), until no
    delivery is pending; the moment of the last pass."""
    moment = start
    for _ in range(passes):
        await dispatcher.run_once(app.state.database.sessionmaker, now=moment)
        if await pending(app) == 0:
            return moment
        moment += timedelta(seconds=10)
    raise AssertionError(f"still {await pending(app)} deliveries pending")


async def pending(app: FastAPI) -> int:
    d = NOTIFICATIONS.delivery
    async with app.state.database.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(d).where(d.status.in_(("pending", "digest")))
            )
            or 0
        )


def now() -> datetime:
    return datetime.now(UTC)
