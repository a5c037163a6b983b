import uuid
from typing import Annotated

from fastapi import Depends, Request

from c2r_common.auth import Principal, require_any_scope
from c2r_common.db import SessionDep
from request_intake.assistance_requests import service
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.scopes import READ_SCOPES
from request_intake.sla_policy import SlaPolicy, app_sla_policy

# Focal points (limited to their countries by the token), reviewers and approvers.
Reader = Annotated[Principal, Depends(require_any_scope(*READ_SCOPES))]


async def visible_request(
    request_id: uuid.UUID, principal: Reader, db: SessionDep
) -> AssistanceRequest:
    return await service.get_visible(db, request_id, principal)


VisibleRequest = Annotated[AssistanceRequest, Depends(visible_request)]


def sla_policy(request: Request) -> SlaPolicy:
    return app_sla_policy(request.app)


Sla = Annotated[SlaPolicy, Depends(sla_policy)]
