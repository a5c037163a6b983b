"""Information sessions and their counts (the 2 May 2023 session: 68 participants, 15 States)."""

from typing import Any

import httpx

from c2r_common.testing import TokenFactory

AFRICAN_STATES = [
    "RWA", "KEN", "UGA", "TZA", "ZMB", "ZWE", "MWI", "MOZ", "SEN", "GHA",
    "NGA", "CMR", "BEN", "BFA", "ETH",
]  # fmt: skip


def may_2023_participants() -> list[dict[str, Any]]:
    delegates = [
        {"name": f"Delegate {i}", "country_iso3": AFRICAN_STATES[i % 15], "is_member_state": True}
        for i in range(40)
    ]
    others = [{"name": f"Partner {i}", "country_iso3": "JPN"} for i in range(10)]
    observers = [{"name": f"Observer {i}"} for i in range(18)]
    return delegates + others + observers


async def test_counts_participants_and_distinct_member_states(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    body = {
        "title": "Connect2Recover information session",
        "held_on": "2023-05-02",
        "participants": may_2023_participants(),
    }
    response = await client.post("/v1/sessions", json=body, headers=staff)
    assert response.status_code == 201
    session = response.json()
    assert session["participant_count"] == 68
    assert session["member_state_count"] == 15
    assert session["member_state_participant_count"] == 40
    assert session["country_count"] == 16
    assert session["member_states_by_region"] == {"Africa": 15}
    read = await client.get(f"/v1/sessions/{session['id']}", headers=staff)
    assert read.json() == session


async def test_sessions_are_listed_by_date_and_bad_countries_refused(
    client: httpx.AsyncClient, staff: dict[str, str], auth_headers: TokenFactory
) -> None:
    for held_on in ("2023-06-01", "2023-05-02"):
        body = {"title": f"session {held_on}", "held_on": held_on}
        assert (await client.post("/v1/sessions", json=body, headers=staff)).status_code == 201
    listed = await client.get("/v1/sessions", headers=auth_headers("requests:read"))
    assert [s["held_on"] for s in listed.json()["items"]] == ["2023-05-02", "2023-06-01"]
    bad = {
        "title": "t",
        "held_on": "2023-05-02",
        "participants": [{"name": "x", "country_iso3": "QQQ"}],
    }
    response = await client.post("/v1/sessions", json=bad, headers=staff)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.participants.0.country_iso3"
