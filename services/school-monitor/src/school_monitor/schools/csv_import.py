"""Bulk import of school master data from a CSV with Giga's column names.

The file is read row by row and imported in chunks of `chunk_rows` rows, each chunk in a
transaction of its own, committed before the next chunk is read. Only one chunk's rows
are ever parsed at a time, and the write lock (SQLite's one lock, PostgreSQL's row locks)
is held for one chunk at a time: an agent pushing measurements during a large import
waits for one chunk, not for the whole file.

A chunk is written with set-based statements: one SELECT of its existing Giga ids, one
multi-row INSERT of the new schools, one executemany UPDATE of the known ones, the tags,
and the country counters of the schools it created, in the same transaction, so the
counters are exact after every commit.

An import that stops part-way (a database failure) keeps its committed chunks and says
how far it got (`ImportStopped`). Rows are upserted by `school_id_giga`, so sending the
same file again is safe: the committed rows are updated with the same values, the others
created, and no counter counts a school twice.
"""

import asyncio
import csv
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from c2r_common.auth import Principal
from c2r_common.csv_safety import restore_cell
from c2r_common.db import claim_write_lock, utcnow
from c2r_common.errors import RETRY_AFTER_SECONDS, FieldProblem, ProblemError
from c2r_common.transient import is_retryable_conflict, is_transient
from school_monitor.ingestion.derive import StatsDelta
from school_monitor.ingestion.writer import add_country_stats
from school_monitor.schools.models import School
from school_monitor.schools.schemas import ImportProblem, ImportReport, SchoolIn
from school_monitor.schools.service import replace_tags
from school_monitor.upsert import table_of

logger = logging.getLogger("school_monitor.import")

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
INTEGER_FIELDS = {"num_students", "num_computers"}
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
DECIMAL_FIELDS = {"latitude", "longitude", "download_speed_contracted"}
DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
TRUTHY = {"yes", "true", "1", "y"}
FALSY = {"no", "false", "0", "n"}
PARSE_SLICE_ROWS = 25
# A chunk whose new Giga ids another writer inserted meanwhile (PostgreSQL) fails on the
# unique index; run again, it finds them and updates them instead.
CHUNK_ATTEMPTS = 2

Row = dict[str, str]
Progress = Callable[[int], None]
RejectedRow = Callable[[ImportProblem, Row], None]  # the problem and the file's row


class ImportStopped(ProblemError):
    """The import failed part-way; `report` covers the chunks committed before.

    Rows after `report.committed_through_line` were not imported. Sending the file again
    is safe (an upsert by Giga id).
    """

    def __init__(self, report: ImportReport, cause: BaseException) -> None:
        transient = is_transient(cause)
        committed = report.created + report.updated
        super().__init__(
            _stopped_status(cause),
            f"The import stopped after line {report.committed_through_line}: "
            f"{committed} rows committed ({report.created} created, {report.updated} "
            f"updated), the rest not imported. {_what_to_do(cause)} Rows are upserted by "
            "school_id_giga, so sending the file again only updates the committed ones.",
            problem_type="import-stopped",
            errors=_unreadable_file(cause),
            extra={"committed_rows": committed, "report": report.model_dump(mode="json")},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if transient else None,
        )
        self.report = report


def _stopped_status(cause: BaseException) -> int:
    """503 for a passing database failure, 422 for a file that cannot be read further (a
    malformed line, a field over the csv module's limit), else the refusal's own status."""
    if is_transient(cause):
        return 503
    if isinstance(cause, csv.Error):
        return 422
    return cause.status_code if isinstance(cause, ProblemError) else 500


def _unreadable_file(cause: BaseException) -> list[FieldProblem] | None:
    if not isinstance(cause, csv.Error):
        return None
    return [FieldProblem(field="body", message=f"unreadable line: {cause}", type="csv")]


def _what_to_do(cause: BaseException) -> str:
    if isinstance(cause, csv.Error):
        return f"The next line cannot be read ({cause}): fix it, then send the file again."
    return "Send the file again to finish it."


@dataclass
class Chunk:
    """Rows read since the previous commit: the valid schools and the rejected rows."""

    last_line: int = 1
    rows: int = 0
    schools: list[tuple[int, Row, SchoolIn]] = field(default_factory=list)
    rejected: list[tuple[ImportProblem, Row]] = field(default_factory=list)


@dataclass
class Written:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[ImportProblem, Row]] = field(default_factory=list)


@dataclass
class ImportRun:
    default_country: str | None
    columns: dict[str, str]
    on_rejected: RejectedRow | None = None
    report: ImportReport = field(
        default_factory=lambda: ImportReport(
            rows=0,
            created=0,
            updated=0,
            committed_through_line=1,
            rejected=[],
            unknown_columns=[],
        )
    )
    seen: dict[str, int] = field(default_factory=dict)  # giga id -> line first seen

    def committed(self, chunk: Chunk, written: Written) -> None:
        """Counts a chunk into the report once its transaction committed."""
        report = self.report
        report.rows += chunk.rows
        report.created += written.created
        report.updated += written.updated
        report.committed_through_line = chunk.last_line
        for problem, row in [*chunk.rejected, *written.rejected]:
            report.rejected.append(problem)
            if self.on_rejected is not None:
                self.on_rejected(problem, row)


def _cell(field_name: str, raw: str) -> Any:
    # A cell the platform neutralised against formulas (the rejected rows it wrote out)
    # reads back as the value it was.
    value = restore_cell(raw.strip())
    if value == "":
        return None
    if field_name == "electricity_availability":
        lowered = value.lower()
        return True if lowered in TRUTHY else False if lowered in FALSY else value
    if field_name == "tags":
        return [tag for tag in (t.strip() for t in value.replace(",", ";").split(";")) if tag]
    # The schema's numbers are strict (JSON bodies); a CSV cell is text, read here. Text
    # that is no number stays text, for validation to refuse by its column.
    if field_name in INTEGER_FIELDS and INTEGER_TEXT.fullmatch(value):
        return int(value)
    if field_name in DECIMAL_FIELDS and DECIMAL_TEXT.fullmatch(value):
        return float(value)
    return value


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        column = next((c for c, f in COLUMNS.items() if f == str(error["loc"][0])), error["loc"][0])
        parts.append(f"{column}: {error['msg']}")
    return "; ".join(parts)


def _parse_row(run: ImportRun, chunk: Chunk, line: int, row: Row) -> None:
    values: dict[str, Any] = {}
    for column, field_name in run.columns.items():
        cell = _cell(field_name, row.get(column) or "")
        if cell is not None:
            values[field_name] = cell
    values.setdefault("country_iso3", run.default_country)
    try:
        school = SchoolIn.model_validate(values)
    except ValidationError as exc:
        chunk.rejected.append((ImportProblem(line=line, reason=_reason(exc)), row))
        return
    first = run.seen.setdefault(school.giga_id, line)
    if first != line:
        reason = f"school_id_giga {school.giga_id} repeats line {first}"
        chunk.rejected.append((ImportProblem(line=line, reason=reason), row))
        return
    chunk.schools.append((line, row, school))


async def _chunks(
    run: ImportRun, rows: Iterator[tuple[int, Row]], chunk_rows: int
) -> AsyncIterator[Chunk]:
    """The file's rows parsed `chunk_rows` at a time, lazily: the next chunk is read only
    when the previous one has been written. Parsing lets the event loop run every
    PARSE_SLICE_ROWS rows: the requests served meanwhile (and their transactions, which
    need the loop for each statement) are not held up by a whole chunk's parsing."""
    chunk = Chunk()
    for line, row in rows:
        chunk.rows += 1
        chunk.last_line = line
        _parse_row(run, chunk, line, row)
        if chunk.rows >= chunk_rows:
            yield chunk
            chunk = Chunk(last_line=line)
        elif chunk.rows % PARSE_SLICE_ROWS == 0:
            await asyncio.sleep(0)
    if chunk.rows:
        yield chunk


def _reader(lines: Iterable[str]) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header

    def numbered() -> Iterator[tuple[int, Row]]:
        for row in reader:
            yield reader.line_num, row

    return header, numbered()


async def import_schools(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    lines: Iterable[str],
    default_country: str | None,
    *,
    chunk_rows: int,
    progress: Progress | None = None,
    on_rejected: RejectedRow | None = None,
) -> ImportReport:
    """Imports the CSV read from `lines` (a text file or any iterable of its lines),
    committing every `chunk_rows` rows; raises ImportStopped if it fails part-way."""
    header, rows = _reader(lines)
    columns = {c: COLUMNS[c.lower()] for c in header if c.lower() in COLUMNS}
    run = ImportRun(default_country=default_country, columns=columns, on_rejected=on_rejected)
    run.report.unknown_columns = [c for c in header if c.lower() not in COLUMNS]
    try:
        async for chunk in _chunks(run, rows, chunk_rows):
            run.committed(chunk, await _commit_chunk(sessions, principal, run, chunk))
            if progress is not None:
                progress(run.report.rows)
    except Exception as exc:
        logger.warning("school import stopped after line %d", run.report.committed_through_line)
        raise ImportStopped(_sorted(run.report), exc) from exc
    return _sorted(run.report)


def _sorted(report: ImportReport) -> ImportReport:
    report.rejected.sort(key=lambda problem: problem.line)
    return report


async def _commit_chunk(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, run: ImportRun, chunk: Chunk
) -> Written:
    if not chunk.schools:
        return Written()
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            async with sessions() as session:
                # Before the chunk's first read: a SQLite transaction that read first could
                # not write after another writer committed (c2r_common.db).
                await claim_write_lock(session)
                written = await _write_chunk(session, principal, run, chunk)
                await session.commit()
                return written
        except Exception as failure:
            # A school created meanwhile by another writer, or a deadlock: the chunk is one
            # transaction, safe to run again.
            again = isinstance(failure, IntegrityError) or is_retryable_conflict(failure)
            if attempt == CHUNK_ATTEMPTS or not again:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _write_chunk(
    db: AsyncSession, principal: Principal, run: ImportRun, chunk: Chunk
) -> Written:
    statement = select(School.giga_id, School.id, School.country_iso3).where(
        School.giga_id.in_([school.giga_id for _, _, school in chunk.schools])
    )
    existing = {row.giga_id: (row.id, row.country_iso3) for row in await db.execute(statement)}
    fields = sorted({f for f in run.columns.values() if f not in {"tags", "giga_id"}})
    written = Written()
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    tags: dict[uuid.UUID, list[str]] = {}
    deltas: dict[str, StatsDelta] = {}
    now = utcnow()
    for line, row, school in chunk.schools:
        refusal = _refusal(principal, school, existing.get(school.giga_id))
        if refusal is not None:
            written.rejected.append((ImportProblem(line=line, reason=refusal), row))
            continue
        if school.giga_id in existing:
            school_id = existing[school.giga_id][0]
            values = school.model_dump(include=set(fields))
            updates.append({"_id": school_id, "updated_at": now, **values})
        else:
            school_id = uuid.uuid4()
            new_rows.append(_new_school_row(school, school_id, now))
            delta = deltas.setdefault(school.country_iso3, StatsDelta())
            delta.schools_total += 1
            delta.unknown += 1
        if "tags" in run.columns:
            tags[school_id] = school.tags
    await _write_rows(db, fields, new_rows, updates)
    await replace_tags(db, tags)
    await add_country_stats(db, deltas)
    written.created, written.updated = len(new_rows), len(updates)
    return written


def _refusal(
    principal: Principal, school: SchoolIn, existing: tuple[uuid.UUID, str] | None
) -> str | None:
    if not principal.can_access_country(school.country_iso3):
        return f"this token does not give access to country {school.country_iso3}"
    if existing is not None and not principal.can_access_country(existing[1]):
        # Its country is not the caller's to know: only that the Giga id is taken.
        return f"Giga id {school.giga_id} belongs to a school outside this token's countries"
    if existing is not None and existing[1] != school.country_iso3:
        return f"school {school.giga_id} is registered in {existing[1]}, not {school.country_iso3}"
    return None


async def _write_rows(
    db: AsyncSession,
    fields: list[str],
    new_rows: list[dict[str, Any]],
    updates: list[dict[str, Any]],
) -> None:
    # One lock order for every transaction (PostgreSQL): concurrent imports of overlapping
    # files then wait for each other instead of deadlocking.
    new_rows.sort(key=lambda row: row["giga_id"])
    updates.sort(key=lambda row: row["_id"])
    table = table_of(School)
    connection = await db.connection()
    if new_rows:
        await connection.execute(insert(table), new_rows)
    if updates:
        assignments: dict[str, Any] = {name: bindparam(name) for name in [*fields, "updated_at"]}
        changes = update(table).where(table.c.id == bindparam("_id")).values(assignments)
        await connection.execute(changes, updates)


def _new_school_row(school: SchoolIn, school_id: uuid.UUID, now: Any) -> dict[str, Any]:
    return school.model_dump(exclude={"tags"}) | {
        "id": school_id,
        "created_at": now,
        "updated_at": now,
        "connectivity_status": "unknown",
        "is_online": False,
    }
