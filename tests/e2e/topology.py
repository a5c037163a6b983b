"""Helpers of the end-to-end tests: free ports, process start/stop, the topology handle."""

import asyncio
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from c2r_common.auth import mint_token
from c2r_deploy.gateway import create_gateway_app
from c2r_deploy.gateway_edge import ProblemHttpToolsProtocol
from c2r_deploy.nginx import NginxRuntime, render_nginx
from c2r_deploy.processes import wait_until_ready
from c2r_deploy.routes import RouteTable

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    wait_until_ready(url, process, timeout)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Topology:
    gateway: str
    services: dict[str, str]  # name -> direct base URL
    routes: RouteTable
    secret: str
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    issuer: str = "c2r-e2e"
    database_urls: dict[str, str] = field(default_factory=dict)  # service -> SQLAlchemy URL

    def token(self, *scopes: str, countries: list[str] | None = None) -> str:
        return mint_token(
            self.secret,
            subject="e2e",
            scopes=scopes,
            countries=countries,
            issuer=self.issuer,
            audience="c2r-platform",
        )

    def headers(self, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes)}"}

    def execute(self, service: str, statement: str, **params: object) -> None:
        """A statement on a service's database behind its back, committed."""

        async def run() -> None:
            engine = create_async_engine(self.database_urls[service])
            try:
                async with engine.begin() as connection:
                    await connection.execute(text(statement), params)
            finally:
                await engine.dispose()

        asyncio.run(run())


def service_env(
    prefix: str, database_url: str, secret: str, peers: dict[str, str]
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            f"{prefix}ENVIRONMENT": "production",
            f"{prefix}DATABASE_URL": database_url,
            f"{prefix}JWT_SECRET": secret,
            f"{prefix}JWT_ISSUER": "c2r-e2e",
            # Production requires the key the webhook signing secrets are sealed under.
            f"{prefix}NOTIFY_SECRET_KEY": secret,
        }
    )
    env.update(
        {f"{prefix}{name.upper().replace('-', '_')}_URL": url for name, url in peers.items()}
    )
    return env


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(50):
        first = free_port()
        try:
            sockets = []
            for port in range(first, first + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


def start_nginx(
    root: Path,
    routes: RouteTable,
    port: int,
    upstreams: dict[str, str],
    docs_dir: Path | None = None,
) -> subprocess.Popen[bytes]:
    """nginx with the config generated from `routes`, on `port`, its files under `root`,
    the merged OpenAPI document it serves in `docs_dir`."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is required (Debian package nginx); `make test` installs it"
    # A body larger than nginx's buffer is written to client_body_temp_path by a worker,
    # which runs as nobody and cannot enter pytest's private folders.
    temp = Path(tempfile.mkdtemp(prefix="c2r-nginx-temp-"))
    temp.chmod(0o755)
    atexit.register(shutil.rmtree, temp, ignore_errors=True)
    runtime = NginxRuntime(
        docs_dir=str(docs_dir or root / "docs"),
        pid=str(root / "nginx.pid"),
        error_log=str(root / "nginx-error.log"),
        access_log=str(root / "nginx-access.log"),
        temp_dir=str(temp),
        user=None,
        listen=f"127.0.0.1:{port}",
        upstreams=upstreams,
    )
    (root / "nginx.conf").write_text(render_nginx(routes, runtime))
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    with (root / "nginx-stderr.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    wait_for(f"http://127.0.0.1:{port}/healthz", process)
    return process


@contextmanager
def embedded_gateway(routes: RouteTable, upstreams: dict[str, str]) -> Iterator[str]:
    """The embedded gateway (as `make run` serves it) in a thread, before `upstreams`."""
    port = free_port()
    app = create_gateway_app(routes, {n: f"http://{a}" for n, a in upstreams.items()}, dict)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=ProblemHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def nginx_gateway(root: Path, routes: RouteTable, upstreams: dict[str, str]) -> Iterator[str]:
    """nginx with the config rendered from `routes`, before `upstreams`."""
    port = free_port()
    process = start_nginx(root, routes, port, upstreams)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop([process])
