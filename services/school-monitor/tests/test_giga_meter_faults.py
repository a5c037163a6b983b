"""The Giga Meter agent's write routes under a real SIGKILL, on both databases: a backlog
(`POST /api/v1/measurements/multiple`) or a batch of ping records
(`POST /api/v1/connectivity/{giga_id_school}`) frozen inside its transaction is unseen by
another session, is lost whole when its process is killed, and is stored once when the
agent sends it again to the restarted service; every derived figure then matches the raw
rows (school_monitor.integrity)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from service_process import (
    ADMIN,
    ServiceProcess,
    differences,
    poll,
    register_agent,
    running_app,
    service_processes,
    stored_uuids,
)
from test_faults import FREEZE_ATTEMPTS, TransactionProbe, released

from c2r_common.testing import fresh_database
from school_monitor.app import ALEMBIC_INI
from school_monitor.gigameter.examples import agent_measurement, agent_ping_record
from school_monitor.measurements.models import Measurement, Ping

BACKLOG = 1_000  # a device's unsent tests after days offline, and enough to freeze inside
PING_RECORDS = 2_000


@pytest.fixture
async def own_database(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(ALEMBIC_INI, "giga_faults", tmp_path) as url:
        yield url


@dataclass(frozen=True)
class Device:
    giga_id: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Upload:
    """One of the agent's uploads: where it goes, what it sends, the UUIDs it stores."""

    path: str
    body: Any
    uuids: list[str]
    stored: type[Measurement] | type[Ping]


def backlog(device: Device) -> Upload:
    now = datetime.now(UTC)
    tests = [
        agent_measurement(device.giga_id, measured_at=now - timedelta(minutes=BACKLOG - n))
        for n in range(BACKLOG)
    ]
    uuids = [test["UUID"] for test in tests]
    return Upload("/api/v1/measurements/multiple", tests, uuids, Measurement)


def ping_records(device: Device) -> Upload:
    now = datetime.now(UTC)
    records = [
        agent_ping_record(device.giga_id, "browser-1", now - timedelta(seconds=30 * n))
        for n in range(PING_RECORDS)
    ]
    uuids = [record["app_local_uuid"] for record in records]
    return Upload(f"/api/v1/connectivity/{device.giga_id}", {"records": records}, uuids, Ping)


async def enrolled_device(http: httpx.AsyncClient) -> Device:
    """A Rwandan school and its agent's device token."""
    giga_id = f"gm-fault-{uuid.uuid4().hex[:12]}"
    body = {"giga_id": giga_id, "name": "GS Fault", "country_iso3": "RWA"}
    response = await http.post("/v1/schools", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return Device(giga_id, await register_agent(http, str(response.json()["id"])))


async def upload(http: httpx.AsyncClient, device: Device, sent: Upload) -> httpx.Response:
    return await http.post(sent.path, json=sent.body, headers=device.headers)


async def stored_of(app: FastAPI, sent: Upload) -> int:
    """How many of the upload's records another session sees committed."""
    stored = {str(u) for u in await stored_uuids(app, sent.stored)}
    return len(stored.intersection(sent.uuids))


async def frozen_inside_an_upload(
    server: ServiceProcess,
    http: httpx.AsyncClient,
    probe: TransactionProbe,
    make: Any,
    device: Device,
) -> tuple[Upload, "asyncio.Task[httpx.Response]", int]:
    """Sends uploads until the server is frozen inside one's transaction: that upload,
    its unanswered request, and how many records the uploads before it stored."""
    acknowledged = 0
    for _ in range(FREEZE_ATTEMPTS):
        sent = make(device)
        sending = asyncio.create_task(upload(http, device, sent))
        if await probe.freeze_inside(server, within=60):
            return sent, sending, acknowledged
        server.process_continue()
        response = await sending
        assert response.status_code == 201, response.text
        acknowledged += len(sent.uuids)
    pytest.fail(f"no freeze fell inside an upload's transaction in {FREEZE_ATTEMPTS}")


@pytest.mark.parametrize("make", [backlog, ping_records], ids=["backlog", "ping_records"])
async def test_an_agent_upload_frozen_then_killed_is_unseen_lost_whole_and_stored_once_resent(
    own_database: str, tmp_path: Path, make: Any
) -> None:
    async with (
        service_processes(own_database, tmp_path, background_interval_seconds="0") as [server],
        running_app(own_database) as app,
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as http,
        TransactionProbe(own_database) as probe,
    ):
        device = await enrolled_device(http)
        sent, sending, acknowledged = await frozen_inside_an_upload(
            server, http, probe, make, device
        )
        assert await probe.still_inside()
        assert await stored_of(app, sent) == 0
        assert len(await stored_uuids(app, sent.stored)) == acknowledged
        assert await differences(app) == []

        server.kill()
        with pytest.raises(httpx.TransportError):
            await sending  # never acknowledged, so the agent keeps it to send again
        if probe.monitor is not None:
            await poll(lambda: released(probe), "the killed process's transaction to end")
        assert await stored_of(app, sent) == 0
        assert len(await stored_uuids(app, sent.stored)) == acknowledged
        assert await differences(app) == []

        server.start()
        await server.wait_ready()
        for _ in range(2):  # the agent's re-send, and one more after a lost answer
            response = await upload(http, device, sent)
            assert response.status_code == 201, response.text
        assert await stored_of(app, sent) == len(sent.uuids)
        assert len(await stored_uuids(app, sent.stored)) == acknowledged + len(sent.uuids)
        assert await differences(app) == []
