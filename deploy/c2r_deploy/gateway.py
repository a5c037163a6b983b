"""The embedded default's gateway: the route table served by a small reverse proxy.

It behaves like the nginx gateway where a front-end or agent can tell (routing, request
ids, body limits, security headers, problem+json for its own errors, /metrics not
routed), so `make run` needs no external server. Production uses nginx.
"""

import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from c2r_common.api_docs import ASSETS_DIR, ASSETS_PATH
from c2r_deploy.gateway_edge import RETRY_AFTER_SECONDS, GatewayEdge, problem, request_id_of
from c2r_deploy.gateway_metrics import CountRequests, GatewayMetrics, answered_by
from c2r_deploy.openapi import gateway_redoc, gateway_swagger_ui
from c2r_deploy.ratelimit import RateLimits
from c2r_deploy.routes import RouteTable, ServiceRoute

_HOP_BY_HOP = {
    "date",
    "server",  # the gateway sets its own
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
# RFC 9110's idempotent methods, the ones nginx sends again (proxy_next_upstream error).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# How a pooled connection that the service closed meanwhile fails the request sent on it.
_CLOSED_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def _forward_headers(request: Request, request_id: str) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    headers["x-request-id"] = request_id
    client = request.client.host if request.client else "unknown"
    headers["x-forwarded-for"] = client
    headers["x-forwarded-proto"] = request.url.scheme
    return headers


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Gateway:
    def __init__(
        self,
        table: RouteTable,
        upstreams: dict[str, str],
        metrics: GatewayMetrics,
        timeout: float = 60.0,
    ):
        self.table = table
        self.metrics = metrics
        self.upstreams = upstreams  # service name -> base URL
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3.0))
        self.rate_limits = RateLimits(table)

    async def proxy(self, request: Request) -> Response:
        request_id = request_id_of(request.scope)
        path = request.scope["path"]  # percent-decoded, as the services will see it
        # Dot segments could climb out of a routed prefix (to /metrics, say): never routed.
        has_dot_segments = any(segment in {".", ".."} for segment in path.split("/"))
        service = None if has_dot_segments else self.table.service_for(path)
        if service is None:
            return problem(404, "Not Found", "No resource at this path.", request_id)
        if not self._within_rate_limit(request, path, service):
            detail = "Slow down: this client sent too many requests."
            refusal = problem(429, "Too Many Requests", detail, request_id)
            refusal.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return refusal
        try:
            body = await _read_limited(request, service.max_body_bytes)
        except ClientDisconnect:  # gone, or its body could not be parsed (uvicorn said 400)
            return problem(400, "Bad Request", "The request body ended early.", request_id)
        if body is None:
            detail = f"The request body exceeds the gateway limit of {service.max_body}."
            return problem(413, "Content Too Large", detail, request_id)
        return await self._send(request, service, body, request_id)

    def _within_rate_limit(self, request: Request, path: str, service: ServiceRoute) -> bool:
        kind = self.table.rate_limit_kind(path)
        if kind is None:
            return True
        address = request.client.host if request.client else "unknown"
        allowed = self.rate_limits.allow(kind, request.headers.get("authorization"), address)
        if not allowed:
            self.metrics.refused_for_rate(service.name, kind)
        return allowed

    async def _send(
        self, request: Request, service: ServiceRoute, body: bytes, request_id: str
    ) -> Response:
        # The raw path and query go on unchanged, as nginx passes them.
        raw_target = request.scope["raw_path"]
        if request.scope["query_string"]:
            raw_target += b"?" + request.scope["query_string"]
        upstream = httpx.URL(self.upstreams[service.name]).copy_with(raw_path=raw_target)
        outgoing = self.http.build_request(
            request.method,
            upstream,
            headers=_forward_headers(request, request_id),
            content=body,
        )
        try:
            answer = await self._send_once_more_if_closed(outgoing, service)
        except httpx.TimeoutException:
            self.metrics.upstream_error(service.name, "timeout")
            return problem(
                504, "Gateway Timeout", f"{service.name} did not answer in time.", request_id
            )
        except httpx.TransportError:
            self.metrics.upstream_error(service.name, "unreachable")
            return problem(502, "Bad Gateway", f"{service.name} is unreachable.", request_id)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        answered_by(request.scope, service.name)
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=headers,
            background=BackgroundTask(answer.aclose),
        )

    async def _send_once_more_if_closed(
        self, outgoing: httpx.Request, service: ServiceRoute
    ) -> httpx.Response:
        """The service's answer; an idempotent request whose connection turned out closed
        is sent once more, on another connection, so that it does not fail for a dead
        connection left in the pool. Any other request may have been acted on: not resent."""
        try:
            return await self.http.send(outgoing, stream=True)
        except _CLOSED_CONNECTION:
            if outgoing.method not in IDEMPOTENT_METHODS:
                raise
            self.metrics.upstream_error(service.name, "closed_connection_retry")
            return await self.http.send(outgoing, stream=True)

    async def aclose(self) -> None:
        await self.http.aclose()


def create_gateway_app(
    table: RouteTable,
    upstreams: dict[str, str],
    openapi: Callable[[], dict[str, Any]],
    origins: Iterable[str] | None = None,
    metrics: GatewayMetrics | None = None,
) -> Starlette:
    """The gateway; `origins` are the browser origins allowed by CORS (by default the
    route table's production and development ones); `metrics` what it counts into (served
    apart, see gateway_metrics; by default a registry of its own that nothing serves)."""
    gateway = Gateway(table, upstreams, metrics or GatewayMetrics())
    if origins is None:
        cors = table.cors
        origins = (*cors.production_origins, *cors.development_origins) if cors else ()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "gateway"})

    async def openapi_document(_: Request) -> Response:
        return Response(json.dumps(openapi()), media_type="application/json")

    async def docs(_: Request) -> Response:
        return HTMLResponse(gateway_swagger_ui())

    async def redoc(_: Request) -> Response:
        return HTMLResponse(gateway_redoc())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await gateway.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/openapi.json", openapi_document),
            Route("/docs", docs),
            Route("/redoc", redoc),
            Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR)),
            Route("/{path:path}", gateway.proxy, methods=methods),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(CountRequests, metrics=gateway.metrics),
            Middleware(GatewayEdge, table=table, origins=origins),
        ],
    )
