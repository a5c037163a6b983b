"""Domain metrics: ingested and rejected by reason and source, latency, schools by status."""

from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from school_monitor.background import run_once


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_ingest_metrics_count_by_source_and_reason(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    before = (await client.get("/metrics")).text
    items = [
        measurement(school["id"], source="DailyCheckApp"),
        measurement(school["id"], source="MLab"),
        measurement(school["id"], latency_ms=-1, source="MLab"),
        measurement(school["id"], source="something-odd"),
    ]
    await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    await client.post("/v1/measurements/batch", json={"items": items[:1]}, headers=admin)
    after = (await client.get("/metrics")).text
    ingested = "c2r_school_monitor_measurements_ingested_total"

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(ingested, kind="measurement", source="DailyCheckApp") == 1
    assert grew(ingested, kind="measurement", source="MLab") == 1
    assert grew(ingested, kind="measurement", source="other") == 1
    rejected = "c2r_school_monitor_measurements_rejected_total"
    # an item that did not parse counts as the endpoint's kind, beside what arrived of it
    assert grew(rejected, kind="measurement", reason="invalid", source="other") == 1
    assert grew("c2r_school_monitor_measurements_duplicate_total", kind="measurement") == 1
    assert grew("c2r_school_monitor_ingest_duration_seconds_count", kind="measurement") == 2


async def test_a_batch_refused_whole_counts_its_rejections_and_nothing_else(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    before = (await client.get("/metrics")).text
    items = [measurement(school["id"], download_mbps=-1, source="MLab"), measurement()]
    response = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    assert response.status_code == 422
    after = (await client.get("/metrics")).text
    rejected = "c2r_school_monitor_measurements_rejected_total"
    grown = {
        key: count - samples(before).get(key, 0.0)
        for key, count in samples(after).items()
        if key[0] == rejected and count != samples(before).get(key, 0.0)
    }
    assert grown == {
        (rejected, (("kind", "measurement"), ("reason", "invalid"), ("source", "other"))): 1.0,
        (rejected, (("kind", "measurement"), ("reason", "invalid"), ("source", "native"))): 1.0,
    }


async def test_an_unparsed_ping_of_a_batch_counts_as_a_ping(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], ping: Any
) -> None:
    school = await make_school()
    before = (await client.get("/metrics")).text
    items = [ping(school["id"]), ping(school["id"], latency_ms="slow")]
    response = await client.post("/v1/pings/batch", json={"items": items}, headers=admin)
    assert response.json()["stored"] == 1, response.text
    after = (await client.get("/metrics")).text
    rejected = "c2r_school_monitor_measurements_rejected_total"
    grown = {
        key: count - samples(before).get(key, 0.0)
        for key, count in samples(after).items()
        if key[0] == rejected and count != samples(before).get(key, 0.0)
    }
    assert grown == {
        (rejected, (("kind", "ping"), ("reason", "invalid"), ("source", "other"))): 1.0,
    }


async def test_schools_by_status_and_agents_seen_gauges(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    device_headers: Any,
    measurement: Any,
) -> None:
    school = await make_school("SLE")
    device = await device_headers(school["id"])
    await client.post("/v1/measurements", json=measurement(download_mbps=0.2), headers=device)
    await run_once(app.state.database, app.state.settings)
    text = (await client.get("/metrics")).text
    assert value(text, "c2r_school_monitor_schools", country="SLE", status="bad") >= 1
    assert value(text, "c2r_school_monitor_agents_seen_24h") >= 1
