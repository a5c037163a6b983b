"""E-mail notifications to a real SMTP server (aiosmtpd on loopback): one mail per event in
the subscriber's language, plain text and HTML, and a daily digest bundling the day's."""

import email
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from notify_support import (
    dispatcher_of,
    drain,
    emit_committed,
    notifying_app,
    now,
    school_event,
    subscribe,
)
from sqlalchemy import select
from webhook_receiver import free_port

from c2r_common.testing import ServiceUnderTest
from school_monitor.notifications.models import NOTIFICATIONS


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _parts(message: Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if not part.is_multipart()
    }


async def test_mails_in_french_and_one_daily_digest(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
            await subscribe(client, email="ops@example.org", language="fr")
            await subscribe(client, email="digest@example.org", digest=True)
            events = [school_event(i, i, False, now()) for i in range(3)]
            await emit_committed(app, events)
            dispatcher = dispatcher_of(app)
            await dispatcher.run_once(app.state.database.sessionmaker)
            single = [m for m in inbox.messages if m["To"] == "ops@example.org"]
            assert len(single) == 3
            assert all(m["Subject"].endswith("est hors ligne") for m in single)
            parts = _parts(single[0])
            assert "Ce qui s'est passé" in parts["text/plain"]
            assert '<html lang="fr">' in parts["text/html"]
            assert [m for m in inbox.messages if m["To"] == "digest@example.org"] == []
            moment = now().replace(hour=7) + timedelta(days=1)
            assert await dispatcher.run_digests(app.state.database.sessionmaker, now=moment) == 1
            assert await dispatcher.run_digests(app.state.database.sessionmaker, now=moment) == 0
            await drain(app, dispatcher, start=moment)
            await dispatcher.aclose()
        [digest] = [m for m in inbox.messages if m["To"] == "digest@example.org"]
        assert digest["Subject"] == "Connect2Recover: 3 notifications"
        text = _parts(digest)["text/plain"]
        assert all(f"School {i} (RWA) went offline" in text for i in range(3))
    finally:
        smtp.stop()


class RefusingInbox(Inbox):
    """Answers 451 to the first `refusals` mails, then keeps them."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


async def test_a_failed_digest_waits_its_backoff_is_sent_once_then_and_dies_past_the_max_age(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    inbox, port = RefusingInbox(refusals=1), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        async with notifying_app(service_under_test, tmp_path, **settings) as (app, client):
            await subscribe(client, email="digest@example.org", digest=True)
            await emit_committed(app, [school_event(i, i, False, now()) for i in range(2)])
            dispatcher = dispatcher_of(app)
            sessions = app.state.database.sessionmaker
            day = now().replace(hour=7) + timedelta(days=1)
            assert await dispatcher.run_digests(sessions, now=day) == 0  # refused
            assert await dispatcher.run_digests(sessions, now=day) == 0  # waits its backoff
            assert inbox.refused == 1
            later = day + timedelta(seconds=app.state.settings.notify_backoff_max_seconds)
            assert await dispatcher.run_digests(sessions, now=later) == 1
            assert await dispatcher.run_digests(sessions, now=later) == 0  # sent: done
            # A later digest refused past the maximum age is dead, not retried for ever.
            inbox.refusals = inbox.refused + 10
            await emit_committed(app, [school_event(2, 2, False, now())])
            hours = app.state.settings.notify_max_age_hours
            old = later + timedelta(days=1, hours=hours)
            assert await dispatcher.run_digests(sessions, now=old) == 0
            assert await dispatcher.run_digests(sessions, now=old + timedelta(days=1)) == 0
            await dispatcher.aclose()
            d = NOTIFICATIONS.delivery
            async with sessions() as session:
                rows = (await session.execute(select(d.status, d.attempts).order_by(d.id))).all()
        [digest] = inbox.messages
        assert digest["Subject"] == "Connect2Recover: 2 notifications"
        assert [tuple(row) for row in rows] == [("delivered", 2), ("delivered", 2), ("dead", 1)]
    finally:
        smtp.stop()
