"""The gauges of the area and country outage alerts: monitored and offline schools by
country and first-level area, as the background round reads them from the schools; and
the alerts' unit tests feed series with the labels the service really exports."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from school_monitor.background import run_once
from school_monitor.schools.models import School

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
GAUGES = ("c2r_school_monitor_schools_monitored", "c2r_school_monitor_schools_offline")
# Attached by Prometheus when it scrapes, not by the service.
TARGET_LABELS = {"instance", "job"}

Series = dict[tuple[str, str, str], float]  # (name, country, admin1) -> value


def area_series(text: str) -> Series:
    return {
        (sample.name, sample.labels["country"], sample.labels["admin1"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in GAUGES
    }


def exported_label_names(text: str) -> dict[str, set[frozenset[str]]]:
    names: dict[str, set[frozenset[str]]] = {gauge: set() for gauge in GAUGES}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in GAUGES:
                names[sample.name].add(frozenset(sample.labels))
    return names


async def reported(
    client: httpx.AsyncClient, admin: dict[str, str], ping: Any, ids: list[str]
) -> None:
    items = [ping(school_id) for school_id in ids]
    response = await client.post("/v1/pings/batch", json={"items": items}, headers=admin)
    assert response.json()["stored"] == len(ids), response.text


async def silence(app: FastAPI, ids: list[str]) -> None:
    """As if these schools had said nothing for 3 hours: the next round takes them offline."""
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(School)
            .where(School.id.in_([uuid.UUID(school_id) for school_id in ids]))
            .values(last_seen_at=long_ago)
        )
        await session.commit()


async def test_monitored_and_offline_schools_by_country_and_area(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    ping: Any,
) -> None:
    async def schools(country: str, count: int, **fields: Any) -> list[str]:
        return [(await make_school(country, **fields))["id"] for _ in range(count)]

    western = await schools("RWA", 3, admin1="Western Province")
    kigali = await schools("RWA", 2, admin1="Kigali City")
    unplaced = await schools("RWA", 1)  # no admin1 in the master data
    await schools("RWA", 1, admin1="Eastern Province")  # never reported: not monitored
    niger = await schools("NER", 2, admin1="Niamey")
    await reported(client, admin, ping, western + kigali + unplaced + niger)
    await silence(app, western[:2] + unplaced)

    assert await run_once(app.state.database, app.state.settings) == 3
    text = (await client.get("/metrics")).text
    monitored, offline = GAUGES
    assert area_series(text) == {
        (monitored, "RWA", "Western Province"): 3,
        (offline, "RWA", "Western Province"): 2,
        (monitored, "RWA", "Kigali City"): 2,
        (offline, "RWA", "Kigali City"): 0,
        (monitored, "RWA", ""): 1,
        (offline, "RWA", ""): 1,
        (monitored, "NER", "Niamey"): 2,
        (offline, "NER", "Niamey"): 0,
    }

    # A school placed in an area later: the area it left has no school, so no series.
    response = await client.patch(
        f"/v1/schools/{unplaced[0]}", json={"admin1": "Kigali City"}, headers=admin
    )
    assert response.status_code == 200, response.text
    await reported(client, admin, ping, western)  # and Western Province is back online
    await run_once(app.state.database, app.state.settings)
    after = area_series((await client.get("/metrics")).text)
    assert (monitored, "RWA", "") not in after
    assert (offline, "RWA", "") not in after
    assert after[(monitored, "RWA", "Kigali City")] == 3
    assert after[(offline, "RWA", "Kigali City")] == 1
    assert after[(offline, "RWA", "Western Province")] == 0


async def test_the_outage_alerts_are_tested_on_the_labels_the_service_exports(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    ping: Any,
) -> None:
    school = await make_school("RWA", admin1="Western Province")
    await reported(client, admin, ping, [school["id"]])
    await run_once(app.state.database, app.state.settings)
    exported = exported_label_names((await client.get("/metrics")).text)
    assert exported == {gauge: {frozenset({"country", "admin1"})} for gauge in GAUGES}

    fed = {gauge: set() for gauge in GAUGES} | fed_series_labels()
    assert all(fed.values()), "the alert tests feed no series of these gauges"
    assert fed == exported
    for grouping in groupings_of_the_rules():
        assert grouping <= {"country", "admin1"}, grouping


def fed_series_labels() -> dict[str, set[frozenset[str]]]:
    """The label names of the series the promtool unit tests feed these gauges."""
    fed: dict[str, set[frozenset[str]]] = {}
    for path in (DEPLOY / "prometheus" / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for series in case.get("input_series", []):
                for family in text_string_to_metric_families(f"{series['series']} 0\n"):
                    for sample in family.samples:
                        if sample.name in GAUGES:
                            labels = frozenset(sample.labels) - TARGET_LABELS
                            fed.setdefault(sample.name, set()).add(labels)
    return fed


def groupings_of_the_rules() -> list[set[str]]:
    """The `by (...)` label sets of the rules that read these gauges."""
    groupings = []
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if any(gauge in rule["expr"] for gauge in GAUGES):
                    for labels in re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]):
                        groupings.append({name.strip() for name in labels.split(",")})
    assert groupings, "no rule reads these gauges"
    return groupings
