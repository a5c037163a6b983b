from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from request_intake.metrics import OUTBOX_ENTRIES, OUTBOX_OLDEST_PENDING_AGE
from request_intake.outbox.service import counts_by_status, oldest_pending


async def refresh_gauges(db: AsyncSession, now: datetime) -> dict[str, int]:
    counts = await counts_by_status(db)
    for status, count in counts.items():
        OUTBOX_ENTRIES.labels(status).set(count)
    oldest = await oldest_pending(db)
    OUTBOX_OLDEST_PENDING_AGE.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return counts
