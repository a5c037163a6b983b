"""CORS at the gateway: one list of browser requests and what each gateway answers.

The origin used is a production front-end, allowed by both gateways; the local dev
servers are allowed by the embedded default only.
"""

from dataclasses import dataclass, field

import httpx
import pytest
from topology import Topology

from c2r_deploy.routes import load_routes

CORS = load_routes().cors
assert CORS is not None
FRONT_END = CORS.production_origins[0]
DEV_SERVER = "http://localhost:5173"
GIGA_METER_AGENT = "capacitor-electron://-"  # the Electron app's pages
OTHER_SITE = "https://attacker.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST"}
REQUEST_HEADERS = "authorization, content-type, if-match, idempotency-key, x-request-id"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    origin: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    allowed: bool = True  # whether the answer carries the CORS headers
    with_token: bool = False
    body_size: int = 0


CASES = [
    Case("preflight", "OPTIONS", "/v1/countries", FRONT_END, PREFLIGHT, 204),
    Case(
        "preflight naming every request header",
        "OPTIONS",
        "/v1/assessments/x",
        FRONT_END,
        {
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": REQUEST_HEADERS,
        },
        204,
    ),
    Case("preflight of a push path", "OPTIONS", "/v1/measurements", FRONT_END, PREFLIGHT, 204),
    Case(
        "preflight of the Giga Meter surface",
        "OPTIONS",
        "/api/v1/measurements",
        FRONT_END,
        PREFLIGHT,
        204,
    ),
    Case(
        "Giga Meter agent's preflight",
        "OPTIONS",
        "/api/v1/dailycheckapp_schools",
        GIGA_METER_AGENT,
        {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        204,
    ),
    Case("read", "GET", "/v1/countries/RWA", FRONT_END, with_token=True),
    Case("service's 401", "GET", "/v1/countries", FRONT_END, status=401),
    Case("service's 404", "GET", "/v1/countries/XXX", FRONT_END, status=404, with_token=True),
    Case("gateway's 404", "GET", "/nope", FRONT_END, status=404),
    Case("gateway's 413", "POST", "/v1/sessions", FRONT_END, status=413, body_size=2 * 1024**2),
    Case("gateway's 431", "GET", "/v1/countries", FRONT_END, {"X-Padding": "a" * 9000}, 431),
    Case(
        "other site's read", "GET", "/v1/countries/RWA", OTHER_SITE, allowed=False, with_token=True
    ),
    Case("other site's error", "GET", "/v1/countries", OTHER_SITE, status=401, allowed=False),
    # Not answered by the gateway: the service's own 405 for OPTIONS, and nothing to
    # let the browser send the request.
    Case("other site's preflight", "OPTIONS", "/v1/countries", OTHER_SITE, PREFLIGHT, 405, False),
]


def send(gateway: Topology, case: Case) -> httpx.Response:
    headers = {"Origin": case.origin, **case.headers}
    if case.with_token:
        headers |= gateway.headers("admin")
    content = b"x" * case.body_size if case.body_size else None
    return httpx.request(case.method, gateway.gateway + case.path, headers=headers, content=content)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cors(gateway: Topology, case: Case) -> None:
    assert CORS is not None
    response = send(gateway, case)
    assert response.status_code == case.status, response.text
    assert "Origin" in response.headers.get_list("vary", split_commas=True)
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    if not case.allowed:
        assert not [name for name in response.headers if name.startswith("access-control-")]
        return
    assert response.headers["access-control-allow-origin"] == case.origin  # never "*"
    if case.method == "OPTIONS":
        methods = response.headers["access-control-allow-methods"].split(", ")
        assert set(methods) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
        allowed_headers = response.headers["access-control-allow-headers"].lower().split(", ")
        assert set(allowed_headers) >= set(REQUEST_HEADERS.split(", "))
        assert int(response.headers["access-control-max-age"]) > 0
        assert response.content == b""
    else:
        exposed = response.headers["access-control-expose-headers"].split(", ")
        assert set(exposed) == {
            "ETag",
            "Location",
            "Retry-After",
            "X-Request-ID",
            "Idempotent-Replayed",
        }
        assert "access-control-allow-methods" not in response.headers


def test_local_dev_servers_are_allowed_by_the_embedded_default_only(
    production: Topology, embedded: Topology
) -> None:
    case = Case("dev server", "OPTIONS", "/v1/countries", DEV_SERVER, PREFLIGHT)
    assert send(embedded, case).headers["access-control-allow-origin"] == DEV_SERVER
    assert "access-control-allow-origin" not in send(production, case).headers
