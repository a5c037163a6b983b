"""Idempotency-Key support for creates that clients retry.

Same key and same body: the stored response is replayed and nothing new is created.
Same key, other body: 422. The record is written in the same transaction as the thing it
created, so a key is remembered exactly when its effect is committed. Keys are kept for
`idempotency_retention_hours` and then pruned by a background job, once across replicas.
"""

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Integer, String, Text, delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import Database, UTCDateTime, claim_write_lock, utcnow
from c2r_common.errors import ProblemError
from c2r_common.settings import Environment, ServiceSettings
from c2r_common.singleton import run_alone

logger = logging.getLogger("c2r.idempotency")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a unique key per logical create; a retry with the same key and body "
        "replays the first response",
    ),
]


class IdempotencyRecordMixin:
    """Columns of a service's `idempotency_records` table (mix into the service's Base)."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    # Indexed: expired keys are pruned by age.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@dataclass(frozen=True)
class IdempotentResult:
    status_code: int
    body: Any
    replayed: bool

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        """The answer to send; a replay is marked so that clients can tell."""
        answer_headers = dict(headers or {})
        if self.replayed:
            answer_headers["Idempotent-Replayed"] = "true"
        return JSONResponse(self.body, status_code=self.status_code, headers=answer_headers)


def fingerprint(payload: Any) -> str:
    """The same for equal payloads, whatever their key order or spacing; `payload` may be
    a raw JSON body (bytes)."""
    if isinstance(payload, bytes):
        payload = json.loads(payload)
    canonical = json.dumps(jsonable_encoder(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_idempotent(
    session: AsyncSession,
    model: type[IdempotencyRecordMixin],
    *,
    scope: str,
    key: str | None,
    payload: Any,
    status_code: int,
    create: Callable[[], Awaitable[Any]],
) -> IdempotentResult:
    """Runs `create` once per (scope, key); replays its stored response on a retry.

    `scope` keeps keys of different callers and endpoints apart, e.g. "requests:<subject>".
    """
    if key is None:
        return IdempotentResult(status_code, jsonable_encoder(await create()), replayed=False)
    request_hash = fingerprint(payload)
    # The key is read, then the effect and the key written: on SQLite the write lock is
    # taken before that read, so that a concurrent writer's commit makes this request wait
    # instead of failing (a stale read snapshot cannot be upgraded to a write).
    await claim_write_lock(session)
    stored = await session.scalar(select(model).where(model.scope == scope, model.key == key))
    if stored is not None:
        return _replay(stored, request_hash)
    body = jsonable_encoder(await create())
    await _remember(session, model, scope, key, request_hash, status_code, body)
    return IdempotentResult(status_code, body, replayed=False)


def _replay(stored: IdempotencyRecordMixin, request_hash: str) -> IdempotentResult:
    if stored.request_hash != request_hash:
        raise ProblemError(
            422,
            "This Idempotency-Key was already used with a different request body.",
            problem_type="idempotency-key-reused",
        )
    return IdempotentResult(stored.status_code, json.loads(stored.response_body), replayed=True)


async def _remember(
    session: AsyncSession,
    model: type[IdempotencyRecordMixin],
    scope: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
) -> None:
    record = model()
    record.scope, record.key, record.request_hash = scope, key, request_hash
    record.status_code, record.response_body = status_code, json.dumps(body)
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race; its effect stands alone.
        raise ProblemError(
            409,
            "A request with this Idempotency-Key is being processed; retry shortly.",
            problem_type="idempotency-key-in-flight",
        ) from None


# Records are deleted this many at a time, each batch in a short transaction of its own, so
# that pruning never holds the table (or SQLite's write lock) for long.
PRUNE_BATCH = 500


def prune_lock(service: str) -> str:
    return f"{service}:idempotency-prune"


async def prune_batch(
    session: AsyncSession, model: type[IdempotencyRecordMixin], cutoff: datetime
) -> int:
    """Deletes up to PRUNE_BATCH records created before `cutoff`; how many it deleted."""
    await claim_write_lock(session)
    old = select(model.scope, model.key).where(model.created_at < cutoff).limit(PRUNE_BATCH)
    keys = [tuple(row) for row in (await session.execute(old)).all()]
    if keys:
        await session.execute(delete(model).where(tuple_(model.scope, model.key).in_(keys)))
    return len(keys)


async def prune_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: type[IdempotencyRecordMixin],
    *,
    service: str,
    retention: timedelta,
    now: datetime | None = None,
) -> int:
    """Forgets the keys older than `retention` (a retry after that creates anew), batch by
    batch, each batch under the service's prune lock: once across replicas, a replica that
    finds the lock taken leaves the work to the one holding it. How many were deleted."""
    cutoff = (now or utcnow()) - retention
    deleted = 0
    while True:
        batch = await run_alone(
            sessionmaker, prune_lock(service), lambda session: prune_batch(session, model, cutoff)
        )
        deleted += batch.result or 0
        if not batch.ran or (batch.result or 0) < PRUNE_BATCH:
            return deleted


async def _prune_forever(
    database: Database,
    model: type[IdempotencyRecordMixin],
    service: str,
    settings: ServiceSettings,
) -> None:
    retention = timedelta(hours=settings.idempotency_retention_hours)
    while True:
        try:
            # Bound to the engine's own sessions, whatever the app's sessionmaker becomes.
            await prune_expired(database.sessionmaker, model, service=service, retention=retention)
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("pruning idempotency records failed")
        await asyncio.sleep(settings.idempotency_prune_seconds)


@asynccontextmanager
async def pruning_idempotency_records(
    database: Database,
    model: type[IdempotencyRecordMixin],
    service: str,
    settings: ServiceSettings,
) -> AsyncIterator[None]:
    """Prunes the service's expired keys every `idempotency_prune_seconds` while the app
    runs; not under test, where background work would race the per-test rollback."""
    if settings.environment is Environment.TEST or settings.idempotency_prune_seconds == 0:
        yield
        return
    task = asyncio.create_task(_prune_forever(database, model, service, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
