"""A real webhook receiver on a free loopback port, for the notification tests.

It verifies each request's Standard Webhooks signature with the `standardwebhooks`
library, dedupes on webhook-id as a receiver should, and can be taken down (its socket
closed: connections are refused) and brought back on the same port, made to fail (5xx)
or to hang (it records the request, then answers only when released).
"""

import json
import socket
import threading
import time
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
    status: int = 204  # what it answers
    hang: threading.Event | None = None  # set: answers; unset: holds the request
    delay: float = 0.0  # seconds each answer takes
    requests: list[Received] = field(default_factory=list)  # every verified request
    refused_signatures: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/c2r"

    @property
    def unique(self) -> dict[str, Received]:
        """The events once each, as a receiver deduping on webhook-id keeps them."""
        kept: dict[str, Received] = {}
        for received in self.requests:
            kept.setdefault(received.webhook_id, received)
        return kept

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
                if receiver.hang is not None:
                    receiver.hang.wait(30)
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def event_data(received: Received) -> dict[str, Any]:
    data = received.event["data"]
    return data if isinstance(data, dict) else json.loads(data)
