"""Emitting this service's events, in the caller's transaction (it flushes, never
commits): an event exists exactly when the change that caused it is committed.

A leaf domain: the requests, SLA and calls domains build their events' data and call
`notify`; this one knows none of them (the domains import one another one way only)."""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.notifications.catalogue import (
    CallClosed,
    CallClosing,
    CallOpened,
    RequestInfoRequested,
    RequestStatusChanged,
    RequestSubmitted,
    SlaDueSoon,
    SlaOverdue,
)
from c2r_common.notifications.events import Event, EventData
from c2r_common.notifications.outbox import emit
from request_intake.notifications.models import NOTIFICATIONS

SOURCE = "/request-intake"
EVENT_TYPES = (
    RequestSubmitted.event_type,
    RequestStatusChanged.event_type,
    RequestInfoRequested.event_type,
    SlaDueSoon.event_type,
    SlaOverdue.event_type,
    CallOpened.event_type,
    CallClosing.event_type,
    CallClosed.event_type,
)


# News is at most this old when first seen. The scan announces what it finds: the first one
# after a deployment (or after the scan was off) would otherwise announce calls opened or
# closed and clocks overdue months ago. Those stay listed where they always were (the open
# calls, the overdue report and gauge); they are history, not news.
NEWS_FOR = timedelta(days=7)


def is_news(instant: datetime, now: datetime) -> bool:
    """Whether what happened at `instant` (a call opened or closed, a clock fell due) is
    still news at `now` (pure)."""
    return instant >= now - NEWS_FOR


async def notify(db: AsyncSession, data: EventData, *, at: datetime, key: str) -> bool:
    """Writes the event of `data`; `key` names the change (the same change written twice is
    one event)."""
    event = Event.of(data, source=SOURCE, time=at, key=key)
    return await emit(db, event, NOTIFICATIONS, at)


async def notify_new(
    db: AsyncSession, changes: Iterable[tuple[EventData, str]], *, at: datetime
) -> int:
    """Writes the events of a scan's `changes` (data, key) not written yet; how many. The
    ones already written are found in one query, so that a scan repeated every minute
    over the same clocks and calls costs one read, not one per event."""
    pending = [Event.of(data, source=SOURCE, time=at, key=key) for data, key in changes]
    written = await _existing(db, [event.id for event in pending])
    emitted = 0
    for event in pending:
        if event.id not in written:
            emitted += int(await emit(db, event, NOTIFICATIONS, at))
    return emitted


async def _existing(db: AsyncSession, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    e = NOTIFICATIONS.event
    for start in range(0, len(ids), 500):  # bounded IN lists
        found.update(await db.scalars(select(e.id).where(e.id.in_(ids[start : start + 500]))))
    return found
