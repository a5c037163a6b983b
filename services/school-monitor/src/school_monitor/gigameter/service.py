"""Giga Meter writes through the one ingestion pipeline of the native paths: a single push
joins the group commit (school_monitor.ingestion.group_commit), a backlog or a batch of
ping records runs as one set-based transaction of its own, run again after a deadlock.

What cannot become a measurement is recorded as failed, with the reason, once per client
UUID. A caller writes only for its countries: a Giga id of another country is answered
exactly as an unknown one, and a failed record is filed under the sender's country only
when the sender may write for it (school_monitor.measurements.models.FailedMeasurement).
"""

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pydantic_core
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope
from c2r_common.bodies import json_body_openapi, located_in_body
from c2r_common.db import Database, after_commit, claim_write_lock
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.transient import retry_on_conflict
from school_monitor.config import SchoolMonitorSettings
from school_monitor.gigameter import rules
from school_monitor.gigameter.credentials import (
    WriteGrant,
    WriteRefused,
    authorize_giga_write,
    is_deployment_key,
)
from school_monitor.gigameter.schemas import (
    MAX_RECORDS,
    BacklogBody,
    GigaMeterMeasurement,
    PingRecords,
)
from school_monitor.ingestion import pipeline
from school_monitor.ingestion.group_commit import GroupCommitter
from school_monitor.ingestion.submission import Flag, Submission
from school_monitor.measurements.models import FailedMeasurement
from school_monitor.measurements.schemas import ItemProblem, MeasurementIn
from school_monitor.metrics import MEASUREMENTS_REJECTED, source_label
from school_monitor.upsert import dialect_insert, dialect_name, table_of

BATCH_ATTEMPTS = 3
UNKNOWN_SCHOOL = "unknown_school"
# Upstream's words, which operators of existing agents know from their logs.
UNKNOWN_SCHOOL_DETAIL = "Failed to add measurement with error: PCDC school does not exist"
SCHOOL_DOES_NOT_EXIST = "School does not exist"


# --- who may write for which school -----------------------------------------------------


def require_writer(principal: Principal) -> Principal:
    """The writers of the Giga Meter routes (credentials.GigaWriter), for the single push,
    which resolves its caller without dependency injection."""
    if is_deployment_key(principal) or principal.has_scope(Scope.MEASUREMENTS_WRITE):
        return principal
    raise ProblemError(403, "This needs a deployment key or a token with measurements:write.")


GrantKey = tuple[Principal, str, tuple[str, ...]]


class WriteGrants:
    """The grants of credentials.authorize_giga_write, remembered for `ttl` seconds: an
    agent pushing every few minutes costs no lookup of its school and device each time.

    Like a cached device token, a revoked device is honoured at once in the process that
    revoked it (`forget`) and within that time on another replica; a school deleted
    meanwhile is refused by the pipeline all the same, which locks its row. Refusals are
    not remembered: a school or device registered a moment ago is found at once.
    """

    MAX_ENTRIES = 100_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._grants: dict[GrantKey, tuple[float, WriteGrant]] = {}

    @staticmethod
    def _key(principal: Principal, giga_id: str, device_ids: Iterable[str | None]) -> GrantKey:
        # Only a deployment key's grant depends on the device named (see credentials).
        named = {d for d in device_ids if d} if is_deployment_key(principal) else set()
        return principal, giga_id, tuple(sorted(named))

    async def grant(
        self,
        database: Database,
        principal: Principal,
        giga_id: str,
        device_ids: Iterable[str | None] = (),
    ) -> WriteGrant:
        """The grant, or WriteRefused."""
        [found] = await self.grants(database, principal, [(giga_id, device_ids)])
        if isinstance(found, WriteRefused):
            raise found
        return found

    async def grants(
        self,
        database: Database,
        principal: Principal,
        wanted: Sequence[tuple[str, Iterable[str | None]]],
    ) -> list[WriteGrant | WriteRefused]:
        """The grant or refusal of each (Giga id, device ids): those not remembered are
        looked up in one session, each distinct one once."""
        keys = [self._key(principal, giga_id, devices) for giga_id, devices in wanted]
        now = time.monotonic()
        found: dict[GrantKey, WriteGrant | WriteRefused] = {}
        for key in keys:
            cached = self._grants.get(key)
            if cached is not None and cached[0] > now:
                found[key] = cached[1]
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            async with database.sessionmaker() as session:
                for key in missing:
                    found[key] = await self._authorize(session, key)
        return [found[key] for key in keys]

    def forget(self, agent_id: uuid.UUID) -> None:
        """Drops the grants that write as that agent (revoked, deactivated): at once in
        this process, like a revoked device token."""
        for key, (_, grant) in list(self._grants.items()):
            if grant.agent_id == agent_id:
                del self._grants[key]

    async def _authorize(self, session: AsyncSession, key: GrantKey) -> WriteGrant | WriteRefused:
        principal, giga_id, devices = key
        try:
            grant = await authorize_giga_write(
                session, principal, giga_id_school=giga_id, device_ids=devices
            )
        except WriteRefused as refusal:
            return refusal
        if self.ttl > 0:
            if len(self._grants) >= self.MAX_ENTRIES:
                self._grants.clear()
            self._grants[key] = (time.monotonic() + self.ttl, grant)
        return grant


def write_grants(app_state: Any) -> WriteGrants:
    if not hasattr(app_state, "giga_write_grants"):
        settings: SchoolMonitorSettings = app_state.settings
        app_state.giga_write_grants = WriteGrants(settings.device_token_cache_seconds)
    grants: WriteGrants = app_state.giga_write_grants
    return grants


# --- failed records -----------------------------------------------------------------------


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

    @classmethod
    def of(
        cls, payload: GigaMeterMeasurement, raw: dict[str, Any], reason: str, detail: str
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


def filed_under(principal: Principal, country_code: str | None) -> str | None:
    """The country whose readers see a failed record: the one the sender named, if the
    sender may write for it."""
    country = rules.country_of(country_code)
    if country is None or not principal.can_access_country(country.iso3):
        return None
    return country.iso3


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
    rows = [
        {
            "id": uuid.uuid4(),
            "client_uuid": storable(f.client_uuid)[:64],
            "giga_id_school": storable(f.giga_id_school)[:64],
            "country_code": storable(f.country_code or "").strip().upper()[:8] or None,
            "country_iso3": filed_under(principal, f.country_code),
            "reason": f.reason,
            "detail": f.detail,
            "payload": f.raw,
        }
        for f in failures
    ]
    connection = await db.connection()
    await connection.execute(_failure_insert(dialect_name(db)), rows)

    def count() -> None:
        for f in failures:
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

    await retry_on_conflict(store, BATCH_ATTEMPTS)


def refused(refusal: WriteRefused, where: str = "body") -> ProblemError:
    """Upstream's 400: the same answer for an unknown Giga id and another country's."""
    if refusal.reason == UNKNOWN_SCHOOL:
        field, detail = f"{where}.giga_id_school", UNKNOWN_SCHOOL_DETAIL
    else:
        field, detail = f"{where}.BrowserID", f"Failed to add measurement: {refusal.detail}"
    return ProblemError(
        400,
        detail,
        title="Unknown school" if refusal.reason == UNKNOWN_SCHOOL else "Unregistered device",
        problem_type=refusal.reason.replace("_", "-"),
        errors=[FieldProblem(field=field, message=refusal.detail)],
    )


def device_ids(payload: GigaMeterMeasurement, raw: dict[str, Any]) -> list[str | None]:
    """What a payload carries to name its device: the user_id that registration
    answered (sent back as BrowserID) and, from v2 on, the hardware id."""
    hardware_id = raw.get("device_hardware_id")
    return [payload.browser_id, hardware_id if isinstance(hardware_id, str) else None]


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
            return BacklogOutcome(stored, duplicates, failed)

    outcome = await retry_on_conflict(store, BATCH_ATTEMPTS)
    if not outcome.stored and not outcome.duplicates:
        raise ProblemError(
            400,
            "Failed to add measurements: none of them could be stored.",
            problem_type="validation",
            errors=[
                FieldProblem(field=f"body.{f['index']}", message=f["reason"])
                for f in outcome.failed
            ],
        )
    return outcome


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
            backlog.failures[index] = Failure.of(payload, raw, "invalid", str(invalid))
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
        detail = "; ".join(f"{_agent_field(e.field)}: {e.message}" for e in problem.errors)
        payload = _MEASUREMENT.validate_python(raw)
        failures[problem.index] = Failure.of(payload, raw, problem.reason, detail)
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
        raise ProblemError(
            400,
            SCHOOL_DOES_NOT_EXIST if refusal.reason == UNKNOWN_SCHOOL else refusal.detail,
            title="Unknown school" if refusal.reason == UNKNOWN_SCHOOL else "Unregistered device",
            problem_type=refusal.reason.replace("_", "-"),
            errors=[FieldProblem(field="path.giga_id_school", message=refusal.detail)],
        ) from None
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
