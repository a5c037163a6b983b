"""Every route's OpenAPI declares what the shared plumbing answers on it, derived from the
route itself: 400 and 413 where it takes a body, 401/403 where it authenticates, 503 where
it reaches the database."""

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from c2r_common.auth import BEARER_SECURITY, CurrentPrincipal
from c2r_common.bodies import json_body_openapi
from c2r_common.concurrency import IfMatch
from c2r_common.db import SessionDep
from c2r_common.errors import PROBLEM_JSON, install_problem_openapi, problem_responses
from c2r_common.route_statuses import declare_route_statuses


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/v1/things")

    @router.post("", status_code=201, responses=problem_responses(409))
    async def create(thing: Thing, principal: CurrentPrincipal, db: SessionDep) -> Thing:
        return thing

    @router.get("/open")
    async def open_to_all() -> dict[str, str]:
        return {}

    @router.get("/count")
    async def count(db: SessionDep) -> int:
        return 0

    @router.put("/{name}")
    async def replace(name: str, thing: Thing, if_match: IfMatch, db: SessionDep) -> Thing:
        return thing

    @router.get("/{name}/parts")
    async def parts(name: str) -> list[str]:
        return [name]

    @router.post("/push", openapi_extra=json_body_openapi(Thing) | BEARER_SECURITY)
    async def push(request: Request) -> None:
        return None

    app.include_router(router)
    install_problem_openapi(app)
    declare_route_statuses(app)
    return app


def _statuses(document: dict[str, Any], path: str, method: str) -> list[str]:
    return sorted(document["paths"][path][method]["responses"])


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _app().openapi()


def test_a_parsed_body_an_authenticated_caller_and_a_session_add_their_statuses(
    document: dict[str, Any],
) -> None:
    statuses = _statuses(document, "/v1/things", "post")
    assert statuses == ["201", "400", "401", "403", "409", "413", "422", "503"]


def test_a_route_with_no_plumbing_declares_nothing_more(document: dict[str, Any]) -> None:
    assert _statuses(document, "/v1/things/open", "get") == ["200"]


def test_a_session_alone_adds_only_503(document: dict[str, Any]) -> None:
    assert _statuses(document, "/v1/things/count", "get") == ["200", "503"]


def test_a_route_reading_if_match_declares_412(document: dict[str, Any]) -> None:
    assert "412" in _statuses(document, "/v1/things/{name}", "put")
    assert "412" not in _statuses(document, "/v1/things", "post")


def test_a_route_with_a_path_parameter_declares_404(document: dict[str, Any]) -> None:
    assert "404" in _statuses(document, "/v1/things/{name}", "put")
    assert "404" not in _statuses(document, "/v1/things/count", "get")


async def test_an_empty_path_parameter_is_answered_404() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/v1/things//parts")
    assert response.status_code == 404
    assert "404" in _app().openapi()["paths"]["/v1/things/{name}/parts"]["get"]["responses"]


def test_a_body_read_by_hand_can_be_too_large_but_is_not_parsed_by_fastapi(
    document: dict[str, Any],
) -> None:
    assert _statuses(document, "/v1/things/push", "post") == ["200", "401", "403", "413", "503"]


def test_the_added_statuses_are_problem_json_and_503_says_retry_after(
    document: dict[str, Any],
) -> None:
    responses = document["paths"]["/v1/things"]["post"]["responses"]
    for status in ("400", "401", "403", "413", "503"):
        schema = responses[status]["content"][PROBLEM_JSON]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "Retry-After" in responses["503"]["headers"]
    assert "Problem" in document["components"]["schemas"]


async def test_a_body_fastapi_cannot_parse_is_answered_400_as_declared() -> None:
    app = _app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            "/v1/things", content=b"\xff{", headers={"Content-Type": "application/json"}
        )
    # Unauthenticated: the body is parsed before dependencies run, so 400 comes first.
    assert response.status_code == 400
    assert "400" in app.openapi()["paths"]["/v1/things"]["post"]["responses"]
