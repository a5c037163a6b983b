"""Re-scoring: preview under another methodology version, then a copy pinned to it."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.indicators.models import IndicatorValue
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.methodology.schemas import MethodologyDefinition, Unit
from assessment_api.rescoring.service import carry, copy_status
from assessment_api.seed import seed_reference
from c2r_common.testing import TokenFactory, asgi_client, assert_field_refused

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Completed = Callable[..., Awaitable[dict[str, Any]]]
DATAHUB = "https://datahub.itu.int/data/?e=MRT&i=11624"


def methodology_v2() -> MethodologyDefinition:
    """v1 with adoption weighing twice as much, households' Internet required and the IXP
    count gone."""
    pillars = []
    for pillar in DEFAULT_METHODOLOGY.pillars:
        indicators = [
            i.model_copy(update={"required": True}) if i.code == "households_internet_pct" else i
            for i in pillar.indicators
            if i.code != "ixp_count"
        ]
        weight = pillar.weight * 2 if pillar.code == "adoption" else pillar.weight
        pillars.append(pillar.model_copy(update={"indicators": indicators, "weight": weight}))
    return DEFAULT_METHODOLOGY.model_copy(update={"name": "C2R v2", "pillars": pillars})


Publish = Callable[[], Awaitable[int]]


@pytest.fixture
def publish_v2(client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None) -> Publish:
    """Publishes methodology v2 (call it after opening the assessments to pin to v1)."""

    async def publish() -> int:
        published = await client.post(
            "/v1/methodologies",
            json=methodology_v2().model_dump(mode="json"),
            headers=auth_headers("assessments:approve"),
        )
        assert published.status_code == 201, published.text
        version: int = published.json()["version"]
        return version

    return publish


@pytest.fixture
async def mauritania(completed: Completed, publish_v2: Publish) -> dict[str, Any]:
    """Mauritania 2021 under v1, completed, with an IXP count; then v2 is published."""
    created = await completed("MRT", "2021", ixp_count=1)
    await publish_v2()
    return created


async def _enter_estimate(client: httpx.AsyncClient, headers: dict[str, str], id_: str) -> None:
    entry = {
        "code": "internet_users_pct",
        "value": 44,
        "year": 2021,
        "source": "ITU estimate",
        "provenance": "estimated",
        "source_url": DATAHUB,
        "note": "from the 2019 survey",
    }
    entered = await client.post(
        f"/v1/assessments/{id_}/indicators", json={"values": [entry]}, headers=headers
    )
    assert entered.status_code == 200, entered.text


async def test_preview_scores_the_values_under_the_other_version_and_stores_nothing(
    client: httpx.AsyncClient, auth_headers: TokenFactory, mauritania: dict[str, Any]
) -> None:
    reader = auth_headers("assessments:read")
    path = f"/v1/assessments/{mauritania['id']}"
    now = (await client.get(f"{path}/scores", headers=reader)).json()
    response = await client.get(f"{path}/rescoring", headers=reader)  # default: the latest
    assert response.status_code == 200, response.text
    preview = response.json()
    v2 = 2
    assert (preview["from_version"], preview["to_version"]) == (1, v2)
    assert preview["current"] == {"overall": now["overall"], "band": now["band"]}
    assert preview["not_carried"] == [
        {"code": "ixp_count", "reason": f"no indicator ixp_count in methodology v{v2}"}
    ]
    assert "ixp_count" not in {i["code"] for i in preview["scores"]["indicators"]}
    adoption = next(p for p in preview["scores"]["pillars"] if p["code"] == "adoption")
    assert adoption["weight_share"] > next(
        p["weight_share"] for p in now["pillars"] if p["code"] == "adoption"
    )
    assert preview["overall_change"] == pytest.approx(
        preview["scores"]["overall"] - now["overall"], abs=0.011
    )
    assert preview["existing_assessment_id"] is None
    listed = await client.get("/v1/assessments", params={"country_iso3": "MRT"}, headers=reader)
    assert len(listed.json()["items"]) == 1


async def test_a_rescored_copy_keeps_the_values_and_scores_as_previewed(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
    move: Any,
    publish_v2: Publish,
) -> None:
    headers = auth_headers("assessments:read", "assessments:write")
    original = await create_assessment("MRT", "2021", values=required_values | {"ixp_count": 1})
    await _enter_estimate(client, headers, original["id"])
    await move(original["id"], "data_collection", "validation", "completed")
    v2 = await publish_v2()
    path = f"/v1/assessments/{original['id']}"
    preview = (
        await client.get(f"{path}/rescoring", params={"methodology_version": v2}, headers=headers)
    ).json()
    assert preview["to_version"] == v2
    before = (await client.get(path, headers=headers)).json()

    response = await client.post(
        f"{path}/rescorings", json={"methodology_version": v2}, headers=headers
    )
    assert response.status_code == 201, response.text
    copy = response.json()
    assert response.headers["location"] == f"/v1/assessments/{copy['id']}"
    assert response.headers["etag"] == f'"{copy["revision"]}"'
    assert (copy["methodology_version"], copy["rescored_from_id"]) == (v2, original["id"])
    assert (copy["country_iso3"], copy["period"]) == ("MRT", "2021")
    assert copy["status"] == "validation"  # v2 requires households' Internet, not entered
    assert copy["title"].endswith(f"(methodology v{v2})")

    values = {
        v["code"]: v
        for v in (
            await client.get(f"/v1/assessments/{copy['id']}/indicators", headers=headers)
        ).json()
        if v["value"] is not None
    }
    assert set(values) == set(required_values) | {"internet_users_pct"}
    internet = values["internet_users_pct"]
    assert (internet["provenance"], internet["source_url"], internet["note"]) == (
        "estimated",
        DATAHUB,
        "from the 2019 survey",
    )
    scores = (await client.get(f"/v1/assessments/{copy['id']}/scores", headers=headers)).json()
    assert (scores["overall"], scores["band"]) == (
        preview["scores"]["overall"],
        preview["scores"]["band"],
    )
    assert scores["estimated_share"] == preview["scores"]["estimated_share"] > 0
    after = (await client.get(path, headers=headers)).json()
    assert (after["methodology_version"], after["revision"]) == (1, before["revision"])

    again = await client.post(f"{path}/rescorings", json={}, headers=headers)
    assert again.status_code == 409
    assert again.json()["existing_assessment_id"] == copy["id"]
    seen = (await client.get(f"{path}/rescoring", headers=headers)).json()
    assert seen["existing_assessment_id"] == copy["id"]
    reopened = await client.post(
        "/v1/assessments", json={"country_iso3": "MRT", "period": "2021"}, headers=headers
    )
    assert reopened.status_code == 409
    assert reopened.json()["existing_assessment_id"] == original["id"]
    audit = (await client.get(f"{path}/audit", headers=headers)).json()["items"]
    assert audit[-1]["action"] == "rescored_to"


async def test_the_country_series_says_the_version_of_each_point_and_filters_by_it(
    client: httpx.AsyncClient, auth_headers: TokenFactory, completed: Completed, publish_v2: Publish
) -> None:
    headers = auth_headers("assessments:read", "assessments:write")
    early = await completed("MRT", "2021", households_internet_pct=20)
    late = await completed("MRT", "2023", households_internet_pct=30)
    v2 = await publish_v2()
    copies = {}
    for original in (early, late):
        made = await client.post(
            f"/v1/assessments/{original['id']}/rescorings", json={}, headers=headers
        )
        assert made.json()["status"] == "completed"  # every value v2 requires is there
        copies[original["period"]] = made.json()["id"]
    series = (await client.get("/v1/countries/MRT/scores", headers=headers)).json()["series"]
    assert [(p["period"], p["methodology_version"]) for p in series] == [
        ("2021", 1),
        ("2021", v2),
        ("2023", 1),
        ("2023", v2),
    ]
    assert [p["rescored_from_id"] for p in series] == [
        None,
        early["id"],
        None,
        late["id"],
    ]
    under_v2 = await client.get(
        "/v1/countries/MRT/scores", params={"methodology_version": v2}, headers=headers
    )
    assert under_v2.status_code == 200, under_v2.text
    assert [p["assessment_id"] for p in under_v2.json()["series"]] == [
        copies["2021"],
        copies["2023"],
    ]
    latest = (await client.get("/v1/assessments/latest-scores", headers=headers)).json()
    assert [(r["period"], r["methodology_version"]) for r in latest] == [("2023", v2)]


async def test_an_open_assessment_is_copied_as_open(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    publish_v2: Publish,
) -> None:
    created = await create_assessment("ZWE", "2022", values={"internet_users_pct": 30})
    await publish_v2()
    headers = auth_headers("assessments:write")
    made = await client.post(
        f"/v1/assessments/{created['id']}/rescorings", json={}, headers=headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"


async def test_bad_versions_are_a_422_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, auth_headers: TokenFactory, mauritania: dict[str, Any]
) -> None:
    headers = auth_headers("assessments:read", "assessments:write")
    path = f"/v1/assessments/{mauritania['id']}"
    for version in (1, 99):
        made = await client.post(
            f"{path}/rescorings", json={"methodology_version": version}, headers=headers
        )
        assert_field_refused(made, "body.methodology_version")
        seen = await client.get(
            f"{path}/rescoring", params={"methodology_version": version}, headers=headers
        )
        assert_field_refused(seen, "query.methodology_version")
    for bad in ("two", 0):
        made = await client.post(
            f"{path}/rescorings", json={"methodology_version": bad}, headers=headers
        )
        assert_field_refused(made, "body.methodology_version")
        seen = await client.get(
            f"{path}/rescoring", params={"methodology_version": bad}, headers=headers
        )
        assert_field_refused(seen, "query.methodology_version")
    listed = await client.get("/v1/assessments", params={"country_iso3": "MRT"}, headers=headers)
    assert len(listed.json()["items"]) == 1


async def test_rescoring_respects_the_scopes_and_the_countries_claim(
    client: httpx.AsyncClient, auth_headers: TokenFactory, mauritania: dict[str, Any]
) -> None:
    path = f"/v1/assessments/{mauritania['id']}"
    other = auth_headers("assessments:read", "assessments:write", countries=["ZWE"])
    assert (await client.get(f"{path}/rescoring", headers=other)).status_code == 404
    assert (await client.post(f"{path}/rescorings", json={}, headers=other)).status_code == 404
    reader = auth_headers("assessments:read", countries=["MRT"])
    assert (await client.get(f"{path}/rescoring", headers=reader)).status_code == 200
    assert (await client.post(f"{path}/rescorings", json={}, headers=reader)).status_code == 403
    writer = auth_headers("assessments:write", countries=["MRT"])
    assert (await client.post(f"{path}/rescorings", json={}, headers=writer)).status_code == 201


def test_a_value_the_other_version_cannot_take_is_left_out_with_the_reason() -> None:
    pillars = [
        p.model_copy(
            update={
                "indicators": [
                    i.model_copy(update={"unit": Unit.BOOLEAN}) if i.code == "ixp_count" else i
                    for i in p.indicators
                ]
            }
        )
        for p in DEFAULT_METHODOLOGY.pillars
    ]
    definition = DEFAULT_METHODOLOGY.model_copy(update={"pillars": pillars})
    kept, left = carry(definition, 3, {"ixp_count": 2.0, "netp_adopted": 1.0, "gone": 5.0})
    assert kept == ["netp_adopted"]
    assert [(n.code, n.reason) for n in left] == [
        ("gone", "no indicator gone in methodology v3"),
        ("ixp_count", "in methodology v3, a yes/no indicator takes 1 (yes) or 0 (no)"),
    ]


@pytest.mark.parametrize(
    ("source", "missing", "expected"),
    [
        (AssessmentStatus.DRAFT, True, AssessmentStatus.DRAFT),
        (AssessmentStatus.VALIDATION, False, AssessmentStatus.VALIDATION),
        (AssessmentStatus.COMPLETED, False, AssessmentStatus.COMPLETED),
        (AssessmentStatus.PUBLISHED, False, AssessmentStatus.COMPLETED),
        (AssessmentStatus.ACCEPTED_BY_COUNTRY, True, AssessmentStatus.VALIDATION),
    ],
)
def test_copy_status(source: AssessmentStatus, missing: bool, expected: AssessmentStatus) -> None:
    assert copy_status(source, missing) is expected


async def test_a_copy_is_committed_with_all_its_values_or_not_at_all(
    committing_app: FastAPI, auth_headers: TokenFactory, required_values: dict[str, float]
) -> None:
    database = committing_app.state.database
    async with database.sessionmaker() as db:
        await seed_reference(db)
        await db.commit()
    headers = auth_headers("admin")
    async with asgi_client(committing_app, headers) as http:
        created = (
            await http.post("/v1/assessments", json={"country_iso3": "MRT", "period": "2021"})
        ).json()
        entries = [
            {"code": c, "value": v, "year": 2021, "source": "t"} for c, v in required_values.items()
        ]
        path = f"/v1/assessments/{created['id']}"
        assert (await http.post(f"{path}/indicators", json={"values": entries})).status_code == 200
        v2 = methodology_v2().model_dump(mode="json")
        assert (await http.post("/v1/methodologies", json=v2)).status_code == 201
        refused = await http.post(f"{path}/rescorings", json={"methodology_version": 99})
        assert refused.status_code == 422
        async with database.sessionmaker() as db:  # another session: what was committed
            assert await db.scalar(select(func.count()).select_from(Assessment)) == 1
        made = await http.post(f"{path}/rescorings", json={})
        assert made.status_code == 201, made.text
    async with database.sessionmaker() as db:
        copy_id = uuid.UUID(made.json()["id"])
        stored = await db.scalars(
            select(IndicatorValue.indicator_code).where(IndicatorValue.assessment_id == copy_id)
        )
        assert set(stored) == set(required_values)
        copy = await db.get(Assessment, copy_id)
        assert copy is not None
        assert str(copy.rescored_from_id) == created["id"]
