"""Delivers outbox entries to assessment-api until each is delivered or refused for good.

Each pass takes the entries whose next attempt is due, sends them with their stable
Idempotency-Key, and records the outcome in the same transaction as the link back on the
request. State lives only in the database, so a restart resumes where the last pass stopped.
"""

import contextlib
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from c2r_common.auth import service_token_provider
from c2r_common.client import ServiceClient
from c2r_common.handoff import (
    ASSESSMENTS_PATH,
    AssessmentCreated,
    AssessmentExists,
    AssessmentHandoff,
)
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.clock import app_clock
from request_intake.config import IntakeSettings
from request_intake.metrics import OUTBOX_ATTEMPTS
from request_intake.outbox.models import OutboxEntry
from request_intake.outbox.service import EntryStatus
from request_intake.outbox.stats import refresh_gauges

logger = logging.getLogger("request_intake.outbox")

# Statuses that say "not now" rather than "never": sent again later.
# 401/403 mean our credentials or scopes are misconfigured, not that the hand-off is wrong:
# the entry goes through once the configuration is fixed, so it keeps being retried.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 403, 408, 425, 429})
_MAX_ERROR_CHARS = 2000

Sessionmaker = async_sessionmaker[AsyncSession]


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> timedelta:
    """Exponential backoff, bounded by `cap`; `jitter` in [0, 1] spreads the second half
    of the delay so many entries do not hit a recovering service in step."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling / 2 + ceiling / 2 * jitter)


@dataclass
class PassReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    entry_ids: list[uuid.UUID] = field(default_factory=list)
    more_due: bool = False  # the pass took a full batch: more entries may be waiting


@dataclass(frozen=True)
class Outcome:
    status: EntryStatus | None  # None: try again later
    assessment_id: str | None = None
    error: str | None = None


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    detail = detail or response.text
    return f"HTTP {response.status_code}: {detail}"[:_MAX_ERROR_CHARS]


def _created_id(body: Any) -> str | None:
    try:
        return str(AssessmentCreated.model_validate(body).id)
    except ValidationError:
        return None


def _existing_id(body: Any) -> str | None:
    try:
        return str(AssessmentExists.model_validate(body).existing_assessment_id)
    except ValidationError:
        return None


def classify(response: httpx.Response) -> Outcome:
    """What assessment-api's answer means for the entry, per the hand-off contract."""
    status = response.status_code
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    if status in (200, 201):
        created = _created_id(body)
        if created is None:
            # Sending again would not fix an answer we cannot read: a person must look.
            return Outcome(EntryStatus.FAILED, error=f"HTTP {status} without an assessment id")
        return Outcome(EntryStatus.DELIVERED, assessment_id=created)
    existing = _existing_id(body)
    if status == 409 and existing is not None:
        return Outcome(EntryStatus.DELIVERED, assessment_id=existing)
    # A 409 without the existing assessment means the same key is still being processed
    # there (idempotency-key-in-flight): the next attempt gets the stored answer.
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES and status != 409:
        return Outcome(EntryStatus.FAILED, error=_error_text(response))
    return Outcome(None, error=_error_text(response))


class OutboxRelay:
    def __init__(self, app: FastAPI, settings: IntakeSettings, client: ServiceClient) -> None:
        self.app = app
        self.settings = settings
        self.client = client

    @classmethod
    def for_settings(cls, app: FastAPI, settings: IntakeSettings) -> "OutboxRelay":
        static = settings.assessment_api_token
        client = ServiceClient(
            settings.assessment_api_url,
            token_provider=service_token_provider(
                settings,
                subject="request-intake",
                scopes=["assessments:write"],
                static_token=static.get_secret_value() if static else None,
            ),
            timeout_seconds=settings.http_timeout_seconds,
            retries=0,  # the relay's own backoff, kept in the database, does the retrying
        )
        return cls(app, settings, client)

    # --- one pass -----------------------------------------------------------------------

    async def run_once(self, sessionmaker: Sessionmaker | None = None) -> PassReport:
        """Delivers every entry due now; returns what happened (used by tests and the loop).

        Each entry is sent and recorded in its own short transaction, so a slow receiver
        never holds a write lock on the database.
        """
        make_session = sessionmaker or self.app.state.database.sessionmaker
        now = app_clock(self.app)()
        report = PassReport()
        async with make_session() as db:
            due = await self._due_entry_ids(db, now)
        report.more_due = len(due) == self.settings.outbox_batch_size
        for entry_id in due:
            async with make_session() as db:
                entry = await self._claim(db, entry_id, now)
                if entry is None:  # another relay took it meanwhile
                    continue
                outcome = await self._send(entry)
                await self._record(db, entry, outcome, now)
                await db.commit()
                _count(report, entry, outcome)
        async with make_session() as db:
            await refresh_gauges(db, now)
        return report

    def _due(self, now: datetime) -> list[ColumnElement[bool]]:
        return [OutboxEntry.status == EntryStatus.PENDING, OutboxEntry.next_attempt_at <= now]

    async def _due_entry_ids(self, db: AsyncSession, now: datetime) -> list[uuid.UUID]:
        statement = (
            select(OutboxEntry.id)
            .where(*self._due(now))
            .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
            .limit(self.settings.outbox_batch_size)
        )
        return list((await db.scalars(statement)).all())

    async def _claim(
        self, db: AsyncSession, entry_id: uuid.UUID, now: datetime
    ) -> OutboxEntry | None:
        # SKIP LOCKED (PostgreSQL) lets several replicas relay without sending one entry
        # at the same time; SQLite has a single writer anyway.
        statement = (
            select(OutboxEntry)
            .where(OutboxEntry.id == entry_id, *self._due(now))
            .with_for_update(skip_locked=True)
        )
        return await db.scalar(statement)

    async def _send(self, entry: OutboxEntry) -> Outcome:
        try:
            handoff = AssessmentHandoff.model_validate(entry.payload)
        except ValidationError as exc:
            # Sending again would send the same broken body: a person must look.
            error = f"stored hand-off does not match the contract: {exc}"
            return Outcome(EntryStatus.FAILED, error=error[:_MAX_ERROR_CHARS])
        try:
            response = await self.client.post(
                ASSESSMENTS_PATH,
                json=handoff.model_dump(mode="json"),
                headers={"Idempotency-Key": entry.idempotency_key},
            )
        except httpx.HTTPError as exc:
            return Outcome(None, error=f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS])
        return classify(response)

    async def _record(
        self, db: AsyncSession, entry: OutboxEntry, outcome: Outcome, now: datetime
    ) -> None:
        entry.attempts += 1
        entry.last_attempt_at = now
        entry.last_error = outcome.error
        if outcome.status is None:
            delay = retry_delay(
                entry.attempts,
                self.settings.outbox_backoff_base_seconds,
                self.settings.outbox_backoff_max_seconds,
                random.random(),
            )
            entry.next_attempt_at = now + delay
            logger.warning("outbox entry %s not delivered: %s", entry.id, outcome.error)
            return
        entry.status = outcome.status
        if outcome.status is EntryStatus.DELIVERED:
            entry.delivered_at = now
            entry.result_id = outcome.assessment_id
            await _link_assessment(db, entry.request_id, outcome.assessment_id)
        else:
            logger.error("outbox entry %s refused for good: %s", entry.id, outcome.error)
        await db.flush()

    async def aclose(self) -> None:
        await self.client.aclose()


async def _link_assessment(
    db: AsyncSession, request_id: uuid.UUID, assessment_id: str | None
) -> None:
    if assessment_id is None:
        return
    # A direct UPDATE that bumps the version: readers' ETags go stale, as they should.
    await db.execute(
        update(AssistanceRequest)
        .where(AssistanceRequest.id == request_id)
        .values(assessment_id=uuid.UUID(assessment_id), version=AssistanceRequest.version + 1)
        .execution_options(synchronize_session=False)
    )


def _count(report: PassReport, entry: OutboxEntry, outcome: Outcome) -> None:
    report.entry_ids.append(entry.id)
    if outcome.status is EntryStatus.DELIVERED:
        report.delivered += 1
        OUTBOX_ATTEMPTS.labels("delivered").inc()
    elif outcome.status is EntryStatus.FAILED:
        report.failed += 1
        OUTBOX_ATTEMPTS.labels("failed").inc()
    else:
        report.retried += 1
        OUTBOX_ATTEMPTS.labels("retry").inc()
