"""Writing outbox entries and reading the backlog (delivery is in relay.py)."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.handoff import AssessmentHandoff
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, NotFound
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.outbox.models import OutboxEntry

CREATE_ASSESSMENT = "assessment.create"


class EntryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused by the receiver for good; needs a person


def handoff_of(request: AssistanceRequest, now: datetime) -> AssessmentHandoff:
    """The hand-off contract's body for an approved request (c2r_common.handoff)."""
    return AssessmentHandoff(
        country_iso3=request.country_iso3,
        period=str(now.year),
        title=request.title,
        source_request_id=request.id,
    )


def enqueue_assessment(db: AsyncSession, request: AssistanceRequest, now: datetime) -> OutboxEntry:
    """The hand-off of an approved assessment request, added to the caller's transaction."""
    entry_id = uuid.uuid4()
    entry = OutboxEntry(
        id=entry_id,
        kind=CREATE_ASSESSMENT,
        request_id=request.id,
        payload=handoff_of(request, now).model_dump(mode="json"),
        # Stable for the entry's whole life, so assessment-api creates one assessment
        # however many times the relay has to send it.
        idempotency_key=f"c2r-outbox-{entry_id}",
        status=EntryStatus.PENDING,
        next_attempt_at=now,
    )
    db.add(entry)
    return entry


async def list_entries(
    db: AsyncSession, page: PageParams, status: EntryStatus | None
) -> tuple[list[OutboxEntry], str | None]:
    statement = select(OutboxEntry)
    if status is not None:
        statement = statement.where(OutboxEntry.status == status)
    return await paginate(db, statement, (OutboxEntry.created_at, OutboxEntry.id), page)


async def counts_by_status(db: AsyncSession) -> dict[str, int]:
    rows = await db.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status))
    counts = {status.value: 0 for status in EntryStatus}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def oldest_pending(db: AsyncSession) -> datetime | None:
    return await db.scalar(
        select(func.min(OutboxEntry.created_at)).where(OutboxEntry.status == EntryStatus.PENDING)
    )


async def requeue(db: AsyncSession, entry_id: uuid.UUID, now: datetime) -> OutboxEntry:
    """Sends a failed entry again (after the cause was fixed), with the same key."""
    entry = await db.get(OutboxEntry, entry_id)
    if entry is None:
        raise NotFound(f"No outbox entry {entry_id}.")
    if entry.status != EntryStatus.FAILED:
        raise Conflict(f"Only failed entries can be retried; this one is {entry.status}.")
    entry.status = EntryStatus.PENDING
    entry.next_attempt_at = now
    await db.flush()
    return entry
