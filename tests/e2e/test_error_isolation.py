"""One client's failure never reaches another client's request, through either gateway.

A service that closes its connection after an unhandled error, without saying so, leaves
the gateway a dead pooled connection that it may hand to the next request, whoever sent
it: that request would get a 502.
"""

import http.client
import socketserver
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from topology import Topology, embedded_gateway, nginx_gateway

from c2r_deploy.routes import load_routes

PROBLEM = "application/problem+json"
ROUNDS = 20
CORS_ORIGIN = "https://connect2recover.itu.int"  # a production front-end


@pytest.fixture
def unreadable_partner(gateway: Topology) -> Iterator[str]:
    """A partner whose stored kind the service cannot read, written behind its back: reading
    it fails for real, with an error no input check can prevent."""
    name = f"Unreadable partner {uuid.uuid4().hex[:8]}"
    created = httpx.post(
        gateway.gateway + "/v1/partners",
        json={"name": name, "kind": "government"},
        headers=gateway.headers("admin"),
    )
    assert created.status_code == 201, created.text
    update = "UPDATE partners SET kind = :kind WHERE name = :name"
    gateway.execute("assessment-api", update, kind="no-such-kind", name=name)
    yield str(created.json()["id"])
    gateway.execute("assessment-api", update, kind="government", name=name)


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"steering_committee": True}), ("GET", None)],
    ids=["patch", "get"],
)
def test_an_unhandled_error_never_becomes_another_clients_502(
    gateway: Topology, unreadable_partner: str, method: str, body: object
) -> None:
    headers = gateway.headers("admin")
    with (
        httpx.Client(base_url=gateway.gateway, headers=headers) as failing,
        httpx.Client(base_url=gateway.gateway, headers=headers) as other,
    ):
        others = []
        for _ in range(ROUNDS):
            broken = failing.request(method, f"/v1/partners/{unreadable_partner}", json=body)
            assert broken.status_code == 500, broken.text
            assert broken.headers["content-type"] == PROBLEM
            assert broken.json()["request_id"] == broken.headers["x-request-id"]
            others.append(other.get("/v1/countries/RWA").status_code)
    assert others == [200] * ROUNDS


def test_the_service_answers_an_unhandled_error_on_a_connection_that_stays_open(
    gateway: Topology, unreadable_partner: str
) -> None:
    service = httpx.URL(gateway.services["assessment-api"])
    connection = http.client.HTTPConnection(service.host, service.port, timeout=10)
    headers = gateway.headers("admin")
    try:
        connection.request("GET", f"/v1/partners/{unreadable_partner}", headers=headers)
        broken = connection.getresponse()
        assert broken.status == 500
        assert broken.getheader("content-type") == PROBLEM
        broken.read()
        socket_of_the_500 = connection.sock
        connection.request("GET", "/v1/countries/RWA", headers=headers)
        after = connection.getresponse()
        assert after.status == 200
        assert connection.sock is socket_of_the_500  # the same connection served both
    finally:
        connection.close()


class _OneRequestPerConnection(socketserver.StreamRequestHandler):
    """A service that closes its connection after each answer without saying so: it answers
    the first request of a connection and drops the next one sent on it."""

    server: "_ClosingUpstream"

    def handle(self) -> None:
        self.request.settimeout(10)
        first = self._read_request()
        if first is None:
            return
        self.server.seen.append((first, "answered"))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        self.wfile.write(b"Content-Length: 2\r\n\r\n{}")
        self.wfile.flush()
        second = self._read_request()
        if second is not None:
            self.server.seen.append((second, "dropped"))

    def _read_request(self) -> str | None:
        request_line = self.rfile.readline()
        if not request_line:
            return None
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        return request_line.split()[0].decode()


class _ClosingUpstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OneRequestPerConnection)
        self.seen: list[tuple[str, str]] = []

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"


@pytest.fixture
def closing_upstream() -> Iterator[_ClosingUpstream]:
    server = _ClosingUpstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["nginx", "embedded"])
def gateway_before_closing_upstream(
    request: pytest.FixtureRequest, closing_upstream: _ClosingUpstream, tmp_path: Path
) -> Iterator[str]:
    routes = load_routes()
    upstreams = {service.name: closing_upstream.address for service in routes.services}
    if request.param == "nginx":
        with nginx_gateway(tmp_path, routes, upstreams) as base_url:
            yield base_url
    else:
        with embedded_gateway(routes, upstreams) as base_url:
            yield base_url


def test_an_idempotent_request_is_sent_again_when_its_pooled_connection_was_closed(
    gateway_before_closing_upstream: str, closing_upstream: _ClosingUpstream
) -> None:
    with httpx.Client(base_url=gateway_before_closing_upstream) as client:
        statuses = [client.get("/v1/alerts").status_code for _ in range(ROUNDS)]
    assert statuses == [200] * ROUNDS
    # The gateway did meet closed connections, and sent each of those requests once more.
    dropped = closing_upstream.seen.count(("GET", "dropped"))
    assert dropped > 0
    assert closing_upstream.seen.count(("GET", "answered")) == ROUNDS


def test_a_non_idempotent_request_is_never_sent_twice(
    gateway_before_closing_upstream: str, closing_upstream: _ClosingUpstream
) -> None:
    front_end = {"Origin": CORS_ORIGIN}
    with httpx.Client(base_url=gateway_before_closing_upstream, headers=front_end) as client:
        responses = [client.post("/v1/alerts", json={}) for _ in range(ROUNDS)]
    failed = [r for r in responses if r.status_code == 502]
    assert failed  # the service may have acted on it: only the client may resend
    for response in failed:  # the gateway's own error, readable by the front-end
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["access-control-allow-origin"] == CORS_ORIGIN
    sent = [method for method, _ in closing_upstream.seen]
    assert sent == ["POST"] * ROUNDS  # each request reached the service once, none twice
