"""Rate limits of the push paths and of the public open-calls feed, the same in both
gateways, in front of the real services.

The limits are the route table's, with small bursts and a slow leak so that a few dozen
requests show them. Each client sends from an address of its own on the loopback
network (127.0.0.0/8), as agents behind different links would.
"""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from topology import Topology, embedded_gateway, nginx_gateway

from c2r_deploy.routes import load_routes

PER_AGENT_BURST = 5
PER_ADDRESS_BURST = 20
# One static key in every device of a Giga Meter agent build.
GIGA_METER_KEY = {"Authorization": "Bearer giga-meter-build-key-shared-by-every-device"}
FRONT_END = "https://connect2recover.itu.int"


@pytest.fixture(params=["nginx", "embedded"])
def limited_gateway(
    request: pytest.FixtureRequest, production: Topology, tmp_path: Path
) -> Iterator[str]:
    routes = dataclasses.replace(
        load_routes(),
        rate_limit="1r/m",
        rate_limit_burst=PER_AGENT_BURST,
        rate_limit_per_address="1r/m",
        rate_limit_per_address_burst=PER_ADDRESS_BURST,
    )
    upstreams = {name: url.removeprefix("http://") for name, url in production.services.items()}
    if request.param == "nginx":
        with nginx_gateway(tmp_path, routes, upstreams) as base_url:
            yield base_url
    else:
        with embedded_gateway(routes, upstreams) as base_url:
            yield base_url


def statuses(
    base_url: str, address: str, method: str, path: str, count: int, **kw: object
) -> list[int]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base_url, transport=transport) as client:
        return [client.request(method, path, **kw).status_code for _ in range(count)]  # type: ignore[arg-type]


def test_giga_meter_agents_sharing_one_key_are_limited_per_address_only(
    limited_gateway: str,
) -> None:
    push = ("POST", "/api/v1/measurements")
    # Many more requests with the one key than a device token may send: not limited.
    first_school = statuses(
        limited_gateway, "127.0.0.2", *push, PER_ADDRESS_BURST + 1, headers=GIGA_METER_KEY, json={}
    )
    assert 429 not in first_school
    # The address's own limit still holds...
    assert statuses(limited_gateway, "127.0.0.2", *push, 1, headers=GIGA_METER_KEY, json={}) == [
        429
    ]
    # ...and another school, with the same key, is not throttled with it.
    other_school = statuses(
        limited_gateway, "127.0.0.3", *push, PER_AGENT_BURST + 2, headers=GIGA_METER_KEY, json={}
    )
    assert 429 not in other_school
    pings = statuses(
        limited_gateway,
        "127.0.0.4",
        "POST",
        "/api/v1/connectivity",
        PER_AGENT_BURST + 2,
        headers=GIGA_METER_KEY,
        json={},
    )
    assert 429 not in pings


def test_native_push_paths_are_limited_per_device_token(
    limited_gateway: str, production: Topology
) -> None:
    device = {"Authorization": f"Bearer {production.token('measurements:write')}"}
    sent = statuses(
        limited_gateway, "127.0.0.5", "GET", "/v1/pings", PER_AGENT_BURST + 2, headers=device
    )
    assert 429 not in sent[: PER_AGENT_BURST + 1]
    assert sent[-1] == 429
    # Another device behind the same address has a limit of its own.
    other = {"Authorization": f"Bearer {production.token('measurements:write')}"}
    assert 429 not in statuses(
        limited_gateway, "127.0.0.5", "GET", "/v1/measurements/batch", 2, headers=other
    )


def test_a_refusal_is_a_problem_a_front_end_can_read(limited_gateway: str) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.6")
    headers = {**GIGA_METER_KEY, "Origin": FRONT_END}
    with httpx.Client(base_url=limited_gateway, transport=transport, headers=headers) as client:
        responses = [
            client.post("/api/v1/measurements", json={}) for _ in range(PER_ADDRESS_BURST + 2)
        ]
    refused = responses[-1]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert refused.headers["access-control-allow-origin"] == FRONT_END
    assert refused.headers["retry-after"] == "1"
    assert "retry-after" not in responses[0].headers
    assert refused.headers["x-request-id"] == refused.json()["request_id"]


def test_a_burst_on_the_public_calls_feed_is_refused_per_address(limited_gateway: str) -> None:
    # No token: anyone may read the feed, so only the client's address limits it.
    sent = statuses(limited_gateway, "127.0.0.7", "GET", "/v1/calls/feed", PER_ADDRESS_BURST + 2)
    assert 429 not in sent[: PER_ADDRESS_BURST + 1]
    assert sent[-1] == 429
    transport = httpx.HTTPTransport(local_address="127.0.0.7")
    with httpx.Client(base_url=limited_gateway, transport=transport) as client:
        refused = client.get("/v1/calls/feed")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert refused.headers["retry-after"] == "1"
    # Another client address still reads it, and the token-guarded call routes are not
    # limited with it.
    assert statuses(limited_gateway, "127.0.0.8", "GET", "/v1/calls/feed", 1) == [200]
    assert 429 not in statuses(limited_gateway, "127.0.0.7", "GET", "/v1/calls/open", 3)
