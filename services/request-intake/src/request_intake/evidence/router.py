from typing import Annotated

from fastapi import APIRouter, Depends

from c2r_common.auth import Principal, Scope, require_any_scope
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.evidence import EvidencePack
from request_intake.assistance_requests.dependencies import VisibleRequest
from request_intake.clock import Now
from request_intake.evidence import service
from request_intake.evidence.sources import EvidenceSourcesDep

router = APIRouter(prefix="/v1/requests", tags=["evidence"], responses=problem_responses(401, 403))
Staff = Annotated[
    Principal, Depends(require_any_scope(Scope.REQUESTS_REVIEW, Scope.REQUESTS_APPROVE))
]


@router.get(
    "/{request_id:uuid}/evidence",
    response_model=EvidencePack,
    summary="The evidence pack of a request: the country's latest finished assessment and "
    "school connectivity",
    description="For approvers and the reviewers assigned to the request. Read live from "
    "assessment-api (its latest finished assessment of the country, as its comparison "
    "chooses it) and school-monitor, each part within its own time budget; a part whose "
    "service is slow, down or answers an error is `unavailable`, with the reason, and the "
    "other part stands.",
    responses=problem_responses(404, 422),
)
async def get_evidence(
    principal: Staff,
    request: VisibleRequest,
    db: SessionDep,
    sources: EvidenceSourcesDep,
    now: Now,
) -> EvidencePack:
    await service.may_read_evidence(db, request, principal)
    # The reads are over: the connection goes back to the pool before the upstream calls,
    # so slow peers cannot hold pooled connections idle while they wait (the request stays
    # loaded: expire_on_commit is off).
    await db.commit()
    return await service.evidence_pack(sources=sources, request=request, now=now)
