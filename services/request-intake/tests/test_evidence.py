"""The evidence pack, read over HTTP from real servers standing in for assessment-api and
school-monitor: each one up, slow (past the time budget), down (a closed port) or
answering an error, and each part degrading on its own."""

import asyncio
import base64
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client
from request_intake.config import IntakeSettings
from request_intake.evidence.sources import EvidenceSources

BUDGET = 0.5
LATEST = str(uuid.UUID(int=2025))


def _latest_row(assessment_id: str, period: str) -> dict[str, Any]:
    return {
        "assessment_id": assessment_id,
        "country_iso3": "RWA",
        "country_name": "Rwanda",  # a field the reader does not name: ignored
        "period": period,
        "status": "completed",
        "methodology_version": 1,
        "overall": 48.2,
    }


def _gap(rank: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "code": f"indicator_{rank}",
        "name": f"Indicator {rank}",
        "pillar": "demand",
        "value": 10.0,
        "target": 35.0,
        "target_source": "Broadband Commission 2025",
        "shortfall": 25.0,
        "score_shortfall": 40.0,
        "weighted_shortfall": 8.0 - rank,
        "phase": "national_strategy",
        "sg1_question": "Q1/1",
        "sg1_question_title": "Strategies and policies for the deployment of broadband",
        "interventions": ["national broadband plan"],
    }


SCORES = {
    "overall": 48.2,
    "band": "limited",
    "coverage": 0.9,
    "pillars": [{"code": "supply", "name": "Supply", "score": 52.0, "coverage": 1.0}],
    "indicators": [],
}
SUMMARY = {
    "iso3": "RWA",
    "as_of": "2026-06-10T08:00:00Z",
    "schools_total": 63,
    "schools_by_status": {"good": 5, "moderate": 10, "bad": 40, "unknown": 8},
    "schools_connected_pct": 27.27,
    "schools_reporting_24h": 12,
    "last_measurement_date": "2026-06-09",
}


def _scopes(request: Request) -> str:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    payload = token.split(".")[1] if token.count(".") == 2 else ""
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)) or "{}")
    return str(claims.get("scope", ""))


class Upstream:
    """A real HTTP server on loopback; `mode` decides how it answers: up, slow, error,
    unavailable, invalid or empty. Until started it is down (nothing listens)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "up"
        self.routes = routes
        self.scopes: list[str] = []
        self.called = asyncio.Event()  # set by the first request it receives
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def _answer(self, request: Request) -> Response:
        self.scopes.append(_scopes(request))
        self.called.set()
        if self.mode == "slow":
            await asyncio.sleep(BUDGET * 4)
        if self.mode == "error":
            return JSONResponse({"detail": "boom"}, status_code=500)
        if self.mode == "unavailable":
            return JSONResponse({"detail": "overloaded"}, status_code=503)
        if self.mode == "invalid":
            return Response("<html>not json</html>", media_type="text/html")
        if self.mode == "empty":
            return JSONResponse({"detail": "no such thing"}, status_code=404)
        body = self.routes[request.scope["route"].path]
        return JSONResponse(body(request) if callable(body) else body)

    async def start(self) -> None:
        app = Starlette(routes=[Route(path, self._answer) for path in self.routes])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(1000):
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("the upstream did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            # A slow answer still sleeping would hold the shutdown: cut it short.
            self._server.force_exit = True
            await self._task
        self._server = self._task = None


def _compare(request: Request) -> dict[str, Any]:
    if request.query_params.get("countries") != "RWA":
        return {"rows": [], "not_assessed": [request.query_params.get("countries")]}
    return {"rows": [_latest_row(LATEST, "2025")], "not_assessed": []}


@pytest.fixture
async def assessment_api() -> AsyncIterator[Upstream]:
    upstream = Upstream(
        {
            "/v1/assessments/compare": _compare,
            "/v1/assessments/{id}/scores": SCORES,
            "/v1/assessments/{id}/gaps": {
                "gaps": [_gap(rank) for rank in range(1, 8)],
                "missing_data": ["schools_connected_pct"],
            },
        }
    )
    await upstream.start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def school_monitor() -> AsyncIterator[Upstream]:
    upstream = Upstream({"/v1/connectivity/countries/{iso3}": SUMMARY})
    await upstream.start()
    yield upstream
    await upstream.stop()


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@asynccontextmanager
async def pointed_at(app: FastAPI, settings: IntakeSettings, **urls: str) -> AsyncIterator[None]:
    """The app's evidence sources at `urls`, with the tests' short budget."""
    updated = settings.model_copy(update={"evidence_timeout_seconds": BUDGET, **urls})
    sources = EvidenceSources.for_settings(updated)
    original, app.state.evidence_sources = app.state.evidence_sources, sources
    try:
        yield
    finally:
        app.state.evidence_sources = original
        await sources.aclose()


@pytest.fixture
async def sources_up(
    app: FastAPI, settings: IntakeSettings, assessment_api: Upstream, school_monitor: Upstream
) -> AsyncIterator[None]:
    urls = {"assessment_api_url": assessment_api.url, "school_monitor_url": school_monitor.url}
    async with pointed_at(app, settings, **urls):
        yield


async def _assign(api: Any, request_id: str, reviewer: str) -> None:
    response = await api.client.post(
        f"/v1/requests/{request_id}/reviewers",
        json={"reviewer": reviewer, "role": "technical", "due_at": "2026-06-20T17:00:00Z"},
        headers=api.staff,
    )
    assert response.status_code == 201, response.text


async def _request_of_rwanda(api: Any, rwanda: dict[str, str]) -> str:
    """A request of Rwanda, with the `reviewer` fixture's subject assigned to it."""
    call = await api.create_call()
    request_id = str((await api.submit(rwanda, call["id"]))["id"])
    await _assign(api, request_id, "reviewer")
    return request_id


async def _pack(client: httpx.AsyncClient, request_id: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"/v1/requests/{request_id}/evidence", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_pack_shows_the_latest_assessment_and_school_connectivity(
    api: Any,
    clock: Any,
    client: httpx.AsyncClient,
    rwanda: dict[str, str],
    reviewer: dict[str, str],
    sources_up: None,
    assessment_api: Upstream,
    school_monitor: Upstream,
) -> None:
    request_id = await _request_of_rwanda(api, rwanda)
    pack = await _pack(client, request_id, reviewer)
    assert (pack["request_id"], pack["country_iso3"]) == (request_id, "RWA")
    assessment = pack["assessment"]
    assert assessment["status"] == "available"
    assert (assessment["assessment_id"], assessment["period"]) == (LATEST, "2025")
    assert (assessment["overall"], assessment["band"]) == (48.2, "limited")
    assert [g["rank"] for g in assessment["top_gaps"]] == [1, 2, 3, 4, 5]
    first = assessment["top_gaps"][0]
    assert (first["phase"], first["sg1_question"]) == ("national_strategy", "Q1/1")
    assert assessment["missing_data"] == ["schools_connected_pct"]
    connectivity = pack["connectivity"]
    assert connectivity["status"] == "available"
    assert connectivity["summary"]["schools_total"] == 63
    # Each service is called with a service token of the one scope it needs.
    assert set(assessment_api.scopes) == {"assessments:read"}
    assert set(school_monitor.scopes) == {"schools:read"}


async def test_a_slow_service_leaves_its_part_unavailable_and_the_other_standing(
    api: Any,
    clock: Any,
    client: httpx.AsyncClient,
    rwanda: dict[str, str],
    approver: dict[str, str],
    sources_up: None,
    assessment_api: Upstream,
    school_monitor: Upstream,
) -> None:
    request_id = await _request_of_rwanda(api, rwanda)
    school_monitor.mode = "slow"
    pack = await _pack(client, request_id, approver)
    assert pack["connectivity"] == {
        "status": "unavailable",
        "reason": f"school-monitor did not answer within {BUDGET} s",
    }
    assert pack["assessment"]["status"] == "available"
    school_monitor.mode, assessment_api.mode = "up", "slow"
    pack = await _pack(client, request_id, approver)
    assert pack["assessment"]["reason"] == f"assessment-api did not answer within {BUDGET} s"
    assert pack["connectivity"]["status"] == "available"


@pytest.mark.parametrize(
    ("mode", "assessment_reason", "connectivity_reason"),
    [
        ("error", "assessment-api answered HTTP 500", "school-monitor answered HTTP 500"),
        (
            "unavailable",
            "assessment-api is unavailable (HTTP 503)",
            "school-monitor is unavailable (HTTP 503)",
        ),
        (
            "invalid",
            "assessment-api sent an answer this service cannot read",
            "school-monitor sent an answer this service cannot read",
        ),
        (
            "empty",
            "assessment-api does not compare assessments",
            "school-monitor has no connectivity data for RWA",
        ),
    ],
)
async def test_an_error_answer_is_a_reason_not_a_failure(
    api: Any,
    clock: Any,
    client: httpx.AsyncClient,
    rwanda: dict[str, str],
    reviewer: dict[str, str],
    sources_up: None,
    assessment_api: Upstream,
    school_monitor: Upstream,
    mode: str,
    assessment_reason: str,
    connectivity_reason: str,
) -> None:
    request_id = await _request_of_rwanda(api, rwanda)
    assessment_api.mode = school_monitor.mode = mode
    pack = await _pack(client, request_id, reviewer)
    assert pack["assessment"] == {"status": "unavailable", "reason": assessment_reason}
    assert pack["connectivity"] == {"status": "unavailable", "reason": connectivity_reason}


async def test_a_country_never_assessed_says_so(
    api: Any,
    clock: Any,
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    reviewer: dict[str, str],
    sources_up: None,
) -> None:
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"])
    call = await api.create_call()
    request = await api.submit(kenya, call["id"], country_iso3="KEN")
    await _assign(api, request["id"], "reviewer")
    pack = await _pack(client, request["id"], reviewer)
    assert pack["assessment"] == {
        "status": "unavailable",
        "reason": "assessment-api has no finished assessment of KEN",
    }


async def test_a_service_down_leaves_its_part_unavailable(
    api: Any,
    clock: Any,
    app: FastAPI,
    settings: IntakeSettings,
    client: httpx.AsyncClient,
    rwanda: dict[str, str],
    reviewer: dict[str, str],
    school_monitor: Upstream,
    closed_port: str,
) -> None:
    request_id = await _request_of_rwanda(api, rwanda)
    urls = {"assessment_api_url": closed_port, "school_monitor_url": school_monitor.url}
    async with pointed_at(app, settings, **urls):
        pack = await _pack(client, request_id, reviewer)
    assert pack["assessment"] == {
        "status": "unavailable",
        "reason": "assessment-api is unreachable (ConnectError)",
    }
    assert pack["connectivity"]["status"] == "available"


async def test_the_pack_is_for_approvers_and_the_reviewers_assigned_to_the_request(
    api: Any,
    clock: Any,
    client: httpx.AsyncClient,
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    sources_up: None,
) -> None:
    request_id = await _request_of_rwanda(api, rwanda)  # "reviewer" is assigned
    other_request = await _request_of_rwanda(api, rwanda)
    await _assign(api, other_request, "other-reviewer")
    path = f"/v1/requests/{request_id}/evidence"
    assigned = auth_headers("requests:read", "requests:review", subject="reviewer")
    assert (await client.get(path, headers=assigned)).status_code == 200
    # A reviewer not assigned to this request (only to another one) reads no evidence of it.
    other = auth_headers("requests:read", "requests:review", subject="other-reviewer")
    refused = await client.get(path, headers=other)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    other_path = f"/v1/requests/{other_request}/evidence"
    assert (await client.get(other_path, headers=other)).status_code == 200
    # The focal point never, not even holding the review scope (it cannot be assigned).
    assert (await client.get(path, headers=rwanda)).status_code == 403
    focal_reviewer = auth_headers(
        "requests:read", "requests:review", countries=["RWA"], subject="rw-focal"
    )
    assert (await client.get(path, headers=focal_reviewer)).status_code == 403
    reader = auth_headers("requests:read")
    assert (await client.get(path, headers=reader)).status_code == 403
    kenya_reviewer = auth_headers("requests:review", countries=["KEN"], subject="reviewer")
    assert (await client.get(path, headers=kenya_reviewer)).status_code == 404
    missing = f"/v1/requests/{uuid.uuid4()}/evidence"
    approver = auth_headers("requests:approve")
    assert (await client.get(missing, headers=approver)).status_code == 404
    # An approver reads every request's pack without being assigned.
    assert (await client.get(path, headers=approver)).status_code == 200


async def test_the_pack_holds_no_database_connection_while_it_waits_for_the_services(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    api_for: Callable[[httpx.AsyncClient], Any],
    rwanda: dict[str, str],
    approver: dict[str, str],
    assessment_api: Upstream,
    school_monitor: Upstream,
) -> None:
    """Real commits and the app's own pool: while both services are slow, a pack in flight
    has given its connection back (otherwise a few slow peers exhaust the pool and every
    other endpoint waits on them)."""
    urls = {"assessment_api_url": assessment_api.url, "school_monitor_url": school_monitor.url}
    async with (
        app_on_fresh_database(
            service_under_test, tmp_path, evidence_timeout_seconds=BUDGET, **urls
        ) as app,
        asgi_client(app) as http,
    ):
        api = api_for(http)
        now = datetime.now(UTC)
        call = await api.create_call(
            opens_at=f"{now - timedelta(days=1):%Y-%m-%dT%H:%M:%S}",
            closes_at=f"{now + timedelta(days=30):%Y-%m-%dT%H:%M:%S}",
            time_zone="UTC",
        )
        request_id = (await api.submit(rwanda, call["id"]))["id"]
        assessment_api.mode = school_monitor.mode = "slow"
        pool = app.state.database.engine.pool
        pack = asyncio.create_task(
            http.get(f"/v1/requests/{request_id}/evidence", headers=approver)
        )
        await assessment_api.called.wait()
        await school_monitor.called.wait()
        held_while_waiting = []
        while not pack.done():
            held_while_waiting.append(pool.checkedout())
            await asyncio.sleep(0.02)
        assert (await pack).status_code == 200
    assert held_while_waiting
    assert max(held_while_waiting) == 0, held_while_waiting
