"""What-if: hypothetical values scored without storing anything."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from assessment_api.assessments.models import Assessment
from assessment_api.indicators.schemas import Provenance
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.scoring import engine
from assessment_api.scoring.service import ScoringInputs, card_of, what_if_from
from c2r_common.testing import TokenFactory, assert_field_refused

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
CODES = [i.code for i in DEFAULT_METHODOLOGY.indicators()]
ASSESSMENT = Assessment(
    id=uuid.uuid4(), country_iso3="RWA", period="2026", status="draft", methodology_version=1
)
IDENTITY = {"assessment_id", "country_iso3", "period", "status", "methodology_version"}


def _card(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in IDENTITY}


async def _what_if(
    client: httpx.AsyncClient, headers: dict[str, str], assessment_id: str, values: dict[str, Any]
) -> httpx.Response:
    body = {"values": [{"code": c, "value": v} for c, v in values.items()]}
    return await client.post(f"/v1/assessments/{assessment_id}/what-if", json=body, headers=headers)


async def test_what_if_with_the_stored_values_is_the_stored_scoring(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment("MRT", values=required_values)
    reader = auth_headers("assessments:read")
    scores = (await client.get(f"/v1/assessments/{created['id']}/scores", headers=reader)).json()
    gaps = (await client.get(f"/v1/assessments/{created['id']}/gaps", headers=reader)).json()
    response = await _what_if(client, reader, created["id"], required_values)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["changed"], result["overall_change"], result["band_changed"]) == ([], 0, False)
    assert result["scores"] == _card(scores)
    assert result["gaps"] == {"gaps": gaps["gaps"], "missing_data": gaps["missing_data"]}
    assert result["baseline"] == {"overall": scores["overall"], "band": scores["band"]}


async def test_what_if_scores_as_entering_the_values_would_and_stores_nothing(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment("MRT", values=required_values)
    path = f"/v1/assessments/{created['id']}"
    headers = auth_headers("assessments:read", "assessments:write")
    before = (await client.get(path, headers=headers)).json()
    hypotheses = {
        "internet_users_pct": 90.0,
        "mobile_broadband_price_gni_pct": 1.0,
        "basic_digital_skills_pct": 80.0,
        "netp_adopted": 1.0,
        "emergency_telecom_plan_tested": 1.0,
        "pop_coverage_4g_pct": 99.0,
    }
    result = (await _what_if(client, headers, created["id"], hypotheses)).json()
    assert sorted(result["changed"]) == sorted(hypotheses)
    assert result["band_changed"] is True  # limited -> satisfactory or better
    assert result["overall_change"] > 0
    assert result["gaps"]["gaps"][0]["rank"] == 1
    # Nothing was stored: the same revision, the same values.
    after = (await client.get(path, headers=headers)).json()
    assert after["revision"] == before["revision"]
    stored = (await client.get(f"{path}/indicators", headers=headers)).json()
    assert {v["code"]: v["value"] for v in stored if v["value"] is not None} == required_values
    # Entered for real, the values score exactly as the what-if said.
    entries = [{"code": c, "value": v, "year": 2025, "source": "t"} for c, v in hypotheses.items()]
    entered = await client.post(f"{path}/indicators", json={"values": entries}, headers=headers)
    assert entered.status_code == 200
    real = (await client.get(f"{path}/scores", headers=headers)).json()
    assert (real["overall"], real["band"]) == (
        result["scores"]["overall"],
        result["scores"]["band"],
    )
    origins = {i["code"]: i["origin"] for i in result["scores"]["indicators"]}
    assert {origins[c] for c in hypotheses} == {"what-if"}


async def test_a_null_hypothesis_scores_as_if_the_value_were_missing(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    create_assessment: AssessmentFactory,
    required_values: dict[str, float],
) -> None:
    created = await create_assessment("MRT", values=required_values)
    reader = auth_headers("assessments:read")
    result = (await _what_if(client, reader, created["id"], {"netp_adopted": None})).json()
    assert result["changed"] == ["netp_adopted"]
    netp = next(i for i in result["scores"]["indicators"] if i["code"] == "netp_adopted")
    assert (netp["status"], netp["band"]) == ("missing", "no_data")
    assert "netp_adopted" in result["gaps"]["missing_data"]


async def test_bad_hypotheses_are_a_422_naming_each_field(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("MRT")
    reader = auth_headers("assessments:read")
    bad = {"no_such_indicator": 1.0, "internet_users_pct": 150.0}
    response = await _what_if(client, reader, created["id"], bad)
    assert_field_refused(response, "body.values.0.code")
    assert_field_refused(response, "body.values.1.value")
    empty = await client.post(
        f"/v1/assessments/{created['id']}/what-if", json={"values": []}, headers=reader
    )
    assert_field_refused(empty, "body.values")
    text = await client.post(
        f"/v1/assessments/{created['id']}/what-if",
        json={"values": [{"code": "internet_users_pct", "value": "60"}]},
        headers=reader,
    )
    assert_field_refused(text, "body.values.0.value")


async def test_what_if_respects_the_scopes_and_the_countries_claim(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    created = await create_assessment("RWA")
    values = {"internet_users_pct": 50.0}
    other = auth_headers("assessments:read", countries=["ZWE"])
    assert (await _what_if(client, other, created["id"], values)).status_code == 404
    own = auth_headers("assessments:read", countries=["RWA"])
    assert (await _what_if(client, own, created["id"], values)).status_code == 200
    no_scope = auth_headers("schools:read")
    assert (await _what_if(client, no_scope, created["id"], values)).status_code == 403


stored_values = st.dictionaries(
    st.sampled_from(CODES), st.floats(min_value=0, max_value=100, allow_nan=False)
)
provenances = st.dictionaries(st.sampled_from(CODES), st.sampled_from(Provenance))
groups = st.sampled_from(
    [
        engine.country_groups(ldc=ldc, developing=dev)
        for ldc in (True, False)
        for dev in (True, False)
    ]
)


def _inputs(
    values: dict[str, float], provenance: dict[str, Provenance], grouped: Any
) -> ScoringInputs:
    return ScoringInputs(
        definition=DEFAULT_METHODOLOGY,
        values=dict(values),
        groups=grouped,
        provenance={c: p for c, p in provenance.items() if c in values},
    )


@given(values=stored_values, provenance=provenances, grouped=groups, data=st.data())
def test_what_if_with_any_of_the_stored_values_equals_their_scoring(
    values: dict[str, float], provenance: dict[str, Provenance], grouped: Any, data: st.DataObject
) -> None:
    inputs = _inputs(values, provenance, grouped)
    chosen = data.draw(
        st.lists(st.sampled_from(sorted(values)), unique=True) if values else st.just([])
    )
    result = what_if_from(ASSESSMENT, inputs, {c: values[c] for c in chosen})
    assert result.scores == card_of(inputs)
    assert result.gaps == engine.gap_report(DEFAULT_METHODOLOGY, values, groups=grouped)
    assert result.changed == []
    assert result.band_changed is False


@given(values=stored_values, hypotheses=stored_values, grouped=groups)
def test_what_if_scores_the_values_it_is_given(
    values: dict[str, float], hypotheses: dict[str, float], grouped: Any
) -> None:
    result = what_if_from(ASSESSMENT, _inputs(values, {}, grouped), hypotheses)
    merged = values | hypotheses
    expected = engine.score_card(DEFAULT_METHODOLOGY, merged, groups=grouped)
    assert (result.scores.overall, result.scores.band) == (expected.overall, expected.band)
    assert result.gaps == engine.gap_report(DEFAULT_METHODOLOGY, merged, groups=grouped)
    assert set(result.changed) == {c for c, v in hypotheses.items() if values.get(c) != v}
