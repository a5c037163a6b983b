"""Webhook deliveries end to end on real commits: a real receiver on loopback verifying
the Standard Webhooks signatures, taken down and brought back; a dispatcher process
SIGKILLed mid-delivery; two dispatchers at once."""

import asyncio
import json
import signal
import sys
import textwrap
import threading
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from notify_support import (
    ADMIN,
    SUBSCRIPTIONS,
    dispatcher_of,
    drain,
    emit_committed,
    notifying_app,
    now,
    pending,
    school_event,
    subscribe,
)
from sqlalchemy import select
from webhook_receiver import WebhookReceiver

from c2r_common.db import Database
from c2r_common.notifications.events import from_cloudevent
from c2r_common.testing import ServiceUnderTest
from school_monitor.notifications.models import NOTIFICATIONS


async def test_receiver_down_then_up_gets_every_event_once_in_order_per_subject(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver()  # not started: connections are refused
        subscription = await subscribe(client, webhook_url=receiver.url)
        receiver.secret = subscription["secret"]
        assert subscription["secret"].startswith("whsec_")
        start = now()
        events = [school_event(i, i % 3, i % 2 == 1, start) for i in range(12)]
        await emit_committed(app, events)
        dispatcher = dispatcher_of(app)
        try:
            moment = now()  # after the commit: every delivery is due
            for _ in range(4):  # the receiver is down: every attempt fails, nothing is lost
                report = await dispatcher.run_once(app.state.database.sessionmaker, now=moment)
                assert report.delivered == 0
                moment += timedelta(seconds=20)
            assert await pending(app) == 12
            receiver.start()
            await drain(app, dispatcher, start=moment)
        finally:
            receiver.stop()
            await dispatcher.aclose()
        assert receiver.refused_signatures == 0
        assert sorted(receiver.unique) == sorted(str(e.id) for e in events)
        assert len(receiver.requests) == len(events)  # each sent once when it got through
        by_subject: dict[str, list[str]] = defaultdict(list)
        for received in receiver.requests:
            by_subject[received.event["subject"]].append(received.webhook_id)
        for subject, ids in by_subject.items():
            expected = [str(e.id) for e in events if e.subject == subject]
            assert ids == expected, subject
        log = await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}/deliveries", headers=ADMIN)
        items = log.json()["items"]
        assert {i["status"] for i in items} == {"delivered"}
        assert all(i["last_latency_ms"] is not None for i in items)
        # The first of each subject was tried at each pass while the receiver was down; the
        # later ones waited behind it (order per subject), and went on the first try.
        attempts = sorted(i["attempts"] for i in items)
        assert attempts[-3:] == [5, 5, 5]
        assert attempts[:-3] == [1] * 9


async def test_a_received_event_is_a_cloudevent_signed_with_the_rotated_secret(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver().start()
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            rotated = await client.post(
                f"{SUBSCRIPTIONS}/{subscription['id']}/rotate-secret", headers=ADMIN
            )
            assert rotated.status_code == 200, rotated.text
            assert rotated.json()["secret"] != subscription["secret"]
            receiver.secret = subscription["secret"]  # the old one: refused now
            event = school_event(0, 0, False, now())
            await emit_committed(app, [event])
            dispatcher = dispatcher_of(app)
            await dispatcher.run_once(app.state.database.sessionmaker)
            assert receiver.refused_signatures == 1
            assert receiver.requests == []
            receiver.secret = rotated.json()["secret"]
            await drain(app, dispatcher, start=now() + timedelta(seconds=5))
            await dispatcher.aclose()
        finally:
            receiver.stop()
        [received] = receiver.requests
        assert received.webhook_id == str(event.id)
        assert received.event["specversion"] == "1.0"
        assert received.event["type"] == "org.itu.c2r.school.offline"
        assert received.event["id"] == str(event.id)
        assert received.event["data"]["giga_id"] == "giga-0"
        parsed = from_cloudevent(_json_bytes(received.event))
        assert parsed.get_subject() == event.subject


def _json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


RELAY_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from c2r_common.db import Database
    from c2r_common.notifications.dispatcher import Dispatcher
    from c2r_common.settings import Environment
    from school_monitor.config import SchoolMonitorSettings
    from school_monitor.notifications.models import NOTIFICATIONS

    async def main() -> None:
        settings = SchoolMonitorSettings(
            database_url=sys.argv[1], environment=Environment.TEST,
            notify_allow_private_urls=True, notify_lease_seconds=2,
        )
        database = Database(settings.database_url)
        dispatcher = Dispatcher(NOTIFICATIONS, settings, "school-monitor")
        while True:
            await dispatcher.run_once(database.sessionmaker)
            await asyncio.sleep(0.05)

    asyncio.run(main())
    """
)


async def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_the_receiver_sees_no_duplicate(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path, notify_lease_seconds=2) as (app, client):
        hold = threading.Event()
        receiver = WebhookReceiver(hang=hold).start()
        relay: asyncio.subprocess.Process | None = None
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            receiver.secret = subscription["secret"]
            events = [school_event(i, i, False, now()) for i in range(5)]
            await emit_committed(app, events)
            relay = await asyncio.create_subprocess_exec(
                sys.executable, "-c", RELAY_SCRIPT, app.state.settings.database_url
            )
            # The first delivery reached the receiver, which holds its answer: the relay is
            # between send and mark. Killed there, for real.
            for _ in range(3000):
                if receiver.requests:
                    break
                await asyncio.sleep(0.02)
            assert receiver.requests, "the relay sent nothing"
            relay.send_signal(signal.SIGKILL)
            await relay.wait()
            hold.set()  # from now on the receiver answers at once
            assert await pending(app) == 5  # nothing was marked: nothing is lost
            dispatcher = dispatcher_of(app)
            await drain(app, dispatcher, start=now() + timedelta(seconds=3))  # past the lease
            await dispatcher.aclose()
        finally:
            if relay is not None and relay.returncode is None:
                relay.kill()
                await relay.wait()
            hold.set()
            receiver.stop()
        killed_id = receiver.requests[0].webhook_id
        ids = [r.webhook_id for r in receiver.requests]
        # At least once on the wire (the killed one again, with the same id), once each
        # past the receiver's dedupe on webhook-id.
        assert ids.count(killed_id) == 2
        assert sorted(receiver.unique) == sorted(str(e.id) for e in events)
        d = NOTIFICATIONS.delivery
        async with app.state.database.sessionmaker() as session:
            statuses = (await session.scalars(select(d.status))).all()
        assert statuses == ["delivered"] * 5


async def test_two_dispatchers_at_once_send_each_delivery_once(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver().start()
        second = Database(app.state.settings.database_url)  # another replica's engine
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            receiver.secret = subscription["secret"]
            events = [school_event(i, i, False, now()) for i in range(40)]
            await emit_committed(app, events)
            one, other = dispatcher_of(app), dispatcher_of(app)
            reports = await asyncio.gather(
                one.run_once(app.state.database.sessionmaker),
                other.run_once(second.sessionmaker),
            )
            await one.aclose()
            await other.aclose()
        finally:
            receiver.stop()
            await second.dispose()
        assert sum(r.delivered for r in reports) == 40
        ids = [r.webhook_id for r in receiver.requests]
        assert len(ids) == 40
        assert len(set(ids)) == 40
        assert await pending(app) == 0


async def test_a_lease_runs_from_its_claim_so_a_long_pass_leaves_no_delivery_to_another_replica(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    """A slow receiver makes a pass longer than a lease: each delivery's lease still covers
    its own send, so a second replica passing meanwhile takes none of them again."""
    lease, answer = 1.5, 1.0  # the pass: three sends of 1 s, so the third starts at 2 s
    settings = {"notify_lease_seconds": lease}
    async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
        receiver = WebhookReceiver(delay=answer).start()
        second = Database(app.state.settings.database_url)  # another replica's engine
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            receiver.secret = subscription["secret"]
            await emit_committed(app, [school_event(i, i, False, now()) for i in range(3)])
            one, other = dispatcher_of(app), dispatcher_of(app)
            long_pass = asyncio.create_task(one.run_once(app.state.database.sessionmaker))
            # The other replica passes while the third delivery is being sent: a lease taken
            # from the pass's start (0 s + 1.5 s) would have run out by then.
            await asyncio.sleep(2 * answer + 0.3)
            while not long_pass.done():
                await other.run_once(second.sessionmaker)
                await asyncio.sleep(0.1)
            report = await long_pass
            await one.aclose()
            await other.aclose()
        finally:
            receiver.stop()
            await second.dispose()
    assert report.delivered == 3
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == 3, ids
    assert len(set(ids)) == 3
