"""The embedded default as `make run` starts it: one base URL, SQLite, three processes."""

import subprocess

import httpx
from topology import BIN, Topology

PROBLEM = "application/problem+json"


def dev_token(scopes: str, countries: str = "") -> str:
    # The same command `make token` runs.
    command = [str(BIN / "c2r"), "token", "--scopes", scopes, "--countries", countries]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_make_token_gives_a_token_the_system_accepts(embedded: Topology) -> None:
    token = dev_token("assessments:read")
    assert "\n" not in token
    response = httpx.get(
        embedded.gateway + "/v1/countries/RWA", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Rwanda"


def test_country_claim_limits_a_focal_point(embedded: Topology) -> None:
    token = dev_token("schools:read schools:write", countries="RWA")
    school = {"giga_id": "embedded-e2e-1", "name": "GS Test", "country_iso3": "ZWE"}
    response = httpx.post(
        embedded.gateway + "/v1/schools", json=school, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


def test_every_prefix_reaches_its_service(embedded: Topology) -> None:
    headers = {"Authorization": f"Bearer {dev_token('admin')}"}
    for service in embedded.routes.services:
        for prefix in service.prefixes:
            via_gateway = httpx.get(embedded.gateway + prefix, headers=headers)
            direct = httpx.get(embedded.services[service.name] + prefix, headers=headers)
            assert via_gateway.status_code == direct.status_code, prefix
            assert via_gateway.headers["content-type"] == direct.headers["content-type"], prefix


def test_gateway_errors_are_problems(embedded: Topology) -> None:
    for path in ("/nope", "/metrics", "/v1/countriesX", "/v1/schools/%2e%2e/%2e%2e/metrics"):
        response = httpx.get(embedded.gateway + path, headers={"X-Request-ID": "emb-1"})
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["request_id"] == "emb-1"
    too_large = httpx.post(embedded.gateway + "/v1/sessions", content=b"x" * (2 * 1024 * 1024))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == PROBLEM


def test_request_id_reaches_the_service(embedded: Topology) -> None:
    response = httpx.get(embedded.gateway + "/v1/schools", headers={"X-Request-ID": "emb-2"})
    assert response.status_code == 401
    assert response.json()["request_id"] == "emb-2"


def test_merged_openapi_covers_the_three_services(embedded: Topology) -> None:
    document = httpx.get(embedded.gateway + "/openapi.json").json()
    services = {op["x-service"] for ops in document["paths"].values() for op in ops.values()}
    assert services == {"assessment-api", "request-intake", "school-monitor"}
    assert "/v1/countries/{iso3}" in document["paths"]
    assert httpx.get(embedded.gateway + "/docs").status_code == 200


def test_metrics_stay_on_each_service(embedded: Topology) -> None:
    for name, base in embedded.services.items():
        assert "c2r_http_requests_total" in httpx.get(base + "/metrics").text, name
