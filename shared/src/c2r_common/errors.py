"""RFC 9457 problem details for every error a service returns."""

import json
import logging
import sqlite3
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c2r_common.context import current_request_id
from c2r_common.transient import is_transient

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://c2r.itu.int/problems/"

logger = logging.getLogger("c2r.errors")


class FieldProblem(BaseModel):
    field: str = Field(description="dotted path of the offending field, e.g. body.items.3.latency")
    message: str
    type: str | None = None


class Problem(BaseModel):
    """The problem+json body (RFC 9457) returned by every error."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(HTTPException):
    """Raise from services to answer with a problem+json document.

    Subclasses FastAPI's HTTPException so that FastAPI re-raises it untouched even when it
    comes out of body parsing (the request body size limit does that).
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        problem_type: str | None = None,
        errors: list[FieldProblem] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.title = title or HTTPStatus(status).phrase
        self.problem_type = problem_type
        self.errors = errors
        self.extra = extra or {}


def problem_response(
    request: Request,
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    problem_type: str | None = None,
    errors: list[FieldProblem] | None = None,
    extra: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=f"{PROBLEM_TYPE_BASE}{problem_type}" if problem_type else "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=current_request_id(),
        errors=errors,
    )
    body = problem.model_dump(exclude_none=True) | (extra or {})
    # Set here too because a 500 is sent by Starlette's outermost middleware, past ours.
    headers = (
        {"X-Request-ID": problem.request_id, **(headers or {})} if problem.request_id else headers
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status_code,
        title=exc.title,
        detail=exc.detail,
        problem_type=exc.problem_type,
        errors=exc.errors,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == HTTPStatus.NOT_FOUND and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    headers = exc.headers
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers = {**(headers or {}), "Allow": ", ".join(sorted(_allowed_methods(request)))}
    return problem_response(request, exc.status_code, detail=detail, headers=headers)


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> set[str]:
    """Every method the request's path answers to. Starlette's 405 names only those of the
    first route matching the path, and FastAPI makes one route per method."""
    return {
        method
        for method in _HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    }


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldProblem(field=_field_path(error["loc"]), message=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    return problem_response(
        request,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        title="Invalid request",
        detail=f"{len(errors)} field(s) failed validation",
        problem_type="validation",
        errors=errors,
    )


RETRY_AFTER_SECONDS = 1

# What a database failure can come out of the stack as: SQLAlchemy's wrapped driver errors
# and pool timeout, and the drivers' own errors or socket errors where nothing wrapped them
# (asyncpg's connect() refused, a statement on the raw driver connection).
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    sqlite3.Error,
    OSError,
)


def _transient_failure_response(request: Request, exc: BaseException) -> JSONResponse:
    """503 with Retry-After: the request lost a race or found the database out of reach
    for a moment, and sending it again shortly may succeed."""
    cause = getattr(exc, "orig", None) or exc
    logger.warning(
        "transient database failure on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(cause).__name__,
        cause,
    )
    return problem_response(
        request,
        HTTPStatus.SERVICE_UNAVAILABLE,
        detail="The database could not serve the request now (a competing write, or a brief "
        "outage); retry the request (with the same Idempotency-Key for a create).",
        problem_type="retry",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _handle_failure(request: Request, exc: Exception) -> JSONResponse:
    """A transient database failure answered 503, anything else 500.

    Registered for the database errors, so that they are answered inside the middleware
    stack like any handled error, and for Exception, where Starlette's outermost
    ServerErrorMiddleware also meets a transient failure raised from a middleware, grouped
    by a task group, or chained as the cause of another error.
    """
    if is_transient(exc):
        return _transient_failure_response(request, exc)
    return _internal_error_response(request)


def _internal_error_response(request: Request) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        detail="An unexpected error occurred; quote the request id when reporting it.",
    )


class UnhandledErrorMiddleware:
    """Answers an error that nothing inside handled, and lets it go no further.

    Starlette's outermost middleware would answer it too, then raise it again for the
    server to log; uvicorn then closes the connection without announcing it, and a gateway
    that pooled the connection hands it, dead, to the next request — whoever sent it.
    Answered here, the connection stays open and usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if response_started:
                raise  # a response cut short: only closing the connection can tell the client
            response = await _handle_failure(Request(scope), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    for failure in (*DATABASE_ERRORS, Exception):
        app.add_exception_handler(failure, _handle_failure)


_SCHEMAS_REF = "#/components/schemas/"
# What FastAPI documents by itself for a request that fails validation, and its parts.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_content() -> dict[str, Any]:
    """The `content` of an error response: the Problem schema under problem+json."""
    return {PROBLEM_JSON: {"schema": {"$ref": f"{_SCHEMAS_REF}Problem"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem+json errors of an endpoint.

    No `model`: FastAPI would put it under application/json, which no error is sent as.
    The Problem schema itself is added to the document by `install_problem_openapi`.
    """
    return {
        status: {"description": HTTPStatus(status).phrase, "content": problem_content()}
        for status in statuses
    }


def _is_problem_response(status: str, response: dict[str, Any]) -> bool:
    content = response.get("content", {})
    reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    named = reference.removeprefix(_SCHEMAS_REF)
    return status.startswith(("4", "5")) and (
        PROBLEM_JSON in content or named in ("Problem", *_FASTAPI_VALIDATION_SCHEMAS)
    )


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template=_SCHEMAS_REF + "{model}")
    return {**schema.pop("$defs", {}), "Problem": schema}


def type_errors_as_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every error response of `document` typed as the problem+json the server sends.

    FastAPI's own 422 (a `detail` list under application/json) is replaced too: the
    validation handler answers a Problem whose `errors` name the fields.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if _is_problem_response(status, response):
                    response["content"] = problem_content()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_schemas())
    for name in _FASTAPI_VALIDATION_SCHEMAS:  # the whole first, then its parts
        if f'"{_SCHEMAS_REF}{name}"' not in json.dumps(document):
            schemas.pop(name, None)
    return document


def install_problem_openapi(app: FastAPI) -> None:
    """The app's OpenAPI document with its errors typed by `type_errors_as_problems`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = type_errors_as_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
