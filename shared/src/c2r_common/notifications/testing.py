"""What the services' notification tests share (imported by their suites, never by a
service): the dispatcher run until nothing is due, and an SMTP inbox for aiosmtpd."""

import email
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.policy import default
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from c2r_common.notifications.dispatcher import Dispatcher
from c2r_common.notifications.models import DeliveryStatus, NotificationModels


async def drain(
    app: FastAPI,
    models: NotificationModels,
    service: str,
    *,
    start: datetime | None = None,
    passes: int = 20,
) -> datetime:
    """Runs dispatcher passes on the app's sessions, each 10 s after the one before (past
    a test's short backoff), until no delivery is pending; the moment of the last pass."""
    dispatcher = Dispatcher(models, app.state.settings, service)
    sessionmaker = app.state.database.sessionmaker
    moment = start or datetime.now(UTC)
    d = models.delivery
    try:
        for _ in range(passes):
            await dispatcher.run_once(sessionmaker, now=moment)
            async with sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count()).select_from(d).where(d.status == DeliveryStatus.PENDING)
                )
            if not waiting:
                return moment
            moment += timedelta(seconds=10)
        raise AssertionError(f"{waiting} deliveries still pending")
    finally:
        await dispatcher.aclose()


class Inbox:
    """An aiosmtpd handler keeping the messages it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"
