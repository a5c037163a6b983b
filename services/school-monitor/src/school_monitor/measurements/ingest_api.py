"""The HTTP shape shared by the measurement and ping endpoints: one item, or a batch.

These endpoints take what agents push, thousands of times a second, so they read their
own body (one parsing pass) and a single push resolves its caller without dependency
injection; see c2r_common.bodies and c2r_common.auth.authenticate.
"""

import time
from functools import cache
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

from c2r_common.auth import Principal, Scope, authenticate
from c2r_common.bodies import located_in_body, read_json_body
from c2r_common.db import Database
from c2r_common.errors import ProblemError
from c2r_common.idempotency import IdempotentResult, run_idempotent
from c2r_common.transient import retry_on_conflict
from school_monitor.config import SchoolMonitorSettings
from school_monitor.db import IdempotencyRecord
from school_monitor.ingestion import pipeline
from school_monitor.ingestion.group_commit import GroupCommitter
from school_monitor.ingestion.submission import Submission
from school_monitor.measurements.schemas import (
    BatchIn,
    IngestAck,
    IngestReport,
    ItemProblem,
    MeasurementBatchIn,
    MeasurementIn,
    PingBatchIn,
    PingIn,
)
from school_monitor.measurements.validation import validate_items
from school_monitor.metrics import INGEST_LATENCY, MEASUREMENTS_REJECTED

Item = MeasurementIn | PingIn
BATCH_ATTEMPTS = 3
BATCH_MODELS: dict[type[BaseModel], type[MeasurementBatchIn] | type[PingBatchIn]] = {
    MeasurementIn: MeasurementBatchIn,
    PingIn: PingBatchIn,
}


@cache
def _adapter(model: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def _refusal(report: IngestReport) -> ProblemError:
    errors = [error for problem in report.rejected for error in problem.errors]
    reasons = sorted({problem.reason for problem in report.rejected})
    return ProblemError(
        422,
        f"Nothing was stored: {len(report.rejected)} item(s) refused ({', '.join(reasons)}).",
        title="Invalid request",
        problem_type="validation",
        errors=errors,
    )


async def push_one(request: Request, model: type[MeasurementIn] | type[PingIn]) -> Response:
    """Stores one pushed item with the others arriving meanwhile (group commit); 201 when
    stored, 200 when its UUID was stored before."""
    started = time.perf_counter()
    principal = await authenticate(request, Scope.MEASUREMENTS_WRITE)
    try:
        item: Item = await read_json_body(request, _adapter(model))
    except RequestValidationError:
        # Counted like an invalid item of a batch.
        MEASUREMENTS_REJECTED.labels(model.KIND, "invalid", "other").inc()
        raise
    committer: GroupCommitter = request.app.state.group_committer
    report = await committer.submit(Submission(principal, [(0, item)], [], 1, prefix=""))
    INGEST_LATENCY.labels(model.KIND).observe(time.perf_counter() - started)
    if report.rejected:
        raise _refusal(report)
    ack = IngestAck(uuid=item.uuid, stored=bool(report.stored))
    status = 201 if report.stored else 200
    return Response(ack.model_dump_json(), status_code=status, media_type="application/json")


def _batch_items(
    body: bytes, model: type[MeasurementIn] | type[PingIn]
) -> tuple[list[tuple[int, Item]], list[ItemProblem], int]:
    """The valid items with their index, a problem per invalid one, and how many came.

    The whole batch is parsed and validated in one pass first (the common, all-good case);
    only when that fails is the envelope parsed and each item validated on its own.
    """
    try:
        items = _adapter(BATCH_MODELS[model]).validate_json(body).items
        return list(enumerate(items)), [], len(items)
    except ValidationError:
        pass
    try:
        envelope = _adapter(BatchIn).validate_json(body)
    except ValidationError as exc:
        raise located_in_body(exc) from None
    good, problems = validate_items(model, envelope.items)
    return list(good), problems, len(envelope.items)


async def push_batch(
    request: Request,
    principal: Principal,
    settings: SchoolMonitorSettings,
    model: type[MeasurementIn] | type[PingIn],
    idempotency_key: str | None,
) -> Any:
    """Stores a batch in a transaction of its own (with its idempotency record), run again
    after a deadlock or serialization failure; answered once committed."""
    started = time.perf_counter()
    body = await request.body()
    items, problems, received = _batch_items(body, model)
    database: Database = request.app.state.database

    async def store() -> IdempotentResult:
        async with database.sessionmaker() as db:
            refusal: list[ProblemError] = []

            async def create() -> IngestReport:
                try:
                    report = await pipeline.ingest(
                        db, principal, settings, items, problems, received, kind=model.KIND
                    )
                except ProblemError as refused:
                    refusal.append(refused)
                    raise
                if report.rejected and not report.stored and not report.duplicates:
                    refusal.append(_refusal(report))
                    raise refusal[-1]
                return report

            try:
                result = await run_idempotent(
                    db,
                    IdempotencyRecord,
                    scope=f"{model.KIND}-batch:{principal.subject}",
                    key=idempotency_key,
                    payload=body,
                    status_code=200,
                    create=create,
                )
            except ProblemError as failure:
                if refusal and failure is refusal[-1]:
                    # Refused whole, the batch has written nothing: the commit publishes
                    # its rejections to the metrics, as a group commit does for pushes.
                    await db.commit()
                raise
            await db.commit()
            return result

    result = await retry_on_conflict(store, BATCH_ATTEMPTS)
    INGEST_LATENCY.labels(model.KIND).observe(time.perf_counter() - started)
    return result.response()
