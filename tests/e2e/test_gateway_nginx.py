"""Through real nginx, generated from the route table, in front of the three services."""

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from topology import Topology

from c2r_deploy.nginx import render_nginx
from c2r_deploy.routes import GATEWAY_DIR, load_routes

PROBLEM = "application/problem+json"


def without_request_id(response: httpx.Response) -> tuple[int, object]:
    """Status and body, less what differs between any two answers (the Giga Meter surface
    stamps each answer with its time)."""
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
        body.pop("timestamp", None)
    return response.status_code, body


def test_committed_nginx_config_is_generated_from_the_route_table() -> None:
    committed = (GATEWAY_DIR / "nginx.conf").read_text()
    assert committed == render_nginx(load_routes()), "run `make gateway` and commit the result"


def test_committed_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    config = (GATEWAY_DIR / "nginx.conf").read_text()
    # Same config, but pid and logs in a scratch folder so the check needs no system paths.
    for system_path in (
        "/run/c2r-gateway.pid",
        "/var/log/nginx/c2r-gateway.error.log",
        "/var/log/nginx/c2r-gateway.access.log",
    ):
        config = config.replace(system_path, str(tmp_path / Path(system_path).name))
    (tmp_path / "nginx.conf").write_text(config.replace("user www-data;\n", ""))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_prefix_reaches_its_service(production: Topology) -> None:
    headers = production.headers("admin")
    for service in production.routes.services:
        for prefix in service.prefixes:
            via_gateway = httpx.get(production.gateway + prefix, headers=headers)
            direct = httpx.get(production.services[service.name] + prefix, headers=headers)
            assert without_request_id(via_gateway) == without_request_id(direct), prefix
            assert via_gateway.status_code != 404 or "instance" in via_gateway.json(), prefix


def test_request_id_round_trip(production: Topology) -> None:
    response = httpx.get(production.gateway + "/v1/countries", headers={"X-Request-ID": "e2e-42"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "e2e-42"
    assert response.json()["request_id"] == "e2e-42"  # the service saw the same id
    generated = httpx.get(production.gateway + "/v1/countries")
    assert generated.json()["request_id"] == generated.headers["x-request-id"] != ""


def test_missing_token_is_401_problem(production: Topology) -> None:
    for service in production.routes.services:
        response = httpx.get(production.gateway + service.prefixes[0])
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/v1/nope",
        "/v1/countriesX",
        "/metrics",
        "/readyz",
        "/v1/schools/%2e%2e/%2e%2e/metrics",
    ],
)
def test_unknown_and_private_paths_are_404_problem(production: Topology, path: str) -> None:
    response = httpx.get(production.gateway + path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_oversized_body_is_413_problem(production: Topology) -> None:
    response = httpx.post(
        production.gateway + "/v1/sessions",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 413


def test_malformed_requests_get_problems_from_nginx(production: Topology) -> None:
    too_big_headers = httpx.get(
        production.gateway + "/v1/countries", headers={"X-Padding": "a" * 20_000}
    )
    assert too_big_headers.status_code == 431
    assert too_big_headers.headers["content-type"] == PROBLEM
    too_long_uri = httpx.get(production.gateway + "/v1/countries?q=" + "a" * 20_000)
    assert too_long_uri.status_code == 414
    assert too_long_uri.headers["content-type"] == PROBLEM


def test_security_headers(production: Topology) -> None:
    response = httpx.get(production.gateway + "/v1/countries")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_metrics_reachable_on_each_service_and_pass_promtool(production: Topology) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (Debian package prometheus); `make test` installs it"
    for name, base in production.services.items():
        exposition = httpx.get(base + "/metrics")
        assert exposition.status_code == 200, name
        assert b"c2r_http_requests_total" in exposition.content, name
        check = subprocess.run(
            [promtool, "check", "metrics"],
            input=exposition.content,
            capture_output=True,
            check=False,
        )
        assert check.returncode == 0, (name, check.stdout, check.stderr)


def test_agent_push_paths_are_rate_limited_per_client(production: Topology) -> None:
    burst = production.routes.rate_limit_burst
    headers = production.headers("measurements:write")

    async def push_many() -> list[int]:
        # Thousands of requests queue for the client's pool: a loaded machine takes a while.
        timeout = httpx.Timeout(10, pool=120)
        async with httpx.AsyncClient(
            base_url=production.gateway, headers=headers, timeout=timeout
        ) as client:
            responses = await asyncio.gather(*(client.get("/v1/pings") for _ in range(burst + 100)))
        return [r.status_code for r in responses]

    statuses = asyncio.run(push_many())
    assert 429 in statuses
    limited = httpx.get(production.gateway + "/v1/pings", headers=headers)
    if limited.status_code == 429:
        assert limited.headers["content-type"] == PROBLEM
    other_client = httpx.get(production.gateway + "/v1/countries", headers=headers)
    assert other_client.status_code != 429  # not a push path


def test_prometheus_scrape_config_is_valid_and_targets_every_service() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (Debian package prometheus); `make test` installs it"
    config = GATEWAY_DIR.parent / "prometheus" / "prometheus.yml"
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = config.read_text()
    for service in load_routes().services:
        assert f'"{service.upstream}"' in text, service.name
