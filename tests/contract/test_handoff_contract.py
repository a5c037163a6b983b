"""The hand-off contract (c2r_common.handoff): request-intake's relay sends the body its
outbox stored for an approved request to the real assessment-api app and reads its real
answers — the 201 of a new assessment, then the 409 naming the one already there."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

import assessment_api.app
import request_intake.app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.auth import mint_token
from c2r_common.client import ServiceClient
from c2r_common.handoff import AssessmentHandoff
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from request_intake.config import IntakeSettings
from request_intake.outbox.models import OutboxEntry
from request_intake.outbox.relay import OutboxRelay

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


@asynccontextmanager
async def relay_to(intake: FastAPI, assessments: FastAPI) -> AsyncIterator[OutboxRelay]:
    """request-intake's own relay, its client on the assessment-api app itself."""
    token = mint_token(
        DEVELOPMENT_JWT_SECRET, subject="request-intake", scopes=["assessments:write"]
    )
    client = ServiceClient(
        "http://assessment-api",
        token_provider=lambda: token,
        transport=httpx.ASGITransport(app=assessments),
        retries=0,
    )
    relay = OutboxRelay(intake, intake.state.settings, client)
    try:
        yield relay
    finally:
        await relay.aclose()


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
    async with intake.state.database.sessionmaker() as db:
        entries = (await db.scalars(select(OutboxEntry))).all()
        [payload] = [e.payload for e in entries if e.payload["source_request_id"] == request_id]
    return AssessmentHandoff.model_validate(payload)


async def test_the_relays_payload_creates_an_assessment_then_finds_it(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with (
        app_on_fresh_database(ASSESSMENT_API, tmp_path / "assessments") as assessments,
        app_on_fresh_database(REQUEST_INTAKE, tmp_path / "intake") as intake,
    ):
        async with assessments.state.database.sessionmaker() as db:
            await seed_reference(db)
            await db.commit()
        async with asgi_client(intake, ADMIN) as http:
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
            first = await _approved_request(http, call.json()["id"], "First assessment")
            handoff = await _stored_handoff(intake, first)
            assert handoff.source_request_id.hex == first.replace("-", "")
            async with relay_to(intake, assessments) as relay:
                report = await relay.run_once()
                assert (report.delivered, report.failed, report.retried) == (1, 0, 0)
                linked = (await http.get(f"/v1/requests/{first}")).json()["assessment_id"]
                # The same country and year again: assessment-api's 409 names the first one.
                second = await _approved_request(http, call.json()["id"], "Second request")
                report = await relay.run_once()
                assert (report.delivered, report.failed, report.retried) == (1, 0, 0)
                again = (await http.get(f"/v1/requests/{second}")).json()["assessment_id"]
        assert linked is not None
        assert again == linked
        async with asgi_client(assessments, ADMIN) as http:
            created = (await http.get(f"/v1/assessments/{linked}")).json()
        assert created["country_iso3"] == handoff.country_iso3
        assert created["period"] == handoff.period == str(now.year)
        assert created["source_request_id"] == first
