"""The statuses every route answers through the shared plumbing, declared in its OpenAPI.

A route's own `responses=` say what its domain answers (404, 409, 412...). What the
plumbing around it answers is derived here from the route itself, so that no route can
forget one: 400 for a body FastAPI cannot parse, 404 where the path has parameters (an
empty one matches no route), 412 where If-Match is read (a stale one is refused), 413 for
a body over the size limit, 401/403 where a bearer token is checked, 503 (transient
database failure, with Retry-After) where the database is reached.
"""

from collections.abc import Callable, Iterator
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from c2r_common.auth import current_principal
from c2r_common.concurrency import IfMatch
from c2r_common.db import get_session
from c2r_common.errors import problem_responses

UNPARSEABLE_BODY = 400
# The token is checked before anything else: no route that authenticates is without these.
AUTH_STATUSES = (401, 403)
NOT_FOUND = 404
PRECONDITION_FAILED = 412
BODY_TOO_LARGE = 413
TRANSIENT_FAILURE = 503
# The dependency that reads If-Match: a route with it refuses a stale one with 412.
_READS_IF_MATCH = get_args(IfMatch)[1].dependency
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before sending the request again",
        "schema": {"type": "integer"},
    }
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _resolves_caller_by_hand(route: RouteContext) -> bool:
    # The hot paths authenticate outside dependency injection and document their bearer
    # requirement with BEARER_SECURITY.
    return "security" in (route.openapi_extra or {})


def plumbing_statuses(route: RouteContext) -> list[int]:
    """The statuses the shared plumbing may answer on `route`, whatever its own code does."""
    calls = set(_calls(route.dependant))
    by_hand = _resolves_caller_by_hand(route)
    statuses: list[int] = []
    if route.body_field is not None:  # FastAPI's own parser: 400 for what it cannot read
        statuses.append(UNPARSEABLE_BODY)
    if route.dependant.path_params:  # an empty segment matches no route; an unknown id
        statuses.append(NOT_FOUND)
    if route.body_field is not None or "requestBody" in (route.openapi_extra or {}):
        statuses.append(BODY_TOO_LARGE)
    if _READS_IF_MATCH in calls:
        statuses.append(PRECONDITION_FAILED)
    authenticates = current_principal in calls or by_hand
    if authenticates:
        statuses.extend(AUTH_STATUSES)
    # Every authenticated route exists to read or write the service's data, some through a
    # session of their own rather than SessionDep (batches, hand-resolved hot paths).
    if authenticates or get_session in calls:
        statuses.append(TRANSIENT_FAILURE)
    return statuses


def _responses(statuses: list[int]) -> dict[str, dict[str, Any]]:
    responses = {str(status): entry for status, entry in problem_responses(*statuses).items()}
    if str(TRANSIENT_FAILURE) in responses:
        responses[str(TRANSIENT_FAILURE)]["headers"] = RETRY_AFTER
    return responses


def add_plumbing_statuses(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """`document` with the plumbing's statuses added to every operation of `routes` that
    does not declare them yet (its own declaration wins)."""
    paths = document.get("paths", {})
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            declared = operation.setdefault("responses", {})
            for status, response in _responses(plumbing_statuses(route)).items():
                declared.setdefault(status, response)
    return document


def declare_route_statuses(app: FastAPI) -> None:
    """The OpenAPI document of `app` declares, on every route, the plumbing's statuses."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return add_plumbing_statuses(build(), app.routes)

    app.openapi = openapi  # type: ignore[method-assign]
