"""The evidence pack (c2r_common.evidence) read by request-intake's own sources from the
real assessment-api and school-monitor apps: the latest FINISHED assessment as
assessment-api chooses it (a newer draft and an older period lose; within the period, the
re-scored copy under the newer methodology version wins), and the pack's parts equal what
those apps answer themselves."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

import assessment_api.app
import request_intake.app
import school_monitor.app
from assessment_api.config import AssessmentSettings
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.methodology.schemas import Unit
from assessment_api.seed import seed_reference
from c2r_common.auth import mint_token
from c2r_common.client import ServiceClient
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from request_intake.config import IntakeSettings
from request_intake.evidence.sources import TOP_GAPS, EvidenceSources
from school_monitor.config import SchoolMonitorSettings
from school_monitor.seed import SCHOOLS, seed

ASSESSMENT_API = ServiceUnderTest(
    name="assessment-api",
    alembic_ini=assessment_api.app.ALEMBIC_INI,
    make_settings=lambda url: AssessmentSettings(database_url=url, environment=Environment.TEST),
    create_app=assessment_api.app.create_app,  # type: ignore[arg-type]
)
SCHOOL_MONITOR = ServiceUnderTest(
    name="school-monitor",
    alembic_ini=school_monitor.app.ALEMBIC_INI,
    make_settings=lambda url: SchoolMonitorSettings(database_url=url, environment=Environment.TEST),
    create_app=school_monitor.app.create_app,  # type: ignore[arg-type]
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


def _headers(*scopes: str, subject: str = "contract", **claims: Any) -> dict[str, str]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, subject=subject, scopes=list(scopes), **claims)
    return {"Authorization": f"Bearer {token}"}


ADMIN = _headers("admin")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def _value_for(unit: Unit) -> float:
    return {Unit.PERCENT: 50.0, Unit.BOOLEAN: 1.0}.get(unit, 5.0)


async def _completed(http: httpx.AsyncClient, period: str, internet_users_pct: float) -> str:
    """An assessment of Rwanda with every required value, moved to completed."""
    created = _ok(
        await http.post("/v1/assessments", json={"country_iso3": "RWA", "period": period}), 201
    )
    path = f"/v1/assessments/{created['id']}"
    required = {i.code: _value_for(i.unit) for i in DEFAULT_METHODOLOGY.indicators() if i.required}
    required["internet_users_pct"] = internet_users_pct
    values = [
        {"code": code, "value": value, "year": 2025, "source": "contract"}
        for code, value in required.items()
    ]
    _ok(await http.post(f"{path}/indicators", json={"values": values}))
    for status in ("data_collection", "validation", "completed"):
        _ok(await http.post(f"{path}/transitions", json={"to": status}))
    return str(created["id"])


async def _seed_assessments(http: httpx.AsyncClient) -> str:
    """Rwanda: 2024 completed; 2025 completed under v1 then re-scored under v2; 2026 a
    draft. Returns the one assessment-api counts as the latest: the 2025 copy."""
    await _completed(http, "2024", 20.0)
    original = await _completed(http, "2025", 30.0)
    v2 = DEFAULT_METHODOLOGY.model_copy(update={"name": "C2R v2"}).model_dump(mode="json")
    _ok(await http.post("/v1/methodologies", json=v2), 201)
    copy = _ok(await http.post(f"/v1/assessments/{original}/rescorings", json={}), 201)
    assert (copy["status"], copy["rescored_from_id"]) == ("completed", original)
    draft = {"country_iso3": "RWA", "period": "2026"}
    _ok(await http.post("/v1/assessments", json=draft), 201)
    return str(copy["id"])


@asynccontextmanager
async def intake_reading(
    assessments: FastAPI, monitor: FastAPI, folder: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """request-intake whose evidence sources reach the two real apps themselves."""
    async with app_on_fresh_database(REQUEST_INTAKE, folder) as intake:

        def client(base_url: str, app: FastAPI, scope: str) -> ServiceClient:
            token = mint_token(DEVELOPMENT_JWT_SECRET, subject="request-intake", scopes=[scope])
            return ServiceClient(
                base_url, token_provider=lambda: token, transport=httpx.ASGITransport(app=app)
            )

        sources = EvidenceSources(
            client("http://assessment-api", assessments, "assessments:read"),
            client("http://school-monitor", monitor, "schools:read"),
            budget_seconds=30.0,
        )
        async with asgi_client(intake) as http:
            # Swapped in once the app has started: its start-up builds its own sources.
            original, intake.state.evidence_sources = intake.state.evidence_sources, sources
            try:
                yield http
            finally:
                intake.state.evidence_sources = original
                await sources.aclose()


async def _request_of_rwanda(http: httpx.AsyncClient) -> str:
    now = datetime.now(UTC)
    call = {
        "title": "C2R technical assistance for African Member States",
        "assistance_types": ["assessment"],
        "eligible_regions": ["Africa"],
        "time_zone": "UTC",
        "opens_at": now.replace(year=now.year - 1).isoformat(),
        "closes_at": now.replace(year=now.year + 1).isoformat(),
    }
    created = _ok(await http.post("/v1/calls", json=call, headers=_headers("calls:write")), 201)
    body = {
        "call_id": created["id"],
        "country_iso3": "RWA",
        "requesting_entity": "Ministry of ICT and Innovation",
        "entity_type": "ministry",
        "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
        "assistance_type": "assessment",
        "title": "Digital infrastructure and resilience assessment",
        "description": "A country assessment following the C2R methodology.",
    }
    focal = _headers("requests:submit", "requests:read", countries=["RWA"])
    return str(_ok(await http.post("/v1/requests", json=body, headers=focal), 201)["id"])


async def test_the_pack_reads_the_latest_finished_assessment_and_connectivity_as_they_are(
    tmp_path: Path,
) -> None:
    async with (
        app_on_fresh_database(ASSESSMENT_API, tmp_path / "assessments") as assessments,
        app_on_fresh_database(SCHOOL_MONITOR, tmp_path / "monitor") as monitor,
    ):
        async with assessments.state.database.sessionmaker() as db:
            await seed_reference(db)
            await db.commit()
        async with asgi_client(assessments, ADMIN) as http:
            latest = await _seed_assessments(http)
            compared = _ok(await http.get("/v1/assessments/compare?countries=RWA"))
            scores = _ok(await http.get(f"/v1/assessments/{latest}/scores"))
            gaps = _ok(await http.get(f"/v1/assessments/{latest}/gaps"))
        assert [row["assessment_id"] for row in compared["rows"]] == [latest]
        async with asgi_client(monitor, ADMIN) as http:
            for school in SCHOOLS:
                _ok(await http.post("/v1/schools", json=school.model_dump(mode="json")), 201)
        await seed(monitor.state.database, monitor.state.settings)  # a week of measurements
        async with asgi_client(monitor, ADMIN) as http:
            summary = _ok(await http.get("/v1/connectivity/countries/RWA"))

        async with intake_reading(assessments, monitor, tmp_path / "intake") as http:
            request_id = await _request_of_rwanda(http)
            approver = _headers("requests:read", "requests:approve", subject="approver")
            pack = _ok(await http.get(f"/v1/requests/{request_id}/evidence", headers=approver))

    assessment = pack["assessment"]
    assert assessment["status"] == "available", assessment
    assert (assessment["assessment_id"], assessment["period"]) == (latest, "2025")
    assert (assessment["assessment_status"], assessment["methodology_version"]) == (
        "completed",
        2,
    )
    assert (assessment["overall"], assessment["band"], assessment["coverage"]) == (
        scores["overall"],
        scores["band"],
        scores["coverage"],
    )
    assert [(p["code"], p["name"], p["score"], p["coverage"]) for p in assessment["pillars"]] == [
        (p["code"], p["name"], p["score"], p["coverage"]) for p in scores["pillars"]
    ]
    assert gaps["gaps"], "the seeded values leave gaps to show"
    top = gaps["gaps"][:TOP_GAPS]
    assert len(assessment["top_gaps"]) == len(top)
    shown = [{k: g[k] for k in mine} for g, mine in zip(top, assessment["top_gaps"], strict=True)]
    assert assessment["top_gaps"] == shown
    assert assessment["missing_data"] == gaps["missing_data"]

    connectivity = pack["connectivity"]
    assert connectivity["status"] == "available", connectivity
    # Equal to school-monitor's own answer, but for the moment each was computed at.
    assert connectivity["summary"] | {"as_of": None} == summary | {"as_of": None}
    assert connectivity["summary"]["as_of"] >= summary["as_of"]
    assert summary["schools_total"] == len([s for s in SCHOOLS if s.country_iso3 == "RWA"])
