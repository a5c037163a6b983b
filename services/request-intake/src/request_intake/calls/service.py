import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.notifications.catalogue import CallClosed, CallClosing, CallOpened
from c2r_common.notifications.events import EventData
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import InvalidField, NotFound
from request_intake.calls.models import Call
from request_intake.calls.rules import CallState, Window, localize, zone
from request_intake.calls.schemas import CallIn, CallOut, CallUpdate, OpenCallEntry, OpenCallFeed
from request_intake.notifications.service import NEWS_FOR, is_news, notify_new


def window(call: Call) -> Window:
    return Window(call.opens_at, call.closes_at, timedelta(minutes=call.grace_period_minutes))


def to_out(call: Call, now: datetime) -> CallOut:
    local = zone(call.time_zone)
    call_window = window(call)
    return CallOut(
        id=call.id,
        title=call.title,
        description=call.description,
        assistance_types=call.assistance_types,
        eligible_regions=call.eligible_regions,
        eligible_countries=call.eligible_countries,
        time_zone=call.time_zone,
        opens_at=call.opens_at.astimezone(local),
        closes_at=call.closes_at.astimezone(local),
        grace_period_minutes=call.grace_period_minutes,
        accepts_until=call_window.accepts_until.astimezone(local),
        max_requests_per_country=call.max_requests_per_country,
        sla_calendar=call.sla_calendar,
        state=call_window.state(now),
        created_at=call.created_at,
    )


async def create_call(
    db: AsyncSession, data: CallIn, author: Principal, calendars: list[str], now: datetime
) -> Call:
    if data.sla_calendar is not None and data.sla_calendar not in calendars:
        raise _invalid("sla_calendar", f"unknown SLA calendar; known: {', '.join(calendars)}")
    call = Call(
        **data.model_dump(exclude={"assistance_types", "eligible_regions"}),
        assistance_types=[t.value for t in data.assistance_types],
        eligible_regions=[r.value for r in data.eligible_regions],
        created_by=author.subject,
        created_at=now,  # the service's clock, which the scan's news rule reads it against
    )
    db.add(call)
    await db.flush()
    return call


async def update_call(db: AsyncSession, call: Call, data: CallUpdate) -> Call:
    changes = data.model_dump(exclude_unset=True)
    if "closes_at" in changes and changes["closes_at"] is not None:
        try:
            changes["closes_at"] = localize(changes["closes_at"], call.time_zone)
        except ValueError as exc:
            raise _invalid("closes_at", str(exc)) from None
        if changes["closes_at"] <= call.opens_at:
            raise _invalid("closes_at", "closes_at must be after opens_at")
    for field, value in changes.items():
        if value is None and field != "max_requests_per_country":
            raise _invalid(field, "may not be null")
        setattr(call, field, value)
    await db.flush()
    return call


def _invalid(field: str, message: str) -> InvalidField:
    return InvalidField(
        f"body.{field}",
        message,
        message,
    )


async def get_call(db: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await db.get(Call, call_id)
    if call is None:
        raise NotFound(f"No call {call_id}.")
    return call


def _in_state(statement: Select[Call], state: CallState, now: datetime) -> Select[Call]:
    if state is CallState.UPCOMING:
        return statement.where(Call.opens_at > now)
    if state is CallState.OPEN:
        return statement.where(Call.opens_at <= now, Call.closes_at >= now)
    return statement.where(Call.closes_at < now)


async def list_calls(
    db: AsyncSession, page: PageParams, now: datetime, state: CallState | None
) -> tuple[list[Call], str | None]:
    statement = select(Call)
    if state is not None:
        statement = _in_state(statement, state, now)
    return await paginate(db, statement, (Call.closes_at, Call.id), page)


FEED_LIMIT = 500  # calls open at once are a handful; the bound keeps the answer small


def _feed_entry(call: Call) -> OpenCallEntry:
    local = zone(call.time_zone)
    return OpenCallEntry(
        id=call.id,
        title=call.title,
        assistance_types=call.assistance_types,
        eligible_regions=call.eligible_regions,
        eligible_countries=call.eligible_countries,
        time_zone=call.time_zone,
        opens_at=call.opens_at.astimezone(local),
        deadline=call.closes_at.astimezone(local),
        deadline_utc=call.closes_at,
    )


async def open_call_feed(db: AsyncSession, now: datetime) -> tuple[OpenCallFeed, list[datetime]]:
    """The open calls, and the instants at which the feed changes next (a listed call
    closes, an upcoming one opens)."""
    calls = list(
        await db.scalars(
            _in_state(select(Call), CallState.OPEN, now)
            .order_by(Call.closes_at, Call.id)
            .limit(FEED_LIMIT)
        )
    )
    next_opening = await db.scalar(select(func.min(Call.opens_at)).where(Call.opens_at > now))
    changes = [call.closes_at for call in calls] + ([next_opening] if next_opening else [])
    return OpenCallFeed(calls=[_feed_entry(call) for call in calls]), changes


# --- notifications: calls opened, closing, closed (the background scan) -----------------


def call_changes(call: Call, now: datetime, closing_days: int) -> list[tuple[EventData, str]]:
    """The events a call warrants at `now` (pure), each keyed by the instant it is about:
    opened at its opening; closing and closed at its deadline, so that a deadline moved
    later is announced again. Opened and closed only while news (`is_news`: a call opened
    or closed long before the scan first sees it, or made, is not announced); closing while
    open."""
    state = window(call).state(now)
    local = zone(call.time_zone)
    notice = {
        "call_id": call.id,
        "call_title": call.title,
        "assistance_types": call.assistance_types,
        "eligible_regions": call.eligible_regions,
        "eligible_countries": call.eligible_countries,
        "time_zone": call.time_zone,
        "opens_at": call.opens_at.astimezone(local),
        "deadline": call.closes_at.astimezone(local),
        "deadline_utc": call.closes_at,
    }
    deadline = call.closes_at.isoformat()
    if state is CallState.CLOSED:
        if not is_news(call.closes_at, now):
            return []
        accepts_until = window(call).accepts_until.astimezone(local)
        return [(CallClosed(**notice, accepts_until=accepts_until), f"closed@{deadline}")]
    if state is not CallState.OPEN:
        return []
    changes: list[tuple[EventData, str]] = []
    # A call made today with an opening date in the past is news from its making.
    if is_news(max(call.opens_at, call.created_at), now):
        changes.append((CallOpened(**notice), f"opened@{call.opens_at.isoformat()}"))
    left = call.closes_at - now
    if left <= timedelta(days=closing_days):
        days_left = math.ceil(left / timedelta(days=1))
        changes.append((CallClosing(**notice, days_left=days_left), f"closing@{deadline}"))
    return changes


async def notify_calls(db: AsyncSession, now: datetime, closing_days: int) -> int:
    """Emits the events of the calls opened, closing or recently closed not written yet;
    how many."""
    calls = await db.scalars(
        select(Call)
        .where(Call.opens_at <= now, Call.closes_at >= now - NEWS_FOR)
        .order_by(Call.opens_at, Call.id)
    )
    changes = [change for call in calls for change in call_changes(call, now, closing_days)]
    return await notify_new(db, changes, at=now)
