"""Orchestration that spans domains: a request's moves that hand work to another service.
The outbox domain reads requests (an entry is built from one); the requests domain does
not know the outbox, so the hand-off on approval lives here."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.schemas import AssistanceType
from request_intake.assistance_requests import service as requests
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.schemas import TransitionIn
from request_intake.assistance_requests.workflow import Status
from request_intake.outbox.service import enqueue_assessment
from request_intake.reviews.service import require_reviews_for_approval
from request_intake.sla_policy import SlaPolicy


async def transition(
    db: AsyncSession,
    request: AssistanceRequest,
    data: TransitionIn,
    principal: Principal,
    now: datetime,
    sla: SlaPolicy,
) -> AssistanceRequest:
    """A workflow move; an approved assessment request is handed to assessment-api through
    the outbox, in the same transaction as the move. Approval waits for the reviews the
    call asks for: checked after the move itself was allowed (role, workflow), so that only
    an approver learns how many are missing; the refusal rolls the move back."""
    moved = await requests.transition(db, request, data, principal, now, sla)
    if data.to is Status.APPROVED:
        await require_reviews_for_approval(db, moved)
    if data.to is Status.APPROVED and moved.assistance_type == AssistanceType.ASSESSMENT:
        enqueue_assessment(db, moved, now)
        await db.flush()
    return moved
