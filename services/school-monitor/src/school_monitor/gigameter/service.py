"""Giga Meter writes through the one ingestion pipeline of the native paths: a single push
joins the group commit (school_monitor.ingestion.group_commit), a backlog or a batch of
ping records runs as one set-based transaction of its own, run again after a deadlock.

What cannot become a measurement is recorded as failed, with the reason, once per client
UUID. A caller writes only for its countries: a Giga id of another country is answered
exactly as an unknown one, and a failed record is filed under the sender's country only
when the sender may write for it (school_monitor.measurements.models.FailedMeasurement).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from c2r_common.auth import Principal
from c2r_common.bodies import json_body_openapi, located_in_body
from c2r_common.db import Database
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.transient import retry_on_conflict
from school_monitor.config import SchoolMonitorSettings
from school_monitor.gigameter import rules
from school_monitor.gigameter.credentials import WriteRefused
from school_monitor.gigameter.failures import Failure, record_failures, record_failures_now
from school_monitor.gigameter.grants import WriteGrants, device_ids
from school_monitor.gigameter.grants import write_grants as write_grants  # app.py takes it here
from school_monitor.gigameter.schemas import (
    MAX_RECORDS,
    BacklogBody,
    GigaMeterMeasurement,
    PingRecords,
)
from school_monitor.ingestion import pipeline
from school_monitor.ingestion.group_commit import GroupCommitter
from school_monitor.ingestion.submission import Flag, Submission
from school_monitor.measurements.schemas import ItemProblem, MeasurementIn
from school_monitor.metrics import MEASUREMENTS_REJECTED, source_label

BATCH_ATTEMPTS = 3
UNKNOWN_SCHOOL = "unknown_school"
# Upstream's words, which operators of existing agents know from their logs.
UNKNOWN_SCHOOL_DETAIL = "Failed to add measurement with error: PCDC school does not exist"
SCHOOL_DOES_NOT_EXIST = "School does not exist"


@dataclass(frozen=True)
class RefusalWords:
    """How a route answers a refused write: upstream's words, and the fields to name."""

    unknown_school: str
    school_field: str
    device_field: str


MEASUREMENT_REFUSAL = RefusalWords(UNKNOWN_SCHOOL_DETAIL, "body.giga_id_school", "body.BrowserID")
PING_REFUSAL = RefusalWords(SCHOOL_DOES_NOT_EXIST, "path.giga_id_school", "body.records.browserId")


def refused(refusal: WriteRefused, words: RefusalWords = MEASUREMENT_REFUSAL) -> ProblemError:
    """Upstream's 400: the same answer for an unknown Giga id and another country's."""
    unknown = refusal.reason == UNKNOWN_SCHOOL
    return ProblemError(
        400,
        words.unknown_school if unknown else refusal.detail,
        title="Unknown school" if unknown else "Unregistered device",
        problem_type=refusal.reason.replace("_", "-"),
        errors=[
            FieldProblem(
                field=words.school_field if unknown else words.device_field,
                message=refusal.detail,
            )
        ],
    )


# --- parsing ------------------------------------------------------------------------------


def backlog_openapi() -> dict[str, Any]:
    """The backlog's body in the OpenAPI: a bare array of 1 to MAX_RECORDS measurements."""
    body = json_body_openapi(BacklogBody)
    content = body["requestBody"]["content"]["application/json"]
    content["schema"] = content["schema"]["properties"]["items"]
    return body


_MEASUREMENT = TypeAdapter(GigaMeterMeasurement)
_RAW_LIST = TypeAdapter(list[dict[str, Any]])
_PING_RECORDS = TypeAdapter(PingRecords)


def parse_measurement(body: bytes) -> tuple[dict[str, Any], GigaMeterMeasurement]:
    """The payload as sent (kept as the raw result) and as read; 422 naming the field."""
    raw = _raw_object(body)
    try:
        return raw, _MEASUREMENT.validate_python(raw)
    except ValidationError as exc:
        raise located_in_body(exc) from None


def _raw_object(body: bytes) -> dict[str, Any]:
    try:
        # NaN and Infinity are no JSON: kept in the raw result, no database would take it.
        raw = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raise _not_json("a JSON object is required")
    return raw


def _not_json(message: str) -> ProblemError:
    return ProblemError(
        422,
        "The body is not what this route takes.",
        problem_type="validation",
        errors=[FieldProblem(field="body", message=message)],
    )


def parse_backlog(body: bytes) -> list[dict[str, Any]]:
    """The backlog as sent: a JSON array of measurement objects, at most MAX_RECORDS."""
    try:
        raws = _RAW_LIST.validate_python(pydantic_core.from_json(body, allow_inf_nan=False))
    except ValidationError as exc:
        raise located_in_body(exc) from None
    except ValueError:  # not JSON at all
        raws = None
    if raws is None:
        raise _not_json("an array of JSON objects is required")
    if not raws or len(raws) > MAX_RECORDS:
        raise ProblemError(
            422,
            f"The backlog must hold 1 to {MAX_RECORDS:,} measurements.",
            problem_type="validation",
            errors=[FieldProblem(field="body", message=f"{len(raws)} items")],
        )
    return raws


def parse_ping_records(body: bytes) -> tuple[list[dict[str, Any]], PingRecords]:
    raw = _raw_object(body)
    try:
        return list(raw.get("records") or []), _PING_RECORDS.validate_python(raw)
    except ValidationError as exc:
        raise located_in_body(exc) from None


# --- single push ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PushOutcome:
    status: str  # "stored" | "duplicate"
    measurement_uuid: uuid.UUID
    school_id: uuid.UUID


async def push_one(
    database: Database,
    committer: GroupCommitter,
    grants: WriteGrants,
    principal: Principal,
    body: bytes,
) -> PushOutcome:
    """Stores one measurement with the pushes arriving meanwhile (group commit)."""
    try:
        raw, payload = parse_measurement(body)
    except (RequestValidationError, ProblemError):
        # Counted like an invalid item of a batch.
        MEASUREMENTS_REJECTED.labels("measurement", "invalid", "other").inc()
        raise
    try:
        grant = await grants.grant(
            database, principal, payload.giga_id_school, device_ids(payload, raw)
        )
    except WriteRefused as refusal:
        failure = Failure.of(payload, raw, refusal.reason, refusal.detail)
        await record_failures_now(database, principal, [failure])
        raise refused(refusal) from None
    school = grant.school
    item = _measurement_or_422(payload, raw, school.id, rules.nul_free(body))
    flag = rules.country_flag(payload.country_code, school.country_iso3)
    flags = {0: [flag]} if flag else {}
    submission = Submission(grant.principal, [(0, item)], [], 1, prefix="", flags=flags)
    report = await committer.submit(submission)
    if report.rejected:
        raise _refusal(report.rejected, "The measurement was refused.")
    status = "stored" if report.stored else "duplicate"
    return PushOutcome(status, item.uuid, school.id)


def _measurement_or_422(
    payload: GigaMeterMeasurement, raw: dict[str, Any], school_id: uuid.UUID, raw_nul_free: bool
) -> MeasurementIn:
    try:
        return rules.to_measurement(payload, raw, school_id, raw_nul_free=raw_nul_free)
    except rules.ItemInvalid as invalid:
        MEASUREMENTS_REJECTED.labels("measurement", "invalid", source_label(payload.source)).inc()
        raise ProblemError(
            422,
            "The measurement is not plausible.",
            problem_type="validation",
            errors=invalid.errors,
        ) from None


def _refusal(problems: Sequence[ItemProblem], detail: str) -> ProblemError:
    errors = [
        FieldProblem(field=_agent_field(error.field), message=error.message)
        for problem in problems
        for error in problem.errors
    ]
    return ProblemError(422, detail, problem_type="validation", errors=errors)


def _agent_field(native: str, names: dict[str, str] = rules.GIGA_FIELDS) -> str:
    """'body.3.measured_at' -> 'body.3.Timestamp'."""
    where, _, name = native.rpartition(".")
    return rules.giga_field(name, where or "body", names)


# --- the offline backlog ------------------------------------------------------------------------


@dataclass
class Backlog:
    """A backlog sorted out: the items to store, by the principal each is stored as (a
    key-registered device's own), with their flags; and the ones that fail."""

    items: dict[Principal, list[tuple[int, MeasurementIn]]]
    flags: dict[int, list[Flag]]
    failures: dict[int, Failure]

    def submissions(self) -> list[Submission]:
        return [
            Submission(principal, items, [], len(items), "body", self.flags)
            for principal, items in self.items.items()
        ]


@dataclass(frozen=True)
class BacklogOutcome:
    stored: int
    duplicates: int
    failed: list[dict[str, Any]]
    problems: list[FieldProblem]


async def push_backlog(
    database: Database,
    grants: WriteGrants,
    principal: Principal,
    settings: SchoolMonitorSettings,
    body: bytes,
) -> BacklogOutcome:
    """Stores a backlog in one transaction of its own; the items that cannot be stored
    are recorded as failed in the same transaction. 400 when none was stored or known."""
    raws = parse_backlog(body)
    backlog = await sort_backlog(database, grants, principal, raws, rules.nul_free(body))
    submissions = backlog.submissions()

    async def store() -> BacklogOutcome:
        async with database.sessionmaker() as db:
            outcomes = await pipeline.ingest_many(db, settings, submissions)
            stored = duplicates = 0
            failures = dict(backlog.failures)
            for submission, outcome in zip(submissions, outcomes, strict=True):
                if isinstance(outcome, ProblemError):
                    failures |= _refused_whole(submission, outcome, raws)
                    continue
                stored, duplicates = stored + outcome.stored, duplicates + outcome.duplicates
                failures |= _rejected(outcome.rejected, raws)
            await record_failures(db, principal, list(failures.values()))
            await db.commit()
            failed = [{"index": i, "reason": f.reason} for i, f in sorted(failures.items())]
            return BacklogOutcome(stored, duplicates, failed, _item_problems(failures))

    outcome = await retry_on_conflict(store, BATCH_ATTEMPTS)
    if not outcome.stored and not outcome.duplicates:
        raise ProblemError(
            400,
            "Failed to add measurements: none of them could be stored.",
            problem_type="validation",
            errors=outcome.problems,
        )
    return outcome


def _item_problems(failures: dict[int, Failure]) -> list[FieldProblem]:
    """Each failed item's problems: the fields a rule named, else the item and its reason."""
    return [
        problem
        for index, failure in sorted(failures.items())
        for problem in failure.problems
        or (FieldProblem(field=f"body.{index}", message=failure.reason),)
    ]


async def sort_backlog(
    database: Database,
    grants: WriteGrants,
    principal: Principal,
    raws: list[dict[str, Any]],
    raw_nul_free: bool,
) -> Backlog:
    backlog = Backlog({}, {}, {})
    payloads: dict[int, GigaMeterMeasurement] = {}
    for index, raw in enumerate(raws):
        try:
            payloads[index] = _MEASUREMENT.validate_python(raw)
        except ValidationError as exc:
            backlog.failures[index] = _invalid(raw, index, exc)
    wanted = [(p.giga_id_school, device_ids(p, raws[i])) for i, p in payloads.items()]
    granted = await grants.grants(database, principal, wanted)
    for (index, payload), grant in zip(payloads.items(), granted, strict=True):
        raw = raws[index]
        if isinstance(grant, WriteRefused):
            backlog.failures[index] = Failure.of(payload, raw, grant.reason, grant.detail)
            continue
        try:
            item = rules.to_measurement(
                payload, raw, grant.school.id, f"body.{index}", raw_nul_free
            )
        except rules.ItemInvalid as invalid:
            backlog.failures[index] = Failure.of(
                payload, raw, "invalid", str(invalid), problems=invalid.errors
            )
            continue
        backlog.items.setdefault(grant.principal, []).append((index, item))
        flag = rules.country_flag(payload.country_code, grant.school.country_iso3)
        if flag is not None:
            backlog.flags[index] = [flag]
    return backlog


def _refused_whole(
    submission: Submission, refusal: ProblemError, raws: list[dict[str, Any]]
) -> dict[int, Failure]:
    detail = str(refusal.detail)
    return {
        index: Failure.of(_MEASUREMENT.validate_python(raws[index]), raws[index], "refused", detail)
        for index, _ in submission.items
    }


def _invalid(raw: dict[str, Any], index: int, exc: ValidationError) -> Failure:
    detail = "; ".join(
        f"body.{index}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
    )
    return Failure.unreadable(raw, detail)


def _rejected(problems: Sequence[ItemProblem], raws: list[dict[str, Any]]) -> dict[int, Failure]:
    """The pipeline's refusals (out of the acceptance window...) as failed records."""
    failures = {}
    for problem in problems:
        raw = raws[problem.index]
        named = [
            FieldProblem(field=_agent_field(e.field), message=e.message) for e in problem.errors
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in named)
        payload = _MEASUREMENT.validate_python(raw)
        failures[problem.index] = Failure.of(
            payload, raw, problem.reason, detail, counted=True, problems=named
        )
    return failures


# --- ping records ---------------------------------------------------------------------------


async def push_ping_records(
    database: Database,
    grants: WriteGrants,
    principal: Principal,
    settings: SchoolMonitorSettings,
    giga_id: str,
    body: bytes,
) -> list[dict[str, Any]]:
    """Stores a batch of ping records for the school of the path, in one transaction; the
    records as sent once stored (a re-sent batch is acknowledged, its records stored once)."""
    raws, parsed = parse_ping_records(body)
    browsers = [record.browserId for record in parsed.records]
    try:
        grant = await grants.grant(database, principal, giga_id, browsers)
    except WriteRefused as refusal:
        raise refused(refusal, PING_REFUSAL) from None
    items = []
    problems: list[FieldProblem] = []
    for index, record in enumerate(parsed.records):
        try:
            items.append((index, rules.to_ping(record, grant.school.id, f"body.records.{index}")))
        except rules.ItemInvalid as invalid:
            problems += invalid.errors
    if problems:
        raise ProblemError(422, "Nothing was stored.", problem_type="validation", errors=problems)

    async def store() -> None:
        async with database.sessionmaker() as db:
            report = await pipeline.ingest(
                db, grant.principal, settings, items, [], len(items), "body.records"
            )
            if report.rejected:
                await db.rollback()
                raise _ping_refusal(report.rejected)
            await db.commit()

    if items:
        await retry_on_conflict(store, BATCH_ATTEMPTS)
    return raws


def _ping_refusal(problems: Sequence[ItemProblem]) -> ProblemError:
    errors = [
        FieldProblem(field=_agent_field(error.field, rules.PING_FIELDS), message=error.message)
        for problem in problems
        for error in problem.errors
    ]
    return ProblemError(422, "Nothing was stored.", problem_type="validation", errors=errors)
