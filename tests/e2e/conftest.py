"""The production topology on loopback: three service processes on PostgreSQL behind
nginx with the generated config; and the embedded default as `make run` starts it."""

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from topology import (
    BIN,
    Topology,
    free_port,
    free_port_block,
    service_env,
    start_nginx,
    stop,
    wait_for,
)

from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_common.testing import pg_admin, pg_database_url
from c2r_deploy.openapi import ASSETS_FOLDER, gateway_openapi, write_docs
from c2r_deploy.routes import load_routes


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("production")
    routes = load_routes()
    secret = secrets.token_urlsafe(48)
    suffix = uuid.uuid4().hex[:8]
    databases = {s.name: f"c2r_e2e_{s.name.replace('-', '_')}_{suffix}" for s in routes.services}
    asyncio.run(pg_admin(*[f'CREATE DATABASE "{db}"' for db in databases.values()]))
    ports = {s.name: free_port() for s in routes.services}
    gateway_port = free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    topology = Topology(
        gateway,
        {n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
        routes,
        secret,
        root,
        database_urls={name: pg_database_url(db) for name, db in databases.items()},
    )
    docs: Path | None = None
    try:
        for service in routes.services:
            url = topology.database_urls[service.name]
            peers = {s.name: gateway for s in routes.services if s is not service}
            env = service_env(service.env_prefix, url, secret, peers)
            with (root / f"{service.name}.log").open("wb") as log:
                subprocess.run(
                    [BIN / service.command, "migrate"], env=env, check=True, stdout=log, stderr=log
                )
                command = [BIN / service.command, "serve", "--port", str(ports[service.name])]
                topology.processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=log)
                )
        for service, process in zip(routes.services, topology.processes, strict=True):
            wait_for(f"{topology.services[service.name]}/readyz", process)
        upstreams = {n: f"127.0.0.1:{p}" for n, p in ports.items()}
        # What `c2r openapi --output <docs_dir>/openapi.json` writes at a release (with the
        # docs pages' assets), where nginx's workers (nobody, under a root master) may read it.
        docs = Path(tempfile.mkdtemp(prefix="c2r-gateway-docs-"))
        docs.chmod(0o755)
        write_docs(docs / "openapi.json", gateway_openapi(routes))
        (docs / ASSETS_FOLDER).chmod(0o755)
        topology.processes.append(start_nginx(root, routes, gateway_port, upstreams, docs))
        yield topology
    finally:
        stop(topology.processes)
        if docs is not None:
            shutil.rmtree(docs, ignore_errors=True)
        asyncio.run(
            pg_admin(*[f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in databases.values()])
        )


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """`c2r run` — what `make run` starts — on free ports and a temporary data folder."""
    root = tmp_path_factory.mktemp("embedded")
    gateway_port, first_service_port = free_port(), free_port_block(3)
    command = [
        str(BIN / "c2r"),
        "run",
        "--data-dir",
        str(root),
        "--port",
        str(gateway_port),
        "--service-ports",
        str(first_service_port),
    ]
    with (root / "run.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    routes = load_routes().with_ports(gateway_port, first_service_port)
    topology = Topology(
        f"http://127.0.0.1:{gateway_port}",
        {s.name: f"http://{s.upstream}" for s in routes.services},
        routes,
        DEVELOPMENT_JWT_SECRET,
        root,
        [process],
        issuer="c2r-embedded",
        database_urls={s.name: f"sqlite+aiosqlite:///{root}/{s.name}.db" for s in routes.services},
    )
    try:
        wait_for(f"{topology.gateway}/healthz", process, timeout=90)
        yield topology
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)


@pytest.fixture(params=["production", "embedded"])
def gateway(request: pytest.FixtureRequest) -> Topology:
    """Each gateway in turn: nginx before the services on PostgreSQL, then the embedded one."""
    topology: Topology = request.getfixturevalue(request.param)
    return topology
