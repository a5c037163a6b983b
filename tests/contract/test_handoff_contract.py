"""The hand-off contract (c2r_common.handoff): request-intake's dispatcher sends, through
its hand-off sender, the body the outbox stored for an approved request to the real
assessment-api app and reads its real answers — the 201 of a new assessment, then the 409
naming the one already there; and with assessment-api down, then up on a real port, one
assessment is made."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

import assessment_api.app
import request_intake.app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.auth import mint_token
from c2r_common.client import ServiceClient
from c2r_common.handoff import ASSESSMENTS_PATH, AssessmentHandoff
from c2r_common.notifications.dispatcher import Dispatcher, PassReport
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from request_intake.config import IntakeSettings
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.outbox.sender import HandoffSender, retry_policy
from request_intake.outbox.service import ASSESSMENT_API_OWNER, HANDOFF_EVENT_TYPE

ASSESSMENT_API = ServiceUnderTest(
    name="assessment-api",
    alembic_ini=assessment_api.app.ALEMBIC_INI,
    make_settings=lambda url: AssessmentSettings(database_url=url, environment=Environment.TEST),
    create_app=assessment_api.app.create_app,  # type: ignore[arg-type]
)
REQUEST_INTAKE = ServiceUnderTest(
    name="request-intake",
    alembic_ini=request_intake.app.ALEMBIC_INI,
    make_settings=lambda url: IntakeSettings(
        database_url=url,
        environment=Environment.TEST,
        outbox_relay_enabled=False,
        sla_metrics_enabled=False,
    ),
    create_app=request_intake.app.create_app,  # type: ignore[arg-type]
)


def _headers(*scopes: str, **claims: Any) -> dict[str, str]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, subject="contract", scopes=list(scopes), **claims)
    return {"Authorization": f"Bearer {token}"}


ADMIN = _headers("admin")


class Relay:
    """request-intake's dispatcher with its own hand-off sender, on a client of our choice."""

    def __init__(self, intake: FastAPI, client: ServiceClient) -> None:
        settings: IntakeSettings = intake.state.settings
        sender = HandoffSender(client, ASSESSMENTS_PATH, retry=retry_policy(settings))
        self.sessionmaker = intake.state.database.sessionmaker
        self.dispatcher = Dispatcher(
            NOTIFICATIONS,
            settings,
            "request-intake",
            service_senders={ASSESSMENT_API_OWNER: sender},
        )

    async def run_once(self, now: datetime | None = None) -> PassReport:
        return await self.dispatcher.run_once(self.sessionmaker, now)


def _token() -> str:
    return mint_token(
        DEVELOPMENT_JWT_SECRET, subject="request-intake", scopes=["assessments:write"]
    )


@asynccontextmanager
async def relay_to(intake: FastAPI, assessments: FastAPI) -> AsyncIterator[Relay]:
    """request-intake's own sender, its client on the assessment-api app itself."""
    token = _token()
    client = ServiceClient(
        "http://assessment-api",
        token_provider=lambda: token,
        transport=httpx.ASGITransport(app=assessments),
        retries=0,
    )
    relay = Relay(intake, client)
    try:
        yield relay
    finally:
        await relay.dispatcher.aclose()


async def _approved_request(http: httpx.AsyncClient, call_id: str, title: str) -> str:
    focal = _headers("requests:submit", "requests:read", countries=["RWA"])
    submitted = await http.post(
        "/v1/requests",
        json={
            "call_id": call_id,
            "country_iso3": "RWA",
            "requesting_entity": "Ministry of ICT and Innovation",
            "entity_type": "ministry",
            "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
            "assistance_type": "assessment",
            "title": title,
            "description": "A country assessment following the C2R methodology.",
        },
        headers=focal,
    )
    assert submitted.status_code == 201, submitted.text
    request_id: str = submitted.json()["id"]
    for status in ("screening", "under_review", "approved"):
        moved = await http.post(
            f"/v1/requests/{request_id}/transitions",
            json={"to": status, "comment": f"to {status}"},
        )
        assert moved.status_code == 200, moved.text
    return request_id


async def _stored_handoff(intake: FastAPI, request_id: str) -> AssessmentHandoff:
    e = NOTIFICATIONS.event
    async with intake.state.database.sessionmaker() as db:
        events = (await db.scalars(select(e).where(e.type == HANDOFF_EVENT_TYPE))).all()
        [payload] = [e.data for e in events if e.data["source_request_id"] == request_id]
    return AssessmentHandoff.model_validate(payload)


async def _open_call(http: httpx.AsyncClient, now: datetime) -> str:
    call = await http.post(
        "/v1/calls",
        json={
            "title": "C2R assessments",
            "assistance_types": ["assessment"],
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
        },
    )
    assert call.status_code == 201, call.text
    call_id: str = call.json()["id"]
    return call_id


@asynccontextmanager
async def two_services(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    async with (
        app_on_fresh_database(ASSESSMENT_API, tmp_path / "assessments") as assessments,
        app_on_fresh_database(REQUEST_INTAKE, tmp_path / "intake") as intake,
    ):
        async with assessments.state.database.sessionmaker() as db:
            await seed_reference(db)
            await db.commit()
        yield assessments, intake


async def test_the_relays_payload_creates_an_assessment_then_finds_it(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with two_services(tmp_path) as (assessments, intake):
        async with asgi_client(intake, ADMIN) as http:
            call_id = await _open_call(http, now)
            first = await _approved_request(http, call_id, "First assessment")
            handoff = await _stored_handoff(intake, first)
            assert handoff.source_request_id.hex == first.replace("-", "")
            async with relay_to(intake, assessments) as relay:
                report = await relay.run_once()
                assert (report.delivered, report.dead, report.retried) == (1, 0, 0)
                linked = (await http.get(f"/v1/requests/{first}")).json()["assessment_id"]
                # The same country and year again: assessment-api's 409 names the first one.
                second = await _approved_request(http, call_id, "Second request")
                report = await relay.run_once()
                assert (report.delivered, report.dead, report.retried) == (1, 0, 0)
                again = (await http.get(f"/v1/requests/{second}")).json()["assessment_id"]
        assert linked is not None
        assert again == linked
        async with asgi_client(assessments, ADMIN) as http:
            created = (await http.get(f"/v1/assessments/{linked}")).json()
        assert created["country_iso3"] == handoff.country_iso3
        assert created["period"] == handoff.period == str(now.year)
        assert created["source_request_id"] == first


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[None]:
    """The app on a real loopback port (its lifespan already runs)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # uvicorn offers no "started" event to wait on
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "assessment-api did not start"
        yield
    finally:
        server.should_exit = True
        await task


async def _assessments_of(assessments: FastAPI, request_id: str) -> list[dict[str, Any]]:
    async with asgi_client(assessments, ADMIN) as http:
        listed = await http.get("/v1/assessments", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    return [a for a in listed.json()["items"] if a.get("source_request_id") == request_id]


async def test_assessment_api_down_then_up_on_a_real_port_gets_one_assessment(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    port = _free_port()
    token = _token()
    client = ServiceClient(f"http://127.0.0.1:{port}", token_provider=lambda: token, retries=0)
    async with two_services(tmp_path) as (assessments, intake):
        relay = Relay(intake, client)
        try:
            async with asgi_client(intake, ADMIN) as http:
                request_id = await _approved_request(http, await _open_call(http, now), "A")
            approved_at = datetime.now(UTC)
            # Nothing listens: the hand-off waits, however many passes.
            for hours in range(3):
                report = await relay.run_once(approved_at + timedelta(hours=hours))
                assert (report.retried, report.dead) == (1, 0)
            async with serving(assessments, port):
                report = await relay.run_once(approved_at + timedelta(hours=4))
                assert report.delivered == 1
                assert (await relay.run_once(approved_at + timedelta(hours=5))).attempted == 0
        finally:
            await relay.dispatcher.aclose()
        made = await _assessments_of(assessments, request_id)
        async with asgi_client(intake, ADMIN) as http:
            linked = (await http.get(f"/v1/requests/{request_id}")).json()["assessment_id"]
        async with asgi_client(intake, ADMIN) as http:
            [entry] = (await http.get("/v1/requests/outbox")).json()["items"]
    assert [a["id"] for a in made] == [linked]
    assert (entry["status"], entry["attempts"], entry["result_id"]) == ("delivered", 4, linked)
