"""SLAs met and missed per stage (and first response, resolution), call and quarter."""

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.calls.models import Call
from request_intake.reports.schemas import SlaReport, SlaReportRow
from request_intake.sla.clocks import ClockState, state_of
from request_intake.sla.models import SlaClock
from request_intake.sla_policy import SlaPolicy

_OUTCOMES = {
    ClockState.MET: "met",
    ClockState.MISSED: "missed",
    ClockState.BREACHED: "missed",
    ClockState.RUNNING: "open",
    ClockState.WARNING: "open",
    ClockState.PAUSED: "open",
}
Key = tuple[str, str, str, str | None]  # quarter, call id, target, stage


def quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def tally(clocks: list[SlaClock], now: datetime, sla: SlaPolicy) -> dict[Key, Counter[str]]:
    """Outcomes by (quarter of the due date in the clock's calendar, call, target, stage);
    cancelled clocks (withdrawn requests) count neither way (pure)."""
    counts: dict[Key, Counter[str]] = {}
    for clock in clocks:
        outcome = _OUTCOMES.get(state_of(clock, now))
        if outcome is None:
            continue
        local_due = sla.for_calendar(clock.calendar).local(clock.due_at)
        key = (quarter(local_due), str(clock.call_id), clock.target, clock.stage)
        counts.setdefault(key, Counter())[outcome] += 1
    return counts


async def build_sla_report(
    db: AsyncSession,
    principal: Principal,
    now: datetime,
    sla: SlaPolicy,
    call_id: uuid.UUID | None,
) -> SlaReport:
    statement = select(SlaClock).join(
        AssistanceRequest, AssistanceRequest.id == SlaClock.request_id
    )
    if principal.countries is not None:
        statement = statement.where(AssistanceRequest.country_iso3.in_(sorted(principal.countries)))
    if call_id is not None:
        statement = statement.where(SlaClock.call_id == call_id)
    counts = tally(list((await db.scalars(statement)).all()), now, sla)
    titles = await _call_titles(db, {uuid.UUID(key[1]) for key in counts})
    rows = [
        SlaReportRow(
            quarter=key[0],
            call_id=uuid.UUID(key[1]),
            call_title=titles.get(key[1], key[1]),
            target=key[2],
            stage=key[3],
            met=outcomes["met"],
            missed=outcomes["missed"],
            open=outcomes["open"],
        )
        for key, outcomes in sorted(counts.items(), key=lambda item: _order(item[0]))
    ]
    return SlaReport(as_of=now, call_id=call_id, rows=rows)


def _order(key: Key) -> tuple[str, str, str, str]:
    return key[0], key[1], key[2], key[3] or ""


async def _call_titles(db: AsyncSession, ids: set[uuid.UUID]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Call.id, Call.title).where(Call.id.in_(ids)))
    return {str(row[0]): row[1] for row in rows}
