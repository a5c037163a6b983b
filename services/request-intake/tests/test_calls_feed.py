"""The public feed of open calls: no token, the open calls only, cacheable (ETag, 304)."""

from typing import Any

import httpx


async def test_the_feed_lists_open_calls_without_a_token_and_answers_304_when_unchanged(
    api: Any, clock: Any, client: httpx.AsyncClient
) -> None:
    open_call = await api.create_call(title="Open for Africa", closes_at="2026-06-10T10:02:00")
    await api.create_call(
        title="Upcoming", opens_at="2026-07-01T09:00:00", closes_at="2026-07-31T17:00:00"
    )
    await api.create_call(
        title="Closed", opens_at="2026-05-01T09:00:00", closes_at="2026-05-31T17:00:00"
    )
    response = await client.get("/v1/calls/feed")
    assert response.status_code == 200, response.text
    [entry] = response.json()["calls"]
    assert entry["id"] == open_call["id"]
    assert (entry["title"], entry["eligible_regions"]) == ("Open for Africa", ["Africa"])
    assert entry["assistance_types"] == ["assessment", "national_strategy", "training"]
    assert entry["deadline"] == "2026-06-10T10:02:00+02:00"  # in the call's zone
    assert entry["deadline_utc"] == "2026-06-10T08:02:00Z"
    # The clock stands at 08:00 UTC: the listed call closes in 120 s, before the 300 s.
    assert response.headers["cache-control"] == "public, max-age=120"
    etag = response.headers["etag"]
    unchanged = await client.get("/v1/calls/feed", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    weak = await client.get("/v1/calls/feed", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    clock.advance(minutes=3)  # the call closed: the feed changed
    changed = await client.get("/v1/calls/feed", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["calls"] == []
    assert changed.headers["etag"] != etag


async def test_a_token_is_not_needed_but_other_call_routes_still_want_one(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/calls/open")).status_code == 401
    assert (await client.get("/v1/calls/feed")).status_code == 200
