"""What the embedded gateway does at its edge, for every request whoever answers it.

Before routing: the request id (the client's if short and safe, else a new one),
requests too large for the header buffers refused (414, 431) and CORS preflights
answered. On every answer, the gateway's own or a service's: X-Request-ID, the security
headers and, for an allowed origin, the CORS headers, as nginx adds them with
`add_header ... always`. A request that the HTTP parser cannot read at all gets a
problem+json 400 from ProblemHttpToolsProtocol.
"""

import json
import re
import uuid
from collections.abc import Iterable

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from c2r_deploy.routes import Cors, RouteTable

PROBLEM_JSON = "application/problem+json"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-site",
}
# When a client refused for its rate may send again (both gateways say the same).
RETRY_AFTER_SECONDS = "1"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_EDGE_HEADERS = {
    name.lower().encode()
    for name in (
        "x-request-id",
        *SECURITY_HEADERS,
        "access-control-allow-origin",
        "access-control-expose-headers",
    )
}
_REQUEST_LINE_OVERHEAD = len(" HTTP/1.1\r\n")


def problem_body(status: int, title: str, detail: str, request_id: str) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }


def problem(status: int, title: str, detail: str, request_id: str) -> JSONResponse:
    body = problem_body(status, title, detail, request_id)
    return JSONResponse(body, status, media_type=PROBLEM_JSON)


def request_id_of(scope: Scope) -> str:
    request_id: str = scope["state"]["request_id"]
    return request_id


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _incoming_request_id(scope: Scope) -> str:
    candidate = _header(scope, b"x-request-id") or ""
    return candidate if _VALID_REQUEST_ID.match(candidate) else uuid.uuid4().hex


def _edge_headers(request_id: str, cors: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    own = [(b"x-request-id", request_id.encode())]
    own += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
    return [*own, *cors, (b"vary", b"Origin")]


def _joined(values: Iterable[str]) -> bytes:
    return ", ".join(values).encode()


def _unreadable(scope: Scope, request_id: str) -> Response | None:
    """What nginx refuses and uvicorn's parser lets through: another HTTP version than 1.0
    and 1.1 (505), an HTTP/1.1 request without Host (400, RFC 9112 section 3.2)."""
    version = scope["http_version"]
    if version not in ("1.0", "1.1"):
        detail = "The HTTP version of the request is not supported."
        return problem(505, "HTTP Version Not Supported", detail, request_id)
    if version == "1.1" and _header(scope, b"host") is None:
        return problem(400, "Bad Request", "The request could not be read.", request_id)
    return None


class GatewayEdge:
    def __init__(self, app: ASGIApp, table: RouteTable, origins: Iterable[str]) -> None:
        self.app = app
        self.header_buffer = table.header_buffer_bytes
        self.header_limit = table.header_buffer_bytes * table.header_buffers
        self.cors: Cors | None = table.cors
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        origin = _header(scope, b"origin")
        allowed = origin is not None and origin in self.origins
        cors = self._cors_headers(origin) if allowed and origin else []
        edge = _edge_headers(request_id, cors)

        async def send_with_edge_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in _EDGE_HEADERS]
                message["headers"] = kept + edge
            await send(message)

        answer = (
            _unreadable(scope, request_id)
            or self._too_large(scope, request_id)
            or (self._preflight(scope) if allowed else None)
        )
        if answer is not None:
            await answer(scope, receive, send_with_edge_headers)
            return
        await self.app(scope, receive, send_with_edge_headers)

    def _too_large(self, scope: Scope, request_id: str) -> Response | None:
        """414 or 431 where nginx's header buffers would not hold the request."""
        target = len(scope["raw_path"]) + len(scope["query_string"]) + 1
        request_line = len(scope["method"]) + 1 + target + _REQUEST_LINE_OVERHEAD
        if request_line > self.header_buffer:
            return problem(414, "URI Too Long", "The request URI is too long.", request_id)
        lines = [len(name) + 2 + len(value) + 2 for name, value in scope["headers"]]
        if max(lines, default=0) > self.header_buffer or (
            request_line + sum(lines) > self.header_limit
        ):
            title, detail = "Request Header Fields Too Large", "The request headers are too large."
            return problem(431, title, detail, request_id)
        return None

    def _cors_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        assert self.cors is not None
        return [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-expose-headers", _joined(self.cors.expose_headers)),
        ]

    def _preflight(self, scope: Scope) -> Response | None:
        """The answer to a CORS preflight: the gateway's alone, nothing reaches a service."""
        if scope["method"] != "OPTIONS" or _header(scope, b"access-control-request-method") is None:
            return None
        assert self.cors is not None
        headers = {
            "Access-Control-Allow-Methods": _joined(self.cors.allow_methods).decode(),
            "Access-Control-Allow-Headers": _joined(self.cors.allow_headers).decode(),
            "Access-Control-Max-Age": str(self.cors.max_age),
        }
        return Response(status_code=204, headers=headers)


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, answering a request it cannot parse with problem+json
    (uvicorn's own answer is text/plain, without request id or security headers)."""

    def send_400_response(self, msg: str) -> None:
        request_id = uuid.uuid4().hex
        detail = "The request could not be read."
        body = json.dumps(problem_body(400, "Bad Request", detail, request_id)).encode()
        headers = {
            "Content-Type": PROBLEM_JSON,
            "Content-Length": str(len(body)),
            "Connection": "close",
            "X-Request-ID": request_id,
            **SECURITY_HEADERS,
        }
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\n" + head.encode() + b"\r\n" + body)
        self.transport.close()
