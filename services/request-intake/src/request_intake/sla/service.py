"""Overdue requests and upcoming deadlines, from the stored SLA due dates."""

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.notifications.catalogue import SlaDueSoon, SlaOverdue
from c2r_common.notifications.events import EventData
from c2r_common.pagination import PageParams, paginate
from c2r_common.reference import country_by_iso3
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.service import request_notice, visible_to
from request_intake.assistance_requests.workflow import Status
from request_intake.calls.models import Call
from request_intake.calls.rules import is_eligible, zone
from request_intake.metrics import OVERDUE_REQUESTS, OVERDUE_REVIEWS
from request_intake.notifications.service import NEWS_FOR, is_news, notify_new
from request_intake.reviews.models import Review, ReviewAssignment
from request_intake.sla import clocks
from request_intake.sla.models import SlaClock
from request_intake.sla.schemas import (
    ReminderKind,
    ReminderOut,
    RequestSla,
    SlaClockOut,
    SlaWarningList,
    SlaWarningOut,
)
from request_intake.sla_policy import SlaPolicy


def _overdue(now: datetime, sla: SlaPolicy) -> Select[AssistanceRequest]:
    # Only stages that carry an SLA have a due date; it is cleared on leaving them.
    return select(AssistanceRequest).where(
        AssistanceRequest.status.in_(sla.stages), AssistanceRequest.stage_due_at < now
    )


async def list_overdue(
    db: AsyncSession,
    principal: Principal,
    now: datetime,
    sla: SlaPolicy,
    page: PageParams,
    stage: str | None,
) -> tuple[list[AssistanceRequest], str | None]:
    statement = visible_to(_overdue(now, sla), principal)
    if stage is not None:
        statement = statement.where(AssistanceRequest.status == stage)
    order = (AssistanceRequest.stage_due_at, AssistanceRequest.id)
    return await paginate(db, statement, order, page)


async def overdue_by_stage(
    db: AsyncSession, now: datetime, sla: SlaPolicy, principal: Principal | None = None
) -> dict[str, int]:
    overdue = _overdue(now, sla)
    if principal is not None:
        overdue = visible_to(overdue, principal)
    statement = (
        select(AssistanceRequest.status, func.count())
        .where(AssistanceRequest.id.in_(overdue.with_only_columns(AssistanceRequest.id)))
        .group_by(AssistanceRequest.status)
    )
    counts = dict.fromkeys(sla.stages, 0)
    counts.update({row[0]: row[1] for row in await db.execute(statement)})
    return counts


class _GaugeExport:
    """Whether this process exports the overdue gauge. It describes the database, not the
    process: with several replicas only the gauge leader exports it (app.py), so that a sum
    over replicas counts each request once. Process-wide, like the gauge itself."""

    enabled = True


def export_overdue_gauge(enabled: bool) -> None:
    """Starts or stops exporting; stopping removes the series (not zeros, which would say
    "nothing overdue" on this replica)."""
    _GaugeExport.enabled = enabled
    if not enabled:
        OVERDUE_REQUESTS.clear()
        # A gauge without labels cannot be removed: 0 here keeps a sum over replicas
        # right (only the leader's value counts).
        OVERDUE_REVIEWS.set(0)


async def refresh_overdue_gauge(db: AsyncSession, now: datetime, sla: SlaPolicy) -> None:
    """The metric counts every request, whoever asked for the refresh; a replica that does
    not export the gauge leaves it absent."""
    if not _GaugeExport.enabled:
        return
    for stage, count in (await overdue_by_stage(db, now, sla)).items():
        OVERDUE_REQUESTS.labels(stage).set(count)
    OVERDUE_REVIEWS.set(await overdue_reviews(db, None, now))


async def reminders(
    db: AsyncSession,
    principal: Principal,
    now: datetime,
    until: datetime,
    limit: int,
    sla: SlaPolicy,
) -> list[ReminderOut]:
    closing = await db.scalars(
        select(Call)
        .where(Call.closes_at >= now, Call.closes_at <= until)
        .order_by(Call.closes_at, Call.id)
        .limit(limit)
    )
    due = await db.scalars(
        visible_to(select(AssistanceRequest), principal)
        .where(AssistanceRequest.stage_due_at >= now, AssistanceRequest.stage_due_at <= until)
        .order_by(AssistanceRequest.stage_due_at, AssistanceRequest.id)
        .limit(limit)
    )
    calls = [call for call in closing if _concerns(call, principal)]
    due_requests = list(due)
    reviews_due = await _reviews_due(db, principal, now, until, limit)
    call_ids = {r.call_id for r in due_requests} | {r.call_id for _, r in reviews_due}
    calendars = await _call_calendars(db, call_ids)
    items = (
        [_call_reminder(call) for call in calls]
        + [_sla_reminder(r, sla.for_calendar(calendars.get(r.call_id))) for r in due_requests]
        + [
            _review_reminder(a, r, sla.for_calendar(calendars.get(r.call_id)))
            for a, r in reviews_due
        ]
    )
    return sorted(items, key=lambda item: item.due_at)[:limit]


# A review is still wanted only while the request awaits its decision.
_UNDECIDED = (
    Status.SUBMITTED,
    Status.SCREENING,
    Status.INFO_REQUESTED,
    Status.RESUBMITTED,
    Status.UNDER_REVIEW,
)


def _pending_reviews() -> Select[ReviewAssignment, AssistanceRequest]:
    """Assignments with no review submitted, on undecided requests."""
    submitted = select(Review.id).where(Review.assignment_id == ReviewAssignment.id)
    return (
        select(ReviewAssignment, AssistanceRequest)
        .join(AssistanceRequest, AssistanceRequest.id == ReviewAssignment.request_id)
        .where(~submitted.exists(), AssistanceRequest.status.in_(_UNDECIDED))
    )


async def _reviews_due(
    db: AsyncSession, principal: Principal, now: datetime, until: datetime, limit: int
) -> list[tuple[ReviewAssignment, AssistanceRequest]]:
    """The caller's own assignments falling due within the window."""
    rows = await db.execute(
        _pending_reviews()
        .where(
            ReviewAssignment.reviewer == principal.subject,
            ReviewAssignment.due_at >= now,
            ReviewAssignment.due_at <= until,
        )
        .order_by(ReviewAssignment.due_at, ReviewAssignment.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def overdue_reviews(db: AsyncSession, principal: Principal | None, now: datetime) -> int:
    """Assignments past their due date with no review, on requests the caller (None:
    anyone) may see."""
    pending = _pending_reviews().where(ReviewAssignment.due_at < now)
    if principal is not None and principal.countries is not None:
        pending = pending.where(AssistanceRequest.country_iso3.in_(sorted(principal.countries)))
    count = await db.scalar(select(func.count()).select_from(pending.subquery()))
    return int(count or 0)


async def _call_calendars(
    db: AsyncSession, call_ids: set[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    if not call_ids:
        return {}
    rows = await db.execute(select(Call.id, Call.sla_calendar).where(Call.id.in_(call_ids)))
    return {row[0]: row[1] for row in rows}


def _concerns(call: Call, principal: Principal) -> bool:
    """A focal point is reminded only of calls one of its countries may answer."""
    if principal.countries is None:
        return True
    return any(
        is_eligible(country, call.eligible_regions, call.eligible_countries)
        for country in filter(None, map(country_by_iso3, principal.countries))
    )


def _call_reminder(call: Call) -> ReminderOut:
    return ReminderOut(
        kind=ReminderKind.CALL_CLOSING,
        due_at=call.closes_at,
        due_at_local=call.closes_at.astimezone(zone(call.time_zone)),
        title=call.title,
        call_id=call.id,
    )


def _sla_reminder(request: AssistanceRequest, sla: SlaPolicy) -> ReminderOut:
    assert request.stage_due_at is not None
    return ReminderOut(
        kind=ReminderKind.SLA_DUE,
        due_at=request.stage_due_at,
        due_at_local=sla.local(request.stage_due_at),
        title=request.title,
        call_id=request.call_id,
        request_id=request.id,
        country_iso3=request.country_iso3,
        stage=request.status,
    )


def _review_reminder(
    assignment: ReviewAssignment, request: AssistanceRequest, sla: SlaPolicy
) -> ReminderOut:
    return ReminderOut(
        kind=ReminderKind.REVIEW_DUE,
        due_at=assignment.due_at,
        due_at_local=sla.local(assignment.due_at),
        title=request.title,
        call_id=request.call_id,
        request_id=request.id,
        country_iso3=request.country_iso3,
        stage=request.status,
        assignment_id=assignment.id,
    )


def horizon(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


# --- a request's clocks and the clocks at risk ------------------------------------------


async def _calendar_of(db: AsyncSession, call_id: uuid.UUID, sla: SlaPolicy) -> SlaPolicy:
    return sla.for_calendar((await _call_calendars(db, {call_id})).get(call_id))


def clock_out(clock: SlaClock, now: datetime, sla: SlaPolicy) -> SlaClockOut:
    return SlaClockOut(
        target=clocks.Target(clock.target),
        stage=clock.stage,
        state=clocks.state_of(clock, now),
        started_at=clock.started_at,
        due_at=clock.due_at,
        due_at_local=sla.for_calendar(clock.calendar).local(clock.due_at),
        warn_at=clock.warn_at,
        paused_at=clock.paused_at,
        paused_business_seconds=clocks.paused_time(clock).total_seconds(),
        stopped_at=clock.stopped_at,
    )


async def request_sla(
    db: AsyncSession, request: AssistanceRequest, now: datetime, sla: SlaPolicy
) -> RequestSla:
    policy = await _calendar_of(db, request.call_id, sla)
    return RequestSla(
        request_id=request.id,
        as_of=now,
        calendar=policy.calendar_name,
        time_zone=str(policy.zone),
        clocks=[clock_out(c, now, sla) for c in await clocks.request_clocks(db, request)],
    )


async def warnings(
    db: AsyncSession, principal: Principal, now: datetime, sla: SlaPolicy, limit: int
) -> SlaWarningList:
    """Running clocks with at most the warning share of their time left, or past due."""
    statement = select(SlaClock, AssistanceRequest).join(
        AssistanceRequest, AssistanceRequest.id == SlaClock.request_id
    )
    if principal.countries is not None:
        statement = statement.where(AssistanceRequest.country_iso3.in_(sorted(principal.countries)))
    rows = await db.execute(
        statement.where(
            SlaClock.stopped_at.is_(None), SlaClock.paused_at.is_(None), SlaClock.warn_at <= now
        )
        .order_by(SlaClock.due_at, SlaClock.id)
        .limit(limit)
    )
    return SlaWarningList(as_of=now, items=[_warning(c, r, now, sla) for c, r in rows])


def _warning(
    clock: SlaClock, request: AssistanceRequest, now: datetime, sla: SlaPolicy
) -> SlaWarningOut:
    policy = sla.for_calendar(clock.calendar)
    left = policy.business_time(now, clock.due_at) - policy.business_time(clock.due_at, now)
    return SlaWarningOut(
        request_id=request.id,
        title=request.title,
        call_id=request.call_id,
        country_iso3=request.country_iso3,
        target=clocks.Target(clock.target),
        stage=clock.stage,
        state=clocks.state_of(clock, now),
        due_at=clock.due_at,
        due_at_local=policy.local(clock.due_at),
        business_seconds_left=left.total_seconds(),
    )


# --- notifications: clocks coming due and overdue (the background scan) -----------------


class SlaAlarm(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def sla_alarm(clock: SlaClock, now: datetime, left: timedelta, due_days: int) -> SlaAlarm | None:
    """What a running, unpaused clock warrants at `now` (pure): overdue past its due date,
    while that is news (`is_news`: a clock overdue for long when the scan first sees it is
    left to the overdue report and gauge); due soon from its warning time (the warning
    share of its time left) or once at most `due_days` business days (`left`) remain; else
    nothing."""
    if now > clock.due_at:
        return SlaAlarm.OVERDUE if is_news(clock.due_at, now) else None
    if now >= clock.warn_at or (due_days > 0 and left <= timedelta(days=due_days)):
        return SlaAlarm.DUE_SOON
    return None


async def notify_sla_clocks(db: AsyncSession, now: datetime, sla: SlaPolicy, due_days: int) -> int:
    """Emits an event per running clock newly due soon or overdue; how many. Keyed by the
    clock and its due date: a scan repeated finds them written, and a clock whose due date
    moved (resumed after a pause) is announced again for its new date."""
    statement = (
        select(SlaClock, AssistanceRequest, Call)
        .join(AssistanceRequest, AssistanceRequest.id == SlaClock.request_id)
        .join(Call, Call.id == AssistanceRequest.call_id)
        .where(
            SlaClock.stopped_at.is_(None),
            SlaClock.paused_at.is_(None),
            SlaClock.due_at >= now - NEWS_FOR,  # older ones are no news (`sla_alarm`)
        )
        .order_by(SlaClock.due_at, SlaClock.id)
    )
    if due_days == 0:  # otherwise the business days left decide, counted per clock
        statement = statement.where(SlaClock.warn_at <= now)
    changes = []
    for clock, request, call in (await db.execute(statement)).all():
        change = _sla_change(clock, request, call, now, sla.for_calendar(clock.calendar), due_days)
        if change is not None:
            changes.append(change)
    return await notify_new(db, changes, at=now)


def _sla_change(
    clock: SlaClock,
    request: AssistanceRequest,
    call: Call,
    now: datetime,
    policy: SlaPolicy,
    due_days: int,
) -> tuple[EventData, str] | None:
    left = policy.business_time(now, clock.due_at)
    alarm = sla_alarm(clock, now, left, due_days)
    if alarm is None:
        return None
    notice = request_notice(request, call) | {
        "target": clock.target,
        "stage": clock.stage,
        "due_at": clock.due_at,
        "due_at_local": policy.local(clock.due_at),
    }
    key = f"clock-{clock.id}@{clock.due_at.isoformat()}"
    if alarm is SlaAlarm.OVERDUE:
        return SlaOverdue(**notice), key
    return SlaDueSoon(**notice, business_seconds_left=left.total_seconds()), key
