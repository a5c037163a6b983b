"""Typed problems answer their status as problem+json through the one handler."""

import httpx
import pytest
from fastapi import FastAPI

from c2r_common.errors import ProblemError, install_error_handlers
from c2r_common.problems import (
    Conflict,
    Forbidden,
    InvalidField,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
    require_country,
)

RAISED: dict[str, ProblemError] = {
    "forbidden": Forbidden("Needs the scope assessments:approve."),
    "not-found": NotFound("No call 7."),
    "conflict": Conflict("Only failed entries can be retried.", problem_type="retry-refused"),
    "precondition": PreconditionFailed("Changed meanwhile; read it again."),
    "media": UnsupportedMediaType("Send text/csv."),
    "invalid": InvalidField("body.call_id", "unknown call", "No call 7."),
}
STATUSES = {
    "forbidden": 403,
    "not-found": 404,
    "conflict": 409,
    "precondition": 412,
    "media": 415,
    "invalid": 422,
}


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{kind}")
    async def raise_it(kind: str) -> None:
        raise RAISED[kind]

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("kind", sorted(STATUSES))
async def test_each_problem_answers_its_status_as_problem_json(
    client: httpx.AsyncClient, kind: str
) -> None:
    async with client:
        response = await client.get(f"/raise/{kind}")
    assert response.status_code == STATUSES[kind]
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["detail"]) == (STATUSES[kind], RAISED[kind].detail)


async def test_an_invalid_field_is_named_like_a_validation_error(
    client: httpx.AsyncClient,
) -> None:
    async with client:
        body = (await client.get("/raise/invalid")).json()
    assert body["title"] == "Invalid request"
    assert body["type"].endswith("/validation")
    assert body["errors"] == [{"field": "body.call_id", "message": "unknown call"}]


async def test_options_of_a_problem_are_kept(client: httpx.AsyncClient) -> None:
    async with client:
        body = (await client.get("/raise/conflict")).json()
    assert body["type"].endswith("/retry-refused")


def test_require_country_finds_any_case_and_refuses_an_unknown_code() -> None:
    assert require_country("rwa").iso3 == "RWA"
    with pytest.raises(NotFound) as raised:
        require_country("xyz")
    assert raised.value.detail == "No country or area with ISO alpha-3 code XYZ."
