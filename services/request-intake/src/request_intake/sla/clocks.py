"""A request's SLA clocks: started on submission and on entering a stage with a target,
paused while the request waits for the Member State, stopped when their target is reached.

The moves are driven from flows.py, in the transaction of the workflow move itself.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.workflow import Status
from request_intake.sla.models import SlaClock
from request_intake.sla_policy import SlaPolicy


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"  # submission to ITU's first move
    RESOLUTION = "resolution"  # submission to the decision
    STAGE = "stage"  # entering a stage to leaving it


class ClockState(StrEnum):
    RUNNING = "running"
    WARNING = "warning"  # running, with at most the warning share of its time left
    PAUSED = "paused"  # waiting for the Member State
    BREACHED = "breached"  # running past its due date
    MET = "met"
    MISSED = "missed"  # stopped after its due date
    CANCELLED = "cancelled"  # the request was withdrawn


# Waiting for the Member State: the clocks measuring ITU's work stand still.
PAUSING_STATUS = Status.INFO_REQUESTED
DECISIONS = (Status.APPROVED, Status.REJECTED)


def state_of(clock: SlaClock, now: datetime) -> ClockState:
    """The clock's state at `now` (pure)."""
    if clock.cancelled:
        return ClockState.CANCELLED
    if clock.stopped_at is not None:
        return ClockState.MET if clock.stopped_at <= clock.due_at else ClockState.MISSED
    if clock.paused_at is not None:
        return ClockState.PAUSED
    if now > clock.due_at:
        return ClockState.BREACHED
    if now >= clock.warn_at:
        return ClockState.WARNING
    return ClockState.RUNNING


def paused_time(clock: SlaClock) -> timedelta:
    return timedelta(microseconds=clock.paused_microseconds)


def _new_clock(
    request: AssistanceRequest,
    target: Target,
    stage: str | None,
    due: datetime,
    now: datetime,
    sla: SlaPolicy,
) -> SlaClock:
    return SlaClock(
        request_id=request.id,
        call_id=request.call_id,
        target=target,
        stage=stage,
        calendar=sla.calendar_name,
        started_at=now,
        due_at=due,
        warn_at=sla.warn_at(now, due),
        paused_at=None,
        paused_microseconds=0,
        stopped_at=None,
        cancelled=False,
    )


def pause(clock: SlaClock, now: datetime) -> None:
    if clock.stopped_at is None and clock.paused_at is None:
        clock.paused_at = now


def resume(clock: SlaClock, now: datetime, sla: SlaPolicy) -> None:
    """The due date and the warning move later by the business time the clock stood
    still, so the business time left is the same as when it was paused."""
    if clock.paused_at is None:
        return
    paused = sla.business_time(clock.paused_at, now)
    clock.due_at = sla.shifted(clock.due_at, paused)
    clock.warn_at = sla.shifted(clock.warn_at, paused)
    clock.paused_microseconds += paused // timedelta(microseconds=1)
    clock.paused_at = None


def stop(clock: SlaClock, now: datetime, sla: SlaPolicy, *, cancelled: bool = False) -> None:
    """A clock stopped while paused is resumed first: the business time it stood still
    is kept (in `paused_microseconds`, and in its due date), so stopping it is met or
    missed as if it had been resumed just before."""
    if clock.stopped_at is not None:
        return
    resume(clock, now, sla)
    clock.stopped_at = now
    clock.cancelled = cancelled


async def running_clocks(db: AsyncSession, request: AssistanceRequest) -> list[SlaClock]:
    statement = (
        select(SlaClock)
        .where(SlaClock.request_id == request.id, SlaClock.stopped_at.is_(None))
        .order_by(SlaClock.id)
    )
    return list((await db.scalars(statement)).all())


async def request_clocks(db: AsyncSession, request: AssistanceRequest) -> list[SlaClock]:
    statement = select(SlaClock).where(SlaClock.request_id == request.id).order_by(SlaClock.id)
    return list((await db.scalars(statement)).all())


def _stage_clock(
    request: AssistanceRequest, stage: Status, now: datetime, sla: SlaPolicy
) -> SlaClock | None:
    due = sla.due(stage, now)
    if due is None:
        return None
    return _new_clock(request, Target.STAGE, stage, due, now, sla)


def start_on_submission(
    db: AsyncSession, request: AssistanceRequest, now: datetime, sla: SlaPolicy
) -> None:
    first = sla.due_after(now, sla.first_response_days)
    resolution = sla.due_after(now, sla.resolution_days)
    db.add(_new_clock(request, Target.FIRST_RESPONSE, None, first, now, sla))
    db.add(_new_clock(request, Target.RESOLUTION, None, resolution, now, sla))
    stage = _stage_clock(request, Status.SUBMITTED, now, sla)
    if stage is not None:
        db.add(stage)


def _moves(clock: SlaClock, source: Status, target: Status) -> str | None:
    """What a move from `source` to `target` does to `clock` (pure): stop, pause, resume
    or nothing (None)."""
    if target is Status.WITHDRAWN:
        return "cancel"
    if clock.target == Target.STAGE:
        return "stop" if clock.stage == source else None
    if clock.target == Target.FIRST_RESPONSE:
        # Every move but a withdrawal is made by ITU's reviewers or approvers.
        return "stop"
    if target in DECISIONS:
        return "stop"
    if target is PAUSING_STATUS:
        return "pause"
    if source is PAUSING_STATUS:
        return "resume"
    return None


async def on_transition(
    db: AsyncSession,
    request: AssistanceRequest,
    source: Status,
    target: Status,
    now: datetime,
    sla: SlaPolicy,
) -> None:
    for clock in await running_clocks(db, request):
        calendar = sla.for_calendar(clock.calendar)
        match _moves(clock, source, target):
            case "cancel":
                stop(clock, now, calendar, cancelled=True)
            case "stop":
                stop(clock, now, calendar)
            case "pause":
                pause(clock, now)
            case "resume":
                resume(clock, now, calendar)
    stage = _stage_clock(request, target, now, sla)
    if stage is not None:
        db.add(stage)
    await db.flush()
