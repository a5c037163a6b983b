"""Schemathesis against each service's OpenAPI document, as CI runs it.

Each service runs as it does in production: its own uvicorn process (`<service> serve`) on a
database built by its migrations and loaded with the example data, reached over TCP. The
schemathesis CLI (version pinned in the lock file) then runs every phase (examples,
coverage, fuzzing, stateful) with the checks and bounds of schemathesis.toml, with an admin
token, and must find nothing.
"""

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from c2r_common.auth import mint_token
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from c2r_common.testing import fresh_database

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
READY_TIMEOUT_SECONDS = 90.0
# The whole run of one service is bounded by the examples of schemathesis.toml; this is only
# the backstop against a hang.
RUN_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    env_prefix: str
    alembic_ini: Path
    # Settings that keep the process to the requests the fuzzer makes: no background work
    # that reaches for the other services, which are not running.
    settings: tuple[tuple[str, str], ...] = ()


ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    Service(
        "assessment-api",
        "assessment_api",
        "C2R_ASSESSMENT_",
        ROOT / "services/assessment-api/alembic.ini",
        # Nothing listens there: the connectivity figures are answered as unavailable, fast.
        (("SCHOOL_MONITOR_URL", "http://127.0.0.1:9"), ("SCHOOL_MONITOR_RETRIES", "0")),
    ),
    Service(
        "request-intake",
        "request_intake",
        "C2R_INTAKE_",
        ROOT / "services/request-intake/alembic.ini",
        (("OUTBOX_RELAY_ENABLED", "false"), ("ASSESSMENT_API_URL", "http://127.0.0.1:9")),
    ),
    Service(
        "school-monitor",
        "school_monitor",
        "C2R_SCHOOLS_",
        ROOT / "services/school-monitor/alembic.ini",
    ),
]

ADMIN_TOKEN = mint_token(DEVELOPMENT_JWT_SECRET, subject="fuzz", scopes=["admin"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(service: Service, database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`<service> serve --seed` on `port`: the example data loaded, then uvicorn."""
    env = os.environ | {
        f"{service.env_prefix}DATABASE_URL": database_url,
        f"{service.env_prefix}LOG_LEVEL": "ERROR",
        f"{service.env_prefix}ENVIRONMENT": "test",
    }
    env |= {f"{service.env_prefix}{name}": value for name, value in service.settings}
    command = [sys.executable, "-m", service.package, "serve", "--seed", "--port", str(port)]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


@asynccontextmanager
async def running(service: Service, database_url: str, log: Path) -> AsyncIterator[str]:
    """The service under uvicorn on a free port; its base URL once it is ready."""
    port = free_port()
    process = start(service, database_url, port, log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(process, base_url, log)
        yield base_url
    finally:
        stop(process)


async def wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    with anyio.fail_after(READY_TIMEOUT_SECONDS):
        async with httpx.AsyncClient(base_url=base_url) as http:
            while True:
                assert process.poll() is None, tail(log)
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await anyio.sleep(0.1)


# PostgreSQL only: it refuses what SQLite stores as given (an int4 overflow, a NUL byte,
# a string longer than its column), so it finds all SQLite would and more; the SQLite pass
# of every suite covers the embedded default's own behaviour. One database keeps the run
# to a few minutes.
@pytest.mark.postgresql_only
@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
async def test_openapi_holds_under_schemathesis(service: Service, tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    slug = f"fuzz_{service.package}"
    async with (
        fresh_database(service.alembic_ini, slug, tmp_path) as database_url,
        running(service, database_url, log) as base_url,
    ):
        command = [
            str(SCHEMATHESIS),
            "--no-color",
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
        ]
        with anyio.fail_after(RUN_TIMEOUT_SECONDS):
            result = await anyio.run_process(
                command, check=False, stderr=subprocess.STDOUT, cwd=ROOT
            )
    output = result.stdout.decode(errors="replace")
    assert result.returncode == 0, f"{output}\n--- service log ---\n{tail(log)}"
