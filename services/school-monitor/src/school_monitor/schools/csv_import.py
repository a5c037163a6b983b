"""Bulk import of school master data from a CSV with Giga's column names.

Rows are validated one by one (bad rows reported with their line number, good rows kept)
and written in chunks with set-based statements: one SELECT of the chunk's existing Giga
ids, one multi-row INSERT of the new schools, one executemany UPDATE of the known ones.
"""

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock, utcnow
from school_monitor.rollups.service import StatsDelta, apply_stats
from school_monitor.schools.models import School
from school_monitor.schools.schemas import ImportProblem, ImportReport, SchoolIn
from school_monitor.schools.service import replace_tags
from school_monitor.upsert import table_of

CHUNK_ROWS = 2_000

# Giga's column -> our field. Several spellings of the country column exist in the wild.
COLUMNS = {
    "school_id_giga": "giga_id",
    "school_id_govt": "government_id",
    "school_name": "name",
    "admin1": "admin1",
    "admin2": "admin2",
    "latitude": "latitude",
    "longitude": "longitude",
    "education_level": "education_level",
    "connectivity_type": "connectivity_type",
    "electricity_availability": "electricity_availability",
    "num_students": "num_students",
    "num_computers": "num_computers",
    "download_speed_contracted": "download_speed_contracted",
    "country_iso3_code": "country_iso3",
    "country_iso3": "country_iso3",
    "iso3_format": "country_iso3",
    "tags": "tags",
}
TRUTHY = {"yes", "true", "1", "y"}
FALSY = {"no", "false", "0", "n"}

Progress = Callable[[int], None]


@dataclass
class ImportRun:
    default_country: str | None
    columns: dict[str, str]
    report: ImportReport = field(
        default_factory=lambda: ImportReport(
            rows=0, created=0, updated=0, rejected=[], unknown_columns=[]
        )
    )
    seen: dict[str, int] = field(default_factory=dict)  # giga id -> line first seen


def _cell(field_name: str, raw: str) -> Any:
    value = raw.strip()
    if value == "":
        return None
    if field_name == "electricity_availability":
        lowered = value.lower()
        return True if lowered in TRUTHY else False if lowered in FALSY else value
    if field_name == "tags":
        return [tag for tag in (t.strip() for t in value.replace(",", ";").split(";")) if tag]
    return value


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        column = next((c for c, f in COLUMNS.items() if f == str(error["loc"][0])), error["loc"][0])
        parts.append(f"{column}: {error['msg']}")
    return "; ".join(parts)


def _parse_row(run: ImportRun, line: int, row: dict[str, str]) -> SchoolIn | None:
    values: dict[str, Any] = {}
    for column, field_name in run.columns.items():
        cell = _cell(field_name, row.get(column) or "")
        if cell is not None:
            values[field_name] = cell
    values.setdefault("country_iso3", run.default_country)
    try:
        school = SchoolIn.model_validate(values)
    except ValidationError as exc:
        run.report.rejected.append(ImportProblem(line=line, reason=_reason(exc)))
        return None
    first = run.seen.setdefault(school.giga_id, line)
    if first != line:
        reason = f"school_id_giga {school.giga_id} repeats line {first}"
        run.report.rejected.append(ImportProblem(line=line, reason=reason))
        return None
    return school


def _rows(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header

    def numbered() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            yield reader.line_num, row

    return header, numbered()


async def import_schools(
    db: AsyncSession,
    principal: Principal,
    text: str,
    default_country: str | None,
    progress: Progress | None = None,
) -> ImportReport:
    await claim_write_lock(db)
    header, rows = _rows(text)
    columns = {c: COLUMNS[c.lower()] for c in header if c.lower() in COLUMNS}
    run = ImportRun(default_country=default_country, columns=columns)
    run.report.unknown_columns = [c for c in header if c.lower() not in COLUMNS]
    chunk: list[tuple[int, SchoolIn]] = []
    for line, row in rows:
        run.report.rows += 1
        school = _parse_row(run, line, row)
        if school is not None:
            chunk.append((line, school))
        if len(chunk) >= CHUNK_ROWS:
            await _write_chunk(db, principal, run, chunk)
            chunk = []
            if progress is not None:
                progress(run.report.rows)
    await _write_chunk(db, principal, run, chunk)
    if progress is not None:
        progress(run.report.rows)
    run.report.rejected.sort(key=lambda problem: problem.line)
    return run.report


async def _write_chunk(
    db: AsyncSession, principal: Principal, run: ImportRun, chunk: list[tuple[int, SchoolIn]]
) -> None:
    if not chunk:
        return
    statement = select(School.giga_id, School.id, School.country_iso3).where(
        School.giga_id.in_([school.giga_id for _, school in chunk])
    )
    existing = {row.giga_id: (row.id, row.country_iso3) for row in await db.execute(statement)}
    fields = sorted({f for f in run.columns.values() if f not in {"tags", "giga_id"}})
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    tags: dict[uuid.UUID, list[str]] = {}
    deltas: dict[str, StatsDelta] = {}
    now = utcnow()
    for line, school in chunk:
        if not principal.can_access_country(school.country_iso3):
            reason = f"this token does not give access to country {school.country_iso3}"
            run.report.rejected.append(ImportProblem(line=line, reason=reason))
            continue
        values = school.model_dump(include=set(fields))
        if school.giga_id in existing:
            school_id, country = existing[school.giga_id]
            if country != school.country_iso3:
                reason = (
                    f"school {school.giga_id} is registered in {country}, not {school.country_iso3}"
                )
                run.report.rejected.append(ImportProblem(line=line, reason=reason))
                continue
            updates.append({"_id": school_id, "updated_at": now, **values})
        else:
            school_id = uuid.uuid4()
            new_rows.append(_new_school_row(school, school_id, now))
            delta = deltas.setdefault(school.country_iso3, StatsDelta())
            delta.schools_total += 1
            delta.unknown += 1
        if "tags" in run.columns:
            tags[school_id] = school.tags
    table = table_of(School)
    connection = await db.connection()
    if new_rows:
        await connection.execute(insert(table), new_rows)
    if updates:
        assignments: dict[str, Any] = {name: bindparam(name) for name in [*fields, "updated_at"]}
        changes = update(table).where(table.c.id == bindparam("_id")).values(assignments)
        await connection.execute(changes, updates)
    await replace_tags(db, tags)
    await apply_stats(db, deltas)
    run.report.created += len(new_rows)
    run.report.updated += len(updates)


def _new_school_row(school: SchoolIn, school_id: uuid.UUID, now: Any) -> dict[str, Any]:
    return school.model_dump(exclude={"tags"}) | {
        "id": school_id,
        "created_at": now,
        "updated_at": now,
        "connectivity_status": "unknown",
        "is_online": False,
    }
