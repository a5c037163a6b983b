import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.notifications.models import DeliveryRow
from c2r_common.pagination import Page, PageParams, page_params
from request_intake.clock import Now
from request_intake.outbox import service
from request_intake.outbox.schemas import OutboxEntryOut, OutboxSummary
from request_intake.outbox.service import EntryStatus
from request_intake.outbox.stats import refresh_gauges

router = APIRouter(
    prefix="/v1/requests/outbox", tags=["outbox"], responses=problem_responses(401, 403)
)
# The outbox holds every country's hand-offs: staff only, not focal points.
Reviewer = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_REVIEW, all_countries=True))]
Approver = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_APPROVE, all_countries=True))]


@router.get(
    "/summary", response_model=OutboxSummary, summary="Backlog and failures of the hand-off"
)
async def outbox_summary(_: Reviewer, db: SessionDep, now: Now) -> OutboxSummary:
    counts = await refresh_gauges(db, now)
    return OutboxSummary(
        pending=counts[EntryStatus.PENDING],
        delivered=counts[EntryStatus.DELIVERED],
        failed=counts[EntryStatus.FAILED],
        oldest_pending_at=await service.oldest_pending(db),
    )


@router.get(
    "",
    response_model=Page[OutboxEntryOut],
    summary="Outbox entries, oldest first, with attempts and last error",
    responses=problem_responses(422),
)
async def list_outbox(
    _: Reviewer,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[EntryStatus | None, Query()] = None,
) -> Page[OutboxEntryOut]:
    deliveries, next_cursor = await service.list_entries(db, page, status)
    return Page(items=await _entries_out(db, deliveries), next_cursor=next_cursor)


@router.post(
    "/{entry_id}/retry",
    response_model=OutboxEntryOut,
    summary="Send a failed entry again, with the same idempotency key",
    responses=problem_responses(404, 409, 422),
)
async def retry_entry(_: Approver, entry_id: uuid.UUID, db: SessionDep, now: Now) -> OutboxEntryOut:
    [entry] = await _entries_out(db, [await service.requeue(db, entry_id, now)])
    return entry


async def _entries_out(db: AsyncSession, deliveries: list[DeliveryRow]) -> list[OutboxEntryOut]:
    return [OutboxEntryOut.of(entry) for entry in await service.entries_of(db, deliveries)]
