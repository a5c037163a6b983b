"""Service-to-service deliveries through the common dispatcher, on real commits of the
selected database and a real HTTP receiver: the stable Idempotency-Key, the statuses that
are retried and those refused for good, the sender's own backoff (never dead for its age,
never paused), the hook that commits with the mark, the built-in subscription hidden from
the public subscriptions API, and the lane of its own that no hanging webhook holds up."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import String, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.auth import Principal
from c2r_common.client import ServiceClient
from c2r_common.db import Database
from c2r_common.notifications import subscriptions
from c2r_common.notifications.dispatcher import Dispatcher, Lane, dispatch_forever
from c2r_common.notifications.events import Event
from c2r_common.notifications.models import DeliveryStatus, SubscriptionStatus, notification_models
from c2r_common.notifications.outbox import emit
from c2r_common.notifications.secrets import new_secret, seal
from c2r_common.notifications.service_sender import (
    RetryPolicy,
    ServiceSender,
    classify,
    service_owner,
)
from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.notifications.webhooks import SendResult
from c2r_common.pagination import PageParams
from c2r_common.problems import NotFound
from c2r_common.settings import Environment

PATH = "/v1/things"
EVENT_TYPE = "org.itu.c2r.test.thing_requested"
HOOK = "/hooks/things"
WEBHOOK_EVENT_TYPE = "org.itu.c2r.test.thing_changed"
OWNER = service_owner("thing-api")
BUILT_IN = uuid.UUID(int=0xB0117)
START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


class Base(DeclarativeBase):
    pass


MODELS = notification_models(Base)


class Effect(Base):
    """What a sender's hook writes: it must commit with the mark, or not at all."""

    __tablename__ = "service_sender_effects"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    result: Mapped[str] = mapped_column(String(100))


class RecordingSender(ServiceSender):
    def __init__(self, client: ServiceClient, **kwargs: Any) -> None:
        super().__init__(client, PATH, **kwargs)
        self.outcomes: list[str] = []
        self.fail_hook = False

    async def on_delivered(self, session: AsyncSession, event: Event, answer: SendResult) -> None:
        session.add(Effect(event_id=event.id, result=str(answer.status_code)))
        await session.flush()
        if self.fail_hook:
            raise RuntimeError("the hook's database write failed")

    def observe(self, event: Event, outcome: str) -> None:
        self.outcomes.append(outcome)


@dataclass
class World:
    database: Database
    settings: NotifyingSettings


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    database = Database(db_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        # claim_write_lock's no-op write on SQLite needs the table.
        await connection.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32))")
        )
    settings = NotifyingSettings(
        environment=Environment.TEST,
        notify_pause_after_failures=2,
        notify_backoff_base_seconds=1.0,
        notify_backoff_max_seconds=8.0,
        notify_max_age_hours=1.0,
    )
    try:
        async with database.sessionmaker() as session:
            session.add(built_in_subscription())
            await session.commit()
        yield World(database, settings)
    finally:
        async with database.sessionmaker() as session:
            for model in (Effect, MODELS.delivery, MODELS.event, MODELS.subscription):
                await session.execute(delete(model))
            await session.commit()
        await database.dispose()


def built_in_subscription() -> Any:
    return MODELS.subscription(
        id=BUILT_IN,
        owner=OWNER,
        owner_countries=None,
        webhook_url=None,
        email=None,
        language="en",
        event_types=[EVENT_TYPE],
        countries=None,
        digest=False,
        secret=None,
        status=SubscriptionStatus.ACTIVE,
        consecutive_failures=0,
    )


def client_for(url: str) -> ServiceClient:
    return ServiceClient(url, token_provider=lambda: "peer-token", timeout_seconds=2.0, retries=0)


def dispatcher(world: World, sender: ServiceSender | None) -> Dispatcher:
    senders = {OWNER: sender} if sender is not None else None
    return Dispatcher(MODELS, world.settings, "test", service_senders=senders)


async def emit_committed(world: World, n: int = 1, event_type: str = EVENT_TYPE) -> Event:
    event = Event(
        id=uuid.uuid4(),
        type=event_type,
        source="/test",
        subject=f"things/{n}",
        time=START,
        country_iso3="RWA",
        data={"thing": n, "country_iso3": "RWA"},
    )
    async with world.database.sessionmaker() as session:
        assert await emit(session, event, MODELS, START)
        await session.commit()
    return event


async def delivery_of(world: World, event: Event) -> Any:
    """The delivery as committed, read in a session of its own."""
    async with world.database.sessionmaker() as session:
        d = MODELS.delivery
        return await session.scalar(select(d).where(d.event_id == event.id))


async def effects(world: World) -> list[tuple[uuid.UUID, str]]:
    async with world.database.sessionmaker() as session:
        return [(e.event_id, e.result) for e in await session.scalars(select(Effect))]


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "test", **labels})


async def test_a_built_in_delivery_is_posted_with_a_stable_key_and_its_hook_commits_with_the_mark(
    world: World, scripted_server: Any
) -> None:
    scripted_server.script(PATH, [503, 201])
    sender = RecordingSender(client_for(scripted_server.url))
    event = await emit_committed(world)
    running = dispatcher(world, sender)
    try:
        assert (await running.run_once(world.database.sessionmaker, START)).retried == 1
        assert await effects(world) == []  # no effect before a 2xx
        later = START + timedelta(seconds=2)
        assert (await running.run_once(world.database.sessionmaker, later)).delivered == 1
    finally:
        await running.aclose()
    sent = scripted_server.requests_to(PATH)
    assert len(sent) == 2
    assert {r.headers["Idempotency-Key"] for r in sent} == {f"c2r-outbox-{event.id}"}
    assert {r.headers["Authorization"] for r in sent} == {"Bearer peer-token"}
    assert httpx.Response(200, content=sent[0].body).json() == event.data
    delivery = await delivery_of(world, event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 201)
    assert await effects(world) == [(event.id, "201")]
    assert sender.outcomes == ["retry", "delivered"]


async def test_a_hook_that_fails_rolls_the_mark_back_and_the_same_key_is_sent_after_the_lease(
    world: World, scripted_server: Any
) -> None:
    sender = RecordingSender(client_for(scripted_server.url))
    sender.fail_hook = True
    event = await emit_committed(world)
    running = dispatcher(world, sender)
    try:
        with pytest.raises(RuntimeError):
            await running.run_once(world.database.sessionmaker, START)
        leased = await delivery_of(world, event)
        assert (leased.status, leased.attempts) == ("pending", 1)
        assert await effects(world) == []
        sender.fail_hook = False
        assert (await running.run_once(world.database.sessionmaker, START)).attempted == 0
        after_lease = START + timedelta(seconds=world.settings.notify_lease_seconds + 1)
        assert (await running.run_once(world.database.sessionmaker, after_lease)).delivered == 1
    finally:
        await running.aclose()
    keys = [r.headers["Idempotency-Key"] for r in scripted_server.requests_to(PATH)]
    assert keys == [f"c2r-outbox-{event.id}"] * 2
    assert await effects(world) == [(event.id, "200")]


async def test_retryable_answers_wait_with_the_senders_backoff_never_dead_nor_paused(
    world: World, scripted_server: Any
) -> None:
    retried = [503, 500, 401, 403, 408, 425, 429]
    scripted_server.script(PATH, [*retried, 200])
    policy = RetryPolicy(backoff_base_seconds=2.0, backoff_max_seconds=4.0, max_age_hours=None)
    sender = RecordingSender(client_for(scripted_server.url), retry=policy)
    event = await emit_committed(world)
    running = dispatcher(world, sender)
    moment = START
    try:
        for status in retried:
            assert (await running.run_once(world.database.sessionmaker, moment)).retried == 1
            # A hand-off waiting is no notification backlog (its service's gauges say it).
            assert sample("c2r_notifications_backlog") == 0
            delivery = await delivery_of(world, event)
            assert delivery.last_status_code == status
            wait = (delivery.next_attempt_at - moment).total_seconds()
            assert 1.0 <= wait <= 4.0  # the sender's policy, not the settings' 1..8 s
            # Past the settings' maximum age (1 h): still pending, the sender has none.
            moment += timedelta(hours=1)
        assert (await running.run_once(world.database.sessionmaker, moment)).delivered == 1
    finally:
        await running.aclose()
    async with world.database.sessionmaker() as session:
        built_in = await session.get(MODELS.subscription, BUILT_IN)
        assert built_in is not None
        # Seven failures with a pause after two: a built-in subscription is never paused.
        assert (built_in.status, built_in.consecutive_failures) == ("active", 0)
    assert sender.outcomes == ["retry"] * len(retried) + ["delivered"]
    assert (
        sample("c2r_notifications_deliveries_total", event_type=EVENT_TYPE, outcome="retry") is None
    )


async def test_a_receiver_that_is_down_is_retried_and_a_refusal_is_dead_until_redelivered(
    world: World, scripted_server: Any, closed_port: int
) -> None:
    down = RecordingSender(client_for(f"http://127.0.0.1:{closed_port}"))
    event = await emit_committed(world)
    running = dispatcher(world, down)
    try:
        assert (await running.run_once(world.database.sessionmaker, START)).retried == 1
    finally:
        await running.aclose()
    delivery = await delivery_of(world, event)
    assert delivery.status == "pending"
    assert "ConnectError" in delivery.last_error
    scripted_server.script(PATH, [422])
    up = RecordingSender(client_for(scripted_server.url))
    running = dispatcher(world, up)
    try:
        later = START + timedelta(hours=2)  # past the settings' maximum age, too
        assert (await running.run_once(world.database.sessionmaker, later)).dead == 1
        assert (await running.run_once(world.database.sessionmaker, later)).attempted == 0
    finally:
        await running.aclose()
    dead = await delivery_of(world, event)
    assert (dead.status, dead.last_status_code) == (DeliveryStatus.DEAD, 422)
    assert sample("c2r_notifications_dead_deliveries") == 0
    assert up.outcomes == ["dead"]


async def test_a_dispatcher_without_the_sender_leaves_built_in_deliveries_alone(
    world: World,
) -> None:
    event = await emit_committed(world)
    running = dispatcher(world, None)
    try:
        assert (await running.run_once(world.database.sessionmaker, START)).attempted == 0
    finally:
        await running.aclose()
    delivery = await delivery_of(world, event)
    assert (delivery.status, delivery.attempts) == ("pending", 0)


async def test_the_public_subscriptions_api_never_shows_a_built_in_subscription(
    world: World,
) -> None:
    admin = Principal(subject="root", scopes=frozenset({"admin"}))
    owner_like = Principal(subject=OWNER, scopes=frozenset({"admin"}))
    async with world.database.sessionmaker() as session:
        for principal in (admin, owner_like):
            listed, _ = await subscriptions.list_subscriptions(
                session, models=MODELS, principal=principal, page=PageParams(limit=50, cursor=None)
            )
            assert BUILT_IN not in {s.id for s in listed}
            with pytest.raises(NotFound):
                await subscriptions.visible_subscription(
                    session, models=MODELS, principal=principal, subscription_id=BUILT_IN
                )


def test_the_answers_are_classified_retry_done_or_refused_for_good() -> None:
    def answer(status: int, body: Any = None) -> SendResult:
        return classify(httpx.Response(status, json=body or {"detail": "why"}))

    assert answer(201).ok
    assert answer(200).ok
    for later in (401, 403, 408, 425, 429, 500, 502, 503, 504):
        outcome = answer(later)
        assert (outcome.ok, outcome.permanent) == (False, False), later
    in_flight = {"type": "https://c2r.itu.int/problems/idempotency-key-in-flight"}
    assert not answer(409, in_flight).permanent
    for never in (400, 404, 409, 410, 413, 422):
        assert answer(never).permanent, never
    assert answer(422, {"detail": "period must be a year"}).error == (
        "HTTP 422: period must be a year"
    )


# --- the built-in subscriptions' lane ---------------------------------------------------


async def subscribe_webhook(world: World, url: str) -> uuid.UUID:
    subscription = MODELS.subscription(
        id=uuid.uuid4(),
        owner="rw-focal",
        owner_countries=None,
        webhook_url=url,
        email=None,
        language="en",
        event_types=[WEBHOOK_EVENT_TYPE],
        countries=None,
        digest=False,
        secret=seal(new_secret(), world.settings),
        status=SubscriptionStatus.ACTIVE,
        consecutive_failures=0,
    )
    async with world.database.sessionmaker() as session:
        session.add(subscription)
        await session.commit()
    return subscription.id  # type: ignore[no-any-return]


async def pending_of(world: World, subscription_id: uuid.UUID) -> int:
    async with world.database.sessionmaker() as session:
        d = MODELS.delivery
        rows = await session.scalars(
            select(d.id).where(d.subscription_id == subscription_id, d.status == "pending")
        )
        return len(rows.all())


async def until(condition: Any, seconds: float) -> float:
    """Polls `condition()` (async) until true; how long it took. Fails past `seconds`."""
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < seconds, "not within the time allowed"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_each_lane_takes_its_own_deliveries_only(world: World, scripted_server: Any) -> None:
    world.settings = world.settings.model_copy(update={"notify_allow_private_urls": True})
    hooked = await subscribe_webhook(world, scripted_server.url + HOOK)
    built_in = await emit_committed(world, 1)
    await emit_committed(world, 2, WEBHOOK_EVENT_TYPE)
    sender = RecordingSender(client_for(scripted_server.url))
    running = dispatcher(world, sender)
    try:
        sessions = world.database.sessionmaker
        assert (await running.run_once(sessions, START, Lane.NOTIFICATIONS)).delivered == 1
        assert (await delivery_of(world, built_in)).attempts == 0
        assert (await running.run_once(sessions, START, Lane.NOTIFICATIONS)).attempted == 0
        assert (await running.run_once(sessions, START, Lane.SERVICES)).delivered == 1
        assert (await running.run_once(sessions, START, Lane.SERVICES)).attempted == 0
    finally:
        await running.aclose()
    assert [r.path for r in scripted_server.seen] == [HOOK, PATH]
    assert await pending_of(world, hooked) == 0
    assert sender.outcomes == ["delivered"]


async def test_a_built_in_delivery_waits_behind_no_webhook_receiver_that_hangs(
    world: World, scripted_server: Any
) -> None:
    """The background loops on real commits: a receiver holds every webhook until its
    time limit, with a backlog that one pass in id order would take a minute to get
    through; a built-in delivery written after them goes out within one interval."""
    interval, time_limit, backlog = 0.5, 4.0, 15
    world.settings = world.settings.model_copy(
        update={
            "notify_relay_interval_seconds": interval,
            "notify_webhook_timeout_seconds": time_limit,
            "notify_allow_private_urls": True,
            "notify_pause_after_failures": 1000,  # the backlog keeps its receiver
        }
    )
    scripted_server.hang.add(HOOK)
    hooked = await subscribe_webhook(world, scripted_server.url + HOOK)
    for n in range(backlog):
        await emit_committed(world, n, WEBHOOK_EVENT_TYPE)
    running = dispatcher(world, RecordingSender(client_for(scripted_server.url)))
    loops = asyncio.create_task(dispatch_forever(running, world.database))
    try:

        async def hanging() -> bool:
            return scripted_server.attempts(HOOK) > 0

        await until(hanging, 10)  # the webhooks' lane is held by the receiver
        event = await emit_committed(world, backlog)

        async def handed_off() -> bool:
            return bool((await delivery_of(world, event)).status == "delivered")

        took = await until(handed_off, interval + time_limit)
        assert took < interval + 1.0  # one interval and the send, not one webhook's wait
        assert scripted_server.attempts(HOOK) <= 2
        assert await pending_of(world, hooked) == backlog
    finally:
        loops.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loops
        await running.aclose()
    assert await effects(world) == [(event.id, "200")]  # its hook committed with the mark
