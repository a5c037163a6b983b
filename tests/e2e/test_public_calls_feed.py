"""The public feed of open calls through each gateway (nginx before the services on
PostgreSQL, the embedded one on SQLite): no Authorization header, cacheable, 304 when
unchanged."""

from datetime import UTC, datetime, timedelta

import httpx
from topology import Topology


def test_the_open_calls_feed_needs_no_token_and_revalidates(gateway: Topology) -> None:
    now = datetime.now(UTC)
    staff = gateway.headers("calls:write")
    with httpx.Client(base_url=gateway.gateway, timeout=30) as http:
        created = http.post(
            "/v1/calls",
            json={
                "title": f"Public feed {now.isoformat()}",
                "assistance_types": ["assessment", "training"],
                "eligible_regions": ["Africa"],
                "time_zone": "Africa/Kigali",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=20)).isoformat(),
            },
            headers=staff,
        )
        assert created.status_code == 201, created.text
        feed = http.get("/v1/calls/feed")
        assert feed.status_code == 200, feed.text
        assert "authorization" not in {k.lower() for k in feed.request.headers}
        [entry] = [c for c in feed.json()["calls"] if c["id"] == created.json()["id"]]
        assert (entry["eligible_regions"], entry["time_zone"]) == (["Africa"], "Africa/Kigali")
        assert entry["deadline"].endswith("+02:00")  # Kigali time, beside deadline_utc
        assert feed.headers["cache-control"].startswith("public, max-age=")
        etag = feed.headers["etag"]
        again = http.get("/v1/calls/feed", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.headers["etag"] == etag
        # The other call routes still want a token.
        assert http.get("/v1/calls/open").status_code == 401
