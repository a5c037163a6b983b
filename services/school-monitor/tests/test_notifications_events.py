"""school-monitor's events, detected in the background round and committed with it: an
area outage of 50 schools is one event (none per school), a flapping link one event when
it settles, a speed drop and its recovery from real pushes, a silent agent once."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from notify_support import ADMIN, dispatcher_of, drain, notifying_app, now, subscribe
from sqlalchemy import select, update
from webhook_receiver import WebhookReceiver, event_data

from c2r_common.notifications.catalogue import AgentSilent
from c2r_common.testing import ServiceUnderTest
from school_monitor.agents.models import Agent
from school_monitor.ingestion.pipeline import sweep_offline
from school_monitor.notifications.models import NOTIFICATIONS
from school_monitor.notifications.service import detect_and_emit
from school_monitor.schools.models import School


async def round_at(app: FastAPI, moment: datetime) -> None:
    """The background round's sweep and detection at `moment`, committed."""
    async with app.state.database.sessionmaker() as session:
        await sweep_offline(session, app.state.settings, moment)
        await detect_and_emit(session, app.state.settings, moment)
        await session.commit()


async def event_types(app: FastAPI) -> list[str]:
    e = NOTIFICATIONS.event
    async with app.state.database.sessionmaker() as session:
        return list((await session.scalars(select(e.type).order_by(e.created_at))).all())


async def add_schools(
    app: FastAPI, count: int, *, country: str, admin1: str, seen_at: datetime
) -> list[uuid.UUID]:
    schools = [
        School(
            giga_id=f"giga-{admin1.lower()}-{index:03d}",
            name=f"{admin1} school {index}",
            country_iso3=country,
            admin1=admin1,
            connectivity_status="good",
            is_online=True,
            last_seen_at=seen_at,
            status_changed_at=seen_at - timedelta(days=1),
        )
        for index in range(count)
    ]
    async with app.state.database.sessionmaker() as session:
        session.add_all(schools)
        await session.commit()
    return [school.id for school in schools]


async def report(app: FastAPI, ids: list[uuid.UUID], at: datetime, *, came_back: bool) -> None:
    """The schools reported at `at` (as a push sets them: seen, online, changed if they
    were offline)."""
    values: dict[str, object] = {"last_seen_at": at, "is_online": True}
    if came_back:
        values["status_changed_at"] = at
    async with app.state.database.sessionmaker() as session:
        await session.execute(update(School).where(School.id.in_(ids)).values(**values))
        await session.commit()


async def test_an_area_outage_of_50_schools_is_one_event_and_its_recovery_one_more(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        receiver = WebhookReceiver().start()
        try:
            subscription = await subscribe(client, webhook_url=receiver.url)
            receiver.secret = subscription["secret"]
            t0 = now()
            kigali = await add_schools(app, 50, country="RWA", admin1="Kigali", seen_at=t0)
            eastern = await add_schools(app, 60, country="RWA", admin1="Eastern", seen_at=t0)
            await round_at(app, t0)  # the baseline: no event
            assert await event_types(app) == []
            dark = t0 + timedelta(hours=2)
            await report(app, eastern, dark, came_back=False)  # Eastern keeps reporting
            await round_at(app, dark)  # Kigali's 50 are swept offline together
            await round_at(app, dark + timedelta(minutes=20))  # past the debounce
            assert await event_types(app) == ["org.itu.c2r.area.outage"]
            back = dark + timedelta(minutes=30)
            await report(app, kigali, back, came_back=True)
            await report(app, eastern, back, came_back=False)
            await round_at(app, back)
            await round_at(app, back + timedelta(minutes=20))
            dispatcher = dispatcher_of(app)
            await drain(app, dispatcher, start=back + timedelta(minutes=21))
            await dispatcher.aclose()
        finally:
            receiver.stop()
        assert await event_types(app) == ["org.itu.c2r.area.outage", "org.itu.c2r.area.recovered"]
        outage, recovered = (event_data(r) for r in receiver.requests)
        assert len(receiver.requests) == 2
        assert (outage["country_iso3"], outage["admin1"]) == ("RWA", "Kigali")
        assert (outage["monitored"], outage["offline"]) == (50, 50)
        assert {s["school_id"] for s in outage["schools"]} == {str(i) for i in kigali}
        assert recovered["offline"] == 0
        assert recovered["started_at"] == outage["started_at"]


async def test_a_flapping_link_raises_one_event_when_it_settles(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, _):
        t0 = now()
        [flapping, *steady] = await add_schools(
            app, 10, country="KEN", admin1="Nairobi", seen_at=t0
        )
        await round_at(app, t0)
        moment = t0
        for _ in range(3):  # offline, and back five minutes later, three times over
            moment += timedelta(minutes=70)
            await report(app, steady, moment, came_back=False)
            await round_at(app, moment)
            await report(app, [flapping], moment + timedelta(minutes=5), came_back=True)
            await report(app, steady, moment + timedelta(minutes=5), came_back=False)
            await round_at(app, moment + timedelta(minutes=5))
        assert await event_types(app) == []
        moment += timedelta(minutes=70)  # and now it stays offline
        await report(app, steady, moment, came_back=False)
        await round_at(app, moment)
        await round_at(app, moment + timedelta(minutes=10))
        assert await event_types(app) == []  # not held long enough yet
        await report(app, steady, moment + timedelta(minutes=20), came_back=False)
        await round_at(app, moment + timedelta(minutes=20))
        await round_at(app, moment + timedelta(minutes=25))
        assert await event_types(app) == ["org.itu.c2r.school.offline"]


async def _push(client: httpx.AsyncClient, device: dict[str, str], download: float) -> None:
    item = {
        "uuid": str(uuid.uuid4()),
        "measured_at": (now() - timedelta(seconds=30)).isoformat(),
        "download_mbps": download,
        "upload_mbps": 5.0,
        "latency_ms": 40.0,
    }
    response = await client.post("/v1/measurements", json=item, headers=device)
    assert response.status_code in (200, 201, 202), response.text


async def test_a_school_falling_below_its_benchmark_and_recovering_from_real_pushes(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        body = {"giga_id": "giga-bench-1", "name": "GS Nyamata", "country_iso3": "RWA"}
        school = (await client.post("/v1/schools", json=body, headers=ADMIN)).json()
        agent = await client.post(
            "/v1/agents", json={"school_id": school["id"], "hardware_id": "hw-b-1"}, headers=ADMIN
        )
        device = {"Authorization": f"Bearer {agent.json()['token']}"}
        await _push(client, device, 25.0)
        await round_at(app, now())
        await _push(client, device, 5.0)
        await round_at(app, now() + timedelta(minutes=20))
        await _push(client, device, 30.0)
        await round_at(app, now())  # too soon: not yet
        await round_at(app, now() + timedelta(minutes=20))
        assert await event_types(app) == [
            "org.itu.c2r.school.below_benchmark",
            "org.itu.c2r.school.recovered",
        ]
        e = NOTIFICATIONS.event
        async with app.state.database.sessionmaker() as session:
            below = await session.scalar(select(e.data).where(e.type.like("%below_benchmark")))
        assert below is not None
        assert (below["download_mbps"], below["benchmark_mbps"]) == (5.0, 20.0)


async def test_an_agent_silent_for_n_days_raises_one_event(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path, agent_silent_days=7) as (app, client):
        body = {"giga_id": "giga-silent-1", "name": "GS Silent", "country_iso3": "RWA"}
        school = (await client.post("/v1/schools", json=body, headers=ADMIN)).json()
        agent = await client.post(
            "/v1/agents", json={"school_id": school["id"], "hardware_id": "hw-s-1"}, headers=ADMIN
        )
        async with app.state.database.sessionmaker() as session:
            await session.execute(
                update(Agent)
                .where(Agent.id == uuid.UUID(agent.json()["id"]))
                .values(last_seen_at=now() - timedelta(days=8))
            )
            await session.commit()
        await round_at(app, now())
        await round_at(app, now() + timedelta(minutes=1))
        assert await event_types(app) == ["org.itu.c2r.agent.silent"]


async def test_an_outage_of_schools_without_admin1_says_null_and_one_left_offline_is_told(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, _client):
        t0 = now()
        eastern = await add_schools(app, 60, country="RWA", admin1="Eastern", seen_at=t0)
        unplaced = await add_schools(app, 10, country="RWA", admin1="Unplaced", seen_at=t0)
        async with app.state.database.sessionmaker() as session:
            await session.execute(update(School).where(School.id.in_(unplaced)).values(admin1=None))
            await session.commit()
        await round_at(app, t0)  # the baseline
        dark = t0 + timedelta(hours=2)
        await report(app, eastern, dark, came_back=False)
        await round_at(app, dark)  # the 10 without admin1 go offline together
        await round_at(app, dark + timedelta(minutes=20))
        assert await event_types(app) == ["org.itu.c2r.area.outage"]
        back = dark + timedelta(minutes=30)
        await report(app, unplaced[1:], back, came_back=True)  # one stays offline
        await report(app, eastern, back, came_back=False)
        await round_at(app, back)
        await round_at(app, back + timedelta(minutes=20))
        e = NOTIFICATIONS.event
        async with app.state.database.sessionmaker() as session:
            rows = (await session.execute(select(e.type, e.data).order_by(e.created_at))).all()
    types = [t for t, _ in rows]
    assert types == [
        "org.itu.c2r.area.outage",
        "org.itu.c2r.area.recovered",
        "org.itu.c2r.school.offline",
    ]
    outage, recovered, offline = (data for _, data in rows)
    assert outage["admin1"] is None
    assert recovered["admin1"] is None
    assert offline["school_id"] == str(unplaced[0])
    assert offline["admin1"] is None


def test_a_silent_agents_title_says_one_day_or_several() -> None:
    agent = {
        "agent_id": uuid.uuid4(),
        "school_id": uuid.uuid4(),
        "school_name": "GS Kigali",
        "country_iso3": "RWA",
        "last_seen_at": None,
    }
    assert AgentSilent(**agent, days=1).title("en").endswith("silent for 1 day")
    assert AgentSilent(**agent, days=7).title("en").endswith("silent for 7 days")
    assert AgentSilent(**agent, days=1).title("fr").endswith("est muet depuis 1 jour")
    assert AgentSilent(**agent, days=7).title("fr").endswith("est muet depuis 7 jours")
