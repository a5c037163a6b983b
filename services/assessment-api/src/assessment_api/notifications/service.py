"""Emitting this service's events, in the caller's transaction (it flushes, never
commits): an event exists exactly when the change that caused it is committed."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.notifications.models import NOTIFICATIONS
from c2r_common.notifications.catalogue import (
    AssessmentAccepted,
    AssessmentCompleted,
    AssessmentPublished,
    AssessmentTranslated,
)
from c2r_common.notifications.events import Event, EventData
from c2r_common.notifications.outbox import emit

SOURCE = "/assessment-api"
EVENT_TYPES = (
    AssessmentCompleted.event_type,
    AssessmentAccepted.event_type,
    AssessmentPublished.event_type,
    AssessmentTranslated.event_type,
)


async def notify(db: AsyncSession, data: EventData, *, at: datetime, key: str) -> bool:
    """Writes the event of `data`; `key` names the change (the same change written twice is
    one event)."""
    event = Event.of(data, source=SOURCE, time=at, key=key)
    return await emit(db, event, NOTIFICATIONS, at)
