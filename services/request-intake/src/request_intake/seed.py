"""Example data of the embedded default: the May 2023 session and call, an open call, and
a few requests at different points of the workflow. Idempotent: a second run adds nothing."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import Database, utcnow
from c2r_common.schemas import AssistanceType
from request_intake.assistance_requests.models import AssistanceRequest, RequestEvent
from request_intake.assistance_requests.workflow import TRANSITIONS, Status
from request_intake.calls.models import Call
from request_intake.calls.rules import localize
from request_intake.config import IntakeSettings
from request_intake.outbox.service import enqueue_assessment
from request_intake.sessions.models import InformationSession, SessionParticipant
from request_intake.sla_policy import SlaPolicy

_NAMESPACE = uuid.UUID("5f0c2b1e-8c7d-4f43-9a39-c2c2c2c2c2c2")
GENEVA = "Europe/Geneva"
SEEDER = "seed"


def seed_id(name: str) -> uuid.UUID:
    """Stable ids, so the seed recognises what it already wrote."""
    return uuid.uuid5(_NAMESPACE, name)


CLOSED_CALL_ID = seed_id("call:africa-2023")
OPEN_CALL_ID = seed_id("call:open")

# Member States represented at the information session of 2 May 2023 (15 of them).
SESSION_MEMBER_STATES = [
    "RWA", "ZWE", "KEN", "SEN", "UGA", "ZMB", "MWI", "BDI", "BEN", "BFA",
    "CMR", "GHA", "MOZ", "NER", "TZA",
]  # fmt: skip


def _session() -> InformationSession:
    delegates = [
        SessionParticipant(
            name=f"Delegation of {iso3} ({n + 1})", country_iso3=iso3, is_member_state=True
        )
        for n, iso3 in enumerate(SESSION_MEMBER_STATES * 3)
    ]
    partners = [
        SessionParticipant(name=f"Partner representative {n + 1}", country_iso3=iso3)
        for n, iso3 in enumerate(["JPN", "JPN", "SAU", "SAU", "AUS", "LTU", "CZE"])
    ]
    staff = [SessionParticipant(name=f"ITU staff {n + 1}") for n in range(16)]
    return InformationSession(
        id=seed_id("session:2023-05-02"),
        title="Connect2Recover information session for African Member States",
        held_on=date(2023, 5, 2),
        participants=delegates + partners + staff,  # 45 + 7 + 16 = 68 participants
    )


def _calls(now: datetime) -> list[Call]:
    every_type = [t.value for t in AssistanceType]
    closed = Call(
        id=CLOSED_CALL_ID,
        title="Connect2Recover technical assistance for African Member States (2023)",
        description="Following the information session of 2 May 2023, African Member States "
        "propose technical-assistance requests by 19 May 2023.",
        assistance_types=every_type,
        eligible_regions=["Africa"],
        eligible_countries=[],
        time_zone=GENEVA,
        opens_at=localize(datetime(2023, 5, 2, 9, 0), GENEVA),
        closes_at=localize(datetime(2023, 5, 19, 23, 59, 59), GENEVA),
        grace_period_minutes=0,
        max_requests_per_country=2,
        created_by=SEEDER,
    )
    open_call = Call(
        id=OPEN_CALL_ID,
        title="Connect2Recover technical assistance, open call",
        description="Requests from any least-connected Member State, reviewed as they come.",
        assistance_types=every_type,
        eligible_regions=[],
        eligible_countries=[],
        time_zone=GENEVA,
        opens_at=localize(datetime(2024, 1, 1, 0, 0), GENEVA),
        # Open for as long as the example runs: it closes at the end of next year.
        closes_at=localize(datetime(now.year + 1, 12, 31, 23, 59, 59), GENEVA),
        grace_period_minutes=24 * 60,
        max_requests_per_country=3,
        created_by=SEEDER,
    )
    return [closed, open_call]


@dataclass(frozen=True)
class ExampleRequest:
    key: str
    call_id: uuid.UUID
    country_iso3: str
    entity: str
    assistance_type: AssistanceType
    title: str
    path: tuple[Status, ...]  # statuses after "submitted", in order
    submitted_at: datetime


EXAMPLES = [
    ExampleRequest(
        "rwa-assessment", CLOSED_CALL_ID, "RWA", "Ministry of ICT and Innovation",
        AssistanceType.ASSESSMENT, "Digital infrastructure and resilience assessment of Rwanda",
        (Status.SCREENING, Status.UNDER_REVIEW), datetime.fromisoformat("2023-05-10T09:30:00Z"),
    ),
    ExampleRequest(
        "zwe-assessment", CLOSED_CALL_ID, "ZWE", "Ministry of ICT, Postal and Courier Services",
        AssistanceType.ASSESSMENT, "Digital infrastructure and resilience assessment of Zimbabwe",
        (Status.SCREENING, Status.UNDER_REVIEW, Status.APPROVED),
        datetime.fromisoformat("2023-05-08T11:00:00Z"),
    ),
    ExampleRequest(
        "sen-strategy", CLOSED_CALL_ID, "SEN", "Autorité de Régulation des Télécommunications",
        AssistanceType.NETP, "National Emergency Telecommunication Plan",
        (Status.SCREENING, Status.INFO_REQUESTED), datetime.fromisoformat("2023-05-18T15:00:00Z"),
    ),
    ExampleRequest(
        "ken-training", CLOSED_CALL_ID, "KEN", "Communications Authority of Kenya",
        AssistanceType.TRAINING, "Training on broadband mapping", (),
        datetime.fromisoformat("2023-05-19T20:00:00Z"),
    ),
    ExampleRequest(
        "zmb-pilot", CLOSED_CALL_ID, "ZMB", "Ministry of Technology and Science",
        AssistanceType.PILOT, "School connectivity pilot",
        (Status.SCREENING, Status.UNDER_REVIEW, Status.REJECTED),
        datetime.fromisoformat("2023-05-12T08:00:00Z"),
    ),
    ExampleRequest(
        "uga-workshop", CLOSED_CALL_ID, "UGA", "Uganda Communications Commission",
        AssistanceType.WORKSHOP, "Workshop on network resilience", (Status.WITHDRAWN,),
        datetime.fromisoformat("2023-05-15T10:00:00Z"),
    ),
    ExampleRequest(
        "mwi-assessment", OPEN_CALL_ID, "MWI", "Ministry of Information and Digitalization",
        AssistanceType.ASSESSMENT, "Digital infrastructure and resilience assessment of Malawi",
        (), datetime.fromisoformat("2024-02-01T09:00:00Z"),
    ),
]  # fmt: skip


async def _add_request(db: AsyncSession, example: ExampleRequest, sla: SlaPolicy) -> None:
    moment = example.submitted_at
    request = AssistanceRequest(
        id=seed_id(f"request:{example.key}"),
        call_id=example.call_id,
        country_iso3=example.country_iso3,
        requesting_entity=example.entity,
        entity_type="regulator" if "Authority" in example.entity else "ministry",
        focal_point={"name": f"Focal point {example.country_iso3}", "email": "focal@example.org"},
        assistance_type=example.assistance_type.value,
        title=example.title,
        description=f"{example.title}, requested under Connect2Recover.",
        priority="high" if example.assistance_type is AssistanceType.ASSESSMENT else "medium",
        expected_outcomes=["recommendations to the government"],
        attachments=[],
        status=Status.SUBMITTED,
        late=False,
        submitted_by=SEEDER,
        submitted_at=moment,
        stage_entered_at=moment,
        stage_due_at=sla.due(Status.SUBMITTED, moment),
    )
    db.add(request)
    events = [_event(request.id, None, Status.SUBMITTED, "focal_point", moment)]
    for target in example.path:
        moment += timedelta(days=3)
        role = TRANSITIONS[(Status(request.status), target)]
        events.append(_event(request.id, Status(request.status), target, role.value, moment))
        request.status = target
        request.stage_entered_at = moment
        request.stage_due_at = sla.due(target, moment)
        if target in (Status.APPROVED, Status.REJECTED):
            request.decided_at = moment
    db.add_all(events)
    if request.status == Status.APPROVED and example.assistance_type is AssistanceType.ASSESSMENT:
        # Handed to assessment-api by the dispatcher once the service runs, like any approval.
        await enqueue_assessment(db, request, moment)


def _event(
    request_id: uuid.UUID, source: Status | None, target: Status, role: str, at: datetime
) -> RequestEvent:
    return RequestEvent(
        request_id=request_id,
        from_status=source,
        to_status=target,
        role=role,
        actor=SEEDER,
        comment=f"example data: {target.value}",
        at=at,
    )


async def seed(database: Database, settings: IntakeSettings | None = None) -> None:
    sla = SlaPolicy.from_settings(settings or IntakeSettings())
    async with database.sessionmaker() as db:
        if await db.get(Call, CLOSED_CALL_ID) is not None:
            return
        db.add(_session())
        db.add_all(_calls(utcnow()))
        await db.flush()
        for example in EXAMPLES:
            await _add_request(db, example, sla)
            await db.flush()
        await db.commit()
