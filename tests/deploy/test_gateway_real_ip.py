"""The container gateway behind a proxy (the Kubernetes ingress, a load balancer): real
nginx with the container config, its per-address rate limit counting each client by the
address the trusted proxy forwarded, not the proxy's own."""

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from c2r_deploy.containers import DEFAULT_TRUSTED_PROXIES, render_container_gateway
from c2r_deploy.routes import load_routes

# /v1/measurements without a token is limited per address: 10 r/s, a burst of 200.
LIMITED_PATH = "/v1/measurements"
BURST = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_config(config: str, root: Path, port: int) -> str:
    """The container config on loopback ports, its files under `root`; the services' port
    answers nothing (a 502 is not a 429)."""
    dead = free_port()
    config = re.sub(r"server ([a-z-]+):8080", f"server 127.0.0.1:{dead}", config)
    config = config.replace("listen 0.0.0.0:8000", f"listen 127.0.0.1:{port}")
    config = re.sub(r"listen 8081;", f"listen 127.0.0.1:{free_port()};", config)
    config = config.replace("pid /tmp/nginx.pid", f"pid {root}/nginx.pid")
    config = config.replace("/dev/stdout", str(root / "access.log"))
    return re.sub(r"_temp_path /tmp/", f"_temp_path {root}/", config)


@pytest.fixture
def gateway() -> Iterator[str]:
    # Its workers run as nobody: a folder they may enter, not pytest's private one.
    root = Path(tempfile.mkdtemp(prefix="c2r-real-ip-"))
    root.chmod(0o755)
    port = free_port()
    config = render_container_gateway(load_routes(), trusted_proxies=["127.0.0.1/32"])
    (root / "nginx.conf").write_text(local_config(config, root, port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    with (root / "stderr.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (root / "stderr.log").read_text()
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


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
