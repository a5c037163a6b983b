"""The PostgreSQL server stopped and started again while agents push: during the outage
every answer is a 503 with Retry-After, the service recovers within seconds of the server
accepting connections again, and no acknowledged write is lost or stored twice.

The server is a cluster of this module's own, on a port of its own (never the shared
one), created once for the module and dropped at its end.
"""

import asyncio
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import asyncpg
import pytest
from service_process import (
    Ledger,
    admin_client,
    agents_of_new_schools,
    assert_nothing_lost_or_doubled,
    free_port,
    poll,
    running_app,
    start_agents,
    wait_until,
)

from c2r_common.migrations import upgrade_to_head
from school_monitor.app import ALEMBIC_INI

PG_VERSION = "15"
OUTAGE_SECONDS = 2.5
RECOVERY_SECONDS = 5.0
AFTER_RECOVERY_SECONDS = 1.0

pytestmark = pytest.mark.postgresql_only


@dataclass(frozen=True)
class Cluster:
    name: str
    port: int

    def ctl(self, action: str, *options: str) -> None:
        command = ["pg_ctlcluster", PG_VERSION, self.name, action, *options]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=5
        )

    async def accepts_connections(self) -> bool:
        try:
            connection = await self.connect()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        await connection.close()
        return True


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL 15 cluster of the module's own, trust auth on local and loopback."""
    own = Cluster(f"c2r_outage_{os.getpid()}", free_port())
    create = ["pg_createcluster", PG_VERSION, own.name, "-p", str(own.port)]
    create += ["--start-conf", "manual", "--", "--auth=trust"]
    subprocess.run(create, check=True, capture_output=True, timeout=120)
    try:
        own.ctl("start")
        yield own
    finally:
        drop = ["pg_dropcluster", "--stop", PG_VERSION, own.name]
        subprocess.run(drop, check=False, capture_output=True, timeout=120)


@pytest.fixture
async def own_database(cluster: Cluster) -> str:
    """A migrated database on the module's cluster."""
    admin = await cluster.connect()
    try:
        await admin.execute("DROP DATABASE IF EXISTS outage WITH (FORCE)")
        await admin.execute("CREATE DATABASE outage")
    finally:
        await admin.close()
    url = cluster.url("outage")
    await anyio.to_thread.run_sync(upgrade_to_head, ALEMBIC_INI, url)
    return url


async def watch_until_accepting(cluster: Cluster) -> float:
    """The moment (event loop time) the stopped cluster accepts a connection again."""
    await poll(cluster.accepts_connections, "the cluster to accept connections", within=120)
    return asyncio.get_running_loop().time()


@pytest.mark.parametrize("shutdown", ["fast", "immediate"])  # a clean stop, and a crash
async def test_an_outage_is_answered_503_then_recovered_and_no_acknowledged_write_is_lost(
    cluster: Cluster, own_database: str, shutdown: str
) -> None:
    loop = asyncio.get_running_loop()
    async with running_app(own_database) as app, admin_client(app) as http:
        ledger, stop = Ledger(), asyncio.Event()
        agents = await agents_of_new_schools(http, relays=2, devices=6)
        # Devices whose tokens this process has not verified yet: they first push during
        # the outage, when the token cannot be looked up.
        late_agents = await agents_of_new_schools(http, relays=0, devices=2)
        pushing = start_agents(http, stop, ledger, agents)
        try:
            await wait_until(lambda: len(ledger.acknowledged) > 100, "the load")
            await asyncio.to_thread(cluster.ctl, "stop", "-m", shutdown)
            down_at = loop.time()
            pushing += start_agents(http, stop, ledger, late_agents)
            await asyncio.sleep(OUTAGE_SECONDS)
            accepting = asyncio.create_task(watch_until_accepting(cluster))
            await asyncio.to_thread(cluster.ctl, "start")
            accepting_at = await accepting
            await wait_until(
                lambda: acknowledged_after(ledger, accepting_at),
                "an acknowledgement after the restart",
            )
            await asyncio.sleep(AFTER_RECOVERY_SECONDS)
        finally:
            stop.set()
            await asyncio.gather(*pushing)
        during = [
            a for a in ledger.answers if a.sent_at >= down_at and a.answered_at < accepting_at
        ]
        assert during, "no request was answered during the outage"
        assert [a for a in during if a.status != 503] == []
        recovered_at = min(
            a.answered_at
            for a in ledger.answers
            if a.status in {200, 201} and a.sent_at >= accepting_at
        )
        assert recovered_at - accepting_at < RECOVERY_SECONDS
        assert ledger.acknowledged == ledger.sent  # each agent went on until acknowledged
        await assert_nothing_lost_or_doubled(app, ledger)


def acknowledged_after(ledger: Ledger, moment: float) -> bool:
    return any(a.status in {200, 201} and a.sent_at >= moment for a in ledger.answers)
