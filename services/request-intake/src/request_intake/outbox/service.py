"""The hand-off of approved assessment requests to assessment-api, on the common outbox
(c2r_common.notifications): written as an internal event in the approval's transaction,
delivered by the dispatcher through the hand-off sender (sender.py) to the built-in
subscription of assessment-api, and read back here as the outbox entries of
/v1/requests/outbox.

An entry is the event and its one delivery to the built-in subscription: its id is the
event's, its Idempotency-Key `c2r-outbox-<id>`, its statuses the delivery's (a dead one is
`failed`: refused for good, a person must look), its result the assessment linked on the
request in the transaction that marked it delivered.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.handoff import AssessmentHandoff
from c2r_common.notifications.events import TYPE_PREFIX, Event, event_id
from c2r_common.notifications.models import (
    DeliveryRow,
    DeliveryStatus,
    EventRow,
    SubscriptionStatus,
)
from c2r_common.notifications.outbox import emit
from c2r_common.notifications.service_sender import IDEMPOTENCY_KEY_PREFIX, service_owner
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, NotFound
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.notifications.service import SOURCE

CREATE_ASSESSMENT = "assessment.create"
# Internal: in no subscribable list, so no user subscription can ask for it.
HANDOFF_EVENT_TYPE = TYPE_PREFIX + "internal.assessment_requested"
ASSESSMENT_API_OWNER = service_owner("assessment-api")
# Fixed for ever: the migration that moved outbox_entries wrote it, approvals ensure it.
HANDOFF_SUBSCRIPTION_ID = uuid.UUID("c2a55e55-0000-4000-8000-000000000001")


class EntryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused by the receiver for good; needs a person


_DELIVERY_STATUS = {
    EntryStatus.PENDING: DeliveryStatus.PENDING,
    EntryStatus.DELIVERED: DeliveryStatus.DELIVERED,
    EntryStatus.FAILED: DeliveryStatus.DEAD,
}
_ENTRY_STATUS = {delivery: entry for entry, delivery in _DELIVERY_STATUS.items()}


def entry_status(delivery_status: str) -> EntryStatus:
    return _ENTRY_STATUS[delivery_status]


def idempotency_key(entry_id: uuid.UUID) -> str:
    return f"{IDEMPOTENCY_KEY_PREFIX}{entry_id}"


def request_subject(request_id: uuid.UUID) -> str:
    return f"requests/{request_id}"


def handoff_of(request: AssistanceRequest, now: datetime) -> AssessmentHandoff:
    """The hand-off contract's body for an approved request (c2r_common.handoff)."""
    return AssessmentHandoff(
        country_iso3=request.country_iso3,
        period=str(now.year),
        title=request.title,
        source_request_id=request.id,
    )


def handoff_event(request: AssistanceRequest, now: datetime) -> Event:
    """The hand-off as an event; its id is stable for the approval (its moment), so the
    same approval written twice is one hand-off."""
    subject = request_subject(request.id)
    return Event(
        id=event_id(HANDOFF_EVENT_TYPE, subject, now.isoformat()),
        type=HANDOFF_EVENT_TYPE,
        source=SOURCE,
        subject=subject,
        time=now,
        country_iso3=request.country_iso3,
        data=handoff_of(request, now).model_dump(mode="json"),
    )


def handoff_subscription_values() -> dict[str, Any]:
    """The built-in subscription of assessment-api to the hand-offs (also the migration's)."""
    return {
        "id": HANDOFF_SUBSCRIPTION_ID,
        "owner": ASSESSMENT_API_OWNER,
        "owner_countries": None,
        "webhook_url": None,
        "email": None,
        "language": "en",
        "event_types": [HANDOFF_EVENT_TYPE],
        "countries": None,
        "digest": False,
        "secret": None,
        "status": SubscriptionStatus.ACTIVE,
        "consecutive_failures": 0,
    }


async def ensure_handoff_subscription(db: AsyncSession) -> None:
    """The built-in subscription, written if missing (an insert that yields to a concurrent
    one, so two replicas approving at once write it once): without it the event would
    have no delivery, and the hand-off would be lost."""
    if await db.get(NOTIFICATIONS.subscription, HANDOFF_SUBSCRIPTION_ID) is not None:
        return
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    table = NOTIFICATIONS.subscription.__table__  # type: ignore[attr-defined]
    statement = dialect.insert(table).values(**handoff_subscription_values())
    await db.execute(statement.on_conflict_do_nothing(index_elements=["id"]))


async def enqueue_assessment(db: AsyncSession, request: AssistanceRequest, now: datetime) -> Event:
    """The hand-off of an approved assessment request, added to the caller's transaction."""
    await ensure_handoff_subscription(db)
    event = handoff_event(request, now)
    await emit(db, event, NOTIFICATIONS, now)
    return event


# --- reading the entries ----------------------------------------------------------------


def _deliveries() -> Any:
    d = NOTIFICATIONS.delivery
    return select(d).where(d.subscription_id == HANDOFF_SUBSCRIPTION_ID)


async def list_entries(
    db: AsyncSession, page: PageParams, status: EntryStatus | None
) -> tuple[list[DeliveryRow], str | None]:
    """The hand-off deliveries, oldest first (event id breaks ties: one per event)."""
    d = NOTIFICATIONS.delivery
    statement = _deliveries()
    if status is not None:
        statement = statement.where(d.status == _DELIVERY_STATUS[status])
    return await paginate(db, statement, (d.created_at, d.event_id), page)


async def entry_of(db: AsyncSession, entry_id: uuid.UUID) -> DeliveryRow:
    d = NOTIFICATIONS.delivery
    delivery = await db.scalar(_deliveries().where(d.event_id == entry_id))
    if delivery is None:
        raise NotFound(f"No outbox entry {entry_id}.")
    return delivery  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Entry:
    """An outbox entry: the hand-off's event, its delivery, and the assessment linked on
    its request (its result: the link is written in the transaction that marks it
    delivered)."""

    delivery: DeliveryRow
    event: EventRow
    request_id: uuid.UUID
    linked: uuid.UUID | None


async def entries_of(db: AsyncSession, deliveries: list[DeliveryRow]) -> list[Entry]:
    e = NOTIFICATIONS.event
    ids = [delivery.event_id for delivery in deliveries]
    events = {row.id: row for row in await db.scalars(select(e).where(e.id.in_(ids)))}
    request_of = {i: uuid.UUID(str(event.data["source_request_id"])) for i, event in events.items()}
    linked = await _linked_assessments(db, list(request_of.values()))
    return [
        Entry(
            delivery=delivery,
            event=events[delivery.event_id],
            request_id=request_of[delivery.event_id],
            linked=linked.get(request_of[delivery.event_id]),
        )
        for delivery in deliveries
    ]


async def _linked_assessments(
    db: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await db.execute(
        select(AssistanceRequest.id, AssistanceRequest.assessment_id).where(
            AssistanceRequest.id.in_(request_ids)
        )
    )
    return {row[0]: row[1] for row in rows}


async def counts_by_status(db: AsyncSession) -> dict[str, int]:
    d = NOTIFICATIONS.delivery
    rows = await db.execute(
        select(d.status, func.count())
        .where(d.subscription_id == HANDOFF_SUBSCRIPTION_ID)
        .group_by(d.status)
    )
    counts = {status.value: 0 for status in EntryStatus}
    for delivery_status, count in rows:
        counts[entry_status(delivery_status)] += count
    return counts


async def oldest_pending(db: AsyncSession) -> datetime | None:
    d = NOTIFICATIONS.delivery
    return await db.scalar(
        select(func.min(d.created_at)).where(
            d.subscription_id == HANDOFF_SUBSCRIPTION_ID, d.status == DeliveryStatus.PENDING
        )
    )


async def requeue(db: AsyncSession, entry_id: uuid.UUID, now: datetime) -> DeliveryRow:
    """Sends a failed entry again (after the cause was fixed), with the same key, from the
    dispatcher's next pass."""
    delivery = await entry_of(db, entry_id)
    if delivery.status != DeliveryStatus.DEAD:
        status = entry_status(delivery.status)
        raise Conflict(f"Only failed entries can be retried; this one is {status}.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.age_from = now
    delivery.delivered_at = None
    await db.flush()
    return delivery
