"""The container gateway behind a proxy (the Kubernetes ingress, a load balancer): real
nginx with the container config, its per-address rate limit counting each client by the
address the trusted proxy forwarded, not the proxy's own."""

from collections.abc import Iterator

import httpx
import pytest
from container_gateway import nginx_root, serving

from c2r_deploy.containers import DEFAULT_TRUSTED_PROXIES, render_container_gateway
from c2r_deploy.routes import load_routes

# /v1/measurements without a token is limited per address: 10 r/s, a burst of 200.
LIMITED_PATH = "/v1/measurements"
BURST = 200


@pytest.fixture
def gateway() -> Iterator[str]:
    config = render_container_gateway(load_routes(), trusted_proxies=["127.0.0.1/32"])
    with nginx_root("c2r-real-ip-") as root, serving(config, root) as url:
        yield url


def statuses(client: httpx.Client, forwarded_for: str, count: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for}
    return [client.post(LIMITED_PATH, headers=headers, json={}).status_code for _ in range(count)]


def test_a_client_behind_the_trusted_proxy_is_limited_by_its_forwarded_address(
    gateway: str,
) -> None:
    with httpx.Client(base_url=gateway, timeout=10) as client:
        # The bucket refills at 10 r/s while the requests go: the first 429 comes after
        # the burst, a little later on a slow machine.
        first = statuses(client, "203.0.113.7", BURST + 100)
        assert 429 in first, "the client exceeded its burst"
        assert first.index(429) >= BURST
        # Another client through the same proxy has a budget of its own.
        assert 429 not in statuses(client, "203.0.113.8", 20)
        # An address the client puts in front of the chain changes nothing: the proxy
        # appended the one it saw, the last that is not a trusted proxy.
        assert 429 in statuses(client, "198.51.100.1, 203.0.113.7", 5)


def test_the_committed_config_trusts_the_private_ranges() -> None:
    config = render_container_gateway(load_routes())
    for network in DEFAULT_TRUSTED_PROXIES:
        assert f"set_real_ip_from {network};" in config
    assert "real_ip_header X-Forwarded-For;" in config
    assert "real_ip_recursive on;" in config
    assert "set_real_ip_from" not in render_container_gateway(load_routes(), trusted_proxies=[])
