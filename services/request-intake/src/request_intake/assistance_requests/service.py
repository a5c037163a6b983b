import uuid
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from c2r_common.auth import Principal
from c2r_common.errors import ProblemError
from c2r_common.notifications.catalogue import (
    RequestInfoRequested,
    RequestStatusChanged,
    RequestSubmitted,
)
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, Forbidden, InvalidField, NotFound, PreconditionFailed
from c2r_common.reference import country_by_iso3
from c2r_common.schemas import AssistanceType
from request_intake.assistance_requests.models import AssistanceRequest, RequestEvent
from request_intake.assistance_requests.schemas import (
    AllowedTransitionOut,
    RequestIn,
    RequestOut,
    RequestUpdate,
    TransitionIn,
)
from request_intake.assistance_requests.workflow import (
    ROLE_SCOPES,
    Role,
    Status,
    allowed_from,
    holds_role,
    required_role,
)
from request_intake.calls import service as calls
from request_intake.calls.models import Call
from request_intake.calls.rules import Timing, is_eligible, zone
from request_intake.metrics import REQUESTS_SUBMITTED
from request_intake.notifications.service import notify
from request_intake.sla_policy import SlaPolicy


def to_out(request: AssistanceRequest) -> RequestOut:
    return RequestOut.model_validate(request)


# --- submission -------------------------------------------------------------------------


async def _call_for_submission(db: AsyncSession, call_id: uuid.UUID) -> Call:
    # Locking the call (PostgreSQL) serialises submissions to it, so the per-country cap
    # holds under concurrent submissions.
    call = await db.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None:
        raise InvalidField(
            "body.call_id",
            "unknown call",
            f"No call {call_id}.",
        )
    return call


def _deadline_problem(call: Call, timing: Timing) -> ProblemError:
    local = zone(call.time_zone)
    window = calls.window(call)
    if timing is Timing.TOO_EARLY:
        opens = window.opens_at.astimezone(local).isoformat()
        return Conflict(
            f"The call opens at {opens} ({call.time_zone}); submissions are not accepted yet.",
            problem_type="call-not-open",
            extra={"opens_at": opens, "time_zone": call.time_zone},
        )
    deadline = window.closes_at.astimezone(local).isoformat()
    return Conflict(
        f"The deadline of this call was {deadline} ({call.time_zone}); "
        "submissions are no longer accepted.",
        problem_type="deadline-passed",
        extra={
            "deadline": deadline,
            "time_zone": call.time_zone,
            "accepts_until": window.accepts_until.astimezone(local).isoformat(),
        },
    )


def _check_offer_and_eligibility(call: Call, data: RequestIn) -> None:
    if data.assistance_type.value not in call.assistance_types:
        raise InvalidField(
            "body.assistance_type",
            "not offered by the call",
            f"This call does not offer {data.assistance_type.value}; "
            f"it offers {', '.join(call.assistance_types)}.",
        )
    country = country_by_iso3(data.country_iso3)
    assert country is not None  # validated by the schema
    if not is_eligible(country, call.eligible_regions, call.eligible_countries):
        raise Conflict(
            f"{country.name} ({country.iso3}, {country.itu_region.value}) is not eligible for "
            "this call; it is open to regions "
            f"[{', '.join(call.eligible_regions)}] and countries "
            f"[{', '.join(call.eligible_countries)}].",
            problem_type="country-not-eligible",
        )


async def _check_cap(db: AsyncSession, call: Call, country_iso3: str) -> None:
    if call.max_requests_per_country is None:
        return
    count = await db.scalar(
        select(func.count()).where(
            AssistanceRequest.call_id == call.id,
            AssistanceRequest.country_iso3 == country_iso3,
            AssistanceRequest.status != Status.WITHDRAWN,
        )
    )
    if (count or 0) >= call.max_requests_per_country:
        raise Conflict(
            f"{country_iso3} already has {count} request(s) under this call, its cap of "
            f"{call.max_requests_per_country} per country; withdraw one to submit another.",
            problem_type="country-cap-reached",
            extra={"cap": call.max_requests_per_country},
        )


async def submit(
    db: AsyncSession, data: RequestIn, principal: Principal, now: datetime, sla: SlaPolicy
) -> AssistanceRequest:
    principal.require_country(data.country_iso3)
    call = await _call_for_submission(db, data.call_id)
    timing = calls.window(call).timing(now)
    if timing in (Timing.TOO_EARLY, Timing.TOO_LATE):
        raise _deadline_problem(call, timing)
    _check_offer_and_eligibility(call, data)
    await _check_cap(db, call, data.country_iso3)
    request = AssistanceRequest(
        **data.model_dump(mode="json", exclude={"call_id"}),
        call_id=call.id,
        status=Status.SUBMITTED,
        late=timing is Timing.LATE,
        submitted_by=principal.subject,
        submitted_at=now,
        stage_entered_at=now,
        stage_due_at=sla.due(Status.SUBMITTED, now),
    )
    db.add(request)
    await db.flush()
    db.add(_event(request, None, Role.FOCAL_POINT, principal, "submitted", now))
    await db.flush()
    submitted = RequestSubmitted(
        **request_notice(request, call), late=request.late, submitted_at=now
    )
    await notify(db, submitted, at=now, key="submitted")
    REQUESTS_SUBMITTED.labels(late=str(request.late).lower()).inc()
    return request


# --- reading ----------------------------------------------------------------------------


async def get_visible(
    db: AsyncSession, request_id: uuid.UUID, principal: Principal
) -> AssistanceRequest:
    request = await db.get(AssistanceRequest, request_id)
    if request is None or not principal.can_access_country(request.country_iso3):
        raise NotFound(f"No request {request_id}.")
    return request


def visible_to(
    statement: Select[AssistanceRequest], principal: Principal
) -> Select[AssistanceRequest]:
    if principal.countries is None:
        return statement
    return statement.where(AssistanceRequest.country_iso3.in_(sorted(principal.countries)))


async def list_requests(
    db: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    status: Status | None = None,
    call_id: uuid.UUID | None = None,
    country_iso3: str | None = None,
    assistance_type: AssistanceType | None = None,
    late: bool | None = None,
) -> tuple[list[AssistanceRequest], str | None]:
    statement = visible_to(select(AssistanceRequest), principal)
    if status is not None:
        statement = statement.where(AssistanceRequest.status == status)
    if call_id is not None:
        statement = statement.where(AssistanceRequest.call_id == call_id)
    if country_iso3 is not None:
        statement = statement.where(AssistanceRequest.country_iso3 == country_iso3.upper())
    if assistance_type is not None:
        statement = statement.where(AssistanceRequest.assistance_type == assistance_type)
    if late is not None:
        statement = statement.where(AssistanceRequest.late.is_(late))
    order = (AssistanceRequest.submitted_at, AssistanceRequest.id)
    return await paginate(db, statement, order, page)


async def list_events(
    db: AsyncSession, request: AssistanceRequest, page: PageParams
) -> tuple[list[RequestEvent], str | None]:
    statement = select(RequestEvent).where(RequestEvent.request_id == request.id)
    return await paginate(db, statement, (RequestEvent.id,), page)


# --- workflow ---------------------------------------------------------------------------


def _invalid_transition(source: Status, target: Status) -> ProblemError:
    allowed = [AllowedTransitionOut(to=a.to, role=a.role) for a in allowed_from(source)]
    names = ", ".join(f"{a.to.value} ({a.role.value})" for a in allowed) or "none"
    return Conflict(
        f"A request cannot go from {source.value} to {target.value}; allowed: {names}.",
        problem_type="invalid-transition",
        extra={"allowed": [a.model_dump(mode="json") for a in allowed]},
    )


def _authorise(principal: Principal, role: Role, target: Status) -> None:
    if not holds_role(principal, role):
        raise Forbidden(
            f"Moving a request to {target.value} is for the {role.value} role "
            f"(scope {ROLE_SCOPES[role].value}).",
        )


def _event(
    request: AssistanceRequest,
    source: Status | None,
    role: Role,
    principal: Principal,
    comment: str,
    now: datetime,
) -> RequestEvent:
    return RequestEvent(
        request_id=request.id,
        from_status=source,
        to_status=request.status,
        role=role,
        actor=principal.subject,
        comment=comment,
        at=now,
    )


def _enter(request: AssistanceRequest, target: Status, now: datetime, sla: SlaPolicy) -> None:
    request.status = target
    request.stage_entered_at = now
    request.stage_due_at = sla.due(target, now)
    if target in (Status.APPROVED, Status.REJECTED):
        request.decided_at = now


EDITABLE_STATUSES = (Status.SUBMITTED, Status.INFO_REQUESTED)


async def update(
    db: AsyncSession,
    request: AssistanceRequest,
    data: RequestUpdate,
    principal: Principal,
    now: datetime,
) -> AssistanceRequest:
    """The focal point completes its request while it is submitted or information was
    asked for; the edit is kept in the audit trail like a move."""
    status = Status(request.status)
    if status not in EDITABLE_STATUSES:
        raise Conflict(
            f"A request can be edited only while {' or '.join(EDITABLE_STATUSES)}; "
            f"this one is {status.value}.",
            problem_type="not-editable",
        )
    _authorise(principal, Role.FOCAL_POINT, status)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude={"comment"})
    for field, value in changes.items():
        if value is None:
            raise InvalidField(
                f"body.{field}",
                "may not be null",
                f"{field} may not be null.",
            )
        setattr(request, field, value)
    edited = f"edited {', '.join(sorted(changes)) or 'nothing'}: {data.comment}"
    db.add(_event(request, status, Role.FOCAL_POINT, principal, edited, now))
    await _flush_or_412(db)
    return request


async def _flush_or_412(db: AsyncSession) -> None:
    try:
        await db.flush()
    except StaleDataError:
        raise PreconditionFailed(
            "Someone else changed the request at the same time; read it again and retry.",
            problem_type="precondition-failed",
        ) from None


async def transition(
    db: AsyncSession,
    request: AssistanceRequest,
    data: TransitionIn,
    principal: Principal,
    now: datetime,
    sla: SlaPolicy,
) -> AssistanceRequest:
    source = Status(request.status)
    role = required_role(source, data.to)
    if role is None:
        raise _invalid_transition(source, data.to)
    _authorise(principal, role, data.to)
    _enter(request, data.to, now, sla)
    db.add(_event(request, source, role, principal, data.comment, now))
    await _flush_or_412(db)
    await _notify_move(db, request, source, role, data.comment, now)
    return request


# --- notifications (in the move's transaction: rolled back with it) ---------------------


def request_notice(request: AssistanceRequest, call: Call) -> dict[str, object]:
    """What every event of a request says of it (catalogue.RequestNotice's fields): its
    moves' events here, its SLA clocks' in the sla domain."""
    return {
        "request_id": request.id,
        "request_title": request.title,
        "country_iso3": request.country_iso3,
        "call_id": call.id,
        "call_title": call.title,
        "assistance_type": request.assistance_type,
        "status": request.status,
    }


async def _notify_move(
    db: AsyncSession,
    request: AssistanceRequest,
    source: Status,
    role: Role,
    comment: str,
    now: datetime,
) -> None:
    """A status change for the focal point; a request for information also as its own
    event, with the reviewer's question. Keyed by the move and its moment."""
    call = await calls.get_call(db, request.call_id)
    notice = request_notice(request, call)
    key = f"{source.value}->{request.status}@{now.isoformat()}"
    changed = RequestStatusChanged(
        **notice,
        from_status=source.value,
        to_status=request.status,
        role=role.value,
        comment=comment,
        changed_at=now,
    )
    await notify(db, changed, at=now, key=key)
    if request.status == Status.INFO_REQUESTED:
        asked = RequestInfoRequested(**notice, message=comment, requested_at=now)
        await notify(db, asked, at=now, key=key)
