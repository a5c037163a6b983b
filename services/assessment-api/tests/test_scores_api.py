import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from assessment_api.app import school_monitor_reader
from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]


def _indicator(scores: dict[str, Any], code: str) -> dict[str, Any]:
    return next(i for i in scores["indicators"] if i["code"] == code)


async def test_scores_pillars_overall_and_band(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    school_monitor.answers["RWA"] = 40.0
    created = await create_assessment(
        "RWA",
        values={
            "internet_users_pct": 30,
            "pop_coverage_4g_pct": 90,
            "mobile_broadband_price_gni_pct": 4,
        },
    )
    response = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    assert response.status_code == 200
    scores = response.json()
    assert _indicator(scores, "internet_users_pct")["score"] == 30
    assert _indicator(scores, "internet_users_pct")["target"] == 35  # Rwanda is an LDC
    assert _indicator(scores, "mobile_broadband_price_gni_pct")["score"] == 80
    schools = _indicator(scores, "schools_connected_pct")
    assert (schools["value"], schools["origin"], schools["status"]) == (
        40,
        "school-monitor",
        "scored",
    )
    pillars = {p["code"]: p for p in scores["pillars"]}
    assert pillars["adoption"]["score"] == 30
    assert pillars["adoption"]["coverage"] == 0.5
    assert pillars["policy"]["score"] is None
    assert 0 < scores["coverage"] < 1
    # pillars with data: coverage 90 (x20), adoption 30 (x20), affordability 80 (x15),
    # anchor institutions 40 (x15): (1800 + 600 + 1200 + 600) / 70 = 60
    assert scores["overall"] == 60
    assert scores["band"] == "satisfactory"
    again = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    assert again.json() == scores  # deterministic


async def test_school_monitor_is_called_with_a_service_token_for_schools_read(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    school_monitor.answers["RWA"] = 50.0
    created = await create_assessment("RWA")
    await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    token = school_monitor.authorizations[-1].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "assessment-api"
    assert claims["scope"] == "schools:read"


async def test_gaps_are_ranked_with_phase_and_sg1_question(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    created = await create_assessment(
        "ZWE",
        values={
            "internet_users_pct": 20,  # Zimbabwe is developing, not an LDC: target 65
            "mobile_broadband_price_gni_pct": 12,
            "netp_adopted": 0,
            "broadband_plan_funded": 1,
        },
    )
    response = await client.get(
        f"/v1/assessments/{created['id']}/gaps", headers=auth_headers("assessments:read")
    )
    assert response.status_code == 200
    report = response.json()
    codes = [g["code"] for g in report["gaps"]]
    # weighted shortfalls: price 50 points x 0.10 = 5.0; Internet use 45 x 0.10 = 4.5;
    # NETP 100 x 0.033 = 3.3
    assert codes == ["mobile_broadband_price_gni_pct", "internet_users_pct", "netp_adopted"]
    assert report["gaps"][0]["weighted_shortfall"] == 5
    first = report["gaps"][1]
    assert first["rank"] == 2
    assert first["target"] == 65
    assert first["shortfall"] == 45
    assert first["sg1_question"] == "Q1/1"
    assert first["phase"] == "national_strategy"
    assert report["gaps"][2]["sg1_question_title"].startswith(
        "Telecommunications/ICTs for disaster"
    )
    assert "broadband_plan_funded" not in codes  # target met
    assert "schools_connected_pct" in report["missing_data"]
    assert "schools_connected_pct" in report["unavailable"]


async def test_slow_school_monitor_marks_schools_unavailable_and_scoring_answers(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    school_monitor.answers["MRT"] = "slow"
    created = await create_assessment("MRT", values={"internet_users_pct": 40})
    response = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    assert response.status_code == 200
    schools = _indicator(response.json(), "schools_connected_pct")
    assert schools["status"] == "unavailable"
    assert "did not answer within" in schools["reason"]
    assert response.json()["overall"] is not None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (503, "school-monitor is unavailable (HTTP 503)"),
        (500, "answered HTTP 500"),
        (None, "no connectivity data for ZWE"),
    ],
    ids=["unavailable", "server-error", "not-found"],
)
async def test_school_monitor_errors_mark_schools_unavailable(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
    answer: int | None,
    reason: str,
) -> None:
    if answer is not None:
        school_monitor.answers["ZWE"] = answer
    created = await create_assessment("ZWE")
    response = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    assert response.status_code == 200
    schools = _indicator(response.json(), "schools_connected_pct")
    assert schools["status"] == "unavailable"
    assert reason in schools["reason"]


@pytest.fixture
async def school_monitor_down(app: FastAPI) -> AsyncIterator[None]:
    """Points the app at a port where nothing listens: a real refused connection."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    closed_port = sock.getsockname()[1]
    sock.close()
    settings = app.state.settings.model_copy(
        update={"school_monitor_url": f"http://127.0.0.1:{closed_port}"}
    )
    original = app.state.school_monitor
    app.state.school_monitor = school_monitor_reader(settings)
    yield
    await app.state.school_monitor.aclose()
    app.state.school_monitor = original


@pytest.mark.usefixtures("school_monitor_down")
async def test_school_monitor_down_marks_schools_unavailable_but_keeps_an_entered_value(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("RWA")
    headers = auth_headers("assessments:read")
    response = await client.get(f"/v1/assessments/{created['id']}/scores", headers=headers)
    assert response.status_code == 200
    schools = _indicator(response.json(), "schools_connected_pct")
    assert schools["status"] == "unavailable"
    assert "unreachable" in schools["reason"]
    await client.put(
        f"/v1/assessments/{created['id']}/indicators/schools_connected_pct",
        json={"value": 12, "year": 2025, "source": "Ministry of Education"},
        headers=auth_headers("assessments:write"),
    )
    fallback = await client.get(f"/v1/assessments/{created['id']}/scores", headers=headers)
    schools = _indicator(fallback.json(), "schools_connected_pct")
    assert (schools["status"], schools["value"], schools["origin"]) == ("scored", 12, "entered")
    assert "unreachable" in schools["reason"]


async def test_completion_captures_the_live_value_and_freezes_it(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    move: Mover,
    required_values: dict[str, float],
    school_monitor: Any,
) -> None:
    school_monitor.answers["RWA"] = 44.0
    created = await create_assessment("RWA", values=required_values)
    await move(created["id"], "data_collection", "validation", "completed")
    school_monitor.answers["RWA"] = 90.0  # later measurements do not change the report
    response = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    schools = _indicator(response.json(), "schools_connected_pct")
    assert (schools["value"], schools["origin"]) == (44, "entered")
    history = await client.get(
        f"/v1/assessments/{created['id']}/indicators/schools_connected_pct/history",
        headers=auth_headers("assessments:read"),
    )
    assert "school-monitor" in history.json()["items"][0]["source"]


async def test_scores_of_another_country_are_refused_to_a_focal_point(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("RWA")
    response = await client.get(
        f"/v1/assessments/{created['id']}/scores",
        headers=auth_headers("assessments:read", countries=["ZWE"]),
    )
    assert response.status_code == 404
    missing = await client.get(
        f"/v1/assessments/{uuid.uuid4()}/gaps", headers=auth_headers("assessments:read")
    )
    assert missing.status_code == 404
