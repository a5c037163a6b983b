import uuid
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.problems import InvalidField, UnsupportedMediaType
from school_monitor.schools import service
from school_monitor.schools.models import School

Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_WRITE))]


async def readable_school(principal: Reader, school_id: uuid.UUID, db: SessionDep) -> School:
    """The school, if it exists and the caller may see its country (404 otherwise, alike)."""
    return await service.visible_school(db, principal, school_id)


async def writable_school(principal: Writer, school_id: uuid.UUID, db: SessionDep) -> School:
    return await service.visible_school(db, principal, school_id)


ReadableSchool = Annotated[School, Depends(readable_school)]
WritableSchool = Annotated[School, Depends(writable_school)]


async def csv_text(request: Request) -> str:
    """The CSV sent as the body (text/csv) or as the `file` field of a multipart form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidField("body.file", "required", "The form has no `file` field.")
            raw = await upload.read()
    elif content_type.startswith(("text/csv", "text/plain", "application/csv")):
        raw = await request.body()
    else:
        raise UnsupportedMediaType("Send the CSV as text/csv or as a multipart form field `file`.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidField("body", "not UTF-8", "The file is not UTF-8 text.") from None
