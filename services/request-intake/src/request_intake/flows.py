"""Orchestration that spans domains: a request's moves that hand work to another service,
and the scan for the time-based notification events of the SLA and calls domains. The
outbox domain reads requests (an entry is built from one); the requests domain does not
know the outbox, so the hand-off on approval lives here."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from c2r_common.auth import Principal
from c2r_common.schemas import AssistanceType
from c2r_common.singleton import run_alone
from request_intake.assistance_requests import service as requests
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.schemas import RequestIn, TransitionIn
from request_intake.assistance_requests.workflow import Status
from request_intake.calls import service as calls_service
from request_intake.calls.models import Call
from request_intake.config import IntakeSettings
from request_intake.outbox.service import enqueue_assessment
from request_intake.reviews.service import require_reviews_for_approval
from request_intake.sla import clocks
from request_intake.sla import service as sla_service
from request_intake.sla_policy import SlaPolicy


async def _call_calendar(db: AsyncSession, call_id: uuid.UUID, sla: SlaPolicy) -> SlaPolicy:
    """The policy on the calendar of the organisation running the call."""
    call = await db.get(Call, call_id)
    return sla.for_calendar(call.sla_calendar if call is not None else None)


async def submit(
    db: AsyncSession, data: RequestIn, principal: Principal, now: datetime, sla: SlaPolicy
) -> AssistanceRequest:
    """A submission; its first-response, resolution and stage SLA clocks start with it."""
    policy = await _call_calendar(db, data.call_id, sla)
    request = await requests.submit(db, data, principal, now, policy)
    clocks.start_on_submission(db, request, now, policy)
    await db.flush()
    return request


async def transition(
    db: AsyncSession,
    request: AssistanceRequest,
    data: TransitionIn,
    principal: Principal,
    now: datetime,
    sla: SlaPolicy,
) -> AssistanceRequest:
    """A workflow move; an approved assessment request is handed to assessment-api through
    the outbox, in the same transaction as the move, as are the SLA clocks' stops, pauses
    and resumptions (on the calendar of the call's organisation). Approval waits for the
    reviews the call asks for: checked after the move itself was allowed (role, workflow),
    so that only an approver learns how many are missing; the refusal rolls the move back."""
    policy = await _call_calendar(db, request.call_id, sla)
    source = Status(request.status)
    moved = await requests.transition(db, request, data, principal, now, policy)
    if data.to is Status.APPROVED:
        await require_reviews_for_approval(db, moved)
    await clocks.on_transition(db, moved, source, data.to, now, policy)
    if data.to is Status.APPROVED and moved.assistance_type == AssistanceType.ASSESSMENT:
        await enqueue_assessment(db, moved, now)
    return moved


NOTIFY_SCAN_LOCK = "request-intake:notify-scan"


async def notification_scan(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: IntakeSettings,
    now: datetime,
    sla: SlaPolicy,
) -> int:
    """One scan for the time-based events (SLA clocks due soon or overdue; calls opened,
    closing, closed) in one transaction, under the round lock: replicas scanning at once
    leave it to one, and each event's stable id makes a repeated scan write nothing."""

    async def scan(db: AsyncSession) -> int:
        emitted = await sla_service.notify_sla_clocks(db, now, sla, settings.notify_sla_due_days)
        return emitted + await calls_service.notify_calls(
            db, now, settings.notify_call_closing_days
        )

    done = await run_alone(sessionmaker, NOTIFY_SCAN_LOCK, scan)
    return done.result or 0
