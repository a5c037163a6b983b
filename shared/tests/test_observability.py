"""JSON logs with the request id, RequestContextMiddleware and the HTTP metrics."""

import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from c2r_common.context import current_request_id, set_request_id
from c2r_common.errors import install_error_handlers
from c2r_common.observability import (
    JsonFormatter,
    RequestContextMiddleware,
    add_metrics_endpoint,
)


class ListHandler(logging.Handler):
    """Keeps formatted lines, formatted at emit time (when the request id is current)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def clean_request_id() -> Iterator[None]:
    set_request_id(None)
    yield
    set_request_id(None)


def _record(message: str, *args: object, **kwargs: object) -> logging.LogRecord:
    return logging.LogRecord(
        "c2r.test", logging.WARNING, __file__, 1, message, args, None, **kwargs
    )  # type: ignore[arg-type]


def test_json_formatter_writes_one_line_with_the_request_id(clean_request_id: None) -> None:
    set_request_id("req-42")
    line = JsonFormatter("svc-a").format(_record("hello %s\nsecond line", "world"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["service"] == "svc-a"
    assert entry["level"] == "warning"
    assert entry["logger"] == "c2r.test"
    assert entry["message"] == "hello world\nsecond line"
    assert entry["ts"].endswith("+00:00")


def test_json_formatter_without_request_has_null_request_id(clean_request_id: None) -> None:
    entry = json.loads(JsonFormatter("svc-a").format(_record("plain")))
    assert entry["request_id"] is None


def test_json_formatter_merges_fields_and_exceptions(clean_request_id: None) -> None:
    record = _record("failed")
    record.fields = {"route": "/items/{item_id}", "status": 500}
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter("svc-a").format(record))
    assert entry["route"] == "/items/{item_id}"
    assert entry["status"] == 500
    assert "RuntimeError: boom" in entry["exception"]


@pytest.fixture
def service() -> str:
    # A fresh service label per test keeps the global Prometheus counters apart.
    return f"test-svc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http(service: str, clean_request_id: None) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=service)
    add_metrics_endpoint(app)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, object]:
        return {"item_id": item_id, "request_id": current_request_id()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _count(service: str, route: str, status: str, method: str = "GET") -> float | None:
    labels = {"service": service, "route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("c2r_http_requests_total", labels)


async def test_metrics_use_the_route_template(http: httpx.AsyncClient, service: str) -> None:
    for item_id in (1, 2, 3):
        assert (await http.get(f"/items/{item_id}")).status_code == 200
    assert (await http.get("/items/not-a-number")).status_code == 422
    assert _count(service, "/items/{item_id}", "200") == 3.0
    assert _count(service, "/items/{item_id}", "422") == 1.0
    assert _count(service, "/items/1", "200") is None
    histogram = REGISTRY.get_sample_value(
        "c2r_http_request_duration_seconds_count",
        {"service": service, "route": "/items/{item_id}", "method": "GET"},
    )
    assert histogram == 4.0


async def test_unknown_paths_are_counted_as_unmatched(
    http: httpx.AsyncClient, service: str
) -> None:
    for path in ("/nope", "/nope/deeper/123", "/x?y=1"):
        assert (await http.get(path)).status_code == 404
    assert _count(service, "<unmatched>", "404") == 3.0
    assert _count(service, "/nope", "404") is None


async def test_unhandled_error_is_counted_as_500_of_its_route(
    http: httpx.AsyncClient, service: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="c2r.errors"):
        response = await http.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert _count(service, "/boom", "500") == 1.0


async def test_metrics_endpoint_exposes_the_route_labels(
    http: httpx.AsyncClient, service: str
) -> None:
    await http.get("/items/7")
    await http.get("/unknown")
    text = (await http.get("/metrics")).text
    assert (
        f'c2r_http_requests_total{{method="GET",route="/items/{{item_id}}",'
        f'service="{service}",status="200"}} 1.0' in text
    )
    assert (
        f'c2r_http_requests_total{{method="GET",route="<unmatched>",'
        f'service="{service}",status="404"}} 1.0' in text
    )


async def test_a_valid_incoming_request_id_is_kept(http: httpx.AsyncClient) -> None:
    response = await http.get("/items/1", headers={"X-Request-ID": "client-id.42:a_b-c"})
    assert response.headers["x-request-id"] == "client-id.42:a_b-c"
    assert response.json()["request_id"] == "client-id.42:a_b-c"


@pytest.mark.parametrize("given", ["has space", "x" * 129, 'quote"inside', "new\\nline"])
async def test_an_unsafe_incoming_request_id_is_replaced(
    http: httpx.AsyncClient, given: str
) -> None:
    response = await http.get("/items/1", headers={"X-Request-ID": given})
    generated = response.headers["x-request-id"]
    assert generated != given
    assert len(generated) == 32
    int(generated, 16)
    assert response.json()["request_id"] == generated


async def test_each_request_gets_its_own_generated_id(http: httpx.AsyncClient) -> None:
    first = await http.get("/items/1")
    second = await http.get("/nope")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    # The problem document of an error carries the id of its request.
    assert second.json()["request_id"] == second.headers["x-request-id"]


async def test_access_log_line_carries_request_id_and_route(http: httpx.AsyncClient) -> None:
    handler = ListHandler()
    handler.setFormatter(JsonFormatter("svc-log"))
    access = logging.getLogger("c2r.access")
    access.addHandler(handler)
    previous_level = access.level
    access.setLevel(logging.INFO)
    try:
        response = await http.get("/items/5", headers={"X-Request-ID": "log-me-1"})
    finally:
        access.removeHandler(handler)
        access.setLevel(previous_level)
    (line,) = handler.lines
    entry = json.loads(line)
    assert entry["request_id"] == response.headers["x-request-id"] == "log-me-1"
    assert entry["route"] == "/items/{item_id}"
    assert entry["path"] == "/items/5"
    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert entry["service"] == "svc-log"
