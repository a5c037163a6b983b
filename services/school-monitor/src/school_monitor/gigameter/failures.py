"""Payloads that cannot become measurements, recorded as failed with the reason: once per
client UUID, filed under the country whose readers see it (filed_under)
(school_monitor.measurements.models.FailedMeasurement)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import Database, after_commit, claim_write_lock
from c2r_common.errors import FieldProblem
from c2r_common.transient import retry_on_conflict
from school_monitor.gigameter import rules
from school_monitor.gigameter.credentials import giga_id_forms
from school_monitor.gigameter.schemas import GigaMeterMeasurement
from school_monitor.measurements.models import FailedMeasurement
from school_monitor.metrics import MEASUREMENTS_REJECTED, source_label
from school_monitor.schools.models import School
from school_monitor.upsert import dialect_insert, dialect_name, table_of

ATTEMPTS = 3
# Forms of Giga ids looked up per query: well within either database's bound on the
# parameters of one statement.
LOOKUP_CHUNK = 3000


@dataclass(frozen=True)
class Failure:
    """A payload that could not become a measurement: what its record keeps of it."""

    client_uuid: str
    giga_id_school: str
    country_code: str | None
    source: str
    raw: dict[str, Any]
    reason: str
    detail: str
    # The ingestion pipeline already counted it as rejected (it refused the item itself).
    counted: bool = False
    # The agent's fields that made it fail, where a rule named them: a backlog refused whole
    # names them, so that a client can tell which field of which item to fix.
    problems: tuple[FieldProblem, ...] = ()

    @classmethod
    def of(
        cls,
        payload: GigaMeterMeasurement,
        raw: dict[str, Any],
        reason: str,
        detail: str,
        *,
        counted: bool = False,
        problems: Sequence[FieldProblem] = (),
    ) -> "Failure":
        client_uuid = str(rules.measurement_uuid(payload))
        return cls(
            client_uuid,
            payload.giga_id_school,
            payload.country_code,
            payload.source,
            raw,
            reason,
            detail,
            counted,
            tuple(problems),
        )

    @classmethod
    def unreadable(cls, raw: dict[str, Any], detail: str) -> "Failure":
        """A payload that does not even parse: what can be read of it is kept."""
        sent = raw.get("UUID")
        client_uuid = sent if isinstance(sent, str) and sent.strip() else str(rules.raw_uuid(raw))
        giga_id, code = raw.get("giga_id_school"), raw.get("country_code")
        return cls(
            client_uuid[:64],
            giga_id if isinstance(giga_id, str) else "",
            code if isinstance(code, str) else None,
            "DailyCheckApp",
            raw,
            "invalid",
            detail[:2000],
        )


def filed_under(
    principal: Principal, country_code: str | None, school_country: str | None
) -> str | None:
    """The country whose readers see a failed record: the school's, when the Giga id names
    a school the sender may write for (the agent sends its IP address's country, not
    always the school's); else the one the sender named, if the sender may write for it
    (a school of another country is treated as unknown: nothing of it shows)."""
    if school_country is not None and principal.can_access_country(school_country):
        return school_country
    country = rules.country_of(country_code)
    if country is None or not principal.can_access_country(country.iso3):
        return None
    return country.iso3


async def _school_countries(db: AsyncSession, giga_ids: set[str]) -> dict[str, str]:
    """The country of the school each Giga id names (those naming one)."""
    forms = {giga_id: giga_id_forms(storable(giga_id)) for giga_id in giga_ids}
    wanted = sorted({form for named in forms.values() for form in named})
    stored: dict[str, str] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        rows = await db.execute(
            select(School.giga_id, School.country_iso3).where(School.giga_id.in_(chunk))
        )
        stored.update({row.giga_id: row.country_iso3 for row in rows})
    found = {
        giga_id: next((stored[form] for form in named if form in stored), None)
        for giga_id, named in forms.items()
    }
    return {giga_id: iso3 for giga_id, iso3 in found.items() if iso3 is not None}


def storable(text: str) -> str:
    """A text column takes no NUL (PostgreSQL refuses it): what an unreadable payload
    sent is kept without them (the payload itself is JSON, where NUL is escaped)."""
    return text.replace("\x00", "")


@cache
def _failure_insert(dialect: str) -> Any:
    insert = dialect_insert(dialect, table_of(FailedMeasurement))
    return insert.on_conflict_do_nothing(index_elements=["client_uuid"])


async def record_failures(
    db: AsyncSession, principal: Principal, failures: Sequence[Failure]
) -> None:
    """One failed record per client UUID, in the session's transaction."""
    if not failures:
        return
    countries = await _school_countries(db, {f.giga_id_school for f in failures})
    rows = [
        {
            "id": uuid.uuid4(),
            "client_uuid": storable(f.client_uuid)[:64],
            "giga_id_school": storable(f.giga_id_school)[:64],
            "country_code": storable(f.country_code or "").strip().upper()[:8] or None,
            "country_iso3": filed_under(principal, f.country_code, countries.get(f.giga_id_school)),
            "reason": f.reason,
            "detail": f.detail,
            "payload": f.raw,
        }
        for f in failures
    ]
    connection = await db.connection()
    await connection.execute(_failure_insert(dialect_name(db)), rows)

    def count() -> None:
        for f in (f for f in failures if not f.counted):
            MEASUREMENTS_REJECTED.labels("measurement", f.reason, source_label(f.source)).inc()

    after_commit(db, count)


async def record_failures_now(
    database: Database, principal: Principal, failures: Sequence[Failure]
) -> None:
    """The failed records in a transaction of their own, committed before answering."""

    async def store() -> None:
        async with database.sessionmaker() as db:
            await claim_write_lock(db)
            await record_failures(db, principal, failures)
            await db.commit()

    await retry_on_conflict(store, ATTEMPTS)
