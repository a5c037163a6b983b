"""A country with schools but no measurement data: schools connected is unavailable, not 0."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]

# What school-monitor answers for a country whose schools are registered but silent.
SILENT_SUMMARY = {
    "iso3": "RWA",
    "as_of": "2026-12-01T10:00:00Z",
    "schools_total": 5,
    "schools_by_status": {"good": 0, "moderate": 0, "bad": 0, "unknown": 5},
    "schools_connected_pct": 0.0,
    "schools_reporting_24h": 0,
    "benchmark_download_mbps": 20.0,
    "last_measurement_date": None,
    "schools_with_data": 0,
    "has_measurements": False,
    "data_age_days": None,
}
# The same from a school-monitor that predates has_measurements and schools_with_data.
OLDER_SILENT_SUMMARY = {
    k: v
    for k, v in SILENT_SUMMARY.items()
    if k not in {"schools_with_data", "has_measurements", "data_age_days"}
}


def _schools(scores: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in scores["indicators"] if i["code"] == "schools_connected_pct")


@pytest.mark.parametrize("summary", [SILENT_SUMMARY, OLDER_SILENT_SUMMARY], ids=["new", "older"])
async def test_no_measurement_data_is_unavailable_not_a_zero_score(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
    summary: dict[str, Any],
) -> None:
    school_monitor.answers["RWA"] = summary
    created = await create_assessment("RWA", values={"internet_users_pct": 30})
    reader = auth_headers("assessments:read")
    scores = (await client.get(f"/v1/assessments/{created['id']}/scores", headers=reader)).json()
    schools = _schools(scores)
    assert (schools["status"], schools["value"], schools["score"]) == ("unavailable", None, None)
    assert "no measurement data" in schools["reason"]
    anchors = next(p for p in scores["pillars"] if p["code"] == "anchor_institutions")
    assert (anchors["score"], anchors["coverage"]) == (None, 0)
    gaps = (await client.get(f"/v1/assessments/{created['id']}/gaps", headers=reader)).json()
    assert "schools_connected_pct" in gaps["missing_data"]
    assert "no measurement data" in gaps["unavailable"]["schools_connected_pct"]


async def test_a_silent_country_with_measurements_elsewhere_scores_its_measured_share(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    measured = SILENT_SUMMARY | {
        "schools_by_status": {"good": 0, "moderate": 0, "bad": 4, "unknown": 1},
        "last_measurement_date": "2026-11-28",
        "schools_with_data": 4,
        "has_measurements": True,
        "data_age_days": 3,
    }
    school_monitor.answers["RWA"] = measured
    created = await create_assessment("RWA")
    scores = (
        await client.get(
            f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
        )
    ).json()
    schools = _schools(scores)
    assert (schools["status"], schools["value"], schools["score"]) == ("scored", 0.0, 0.0)


async def test_completion_does_not_capture_a_zero_without_measurements(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
    required_values: dict[str, float],
    move: Mover,
) -> None:
    school_monitor.answers["RWA"] = SILENT_SUMMARY
    created = await create_assessment("RWA", values=required_values)
    await move(created["id"], "data_collection", "validation", "completed")
    indicators = (
        await client.get(
            f"/v1/assessments/{created['id']}/indicators", headers=auth_headers("assessments:read")
        )
    ).json()
    schools = next(i for i in indicators if i["code"] == "schools_connected_pct")
    assert schools["value"] is None
