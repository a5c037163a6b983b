"""The embedded gateway's Prometheus metrics, served on a port of their own.

/metrics is for the scraper, never routed through the public gateway: the exposition
listens on `metrics_listen` of routes.toml's [gateway]. Labels stay few and bounded: the
service that answered ("gateway" for the gateway's own answers), the method, the status;
never a path.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c2r_deploy.routes import RateLimitKind

GATEWAY = "gateway"  # the service label of answers the gateway gives itself
UpstreamErrorKind = Literal["timeout", "closed_connection_retry", "unreachable"]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class GatewayMetrics:
    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        # No `_created` series, as on the services: samples that nothing reads.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.requests = Counter(
            "c2r_gateway_requests",
            "Requests answered, by the service that answered (gateway: its own answers).",
            ["service", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "c2r_gateway_request_duration_seconds",
            "Time from the request's arrival to the end of its answer, by service.",
            ["service"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "c2r_gateway_upstream_errors",
            "Upstream failures by kind (closed_connection_retry: an idempotent request "
            "sent once more after its pooled connection turned out closed).",
            ["service", "kind"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "c2r_gateway_rate_limited",
            "Requests refused with 429 by a rate limit.",
            ["service", "limit"],
            registry=self.registry,
        )

    def upstream_error(self, service: str, kind: UpstreamErrorKind) -> None:
        self.upstream_errors.labels(service, kind).inc()

    def refused_for_rate(self, service: str, limit: RateLimitKind) -> None:
        self.rate_limited.labels(service, limit).inc()


def answered_by(scope: Scope, service: str) -> None:
    """Marks the request as answered by `service` (else it counts as the gateway's)."""
    scope["state"]["c2r_answered_by"] = service


class CountRequests:
    """Counts and times every request, whoever answers it (the edge, the gateway, a service)."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500  # when the app fails before it answers

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            service = state.get("c2r_answered_by", GATEWAY)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.requests.labels(service, method, str(status)).inc()
            self.metrics.duration.labels(service).observe(time.perf_counter() - started)


def serve_metrics(metrics: GatewayMetrics, listen: str) -> tuple[str, Callable[[], None]]:
    """Serves the exposition on `listen` (host:port; port 0 picks a free one) in a thread.
    Returns the address it listens on and what stops it."""
    host, port = listen.rsplit(":", 1)
    server, thread = start_http_server(int(port), addr=host, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"{host}:{server.server_port}", stop
