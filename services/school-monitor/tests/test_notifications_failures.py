"""Failing deliveries on real commits: a subscription failing N times in a row is paused
and its owner told by mail (a real SMTP server), after the pause's commit, a webhook's at
the address it was given; a delivery dead
past the maximum age, then redelivered by hand, reaches a real receiver once; the backlog
and paused gauges as /metrics shows them; the private-address check made again at
delivery."""

import email
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI
from notify_support import (
    ADMIN,
    SUBSCRIPTIONS,
    dispatcher_of,
    emit_committed,
    notifying_app,
    now,
    school_event,
    subscribe,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from webhook_receiver import WebhookReceiver, free_port

from c2r_common.db import Database
from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.testing import ServiceUnderTest
from school_monitor.notifications.models import NOTIFICATIONS

SERVICE = "school-monitor"


class PickyInbox:
    """Refuses (451) every notification mail and keeps the pause notices, noting the
    subscription's status as another session sees it when the notice arrives."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.notices: list[email.message.Message] = []
        self.status_seen: list[str] = []
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        if "was paused" not in str(message["Subject"]):
            self.refused += 1
            return "451 4.3.0 try again later"
        self.notices.append(message)
        database = Database(self.database_url)  # a second session, of its own engine
        try:
            s = NOTIFICATIONS.subscription
            async with database.sessionmaker() as db:
                self.status_seen += list((await db.scalars(select(s.status))).all())
        finally:
            await database.dispose()
        return "250 OK"


def gauge(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("service") == SERVICE:
                return float(sample.value)
    raise AssertionError(f"{name} not exported")


async def statuses(app: FastAPI) -> list[str]:
    d = NOTIFICATIONS.delivery
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(d.status).order_by(d.id))).all())


async def test_n_failures_in_a_row_pause_and_tell_the_owner_after_the_commit_and_gauges_show_it(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    port = free_port()
    smtp: Controller | None = None
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "notify_pause_after_failures": 3,
    }
    async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
        inbox = PickyInbox(app.state.settings.database_url)
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        try:
            paused = await subscribe(client, email="ops@example.org")
            await emit_committed(app, [school_event(i, i, False, now()) for i in range(3)])
            dispatcher = dispatcher_of(app)
            report = await dispatcher.run_once(app.state.database.sessionmaker)
            assert report.retried == 3
            receiver = WebhookReceiver()  # never started: its deliveries wait
            await subscribe(client, webhook_url=receiver.url)
            await emit_committed(app, [school_event(i, i, False, now()) for i in range(3, 5)])
            await dispatcher.refresh_gauges(
                app.state.database.sessionmaker, now() + timedelta(seconds=60)
            )
            await dispatcher.aclose()
            scraped = (await client.get("/metrics")).text
            shown = await client.get(f"{SUBSCRIPTIONS}/{paused['id']}", headers=ADMIN)
        finally:
            smtp.stop()
    assert inbox.refused == 3
    [notice] = inbox.notices
    assert notice["To"] == "ops@example.org"
    assert paused["id"] in str(notice["Subject"])
    assert inbox.status_seen == ["paused"]  # the pause was committed before the mail
    assert shown.json()["status"] == "paused"
    assert gauge(scraped, "c2r_notifications_subscriptions_paused") == 1
    # The paused subscription's 5 wait, not counted; the webhook's 2 are the backlog.
    assert gauge(scraped, "c2r_notifications_backlog") == 2
    assert 59 <= gauge(scraped, "c2r_notifications_backlog_oldest_age_seconds") <= 70
    assert gauge(scraped, "c2r_notifications_dead_deliveries") == 0


async def test_a_webhook_that_keeps_failing_is_paused_and_its_address_told(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    """A webhook subscription given an e-mail address too: the events go to the webhook
    only, and the address gets the pause notice, after the pause's commit."""
    port = free_port()
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "notify_pause_after_failures": 3,
    }
    async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
        inbox = PickyInbox(app.state.settings.database_url)
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        receiver = WebhookReceiver(status=500).start()
        try:
            subscription = await subscribe(
                client, webhook_url=receiver.url, email="integrations@example.org"
            )
            receiver.secret = subscription["secret"]
            await emit_committed(app, [school_event(i, i, False, now()) for i in range(3)])
            dispatcher = dispatcher_of(app)
            report = await dispatcher.run_once(app.state.database.sessionmaker)
            await dispatcher.aclose()
            shown = await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=ADMIN)
        finally:
            receiver.stop()
            smtp.stop()
    assert report.retried == 3
    assert len(receiver.requests) == 3  # each event tried at the webhook ...
    assert inbox.refused == 0  # ... and none mailed
    [notice] = inbox.notices
    assert notice["To"] == "integrations@example.org"
    assert subscription["id"] in str(notice["Subject"])
    assert inbox.status_seen == ["paused"]
    assert shown.json()["status"] == "paused"


async def test_dead_after_the_maximum_age_then_redelivered_by_hand_arrives_once(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver(status=500).start()
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            receiver.secret = subscription["secret"]
            event = school_event(0, 0, False, now())
            await emit_committed(app, [event])
            log = f"{SUBSCRIPTIONS}/{subscription['id']}/deliveries"
            [delivery] = (await client.get(log, headers=ADMIN)).json()["items"]
            again = f"{log}/{delivery['id']}/redeliver"
            refused = await client.post(again, headers=ADMIN)
            assert refused.status_code == 409, refused.text  # pending: maybe being sent
            dispatcher = dispatcher_of(app)
            late = now() + timedelta(hours=app.state.settings.notify_max_age_hours, minutes=1)
            report = await dispatcher.run_once(app.state.database.sessionmaker, now=late)
            assert (report.retried, report.delivered) == (0, 0)
            assert await statuses(app) == ["dead"]
            failed_before = len(receiver.requests)
            receiver.status = 204
            redelivered = await client.post(again, headers=ADMIN)
            assert redelivered.status_code == 200, redelivered.text
            for _ in range(3):  # more passes send nothing more
                await dispatcher.run_once(app.state.database.sessionmaker)
            await dispatcher.aclose()
            final = await statuses(app)
        finally:
            receiver.stop()
    assert failed_before == 1
    assert [r.webhook_id for r in receiver.requests[failed_before:]] == [str(event.id)]
    assert final == ["delivered"]


async def test_the_private_address_check_is_made_again_at_delivery(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver().start()
        try:
            # Accepted at subscribe time (private addresses allowed then), refused at
            # delivery by a dispatcher that refuses them: the check is made on each send.
            url = f"http://localhost:{receiver.port}/hooks/c2r"
            subscription = await subscribe(client, webhook_url=url)
            receiver.secret = subscription["secret"]
            await emit_committed(app, [school_event(0, 0, False, now())])
            strict = app.state.settings.model_copy(update={"notify_allow_private_urls": False})
            dispatcher = Dispatcher(NOTIFICATIONS, strict, SERVICE)
            report = await dispatcher.run_once(app.state.database.sessionmaker)
            await dispatcher.aclose()
            log = f"{SUBSCRIPTIONS}/{subscription['id']}/deliveries"
            [delivery] = (await client.get(log, headers=ADMIN)).json()["items"]
        finally:
            receiver.stop()
    assert report.dead == 1
    assert delivery["status"] == "dead"
    assert "non-public address" in delivery["last_error"]
    assert receiver.requests == []
