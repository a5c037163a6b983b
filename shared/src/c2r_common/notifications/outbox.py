"""Writing events: `emit` adds the event and one delivery per matching subscription to
the caller's session, in the caller's transaction (it flushes, never commits), so an event
exists exactly when the change that caused it is committed."""

from datetime import datetime

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from c2r_common.db import utcnow
from c2r_common.notifications.events import Event
from c2r_common.notifications.models import DeliveryStatus, NotificationModels, SubscriptionRow


def wants(subscription: SubscriptionRow, event: Event) -> bool:
    """Whether the subscription receives the event: its type, its country, and never a
    country outside the subscriber's own (a focal point's subscription stays in its
    countries whatever its filter says). An event about no country reaches every subscriber
    to its type if it is public (a call for requests), else only those with no country
    limit."""
    if event.type not in subscription.event_types:
        return False
    if event.country_iso3 is None and event.public:
        return True
    for allowed in (subscription.owner_countries, subscription.countries):
        if allowed is not None and event.country_iso3 not in allowed:
            return False
    return True


async def emit(
    session: AsyncSession, event: Event, models: NotificationModels, now: datetime | None = None
) -> bool:
    """Writes `event` and its deliveries; False if an event of that id exists already (the
    same change written again)."""
    if await session.get(models.event, event.id) is not None:
        return False
    moment = now or utcnow()
    row = models.event(
        id=event.id,
        type=event.type,
        source=event.source,
        subject=event.subject,
        country_iso3=event.country_iso3,
        time=event.time,
        data=event.data,
        created_at=moment,
    )
    session.add(row)
    await session.flush()  # the deliveries' foreign key needs the event row first
    for subscription in await session.scalars(candidate_subscriptions(models, event)):
        if wants(subscription, event):  # the final word: the query only narrows
            session.add(_delivery(models, subscription, event, moment))
    await session.flush()
    return True


def candidate_subscriptions(models: NotificationModels, event: Event) -> Executable:
    """The subscriptions that may want `event`, narrowed in SQL so that an event does not
    load every subscription: its type and country appear in their JSON lists (a text
    match on both databases; LIKE's `_` may match more, never less, and `wants` decides)."""
    s = models.subscription
    conditions = [_mentions(s.event_types, event.type)]
    if event.country_iso3 is not None:
        for column in (s.owner_countries, s.countries):
            text = cast(column, String)
            conditions.append(
                or_(column.is_(None), text == "null", _mentions(column, event.country_iso3))
            )
    return select(s).where(*conditions)


def _mentions(column: object, value: str) -> ColumnElement[bool]:
    return cast(column, String).like(f'%"{value}"%')


def _delivery(
    models: NotificationModels, subscription: SubscriptionRow, event: Event, now: datetime
) -> object:
    digest = subscription.digest and subscription.email is not None
    return models.delivery(
        event_id=event.id,
        subscription_id=subscription.id,
        subject=event.subject,
        event_type=event.type,
        status=DeliveryStatus.DIGEST if digest else DeliveryStatus.PENDING,
        next_attempt_at=now,
        age_from=now,
        created_at=now,
    )
