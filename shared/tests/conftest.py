"""Fixtures of the c2r_common tests: a database of the selected backend and real local
HTTP servers (standard library http.server in a background thread on a free loopback port).
"""

import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from c2r_common.testing import pg_admin, pg_database_url, selected_backend


@pytest.fixture(scope="session")
def backend() -> str:
    return selected_backend()


@pytest.fixture(scope="session")
async def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """An empty database of the selected backend (SQLite file or a fresh PostgreSQL db)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("common") / "common.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"c2r_test_common_{uuid.uuid4().hex[:8]}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await pg_admin(drop, f'CREATE DATABASE "{name}"')
    yield pg_database_url(name)
    await pg_admin(drop)


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    """A real HTTP server answering each path with the next status of its script.

    Every request is recorded; a path in `hang` is answered only at teardown (or never
    within the client's timeout).
    """

    url: str = ""
    scripts: dict[str, list[int]] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    seen: list[SeenRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, statuses: list[int]) -> None:
        with self.lock:
            self.scripts[path] = list(statuses)

    def attempts(self, path: str) -> int:
        with self.lock:
            return sum(1 for request in self.seen if request.path == path)

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self.lock:
            return [request for request in self.seen if request.path == path]

    def next_status(self, path: str) -> int:
        with self.lock:
            script = self.scripts.get(path)
            if not script:
                return 200
            return script.pop(0) if len(script) > 1 else script[0]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout test) makes the late write fail: expected


def _start(handler: type[BaseHTTPRequestHandler]) -> tuple[_QuietServer, str]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    state = ScriptedServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with state.lock:
                state.seen.append(
                    SeenRequest(self.command, self.path, dict(self.headers.items()), body)
                )
            if self.path in state.hang:
                state.release.wait(30)
            status = state.next_status(self.path)
            payload = json.dumps({"status": status, "path": self.path}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    server, state.url = _start(Handler)
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def serve_json() -> Iterator[Callable[[Any], str]]:
    """`serve_json(document)` -> URL of a real local HTTP server returning it (e.g. a JWKS)."""
    servers: list[_QuietServer] = []

    def start(document: Any) -> str:
        payload = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        server, url = _start(Handler)
        servers.append(server)
        return f"{url}/.well-known/jwks.json"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
