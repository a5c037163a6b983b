"""Each value is reported, estimated or imputed, with a note and a source URL; scores say
how much of the overall rests on estimates; exports carry both."""

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from assessment_api.indicators.schemas import Provenance
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.scoring import engine
from c2r_common.testing import TokenFactory, assert_field_refused

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]
DATAHUB = "https://datahub.itu.int/data/?e=MRT&i=11624"
V1 = DEFAULT_METHODOLOGY


def _entries() -> list[dict[str, Any]]:
    return [
        {
            "code": "internet_users_pct",
            "value": 40,
            "year": 2024,
            "source": "ITU estimate",
            "provenance": "estimated",
            "source_url": DATAHUB,
            "note": "ITU estimate from the 2023 household survey",
        },
        {"code": "pop_coverage_4g_pct", "value": 80, "year": 2024, "source": "regulator"},
    ]


async def test_provenance_is_stored_scored_and_exported(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    school_monitor: Any,
) -> None:
    created = await create_assessment("MRT")  # school-monitor has no summary for MRT: 404
    path = f"/v1/assessments/{created['id']}"
    writer = auth_headers("assessments:read", "assessments:write")
    entered = await client.post(f"{path}/indicators", json={"values": _entries()}, headers=writer)
    assert entered.status_code == 200, entered.text
    values = {v["code"]: v for v in entered.json()}
    assert values["internet_users_pct"]["provenance"] == "estimated"
    assert values["internet_users_pct"]["source_url"] == DATAHUB
    assert values["pop_coverage_4g_pct"]["provenance"] == "reported"  # the default
    assert values["households_internet_pct"]["provenance"] is None
    history = await client.get(f"{path}/indicators/internet_users_pct/history", headers=writer)
    assert history.json()["items"][0]["provenance"] == "estimated"

    scores = (await client.get(f"{path}/scores", headers=writer)).json()
    by_code = {i["code"]: i for i in scores["indicators"]}
    assert by_code["internet_users_pct"]["provenance"] == "estimated"
    # Two pillars of equal weight with one indicator each: the estimate carries half.
    assert scores["estimated_share"] == 0.5

    document = (await client.get(f"{path}/export", headers=writer)).json()
    exported = {i["code"]: i for i in document["indicators"]}
    assert exported["internet_users_pct"]["note"].startswith("ITU estimate")
    assert document["scores"]["estimated_share"] == 0.5
    as_csv = await client.get(f"{path}/export", params={"format": "csv"}, headers=writer)
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    internet = next(r for r in rows if r["code"] == "internet_users_pct")
    assert (internet["provenance"], internet["source_url"]) == ("estimated", DATAHUB)
    assert internet["note"] == "ITU estimate from the 2023 household survey"
    overall = next(r for r in rows if r["record"] == "overall")
    assert float(overall["estimated_share"]) == 0.5


async def test_the_latest_scores_table_carries_the_estimated_share(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
    move: Mover,
) -> None:
    created = await create_assessment("MRT", "2021", values=required_values)
    imputed = [{**_entries()[0], "provenance": "imputed"}]
    writer = auth_headers("assessments:read", "assessments:write")
    path = f"/v1/assessments/{created['id']}/indicators"
    assert (await client.post(path, json={"values": imputed}, headers=writer)).status_code == 200
    await move(created["id"], "data_collection", "validation", "completed")
    headers = auth_headers("assessments:read")
    table = await client.get("/v1/assessments/latest-scores", headers=headers)
    share = table.json()[0]["estimated_share"]
    assert 0 < share < 1
    as_csv = await client.get(
        "/v1/assessments/latest-scores", params={"format": "csv"}, headers=headers
    )
    assert float(next(csv.DictReader(io.StringIO(as_csv.text)))["estimated_share"]) == share


async def test_an_unknown_provenance_or_a_bad_url_stores_nothing(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("MRT")
    path = f"/v1/assessments/{created['id']}/indicators"
    writer = auth_headers("assessments:read", "assessments:write")
    guessed = [_entries()[1], {**_entries()[0], "provenance": "guessed"}]
    refused = await client.post(path, json={"values": guessed}, headers=writer)
    assert_field_refused(refused, "body.values.1.provenance")
    not_a_url = [{**_entries()[0], "source_url": "datahub"}]
    refused = await client.post(path, json={"values": not_a_url}, headers=writer)
    assert_field_refused(refused, "body.values.0.source_url")
    stored = (await client.get(path, headers=writer)).json()
    assert all(v["value"] is None for v in stored)


values_v1 = st.dictionaries(
    st.sampled_from([i.code for i in V1.indicators()]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
)
provenances = st.dictionaries(
    st.sampled_from([i.code for i in V1.indicators()]), st.sampled_from(Provenance)
)


@given(values=values_v1, provenance=provenances)
def test_estimated_share_is_a_share_and_zero_when_all_is_reported(
    values: dict[str, float], provenance: dict[str, Provenance]
) -> None:
    share = engine.estimated_share(V1, values, provenance)
    assert 0 <= share <= 1 + 1e-9
    assert engine.estimated_share(V1, values, {}) == 0
    everything = dict.fromkeys(values, Provenance.IMPUTED)
    assert abs(engine.estimated_share(V1, values, everything) - (1 if values else 0)) < 1e-9
