"""Typed problems a service raises by what went wrong, not by an HTTP number.

Each is a ProblemError (c2r_common.errors), answered as problem+json by the one handler
every app installs: `raise NotFound(f"No call {call_id}.")` reads as the rule it states,
and the status of each kind of refusal is decided here once.
"""

from http import HTTPStatus
from typing import Any

from c2r_common.auth import Principal
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.reference import Country, country_by_iso3


class _TypedProblem(ProblemError):
    status: HTTPStatus

    def __init__(self, detail: str, **options: Any) -> None:
        super().__init__(self.status, detail, **options)


class Forbidden(_TypedProblem):
    """The caller may not do this (a scope or a role it lacks)."""

    status = HTTPStatus.FORBIDDEN


class NotFound(_TypedProblem):
    """No such object, or one outside the caller's countries (answered alike)."""

    status = HTTPStatus.NOT_FOUND


class Conflict(_TypedProblem):
    """The object's state (or another object) does not allow the change now."""

    status = HTTPStatus.CONFLICT


class PreconditionFailed(_TypedProblem):
    """The If-Match given is not the object's current version."""

    status = HTTPStatus.PRECONDITION_FAILED


class UnsupportedMediaType(_TypedProblem):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class InvalidField(_TypedProblem):
    """A 422 naming the field at fault, as a refusal by validation is: for rules a schema
    cannot state (a value checked against stored data, a pair of fields)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, field: str, message: str, detail: str | None = None) -> None:
        super().__init__(
            detail or f"{message}.",
            title="Invalid request",
            problem_type="validation",
            errors=[FieldProblem(field=field, message=message)],
        )


def require_country(iso3: str) -> Country:
    """The country or area of the reference data with this ISO alpha-3 code (any case),
    or a 404."""
    country = country_by_iso3(iso3)
    if country is None:
        raise _no_country(iso3)
    return country


def require_visible_country(principal: Principal, iso3: str) -> Country:
    """The country addressed by a path, if the caller may see it: one outside the caller's
    countries answers the same 404 as an unknown code, so a path tells nothing of which
    countries hold data."""
    country = country_by_iso3(iso3)
    if country is None or not principal.can_access_country(country.iso3):
        raise _no_country(iso3)
    return country


def _no_country(iso3: str) -> NotFound:
    return NotFound(f"No country or area with ISO alpha-3 code {iso3.upper()}.")
