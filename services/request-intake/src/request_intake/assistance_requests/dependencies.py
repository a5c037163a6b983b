import uuid
from typing import Annotated

from fastapi import Depends, Request

from c2r_common.auth import CurrentPrincipal, Principal, Scope
from c2r_common.db import SessionDep
from c2r_common.errors import ProblemError
from request_intake.assistance_requests import service
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.sla.policy import SlaPolicy, app_sla_policy

_READ_SCOPES = (
    Scope.REQUESTS_READ,
    Scope.REQUESTS_SUBMIT,
    Scope.REQUESTS_REVIEW,
    Scope.REQUESTS_APPROVE,
)


async def request_reader(principal: CurrentPrincipal) -> Principal:
    """Focal points (limited to their countries by the token), reviewers and approvers."""
    if not any(principal.has_scope(scope) for scope in _READ_SCOPES):
        raise ProblemError(403, f"Reading requests needs one of: {', '.join(_READ_SCOPES)}.")
    return principal


Reader = Annotated[Principal, Depends(request_reader)]


async def visible_request(
    request_id: uuid.UUID, principal: Reader, db: SessionDep
) -> AssistanceRequest:
    return await service.get_visible(db, request_id, principal)


VisibleRequest = Annotated[AssistanceRequest, Depends(visible_request)]


def sla_policy(request: Request) -> SlaPolicy:
    return app_sla_policy(request.app)


Sla = Annotated[SlaPolicy, Depends(sla_policy)]
