"""A write that lost a race for SQLite's single write lock is a transient conflict: the
client is asked to retry (503 with Retry-After) instead of getting a 500."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from c2r_common.errors import problem_response

logger = logging.getLogger("assessment_api.busy")
RETRY_AFTER_SECONDS = 1


def _is_lock_conflict(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig)


async def _handle_operational_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    if not _is_lock_conflict(exc):
        logger.exception("database error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            detail="An unexpected error occurred; quote the request id when reporting it.",
        )
    logger.warning("write lock conflict on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        503,
        detail="Another write was in progress; retry the request (with the same "
        "Idempotency-Key for a create).",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_busy_handler(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _handle_operational_error)
