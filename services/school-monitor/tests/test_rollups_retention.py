"""verify and rebuild under a raw-row retention: the rollups the retention keeps without
their raw rows are neither reported nor rewritten, everything after the cutoff's day is
still verified and repaired, and country_stats is verified whole.

The clock is moved, as in the retention tests: the items are ingested now (the API
refuses anything older than the acceptance window, which the cutoff never reaches into),
then upkeep, verify and rebuild all run five months later, when the cutoff has passed
the older ones."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from service_process import assert_found_alone_and_repaired, differences, execute, rebuilt
from sqlalchemy import func, select, update

from c2r_common.db import Database
from c2r_common.testing import (
    ServiceUnderTest,
    TokenFactory,
    app_on_fresh_database,
    asgi_client,
)
from school_monitor.config import SchoolMonitorSettings
from school_monitor.integrity.figures import (
    STATUS_COLUMNS,
    UNDETERMINED,
    Difference,
    complete_since,
    kept_moment,
)
from school_monitor.integrity.rebuild import RebuildReport
from school_monitor.measurements.models import Measurement, Ping
from school_monitor.retention import rules
from school_monitor.retention.service import maintain_storage
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.schools.models import School

# 120 days accepted: an item 70 days old is always before the start of last month.
MAX_AGE_DAYS = 120
RETENTION_MONTHS = 5  # the shortest that covers 120 days (the settings refuse less)
NOW = datetime.now(UTC)
CUTOFF = rules.add_months(rules.month_start(NOW), -1)  # the start of last month
LATER = rules.add_months(CUTOFF, RETENTION_MONTHS) + timedelta(days=1)
OLD = NOW - timedelta(days=70)  # before the cutoff: its raw rows go
ON_CUTOFF_DAY = CUTOFF + timedelta(hours=1)  # kept, but its day is taken as gone
KEPT = CUTOFF + timedelta(days=1, hours=2)  # after the cutoff's day: verified
RECENT = NOW - timedelta(minutes=3)


@pytest.fixture
async def retained_app(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """Real commits, 120 days accepted and five months of raw rows kept."""
    async with app_on_fresh_database(
        service_under_test, tmp_path, max_measurement_age_days=MAX_AGE_DAYS, raw_retention_months=5
    ) as application:
        yield application


@pytest.fixture
async def http(retained_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(retained_app) as client:
        yield client


def _measurement(school_id: str, at: datetime, download: float) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "measured_at": at.isoformat(),
        "download_mbps": download,
        "upload_mbps": download / 2,
        "latency_ms": 100.0 - download,
    }


def _ping(school_id: str, at: datetime, connected: bool = True) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "timestamp": at.isoformat(),
        "is_connected": connected,
    }


async def _post(http: httpx.AsyncClient, path: str, items: Any, admin: dict[str, str]) -> None:
    response = await http.post(path, json={"items": items}, headers=admin)
    assert response.status_code in {200, 201}, response.text


async def _school(http: httpx.AsyncClient, admin: dict[str, str], country: str) -> str:
    body = {"giga_id": f"giga-{uuid.uuid4().hex[:12]}", "name": "GS Kept", "country_iso3": country}
    response = await http.post("/v1/schools", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _ingest_both_sides(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """A school heard of only before the cutoff, one before, on and after the cutoff's
    day, and one of another country before the cutoff and today."""
    schools = {
        "old_only": await _school(http, admin, "RWA"),
        "both": await _school(http, admin, "RWA"),
        "ken": await _school(http, admin, "KEN"),
    }
    measurements = [
        _measurement(schools["old_only"], OLD, 25.0),
        _measurement(schools["both"], OLD, 3.0),
        _measurement(schools["both"], ON_CUTOFF_DAY, 12.0),
        _measurement(schools["both"], KEPT, 30.0),
        _measurement(schools["ken"], OLD, 8.0),
        _measurement(schools["ken"], RECENT, 15.0),
    ]
    pings = [
        _ping(schools["old_only"], OLD + timedelta(minutes=5)),
        _ping(schools["both"], OLD, connected=False),
        _ping(schools["both"], KEPT + timedelta(minutes=1)),
        _ping(schools["ken"], RECENT),
    ]
    await _post(http, "/v1/measurements/batch", measurements, admin)
    await _post(http, "/v1/pings/batch", pings, admin)
    return schools


async def _verify(app: FastAPI) -> list[Difference]:
    return await differences(app, now=LATER)


async def _rebuild(app: FastAPI) -> RebuildReport:
    return await rebuilt(app, now=LATER)


async def _derived(app: FastAPI) -> list[list[Any]]:
    """Every derived row, in a stable order."""
    statements = [
        select(SchoolDaily.__table__).order_by(SchoolDaily.school_id, SchoolDaily.day),
        select(CountryDaily.__table__).order_by(CountryDaily.country_iso3, CountryDaily.day),
        select(CountryStats.__table__).order_by(CountryStats.country_iso3),
        select(School.id, *(getattr(School, name) for name in STATUS_COLUMNS)).order_by(School.id),
    ]
    async with app.state.database.sessionmaker() as session:
        return [[tuple(row) for row in await session.execute(s)] for s in statements]


async def _raw_counts(database: Database) -> tuple[int, int]:
    async with database.sessionmaker() as session:
        measurements = await session.scalar(select(func.count()).select_from(Measurement))
        pings = await session.scalar(select(func.count()).select_from(Ping))
    return int(measurements or 0), int(pings or 0)


async def _retained(app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """Ingested on both sides of the cutoff, then the raw rows before it removed."""
    schools = await _ingest_both_sides(http, admin)
    settings: SchoolMonitorSettings = app.state.settings
    max_age = timedelta(days=MAX_AGE_DAYS)
    assert rules.raw_cutoff(LATER, settings.raw_retention_months, max_age) == CUTOFF
    await maintain_storage(app.state.database, settings, now=LATER)
    # On, and after, the cutoff's day: 3 measurements and 2 checks are left.
    assert await _raw_counts(app.state.database) == (3, 2)
    return schools


def _day(school_id: str, at: datetime) -> Any:
    return (SchoolDaily.school_id == uuid.UUID(school_id)) & (SchoolDaily.day == at.date())


async def test_verify_and_rebuild_find_and_change_nothing_once_old_raw_rows_are_gone(
    retained_app: FastAPI, http: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    admin = auth_headers("admin")
    schools = await _retained(retained_app, http, admin)
    before = await _derived(retained_app)

    assert await _verify(retained_app) == []
    report = await _rebuild(retained_app)

    assert (report.schools, report.changes) == (3, [])
    assert await _derived(retained_app) == before
    # The status of the school heard of only before the cutoff is what ingestion stored.
    async with retained_app.state.database.sessionmaker() as session:
        old_only = await session.get_one(School, uuid.UUID(schools["old_only"]))
        assert (old_only.last_measurement_at, old_only.latest_download_mbps) == (OLD, 25.0)
        assert old_only.last_seen_at == OLD + timedelta(minutes=5)


async def test_a_corrupted_value_after_the_cutoffs_day_is_still_found_and_repaired(
    retained_app: FastAPI, http: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    admin = auth_headers("admin")
    schools = await _retained(retained_app, http, admin)
    both = uuid.UUID(schools["both"])
    kept_day = (schools["both"], KEPT.date().isoformat())
    cases = [
        (update(SchoolDaily).where(_day(schools["both"], KEPT)).values(measurement_count=7),
         ("school_daily", kept_day, "measurement_count", 7)),
        (update(CountryDaily)
         .where((CountryDaily.country_iso3 == "RWA") & (CountryDaily.day == KEPT.date()))
         .values(download_max=1e6),
         ("country_daily", ("RWA", KEPT.date().isoformat()), "download_max", 1e6)),
        # A moment before the cutoff, but a later raw row is there: it must be that one's.
        (update(School).where(School.id == both).values(last_measurement_at=OLD),
         ("schools", (schools["both"],), "last_measurement_at", OLD)),
        (update(School).where(School.id == both).values(latest_download_mbps=29.0),
         ("schools", (schools["both"],), "latest_download_mbps", 29.0)),
        # Built from the schools' columns, not from raw rows: verified whole.
        (update(CountryStats).where(CountryStats.country_iso3 == "RWA").values(good=5),
         ("country_stats", ("RWA",), "good", 5)),
    ]  # fmt: skip
    for statement, (table, key, column, value) in cases:
        await assert_found_alone_and_repaired(
            retained_app, statement, (table, key, column), value, now=LATER
        )


async def test_a_corrupted_rollup_before_the_cutoffs_day_is_by_design_not_reported(
    retained_app: FastAPI, http: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    """Its raw rows are gone (or, on the cutoff's own day, taken as possibly gone), so
    nothing can tell a corrupted rollup from a kept one: verify passes it over and rebuild
    leaves it as it is rather than destroy what the retention keeps."""
    admin = auth_headers("admin")
    schools = await _retained(retained_app, http, admin)
    await execute(
        retained_app,
        update(SchoolDaily).where(_day(schools["both"], OLD)).values(measurement_count=70),
    )
    await execute(
        retained_app,
        update(SchoolDaily).where(_day(schools["both"], ON_CUTOFF_DAY)).values(download_sum=0.0),
    )
    old_country_day = (CountryDaily.country_iso3 == "KEN") & (CountryDaily.day == OLD.date())
    await execute(retained_app, update(CountryDaily).where(old_country_day).values(ping_count=9))
    corrupted = await _derived(retained_app)

    assert await _verify(retained_app) == []
    assert (await _rebuild(retained_app)).changes == []
    assert await _derived(retained_app) == corrupted


async def test_a_latest_value_accepted_as_stored_shows_only_in_its_countrys_stats(
    retained_app: FastAPI, http: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    """The latest measurement of a school heard of only before the cutoff is gone: its
    stored figures are accepted, so a corrupted one (of the same class) is seen only as
    the country total built from it disagreeing; rebuild sets the total to it."""
    admin = auth_headers("admin")
    schools = await _retained(retained_app, http, admin)
    old_only = uuid.UUID(schools["old_only"])
    await execute(
        retained_app, update(School).where(School.id == old_only).values(latest_download_mbps=30.0)
    )

    [difference] = await _verify(retained_app)
    assert (difference.table, difference.key, difference.column) == (
        "country_stats", ("RWA",), "download_sum"
    )  # fmt: skip
    assert difference.expected - difference.stored == pytest.approx(5.0)
    report = await _rebuild(retained_app)
    assert [(c.table, c.column) for c in report.changes] == [("country_stats", "download_sum")]
    assert await _verify(retained_app) == []


def test_the_raw_rows_are_complete_from_the_day_after_the_cutoffs() -> None:
    max_age = timedelta(days=MAX_AGE_DAYS)
    assert complete_since(LATER, 0, max_age) is None
    assert complete_since(LATER, RETENTION_MONTHS, max_age) == CUTOFF + timedelta(days=1)
    # A day before the cutoff moves to the next month, it is taken as moved already.
    last_day = rules.add_months(CUTOFF, RETENTION_MONTHS + 1) - timedelta(hours=12)
    moved = rules.add_months(CUTOFF, 1) + timedelta(days=1)
    assert complete_since(last_day, RETENTION_MONTHS, max_age) == moved


def test_a_stored_moment_before_the_rows_are_complete_is_accepted_unless_a_later_row_is_found() -> (
    None
):
    since = datetime(2026, 3, 2, tzinfo=UTC)
    before, earlier, after = since - timedelta(days=3), since - timedelta(days=9), since
    assert kept_moment(before, None, since) is UNDETERMINED
    assert kept_moment(before, earlier, since) is UNDETERMINED
    assert kept_moment(before, before, since) is UNDETERMINED
    assert kept_moment(earlier, before, since) == before
    assert kept_moment(before, after, since) == after
    # From `since` on, and without retention, the raw rows decide alone.
    assert kept_moment(after, None, since) is None
    assert kept_moment(before, None, None) is None
    assert kept_moment(None, before, since) == before
