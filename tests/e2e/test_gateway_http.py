"""HTTP correctness at the gateway: one list of requests and expectations, sent as raw bytes
to each gateway in turn (nginx before the services on PostgreSQL, then the embedded one).

Whatever answers — the gateway itself or a service behind it — the answer is problem+json
for an error and carries the request id and the security headers.
"""

import contextlib
import http.client
import json
import socket
from dataclasses import dataclass

import pytest
from topology import Topology

PROBLEM = "application/problem+json"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-site",
}


@dataclass(frozen=True)
class Case:
    name: str
    request: bytes
    status: int


def _get(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: gateway", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CASES = [
    Case("request line that is not HTTP", b"NOT A REQUEST\r\n\r\n", 400),
    Case(
        "header line without a colon",
        b"GET /v1/countries HTTP/1.1\r\nHost: gateway\r\nno colon here\r\n\r\n",
        400,
    ),
    Case(
        "Content-Length that is not a number",
        b"POST /v1/sessions HTTP/1.1\r\nHost: gateway\r\nContent-Length: ten\r\n\r\n",
        400,
    ),
    Case(
        "Content-Length given twice, differently",
        b"POST /v1/sessions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\n"
        b"Content-Length: 3\r\n\r\n{}",
        400,
    ),
    Case("HTTP/1.1 without Host", b"GET /v1/countries HTTP/1.1\r\n\r\n", 400),
    Case("HTTP/2.0 on an HTTP/1 connection", b"GET /v1/countries HTTP/2.0\r\nHost: g\r\n\r\n", 505),
    Case(
        "chunk size that is not a number",
        b"POST /v1/sessions HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    Case(
        "Content-Length beside Transfer-Encoding",
        b"POST /v1/sessions HTTP/1.1\r\nHost: gateway\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    Case("header of 70 KB", _get("/v1/countries", "X-Padding: " + "a" * 70_000), 431),
    Case(
        "headers of 40 KB in all",
        _get("/v1/countries", *[f"X-P{i}: {'a' * 4000}" for i in range(10)]),
        431,
    ),
    Case("URI of 20 KB", _get("/v1/countries?q=" + "a" * 20_000), 414),
    Case(
        "body over the gateway limit",
        b"POST /v1/sessions HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2097152\r\n\r\n",
        413,
    ),
    Case("unknown path", _get("/v1/nope"), 404),
    Case("service's /metrics", _get("/metrics"), 404),
    Case("no token", _get("/v1/countries"), 401),
    Case(
        "method the path does not answer", _get("/v1/countries").replace(b"GET", b"DELETE", 1), 405
    ),
    Case("gateway health", _get("/healthz"), 200),
]


def send_raw(gateway: Topology, request: bytes) -> http.client.HTTPResponse:
    host, port = gateway.gateway.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    # The gateway may answer and close before the whole request is sent.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(request)
    response = http.client.HTTPResponse(sock, method="GET")
    response.begin()
    response.body = response.read()  # type: ignore[attr-defined]
    sock.close()
    return response


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_gateway_answers_as_http_says(gateway: Topology, case: Case) -> None:
    response = send_raw(gateway, case.request)
    assert response.status == case.status, response.body  # type: ignore[attr-defined]
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert headers.get("x-request-id"), headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, headers)
    if case.status >= 400:
        assert headers["content-type"] == PROBLEM, headers
        body = json.loads(response.body)  # type: ignore[attr-defined]
        assert body["status"] == case.status
        assert body["title"]
        assert body["request_id"] == headers["x-request-id"]


@pytest.mark.parametrize("path", ["/healthz", "/docs", "/openapi.json"])
def test_the_gateways_own_pages_carry_the_request_id_and_security_headers(
    gateway: Topology, path: str
) -> None:
    response = send_raw(gateway, _get(path, "X-Request-ID: own-page-1"))
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert headers["x-request-id"] == "own-page-1"
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (name, headers)


def test_the_gateway_serves_the_merged_document_and_its_docs(gateway: Topology) -> None:
    document = send_raw(gateway, _get("/openapi.json"))
    assert document.status == 200
    assert document.getheader("content-type") == "application/json"
    paths = json.loads(document.body)["paths"]  # type: ignore[attr-defined]
    for service in gateway.routes.services:
        assert any(path.startswith(service.prefixes[0]) for path in paths), service.name
    docs = send_raw(gateway, _get("/docs"))
    assert docs.status == 200
    assert docs.getheader("content-type", "").startswith("text/html")
    assert b"/openapi.json" in docs.body  # type: ignore[attr-defined]
