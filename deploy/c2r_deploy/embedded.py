"""The embedded default: the three services and the gateway from one command (`make run`).

Each service runs as its own process on SQLite files under the data folder, exactly as
in production apart from the database; the gateway is the small proxy of gateway.py.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from c2r_deploy.gateway import create_gateway_app
from c2r_deploy.gateway_edge import ProblemHttpToolsProtocol
from c2r_deploy.gateway_metrics import GatewayMetrics, serve_metrics
from c2r_deploy.openapi import merge_openapi
from c2r_deploy.processes import wait_until_ready
from c2r_deploy.routes import RouteTable, ServiceRoute

READY_TIMEOUT_SECONDS = 60.0


def _command(service: ServiceRoute) -> str:
    # The services' console scripts sit beside this interpreter in the project's venv.
    return str(Path(sys.executable).parent / service.command)


def service_environment(table: RouteTable, service: ServiceRoute, data_dir: Path) -> dict[str, str]:
    """The service's settings for the embedded default; peers are reached via the gateway."""
    gateway_url = f"http://{table.listen}"
    env = dict(os.environ)
    env[f"{service.env_prefix}DATABASE_URL"] = f"sqlite+aiosqlite:///{data_dir / service.name}.db"
    env.setdefault(f"{service.env_prefix}ENVIRONMENT", "development")
    for peer in table.services:
        if peer is not service:
            env[f"{service.env_prefix}{peer.name.upper().replace('-', '_')}_URL"] = gateway_url
    return env


def _service_command(table: RouteTable, service: ServiceRoute, data_dir: Path, step: str) -> None:
    env = service_environment(table, service, data_dir)
    subprocess.run([_command(service), step], env=env, check=True, stdout=subprocess.DEVNULL)


def migrate(table: RouteTable, service: ServiceRoute, data_dir: Path) -> None:
    _service_command(table, service, data_dir, "migrate")


@contextmanager
def running_services(table: RouteTable, data_dir: Path) -> Iterator[None]:
    """Starts every service (each migrates and seeds first); stops them all on exit."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for service in table.services:
            log = (logs / f"{service.name}.log").open("ab")
            # One process per service migrates, seeds (both idempotent) and serves.
            command = [
                _command(service),
                "serve",
                "--migrate",
                "--seed",
                "--host",
                service.host,
                "--port",
                str(service.port),
            ]
            env = service_environment(table, service, data_dir)
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
        for service, process in zip(table.services, processes, strict=True):
            wait_until_ready(f"http://{service.upstream}/readyz", process, READY_TIMEOUT_SECONDS)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def _banner(table: RouteTable, data_dir: Path, metrics_at: str) -> str:
    base = f"http://{table.listen}"
    services = "\n".join(
        f"    {s.name:<15} http://{s.upstream}  (docs /docs, metrics /metrics)"
        for s in table.services
    )
    return f"""
Connect2Recover platform is up (embedded default: SQLite under {data_dir}).

  API          {base}/v1/...
  API docs     {base}/docs   (merged OpenAPI: {base}/openapi.json)
  Gateway metrics http://{metrics_at}/metrics
  Services
{services}
  Logs         {data_dir / "logs"}/<service>.log

Get a token:   make token SCOPES="schools:read schools:write" COUNTRIES=RWA
Try it:        curl -H "Authorization: Bearer $(make -s token SCOPES=admin)" {base}/v1/countries/RWA

Ctrl-C stops everything.
"""


def _running_openapi(table: RouteTable) -> dict[str, Any]:
    """The merged document of the services as they run (read once, at start-up)."""
    documents = {
        s.name: httpx.get(f"http://{s.upstream}/openapi.json", timeout=10).json()
        for s in table.services
    }
    return merge_openapi(table, documents)


def run_embedded(table: RouteTable, data_dir: Path) -> None:
    data_dir = data_dir.resolve()
    with running_services(table, data_dir):
        upstreams = {s.name: f"http://{s.upstream}" for s in table.services}
        document = _running_openapi(table)
        metrics = GatewayMetrics()
        metrics_at, stop_metrics = serve_metrics(metrics, table.metrics_listen)
        app = create_gateway_app(table, upstreams, lambda: document, metrics=metrics)
        host, port = table.listen.rsplit(":", 1)
        print(_banner(table, data_dir, metrics_at), flush=True)
        try:
            uvicorn.run(
                app, host=host, port=int(port), log_level="warning", http=ProblemHttpToolsProtocol
            )
        finally:
            stop_metrics()
