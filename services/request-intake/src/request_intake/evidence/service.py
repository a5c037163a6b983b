import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.evidence import EvidencePack
from c2r_common.problems import Forbidden
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.evidence.sources import EvidenceSources
from request_intake.reviews.service import is_approver_or_assigned


async def may_read_evidence(
    db: AsyncSession, request: AssistanceRequest, principal: Principal
) -> None:
    """As for its reviews: approvers, and the reviewers assigned to the request."""
    if not await is_approver_or_assigned(db, request, principal):
        raise Forbidden("A request's evidence is for its approvers and assigned reviewers.")


async def evidence_pack(
    *, sources: EvidenceSources, request: AssistanceRequest, now: datetime
) -> EvidencePack:
    """Both parts are read at once: the pack takes as long as the slower one, at most
    one budget."""
    iso3 = request.country_iso3
    assessment, connectivity = await asyncio.gather(
        sources.assessment(iso3), sources.connectivity(iso3)
    )
    return EvidencePack(
        request_id=request.id,
        country_iso3=iso3,
        generated_at=now,
        assessment=assessment,
        connectivity=connectivity,
    )
