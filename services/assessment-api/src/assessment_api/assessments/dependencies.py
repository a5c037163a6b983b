import uuid
from typing import Annotated

from fastapi import Depends

from assessment_api.assessments import service
from assessment_api.assessments.models import Assessment
from assessment_api.dependencies import Reader, Writer
from c2r_common.auth import Principal, Scope, require_any_scope
from c2r_common.db import SessionDep


async def readable_assessment(
    assessment_id: uuid.UUID, principal: Reader, db: SessionDep
) -> Assessment:
    return await service.get(db, assessment_id, principal)


async def writable_assessment(
    assessment_id: uuid.UUID, principal: Writer, db: SessionDep
) -> Assessment:
    return await service.get(db, assessment_id, principal)


ReadableAssessment = Annotated[Assessment, Depends(readable_assessment)]
WritableAssessment = Annotated[Assessment, Depends(writable_assessment)]
# Lifecycle moves need one of the two scopes; which one depends on the target status.
Mover = Annotated[
    Principal, Depends(require_any_scope(Scope.ASSESSMENTS_WRITE, Scope.ASSESSMENTS_APPROVE))
]
