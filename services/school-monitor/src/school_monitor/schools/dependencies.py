import uuid
from typing import Annotated

from fastapi import Depends

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from school_monitor.schools import service
from school_monitor.schools.models import School

Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_WRITE))]


async def readable_school(principal: Reader, school_id: uuid.UUID, db: SessionDep) -> School:
    """The school, if it exists and the caller may see its country (404 / 403 otherwise)."""
    school = await service.get_school(db, school_id)
    principal.require_country(school.country_iso3)
    return school


async def writable_school(principal: Writer, school_id: uuid.UUID, db: SessionDep) -> School:
    school = await service.get_school(db, school_id)
    principal.require_country(school.country_iso3)
    return school


ReadableSchool = Annotated[School, Depends(readable_school)]
WritableSchool = Annotated[School, Depends(writable_school)]
