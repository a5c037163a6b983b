import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]


async def test_country_scores_over_time(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
    create_assessment: AssessmentFactory,
) -> None:
    await completed("MRT", "2021", internet_users_pct=30)
    await completed("MRT", "2023", internet_users_pct=60)
    await create_assessment("MRT", "2025")  # still a draft
    headers = auth_headers("assessments:read")
    response = await client.get("/v1/countries/MRT/scores", headers=headers)
    assert response.status_code == 200
    series = response.json()["series"]
    assert [s["period"] for s in series] == ["2021", "2023"]
    assert series[1]["pillars"]["adoption"] > series[0]["pillars"]["adoption"]
    assert series[1]["overall"] > series[0]["overall"]
    with_drafts = await client.get(
        "/v1/countries/MRT/scores", params={"include_in_progress": "true"}, headers=headers
    )
    assert [s["period"] for s in with_drafts.json()["series"]] == ["2021", "2023", "2025"]


async def test_compare_countries_on_latest_assessments(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    await completed("MRT", "2021", internet_users_pct=10)
    await completed("MRT", "2023", internet_users_pct=90)
    await completed("ZWE", "2022", internet_users_pct=20)
    response = await client.get(
        "/v1/assessments/compare",
        params={"countries": "zwe,MRT,RWA"},
        headers=auth_headers("assessments:read"),
    )
    assert response.status_code == 200
    body = response.json()
    assert [(r["country_iso3"], r["period"]) for r in body["rows"]] == [
        ("MRT", "2023"),
        ("ZWE", "2022"),
    ]
    assert body["not_assessed"] == ["RWA"]
    bad = await client.get(
        "/v1/assessments/compare",
        params={"countries": "MRT,XXX"},
        headers=auth_headers("assessments:read"),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.countries"


async def test_regional_aggregates_cover_the_six_itu_regions(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    rwanda = await completed("RWA", "2022")
    zimbabwe = await completed("ZWE", "2022", internet_users_pct=80)
    await completed("MRT", "2021")
    response = await client.get("/v1/assessments/regions", headers=auth_headers("assessments:read"))
    regions = {r["itu_region"]: r for r in response.json()["regions"]}
    assert set(regions) == {"Africa", "Americas", "Arab States", "Asia & Pacific", "CIS", "Europe"}
    africa = regions["Africa"]
    assert africa["countries_assessed"] == 2
    scores = []
    for created in (rwanda, zimbabwe):
        card = await client.get(
            f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
        )
        scores.append(card.json()["overall"])
    assert africa["mean_overall"] == pytest.approx(sum(scores) / 2, abs=0.01)
    assert africa["min_overall"] == min(scores)
    assert sum(africa["bands"].values()) == 2
    assert regions["Arab States"]["countries_assessed"] == 1  # Mauritania
    assert regions["CIS"]["mean_overall"] is None


async def test_exports_an_assessment_as_json_and_csv(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    created = await completed("MRT", "2021")
    headers = auth_headers("assessments:read")
    document = await client.get(f"/v1/assessments/{created['id']}/export", headers=headers)
    assert document.status_code == 200
    body = document.json()
    assert body["assessment"]["country_iso3"] == "MRT"
    assert body["scores"]["overall"] is not None
    assert body["gaps"]["gaps"][0]["rank"] == 1
    as_csv = await client.get(
        f"/v1/assessments/{created['id']}/export", params={"format": "csv"}, headers=headers
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "c2r-assessment-MRT-2021.csv" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    records = {r["record"] for r in rows}
    assert records == {"indicator", "pillar", "overall", "gap"}
    overall = next(r for r in rows if r["record"] == "overall")
    assert float(overall["score"]) == body["scores"]["overall"]
    gaps = [r for r in rows if r["record"] == "gap"]
    assert [g["code"] for g in gaps] == [g["code"] for g in body["gaps"]["gaps"]]


async def test_latest_scores_table_as_csv(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    await completed("MRT", "2021")
    await completed("ZWE", "2022")
    headers = auth_headers("assessments:read")
    as_json = await client.get("/v1/assessments/latest-scores", headers=headers)
    assert [r["country_iso3"] for r in as_json.json()] == ["MRT", "ZWE"]
    as_csv = await client.get(
        "/v1/assessments/latest-scores", params={"format": "csv"}, headers=headers
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["country_iso3"] for r in rows] == ["MRT", "ZWE"]
    assert "pillar_adoption" in rows[0]
    assert float(rows[0]["overall"]) == as_json.json()[0]["overall"]


async def test_reports_respect_the_country_claim(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    await completed("MRT", "2021")
    await completed("ZWE", "2022")
    focal = auth_headers("assessments:read", countries=["ZWE"])
    table = await client.get("/v1/assessments/latest-scores", headers=focal)
    assert [r["country_iso3"] for r in table.json()] == ["ZWE"]
    assert (await client.get("/v1/countries/MRT/scores", headers=focal)).status_code == 404
