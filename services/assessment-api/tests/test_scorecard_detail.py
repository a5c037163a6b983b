"""A UMC band per indicator (and no_data), and aggregates by LDC, LLDC and SIDS group."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from assessment_api.scoring import engine
from assessment_api.scoring.schemas import IndicatorBand
from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (None, IndicatorBand.NO_DATA),
        (0.0, IndicatorBand.LIMITED),
        (49.99, IndicatorBand.LIMITED),
        (50.0, IndicatorBand.SATISFACTORY),
        (74.99, IndicatorBand.SATISFACTORY),
        (75.0, IndicatorBand.ADVANCED),
        (94.99, IndicatorBand.ADVANCED),
        (95.0, IndicatorBand.TARGET_MET),
        (100.0, IndicatorBand.TARGET_MET),
    ],
)
def test_indicator_band_limits(score: float | None, band: IndicatorBand) -> None:
    assert engine.indicator_band(score) is band


async def test_each_indicator_has_its_band_and_one_without_data_says_so(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment(
        "MRT",
        values={
            "internet_users_pct": 30,
            "households_internet_pct": 60,
            "mobile_phone_ownership_pct": 80,
            "pop_coverage_4g_pct": 96,
        },
    )
    scores = await client.get(
        f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
    )
    bands = {i["code"]: i["band"] for i in scores.json()["indicators"]}
    assert bands["internet_users_pct"] == "limited"
    assert bands["households_internet_pct"] == "satisfactory"
    assert bands["mobile_phone_ownership_pct"] == "advanced"
    assert bands["pop_coverage_4g_pct"] == "target_met"
    assert bands["basic_digital_skills_pct"] == "no_data"
    assert bands["schools_connected_pct"] == "no_data"  # school-monitor has no MRT summary


async def test_aggregates_by_ldc_lldc_and_sids_group(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    completed: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    overall = {}
    for iso3, period in (("RWA", "2022"), ("ZWE", "2022"), ("MRT", "2021")):
        created = await completed(iso3, period, internet_users_pct=20 + 10 * len(overall))
        card = await client.get(
            f"/v1/assessments/{created['id']}/scores", headers=auth_headers("assessments:read")
        )
        overall[iso3] = card.json()["overall"]
    response = await client.get("/v1/assessments/regions", headers=auth_headers("assessments:read"))
    assert response.status_code == 200
    groups = {g["group"]: g for g in response.json()["groups"]}
    assert set(groups) == {"ldc", "lldc", "sids"}
    ldc, lldc, sids = groups["ldc"], groups["lldc"], groups["sids"]
    assert ldc["name"] == "Least developed countries"
    assert ldc["countries_assessed"] == 2  # Rwanda and Mauritania
    assert ldc["mean_overall"] == pytest.approx((overall["RWA"] + overall["MRT"]) / 2, abs=0.01)
    assert lldc["countries_assessed"] == 2  # Rwanda and Zimbabwe
    assert (lldc["min_overall"], lldc["max_overall"]) == (
        min(overall["RWA"], overall["ZWE"]),
        max(overall["RWA"], overall["ZWE"]),
    )
    assert (sids["countries_assessed"], sids["mean_overall"]) == (0, None)
    focal = auth_headers("assessments:read", countries=["ZWE"])
    seen = (await client.get("/v1/assessments/regions", headers=focal)).json()["groups"]
    assert {g["group"]: g["countries_assessed"] for g in seen} == {"ldc": 0, "lldc": 1, "sids": 0}
