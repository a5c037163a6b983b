"""Several replicas on one database: two apps (two engines, two pools), each with its own
dispatcher, deliver one hand-off outbox on real commits to a real HTTP receiver, and only
the gauge leader exports the SLA gauge."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from c2r_common.singleton import Leadership
from c2r_common.testing import ServiceUnderTest, TokenFactory, fresh_database
from request_intake.app import SLA_GAUGE_LEADERSHIP, _refresh_sla_metrics, create_app
from request_intake.models import NOTIFICATIONS
from request_intake.outbox.service import HANDOFF_SUBSCRIPTION_ID, idempotency_key
from request_intake.sla.service import export_overdue_gauge

ENTRIES = 8
PASSES_PER_REPLICA = 4


@pytest.fixture
async def receiver(assessment_api: Any) -> Any:
    """The suite's assessment-api stub (a real HTTP server counting every POST), taking a
    moment per delivery so that the two relays' passes overlap."""
    answer = assessment_api._create

    async def slowly(request: Request) -> JSONResponse:
        await asyncio.sleep(0.02)
        response: JSONResponse = await answer(request)
        return response

    assessment_api._create = slowly
    await assessment_api.start()
    return assessment_api


@pytest.fixture
async def replicas(
    service_under_test: ServiceUnderTest, tmp_path: Path, receiver: Any, fresh_clock: Any
) -> AsyncIterator[list[FastAPI]]:
    """Two apps on one fresh database, each with its own engine, as two replicas."""
    async with fresh_database(service_under_test.alembic_ini, "intake_replicas", tmp_path) as url:
        settings = service_under_test.make_settings(url).model_copy(
            update={"assessment_api_url": receiver.url}
        )
        apps = [create_app(settings, fresh_clock), create_app(settings, fresh_clock)]  # type: ignore[arg-type]
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            yield apps


def http(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://intake")


async def approve_requests(app: FastAPI, api_for: Any, rwanda: dict[str, str]) -> None:
    async with http(app) as client:
        api = api_for(client)
        call = await api.create_call()
        for n in range(ENTRIES):
            request = await api.submit(rwanda, call["id"], title=f"Assessment {n}")
            await api.walk(request["id"], "screening", "under_review", "approved")


async def test_two_dispatchers_racing_deliver_each_hand_off_exactly_once(
    replicas: list[FastAPI],
    receiver: Any,
    api_for: Any,
    rwanda: dict[str, str],
    make_relay: Any,
) -> None:
    await approve_requests(replicas[0], api_for, rwanda)
    relays = [make_relay(app, receiver.url) for app in replicas]
    passes = [relay.run_once() for _ in range(PASSES_PER_REPLICA) for relay in relays]
    if replicas[0].state.settings.database_url.startswith("sqlite"):
        # SQLite is served by one process, whose one relay never runs two passes at once:
        # the replicas' passes take turns, and neither sends again what the other sent.
        reports = [await one_pass for one_pass in passes]
    else:
        reports = await asyncio.gather(*passes)

    assert receiver.calls == receiver.distinct_keys == ENTRIES
    assert sum(report.attempted for report in reports) == ENTRIES
    assert sum(report.delivered for report in reports) == ENTRIES
    d = NOTIFICATIONS.delivery
    async with replicas[1].state.database.sessionmaker() as session:
        handoffs = (
            await session.scalars(select(d).where(d.subscription_id == HANDOFF_SUBSCRIPTION_ID))
        ).all()
    assert len(handoffs) == ENTRIES
    assert {(entry.status, entry.attempts) for entry in handoffs} == {("delivered", 1)}
    assert {idempotency_key(entry.event_id) for entry in handoffs} == set(receiver.assessments)


def overdue_samples(text: str) -> dict[str, float]:
    return {
        sample.labels["stage"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "c2r_intake_overdue_requests"
    }


async def scrape(app: FastAPI, path: str = "/metrics", **headers: str) -> httpx.Response:
    async with http(app) as client:
        return await client.get(path, headers=headers)


async def test_only_the_gauge_leader_exports_the_overdue_gauge(
    replicas: list[FastAPI], auth_headers: TokenFactory
) -> None:
    first, second = replicas
    sessionmaker = first.state.database.sessionmaker
    other_replica = Leadership(second.state.database.engine, SLA_GAUGE_LEADERSHIP, 30)
    this_replica = Leadership(first.state.database.engine, SLA_GAUGE_LEADERSHIP, 30)
    stages = set(first.state.sla_policy.stages)
    leads_here = first.state.settings.database_url.startswith("sqlite")  # one process
    try:
        assert await other_replica.check()
        await _refresh_sla_metrics(first, sessionmaker, this_replica)
        if not leads_here:
            assert overdue_samples((await scrape(first)).text) == {}
            # A request asking for the summary does not bring the series back either.
            reader = auth_headers("requests:read", "requests:review")
            summary = await scrape(first, "/v1/requests/overdue/summary", **reader)
            assert summary.status_code == 200, summary.text
            assert overdue_samples((await scrape(first)).text) == {}
            await other_replica.release()
            await _refresh_sla_metrics(first, sessionmaker, this_replica)
        assert overdue_samples((await scrape(first)).text) == dict.fromkeys(stages, 0.0)
    finally:
        export_overdue_gauge(True)
        await this_replica.aclose()
        await other_replica.aclose()


async def test_replicas_approving_at_once_write_a_missing_built_in_subscription_once(
    replicas: list[FastAPI], api_for: Any, rwanda: dict[str, str]
) -> None:
    s, d = NOTIFICATIONS.subscription, NOTIFICATIONS.delivery
    async with replicas[0].state.database.sessionmaker() as session:
        await session.execute(delete(s).where(s.id == HANDOFF_SUBSCRIPTION_ID))
        await session.commit()
    async with http(replicas[0]) as client:
        api = api_for(client)
        call = await api.create_call()
        ids = []
        for n in range(ENTRIES):
            request = await api.submit(rwanda, call["id"], title=f"Assessment {n}")
            await api.walk(request["id"], "screening", "under_review")
            ids.append(request["id"])

    async def approve(app: FastAPI, request_id: str) -> int:
        async with http(app) as client:
            api = api_for(client)
            return (await api.move(api.staff, request_id, "approved")).status_code

    moves = [approve(replicas[n % 2], request_id) for n, request_id in enumerate(ids)]
    if replicas[0].state.settings.database_url.startswith("sqlite"):
        # One process per SQLite file: the replicas' approvals take turns.
        statuses = [await move for move in moves]
    else:
        statuses = await asyncio.gather(*moves)
    assert statuses == [200] * ENTRIES
    async with replicas[1].state.database.sessionmaker() as session:
        built_in = await session.scalar(
            select(func.count()).select_from(s).where(s.id == HANDOFF_SUBSCRIPTION_ID)
        )
        handoffs = await session.scalar(
            select(func.count()).select_from(d).where(d.subscription_id == HANDOFF_SUBSCRIPTION_ID)
        )
    assert (built_in, handoffs) == (1, ENTRIES)
