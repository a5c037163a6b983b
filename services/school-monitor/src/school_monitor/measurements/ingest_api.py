"""The HTTP shape shared by the measurement and ping endpoints: one item, or a batch."""

import time
from typing import Any

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.errors import ProblemError
from c2r_common.idempotency import run_idempotent
from school_monitor.config import SchoolMonitorSettings
from school_monitor.db import IdempotencyRecord
from school_monitor.measurements import service
from school_monitor.measurements.group_commit import GroupCommitter
from school_monitor.measurements.schemas import (
    BatchIn,
    IngestAck,
    IngestReport,
    MeasurementIn,
    PingIn,
)
from school_monitor.measurements.validation import validate_items
from school_monitor.metrics import INGEST_LATENCY


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


async def ingest_one(
    committer: GroupCommitter,
    principal: Principal,
    item: MeasurementIn | PingIn,
    response: Response,
) -> IngestAck:
    started = time.perf_counter()
    kind = "measurement" if isinstance(item, MeasurementIn) else "ping"
    submission = service.Submission(principal, [(0, item)], [], 1, prefix="")
    report = await committer.submit(submission)
    INGEST_LATENCY.labels(kind).observe(time.perf_counter() - started)
    if report.rejected:
        raise _refusal(report)
    response.status_code = 201 if report.stored else 200
    return IngestAck(uuid=item.uuid, stored=bool(report.stored))


async def ingest_batch(
    db: AsyncSession,
    principal: Principal,
    settings: SchoolMonitorSettings,
    model: type[MeasurementIn] | type[PingIn],
    batch: BatchIn,
    idempotency_key: str | None,
) -> Any:
    started = time.perf_counter()
    kind = "measurement" if model is MeasurementIn else "ping"

    async def create() -> IngestReport:
        good, problems = validate_items(model, batch.items)
        report = await service.ingest(db, principal, settings, good, problems, len(batch.items))
        if report.rejected and not report.stored and not report.duplicates:
            raise _refusal(report)
        return report

    result = await run_idempotent(
        db,
        IdempotencyRecord,
        scope=f"{kind}-batch:{principal.subject}",
        key=idempotency_key,
        payload=batch.items,
        status_code=200,
        create=create,
    )
    INGEST_LATENCY.labels(kind).observe(time.perf_counter() - started)
    return result.response()
