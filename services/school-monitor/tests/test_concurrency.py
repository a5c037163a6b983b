"""Concurrent batches and single pushes for one country's schools, round after round, with
the duplicates agents send (retries in flight at the same time, a single push's item
relayed again in a batch, a batch re-sent with its Idempotency-Key, an item twice in one
batch), on real commits: every item is stored once and reported stored once, and
`verify` finds every derived value equal to what the raw rows say. Once with the service
in this process (two group commits in flight on PostgreSQL), once with two service
processes on one database (one SQLite file, or one PostgreSQL database).
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from service_process import (
    ADMIN,
    RETRY_PAUSE_SECONDS,
    admin_client,
    ago,
    create_school,
    differences,
    measurement,
    ping,
    register_agent,
    running_app,
    service_processes,
    stored_uuids,
)

from c2r_common.testing import fresh_database
from school_monitor.app import ALEMBIC_INI
from school_monitor.measurements.models import Measurement, Ping

SCHOOLS = 4
ROUNDS = 8
SPEEDS = (0.5, 5.0, 25.0, 60.0)  # bad, moderate, good, good: statuses change each round
ATTEMPTS = 50


@dataclass
class Tally:
    """The UUIDs sent, by kind, and how many of them the answers said were newly stored."""

    sent: dict[str, set[str]] = field(default_factory=lambda: {"measurement": set(), "ping": set()})
    reported_stored: Counter[str] = field(default_factory=Counter)
    retries: int = 0


async def send(
    http: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str], tally: Tally
) -> httpx.Response:
    """Posts until answered otherwise than 503 (a transient failure) or 409 (the same
    Idempotency-Key in flight in another request), as an agent does."""
    for _ in range(ATTEMPTS):
        response = await http.post(path, json=body, headers=headers)
        if response.status_code not in {409, 503}:
            assert response.status_code in {200, 201}, response.text
            return response
        tally.retries += 1
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
    raise AssertionError(f"{path} not acknowledged in {ATTEMPTS} attempts")


async def push_twice(
    clients: list[httpx.AsyncClient],
    path: str,
    item: dict[str, Any],
    device: dict[str, str],
    kind: str,
    tally: Tally,
) -> None:
    """A single push and its retry in flight at the same time, on two clients (two
    processes when there are two): one of them stores it."""
    tally.sent[kind].add(item["uuid"])
    answers = await asyncio.gather(*(send(http, path, item, device, tally) for http in clients[:2]))
    tally.reported_stored[kind] += sum(answer.status_code == 201 for answer in answers)


async def batch_twice(
    clients: list[httpx.AsyncClient],
    path: str,
    items: list[dict[str, Any]],
    kind: str,
    tally: Tally,
) -> None:
    """A batch and its re-send with the same Idempotency-Key at the same time: the second
    is answered the first's report."""
    tally.sent[kind].update(item["uuid"] for item in items)
    headers = ADMIN | {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(send(http, path, {"items": items}, headers, tally) for http in clients[-2:])
    )
    first, again = (answer.json() for answer in answers)
    assert first == again
    assert first["rejected"] == []
    tally.reported_stored[kind] += first["stored"]


def one_round(
    n: int,
    clients: list[httpx.AsyncClient],
    schools: list[tuple[str, dict[str, str]]],
    tally: Tally,
) -> list[Awaitable[None]]:
    """Round `n`: every school's device pushes two measurements of one moment (a tie at
    the latest moment) and a ping check, each twice at once; a relay sends a batch with
    every school's earlier measurement, one of the round's single pushes again and one
    item twice, and a ping batch; rounds alternate between today and yesterday."""
    at = ago(days=n % 2, minutes=2 * (ROUNDS - n))
    work: list[Awaitable[None]] = []
    batch: list[dict[str, Any]] = []
    pings: list[dict[str, Any]] = []
    for index, (school, device) in enumerate(schools):
        speed = SPEEDS[(index + n) % len(SPEEDS)]
        tied = [measurement(school, at, speed), measurement(school, at, speed * 1.5)]
        check = ping(school, at, connected=(index + n) % 3 != 0)
        work += [
            push_twice(clients, "/v1/measurements", m, device, "measurement", tally) for m in tied
        ]
        work.append(push_twice(clients, "/v1/pings", check, device, "ping", tally))
        batch.append(measurement(school, ago(days=n % 2, minutes=2 * (ROUNDS - n) + 1), speed))
        pings.append(ping(school, ago(days=n % 2, minutes=2 * (ROUNDS - n) + 1), index % 2 == 0))
        if index == 0:
            batch.append(tied[0])  # relayed again by the batch, maybe while it is pushed
    batch.append(batch[0])  # twice in one batch
    work.append(batch_twice(clients, "/v1/measurements/batch", batch, "measurement", tally))
    work.append(batch_twice(clients, "/v1/pings/batch", pings, "ping", tally))
    return work


async def run_rounds(clients: list[httpx.AsyncClient], setup: httpx.AsyncClient) -> Tally:
    schools = []
    for _ in range(SCHOOLS):
        school = await create_school(setup)
        schools.append((school, await register_agent(setup, school)))
    tally = Tally()
    for n in range(ROUNDS):
        await asyncio.gather(*one_round(n, clients, schools, tally))
    return tally


async def assert_every_item_stored_and_counted_once(app: FastAPI, tally: Tally) -> None:
    for kind, model in (("measurement", Measurement), ("ping", Ping)):
        stored = [str(u) for u in await stored_uuids(app, model)]
        assert len(stored) == len(set(stored))
        assert set(stored) == tally.sent[kind]
        assert tally.reported_stored[kind] == len(tally.sent[kind]), kind
    assert await differences(app) == []


@pytest.fixture
async def own_database(tmp_path: Path) -> Any:
    async with fresh_database(ALEMBIC_INI, "concurrency", tmp_path) as url:
        yield url


async def test_concurrent_batches_and_single_pushes_add_up_exactly(own_database: str) -> None:
    # Two group commits in flight where the database allows it (PostgreSQL).
    async with (
        running_app(own_database, group_commits_in_flight=2) as app,
        admin_client(app) as http,
    ):
        tally = await run_rounds([http, http], http)
        await assert_every_item_stored_and_counted_once(app, tally)


async def test_two_service_processes_on_one_database_add_up_exactly(
    own_database: str, tmp_path: Path
) -> None:
    async with (
        service_processes(own_database, tmp_path, count=2) as servers,
        running_app(own_database) as app,
    ):
        clients = [httpx.AsyncClient(base_url=s.base_url, timeout=60) for s in servers]
        try:
            tally = await run_rounds(clients, clients[0])
        finally:
            for client in clients:
                await client.aclose()
        await assert_every_item_stored_and_counted_once(app, tally)
