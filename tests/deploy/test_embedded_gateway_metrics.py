"""The embedded gateway's /metrics, on its own port: the real gateway (as `make run` serves
it) before a real school-monitor process, the counters moved by real requests, a 429 of
its rate limit and a 502 once the service is stopped, the exposition accepted by promtool;
and a closed pooled connection, caused by an upstream that drops it, counted as retried."""

import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from c2r_deploy.embedded import service_environment
from c2r_deploy.gateway import create_gateway_app
from c2r_deploy.gateway_edge import ProblemHttpToolsProtocol
from c2r_deploy.gateway_metrics import GatewayMetrics, serve_metrics
from c2r_deploy.processes import wait_until_ready
from c2r_deploy.routes import load_routes

SERVICE = "school-monitor"
# The per-agent limit made tiny, so that the third push of one agent is refused.
RATE, BURST = "1r/m", 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: Starlette, listen: str) -> Iterator[None]:
    """The gateway app served by uvicorn as `make run` serves it, in a thread."""
    host, port = listen.rsplit(":", 1)
    config = uvicorn.Config(
        app, host=host, port=int(port), log_level="warning", http=ProblemHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class RunningGateway:
    url: str
    metrics_url: str
    service: subprocess.Popen[bytes]

    def samples(self) -> "Samples":
        exposition = httpx.get(self.metrics_url).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
        }


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    table = load_routes().with_ports(free_port(), free_port())
    table = replace(table, rate_limit=RATE, rate_limit_burst=BURST)
    route = table.by_name(SERVICE)
    command = [str(Path(sys.executable).parent / route.command), "serve", "--migrate"]
    command += ["--host", route.host, "--port", str(route.port)]
    env = service_environment(table, route, tmp_path)
    with (tmp_path / "service.log").open("wb") as log:
        service = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    metrics = GatewayMetrics()
    metrics_at, stop_metrics = serve_metrics(metrics, table.metrics_listen)
    app = create_gateway_app(table, {SERVICE: f"http://{route.upstream}"}, dict, metrics=metrics)
    try:
        wait_until_ready(f"http://{route.upstream}/readyz", service, 60)
        with serving(app, table.listen):
            yield RunningGateway(f"http://{table.listen}", f"http://{metrics_at}/metrics", service)
    finally:
        stop_metrics()
        if service.poll() is None:
            service.terminate()
            service.wait(timeout=15)


def test_the_metrics_are_on_their_own_port_not_the_public_one(gateway: RunningGateway) -> None:
    assert httpx.get(gateway.url + "/metrics").status_code == 404
    assert "c2r_gateway_requests_total" in httpx.get(gateway.metrics_url).text
    assert load_routes().metrics_listen != load_routes().listen


def test_requests_through_the_gateway_move_its_counters(gateway: RunningGateway) -> None:
    before = gateway.samples()
    for _ in range(3):
        assert httpx.get(gateway.url + "/v1/schools").status_code == 401  # the service's
    assert httpx.get(gateway.url + "/nope").status_code == 404  # the gateway's own
    after = gateway.samples()
    name = "c2r_gateway_requests_total"
    moved = value(after, name, service=SERVICE, method="GET", status="401") - value(
        before, name, service=SERVICE, method="GET", status="401"
    )
    assert moved == 3
    own = value(after, name, service="gateway", method="GET", status="404")
    assert own - value(before, name, service="gateway", method="GET", status="404") == 1
    latency = "c2r_gateway_request_duration_seconds_count"
    assert value(after, latency, service=SERVICE) - value(before, latency, service=SERVICE) == 3
    assert not any("/v1/schools" in str(labels) for _, labels in after)  # no paths
    assert not any(name.endswith("_created") for name, _ in after)


def test_a_rate_limit_refusal_is_counted(gateway: RunningGateway) -> None:
    headers = {"Authorization": "Bearer one-agent"}
    statuses = [
        httpx.post(gateway.url + "/v1/measurements", json=[], headers=headers).status_code
        for _ in range(BURST + 2)
    ]
    refused = statuses.count(429)
    assert refused >= 1
    samples = gateway.samples()
    limited = value(samples, "c2r_gateway_rate_limited_total", service=SERVICE, limit="per-agent")
    assert limited == refused
    counted = value(
        samples, "c2r_gateway_requests_total", service="gateway", method="POST", status="429"
    )
    assert counted == refused


def test_a_stopped_service_is_counted_as_unreachable(gateway: RunningGateway) -> None:
    gateway.service.terminate()
    gateway.service.wait(timeout=15)
    assert httpx.get(gateway.url + "/v1/schools").status_code == 502
    samples = gateway.samples()
    kind = {"service": SERVICE, "kind": "unreachable"}
    assert value(samples, "c2r_gateway_upstream_errors_total", **kind) == 1
    bad_gateway = {"service": "gateway", "method": "GET", "status": "502"}
    assert value(samples, "c2r_gateway_requests_total", **bad_gateway) == 1


def test_the_exposition_passes_promtool(gateway: RunningGateway) -> None:
    httpx.get(gateway.url + "/v1/schools")
    httpx.get(gateway.url + "/nope")
    exposition = httpx.get(gateway.metrics_url).content
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (Debian package prometheus); `make test` installs it"
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


class _AnswerOnceThenDrop(socketserver.StreamRequestHandler):
    """An upstream that answers a connection's first GET and drops the next one sent on it
    (a keep-alive connection the service closed without saying so)."""

    def handle(self) -> None:
        self.request.settimeout(10)
        if not self._read_headers():
            return
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        self.wfile.flush()
        if self._read_headers():
            self.server.dropped += 1  # type: ignore[attr-defined]

    def _read_headers(self) -> bool:
        lines = iter(self.rfile.readline, b"")
        return any(line == b"\r\n" for line in lines)


def test_a_closed_connection_sent_once_more_is_counted() -> None:
    upstream = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _AnswerOnceThenDrop)
    upstream.daemon_threads = True
    upstream.dropped = 0  # type: ignore[attr-defined]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    table = load_routes().with_ports(free_port(), None)
    address = "http://{}:{}".format(*upstream.server_address[:2])
    metrics = GatewayMetrics()
    app = create_gateway_app(
        table, {s.name: address for s in table.services}, dict, metrics=metrics
    )
    try:
        with serving(app, table.listen), httpx.Client(base_url=f"http://{table.listen}") as client:
            assert [client.get("/v1/alerts").status_code for _ in range(5)] == [200] * 5
    finally:
        upstream.shutdown()
        upstream.server_close()
    retries = metrics.registry.get_sample_value(
        "c2r_gateway_upstream_errors_total",
        {"service": SERVICE, "kind": "closed_connection_retry"},
    )
    assert upstream.dropped > 0  # type: ignore[attr-defined]
    assert retries == upstream.dropped  # type: ignore[attr-defined]
