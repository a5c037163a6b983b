"""A process killed mid-batch loses no acknowledged measurement and stores none twice."""

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess

from c2r_common.auth import mint_token
from c2r_common.migrations import upgrade_to_head
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from school_monitor.app import ALEMBIC_INI

BATCH = 250
ACKS_BEFORE_KILL = 10 * BATCH


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServiceProcess, Path]]:
    path = tmp_path / "crash.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_to_head(ALEMBIC_INI, url)
    running = ServiceProcess(url, tmp_path / "service.log")
    yield running, path
    running.kill_if_running()


def batch(school_id: str) -> list[dict[str, Any]]:
    taken = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return [
        {
            "uuid": str(uuid.uuid4()),
            "school_id": school_id,
            "measured_at": taken,
            "download_mbps": 12.5,
            "upload_mbps": 4.0,
            "latency_ms": 55.0,
        }
        for _ in range(BATCH)
    ]


async def push_until_killed(
    http: httpx.AsyncClient,
    school_id: str,
    acknowledged: list[str],
    sent: list[list[str]],
    under_way: asyncio.Event,
) -> None:
    while True:
        items = batch(school_id)
        sent.append([item["uuid"] for item in items])
        while True:  # as an agent does: retry the same batch while the service asks to
            try:
                response = await http.post("/v1/measurements/batch", json={"items": items})
            except httpx.TransportError:
                return
            if response.status_code != 503:
                break
        assert response.status_code == 200, response.text
        acknowledged.extend(item["uuid"] for item in items)
        if len(acknowledged) >= ACKS_BEFORE_KILL:
            under_way.set()


def stored_uuids(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [
            str(uuid.UUID(row[0])) for row in connection.execute("SELECT uuid FROM measurements")
        ]


async def test_killed_process_loses_no_acknowledged_measurement(
    server: tuple[ServiceProcess, Path],
) -> None:
    running, path = server
    base = running.base_url
    token = mint_token(DEVELOPMENT_JWT_SECRET, subject="crash-test", scopes=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    running.start()
    await running.wait_ready()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        school = {"giga_id": f"crash-{uuid.uuid4().hex[:8]}", "name": "S", "country_iso3": "RWA"}
        school_id = (await http.post("/v1/schools", json=school)).json()["id"]
        acknowledged: list[str] = []
        sent: list[list[str]] = []
        under_way = asyncio.Event()
        pushers = [
            asyncio.create_task(push_until_killed(http, school_id, acknowledged, sent, under_way))
            for _ in range(4)
        ]
        await asyncio.wait_for(under_way.wait(), timeout=60)
        running.kill()  # while the four pushers have batches in flight
        await asyncio.gather(*pushers)

    stored = stored_uuids(path)
    assert len(stored) == len(set(stored))
    assert set(acknowledged) <= set(stored)
    # Batches in flight at the kill are all-or-nothing: never half stored.
    stored_set = set(stored)
    for uuids in sent:
        assert len(stored_set.intersection(uuids)) in (0, len(uuids))

    # The agents retry everything they sent after the restart: nothing is stored twice.
    running.start()
    await running.wait_ready()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        every = [item for uuids in sent for item in uuids]
        taken = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        for start in range(0, len(every), 1000):
            items = [
                {
                    "uuid": u,
                    "school_id": school_id,
                    "measured_at": taken,
                    "download_mbps": 12.5,
                    "upload_mbps": 4.0,
                    "latency_ms": 55.0,
                }
                for u in every[start : start + 1000]
            ]
            response = await http.post("/v1/measurements/batch", json={"items": items})
            assert response.status_code == 200
        daily = (await http.get(f"/v1/schools/{school_id}/daily")).json()
    running.kill()
    stored = stored_uuids(path)
    assert sorted(stored) == sorted(set(every))
    assert sum(day["measurement_count"] for day in daily) == len(every)
