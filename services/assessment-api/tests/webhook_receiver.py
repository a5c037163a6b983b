"""A real webhook receiver on a free loopback port: it verifies each request's Standard
Webhooks signature with the `standardwebhooks` library and keeps what it verified (a
smaller copy of school-monitor's: the services' test suites import nothing of another)."""

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    webhook_id: str
    event: dict[str, Any]


@dataclass
class WebhookReceiver:
    secret: str = ""
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)  # every verified request
    refused_signatures: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/c2r"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers))
                except WebhookVerificationError:
                    with receiver._lock:
                        receiver.refused_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.requests.append(Received(self.headers["webhook-id"], event))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
