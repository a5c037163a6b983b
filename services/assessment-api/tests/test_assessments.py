import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from assessment_api.assessments import service
from assessment_api.assessments.models import Assessment
from c2r_common.auth import Principal
from c2r_common.errors import ProblemError
from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]


async def test_create_returns_a_draft_pinned_to_the_latest_methodology(
    client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None
) -> None:
    request_id = str(uuid.uuid4())
    response = await client.post(
        "/v1/assessments",
        json={"country_iso3": "rwa", "period": "2026", "source_request_id": request_id},
        headers=auth_headers("assessments:write") | {"Idempotency-Key": "k-1"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["country_iso3"] == "RWA"
    assert body["methodology_version"] == 1
    assert body["source_request_id"] == request_id
    assert body["allowed_transitions"] == ["data_collection"]
    assert response.headers["etag"] == '"1"'
    stored = await client.get(
        f"/v1/assessments/{body['id']}", headers=auth_headers("assessments:read")
    )
    assert stored.json()["title"] == "Rwanda 2026"
    by_request = await client.get(
        "/v1/assessments",
        params={"source_request_id": request_id},
        headers=auth_headers("assessments:read"),
    )
    assert [a["id"] for a in by_request.json()["items"]] == [body["id"]]


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None
) -> None:
    headers = auth_headers("assessments:write") | {"Idempotency-Key": "retry-me"}
    body = {"country_iso3": "ZWE", "period": "2026", "title": "Zimbabwe"}
    first = await client.post("/v1/assessments", json=body, headers=headers)
    again = await client.post("/v1/assessments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other_body = await client.post(
        "/v1/assessments", json=body | {"title": "changed"}, headers=headers
    )
    assert other_body.status_code == 422


async def test_same_country_and_period_with_another_key_is_a_409_naming_the_existing(
    client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None
) -> None:
    body = {"country_iso3": "MRT", "period": "2026"}
    first = await client.post(
        "/v1/assessments",
        json=body,
        headers=auth_headers("assessments:write") | {"Idempotency-Key": "a"},
    )
    second = await client.post(
        "/v1/assessments",
        json=body,
        headers=auth_headers("assessments:write") | {"Idempotency-Key": "b"},
    )
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["existing_assessment_id"] == first.json()["id"]


async def test_bad_input_names_the_field_and_stores_nothing(
    client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None
) -> None:
    response = await client.post(
        "/v1/assessments",
        json={"country_iso3": "XXX", "period": "last year"},
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.country_iso3", "body.period"}
    unknown_version = await client.post(
        "/v1/assessments",
        json={"country_iso3": "RWA", "period": "2026", "methodology_version": 9},
        headers=auth_headers("assessments:write"),
    )
    assert unknown_version.status_code == 422
    assert unknown_version.json()["errors"][0]["field"] == "body.methodology_version"
    listed = await client.get("/v1/assessments", headers=auth_headers("assessments:read"))
    assert listed.json()["items"] == []


async def test_full_lifecycle_from_draft_to_published_with_audit(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment("MRT", "2021", values=required_values)
    path = f"/v1/assessments/{created['id']}"
    writer, approver = auth_headers("assessments:write"), auth_headers("assessments:approve")
    for status, headers in [
        ("data_collection", writer),
        ("validation", writer),
        ("completed", writer),
        ("accepted_by_country", approver),
        ("published", approver),
    ]:
        moved = await client.post(f"{path}/transitions", json={"to": status}, headers=headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == status
    audit = await client.get(f"{path}/audit", headers=auth_headers("assessments:read"))
    actions = [(e["action"], e["detail"].get("to")) for e in audit.json()["items"]]
    assert actions[0] == ("created", None)
    assert actions[-1] == ("transition", "published")
    assert all(e["actor"] == "test-user" and e["at"] for e in audit.json()["items"])


async def test_invalid_transition_is_a_409_listing_the_allowed_ones(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    response = await client.post(
        f"/v1/assessments/{created['id']}/transitions",
        json={"to": "published"},
        headers=auth_headers("admin"),
    )
    assert response.status_code == 409
    assert response.json()["allowed_transitions"] == ["data_collection"]
    assert response.json()["current_status"] == "draft"


async def test_cannot_complete_while_required_indicators_are_missing(
    client: httpx.AsyncClient,
    create_assessment: AssessmentFactory,
    move: Mover,
    auth_headers: TokenFactory,
) -> None:
    created = await create_assessment(values={"internet_users_pct": 40, "netp_adopted": 1})
    await move(created["id"], "data_collection", "validation")
    response = await client.post(
        f"/v1/assessments/{created['id']}/transitions",
        json={"to": "completed"},
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 409
    missing = response.json()["missing_indicators"]
    assert "pop_coverage_4g_pct" in missing
    assert "internet_users_pct" not in missing
    assert "schools_connected_pct" not in missing  # optional: read live from school-monitor


async def test_acceptance_needs_the_approve_scope(
    client: httpx.AsyncClient,
    create_assessment: AssessmentFactory,
    move: Mover,
    auth_headers: TokenFactory,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment(values=required_values)
    await move(created["id"], "data_collection", "validation", "completed")
    response = await client.post(
        f"/v1/assessments/{created['id']}/transitions",
        json={"to": "accepted_by_country"},
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 403
    assert "assessments:approve" in response.json()["detail"]


async def test_stale_if_match_is_refused_with_412(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    path = f"/v1/assessments/{created['id']}"
    headers = auth_headers("assessments:write")
    read = await client.get(path, headers=headers | auth_headers("assessments:read"))
    etag = read.headers["etag"]
    first = await client.patch(
        path, json={"title": "First edit"}, headers=headers | {"If-Match": etag}
    )
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    stale = await client.patch(
        path, json={"title": "Second edit"}, headers=headers | {"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == first.headers["etag"]
    stale_move = await client.post(
        f"{path}/transitions",
        json={"to": "data_collection"},
        headers=headers | {"If-Match": etag},
    )
    assert stale_move.status_code == 412
    current = await client.get(path, headers=auth_headers("assessments:read"))
    assert current.json()["title"] == "First edit"
    assert current.json()["status"] == "draft"


async def test_translations_are_recorded_per_language(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("MRT", "2021")
    path = f"/v1/assessments/{created['id']}/translations/ar"
    headers = auth_headers("assessments:write")
    await client.put(path, json={"status": "requested"}, headers=headers)
    response = await client.put(path, json={"status": "in_progress"}, headers=headers)
    assert response.status_code == 200
    assert [(t["language"], t["status"]) for t in response.json()["translations"]] == [
        ("ar", "in_progress")
    ]
    bad = await client.put(
        f"/v1/assessments/{created['id']}/translations/Arabic!",
        json={"status": "requested"},
        headers=headers,
    )
    assert bad.status_code == 422


async def test_country_claim_limits_reads_and_writes(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    rwanda = await create_assessment("RWA", "2026")
    await create_assessment("ZWE", "2026")
    focal_point = auth_headers("assessments:read", "assessments:write", countries=["ZWE"])
    listed = await client.get("/v1/assessments", headers=focal_point)
    assert [a["country_iso3"] for a in listed.json()["items"]] == ["ZWE"]
    other = await client.get(f"/v1/assessments/{rwanda['id']}", headers=focal_point)
    assert other.status_code == 404
    create_other = await client.post(
        "/v1/assessments", json={"country_iso3": "RWA", "period": "2027"}, headers=focal_point
    )
    assert create_other.status_code == 403


async def test_reading_needs_the_read_scope(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    response = await client.get(
        f"/v1/assessments/{created['id']}", headers=auth_headers("schools:read")
    )
    assert response.status_code == 403
    writing = await client.post(
        "/v1/assessments",
        json={"country_iso3": "RWA", "period": "2030"},
        headers=auth_headers("assessments:read"),
    )
    assert writing.status_code == 403


async def test_lists_are_paginated_in_creation_order(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    for year in ("2021", "2022", "2023"):
        await create_assessment("RWA", year)
    headers = auth_headers("assessments:read")
    first = await client.get("/v1/assessments", params={"limit": 2}, headers=headers)
    second = await client.get(
        "/v1/assessments",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )
    periods = [a["period"] for a in first.json()["items"] + second.json()["items"]]
    assert periods == ["2021", "2022", "2023"]
    assert second.json()["next_cursor"] is None


async def test_a_write_racing_another_on_the_same_revision_is_refused_with_412(
    app: FastAPI, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment()
    writer = Principal(subject="late-writer", scopes=frozenset({"assessments:write"}))
    async with app.state.database.sessionmaker() as db:
        assessment = await service.get(db, uuid.UUID(created["id"]), writer)
        # Another request commits a change after this one read the assessment.
        bump = (
            update(Assessment)
            .where(Assessment.id == assessment.id)
            .values(revision=Assessment.revision + 1)
            .execution_options(synchronize_session=False)
        )
        await db.execute(bump)
        with pytest.raises(ProblemError) as refused:
            await service.update_title(db, assessment, "Late edit", writer)
    assert refused.value.status_code == 412


async def _metric(client: httpx.AsyncClient, sample: str) -> float:
    exposition = (await client.get("/metrics")).text
    line = next((x for x in exposition.splitlines() if x.startswith(f"{sample} ")), None)
    return float(line.split()[-1]) if line else 0.0


async def test_lifecycle_moves_are_counted_in_metrics(
    client: httpx.AsyncClient, create_assessment: AssessmentFactory, move: Mover
) -> None:
    sample = 'c2r_assessment_transitions_total{to_status="data_collection"}'
    before = await _metric(client, sample)
    created = await create_assessment()
    await move(created["id"], "data_collection")
    assert await _metric(client, sample) == before + 1


async def test_a_country_focal_point_accepts_its_own_assessment_only(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    move: Mover,
    required_values: dict[str, float],
) -> None:
    mauritania = await create_assessment("MRT", "2021", values=required_values)
    zimbabwe = await create_assessment("ZWE", "2022", values=required_values)
    for created in (mauritania, zimbabwe):
        await move(created["id"], "data_collection", "validation", "completed")
    focal_point = auth_headers("assessments:read", "assessments:approve", countries=["MRT"])
    accepted = await client.post(
        f"/v1/assessments/{mauritania['id']}/transitions",
        json={"to": "accepted_by_country", "note": "Accepted by the ministry"},
        headers=focal_point,
    )
    assert accepted.status_code == 200
    other = await client.post(
        f"/v1/assessments/{zimbabwe['id']}/transitions",
        json={"to": "accepted_by_country"},
        headers=focal_point,
    )
    assert other.status_code == 404
    audit = await client.get(
        f"/v1/assessments/{mauritania['id']}/audit", headers=auth_headers("assessments:read")
    )
    last = audit.json()["items"][-1]
    assert (last["actor"], last["note"]) == ("test-user", "Accepted by the ministry")
