"""Reads of the maintained figures: each is a primary-key lookup or an index range scan,
never an aggregate over raw measurements."""

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from c2r_common.schemas import CountryConnectivitySummary, SchoolCountsByStatus
from school_monitor.rollups.models import CountryDaily, CountryStats, DailyFigures, SchoolDaily
from school_monitor.rollups.schemas import (
    CountryCounts,
    CountryDailyOut,
    DailyOut,
    RegionConnectivitySummary,
)
from school_monitor.schools.models import School


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def daily_fields(row: DailyFigures) -> dict[str, Any]:
    n = row.measurement_count
    return {
        "measurement_count": n,
        "download_mbps_mean": _mean(row.download_sum, n),
        "download_mbps_min": row.download_min,
        "download_mbps_max": row.download_max,
        "upload_mbps_mean": _mean(row.upload_sum, n),
        "upload_mbps_min": row.upload_min,
        "upload_mbps_max": row.upload_max,
        "latency_ms_mean": _mean(row.latency_sum, n),
        "latency_ms_min": row.latency_min,
        "latency_ms_max": row.latency_max,
        "ping_count": row.ping_count,
        "uptime_pct": _pct(row.ping_connected_count, row.ping_count),
    }


async def school_daily(
    db: AsyncSession, school_id: uuid.UUID, since: date, until: date
) -> list[DailyOut]:
    statement = (
        select(SchoolDaily)
        .where(SchoolDaily.school_id == school_id, SchoolDaily.day.between(since, until))
        .order_by(SchoolDaily.day)
    )
    return [DailyOut(day=r.day, **daily_fields(r)) for r in await db.scalars(statement)]


async def country_daily(
    db: AsyncSession, iso3: str, since: date, until: date
) -> list[CountryDailyOut]:
    statement = (
        select(CountryDaily)
        .where(CountryDaily.country_iso3 == iso3, CountryDaily.day.between(since, until))
        .order_by(CountryDaily.day)
    )
    return [
        CountryDailyOut(day=r.day, schools_reporting=r.schools_reporting, **daily_fields(r))
        for r in await db.scalars(statement)
    ]


async def uptime_today(db: AsyncSession, school_id: uuid.UUID, today: date) -> float | None:
    row = await db.get(SchoolDaily, (school_id, today))
    return _pct(row.ping_connected_count, row.ping_count) if row is not None else None


async def _median(
    db: AsyncSession, iso3: str, column: InstrumentedAttribute[float | None], count: int
) -> float | None:
    """The median of the schools' latest values, read off the (country, value) index:
    an ordered range scan to the middle, no sort and no aggregate over measurements."""
    if count == 0:
        return None
    middle = 1 if count % 2 else 2
    statement = (
        select(column)
        .where(School.country_iso3 == iso3, column.is_not(None))
        .order_by(column)
        .offset((count - 1) // 2)
        .limit(middle)
    )
    values = [v for v in (await db.scalars(statement)).all() if v is not None]
    return sum(values) / len(values) if values else None


def _counts(stats: CountryStats | None) -> SchoolCountsByStatus:
    if stats is None:
        return SchoolCountsByStatus()
    return SchoolCountsByStatus(
        good=stats.good, moderate=stats.moderate, bad=stats.bad, unknown=stats.unknown
    )


@dataclass(frozen=True)
class ScannedFigures:
    """The parts of a summary that need an index range scan rather than a counter."""

    reporting_24h: int
    download_median: float | None
    upload_median: float | None
    latency_median: float | None
    last_day: date | None


class ScanCache:
    """Keeps each country's scanned figures for a few seconds.

    Counts by status, totals and means come from the counters on every request; the
    medians and the 24-hour reporting count walk up to half (or all) of a country's index
    entries, tens of milliseconds for 100,000 schools, so they are reused for
    `summary_scan_seconds` -- the figures of a summary are at most that old.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, int, ScannedFigures]] = {}

    def get(self, iso3: str, with_data: int) -> ScannedFigures | None:
        entry = self._entries.get(iso3)
        if entry is None or entry[0] <= time.monotonic() or entry[1] != with_data:
            return None
        return entry[2]

    def put(self, iso3: str, with_data: int, figures: ScannedFigures) -> None:
        if self.ttl > 0:
            self._entries[iso3] = (time.monotonic() + self.ttl, with_data, figures)


async def _scan(db: AsyncSession, iso3: str, with_data: int, now: datetime) -> ScannedFigures:
    reporting = await db.scalar(
        select(func.count()).where(
            School.country_iso3 == iso3, School.last_seen_at >= now - timedelta(hours=24)
        )
    )
    last_day = await db.scalar(
        select(func.max(CountryDaily.day)).where(
            CountryDaily.country_iso3 == iso3, CountryDaily.measurement_count > 0
        )
    )
    return ScannedFigures(
        reporting_24h=int(reporting or 0),
        download_median=await _median(db, iso3, School.latest_download_mbps, with_data),
        upload_median=await _median(db, iso3, School.latest_upload_mbps, with_data),
        latency_median=await _median(db, iso3, School.latest_latency_ms, with_data),
        last_day=last_day,
    )


async def country_summary(
    db: AsyncSession, iso3: str, benchmark: float, now: datetime, cache: ScanCache
) -> CountryConnectivitySummary:
    stats = await db.get(CountryStats, iso3)
    with_data = stats.with_data if stats is not None else 0
    total = stats.schools_total if stats is not None else 0
    counts = _counts(stats)
    scanned = cache.get(iso3, with_data)
    if scanned is None:
        scanned = await _scan(db, iso3, with_data, now)
        cache.put(iso3, with_data, scanned)
    return CountryConnectivitySummary(
        iso3=iso3,
        as_of=now,
        schools_total=total,
        schools_by_status=counts,
        schools_connected_pct=_pct(counts.good + counts.moderate, total),
        schools_reporting_24h=scanned.reporting_24h,
        download_mbps_median=scanned.download_median,
        download_mbps_mean=_mean(stats.download_sum, with_data) if stats else None,
        upload_mbps_median=scanned.upload_median,
        upload_mbps_mean=_mean(stats.upload_sum, with_data) if stats else None,
        latency_ms_median=scanned.latency_median,
        benchmark_download_mbps=benchmark,
        last_measurement_date=scanned.last_day,
        schools_with_data=with_data,
        has_measurements=with_data > 0,
        data_age_days=max(0, (now.date() - scanned.last_day).days) if scanned.last_day else None,
    )


async def region_summary(
    db: AsyncSession, region: str, iso3s: list[str], now: datetime
) -> RegionConnectivitySummary:
    statement = (
        select(CountryStats)
        .where(CountryStats.country_iso3.in_(iso3s), CountryStats.schools_total > 0)
        .order_by(CountryStats.country_iso3)
    )
    countries = []
    totals = SchoolCountsByStatus()
    for stats in await db.scalars(statement):
        counts = _counts(stats)
        for name in ("good", "moderate", "bad", "unknown"):
            setattr(totals, name, getattr(totals, name) + getattr(counts, name))
        connected = _pct(counts.good + counts.moderate, stats.schools_total)
        countries.append(
            CountryCounts(
                iso3=stats.country_iso3,
                schools_total=stats.schools_total,
                schools_by_status=counts,
                schools_connected_pct=connected,
            )
        )
    total = sum(c.schools_total for c in countries)
    return RegionConnectivitySummary(
        region=region,
        as_of=now,
        schools_total=total,
        schools_by_status=totals,
        schools_connected_pct=_pct(totals.good + totals.moderate, total),
        countries=countries,
    )
