"""A country's C2R programme: the five phases, its assessments, pilots and contributions.

A phase's status is what was recorded for it; without a record it is derived: the global
methodology is complete (ITU, October 2021), the assessment phase follows the country's
assessments, the pilot phase its pilots, and the rest has not started.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import lifecycle
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.beneficiaries import service as beneficiaries
from assessment_api.partners import service as partners
from assessment_api.programmes.models import Pilot, PilotSite, ProgrammePhase
from assessment_api.programmes.schemas import (
    LinkedAssessment,
    PhaseIn,
    PhaseOut,
    PhaseStatus,
    PilotIn,
    PilotOut,
    PilotSiteIn,
    PilotStatus,
    ProgrammeCountry,
    ProgrammeOut,
    ProgrammeSummary,
    SG1QuestionOut,
)
from c2r_common.db import utcnow
from c2r_common.pagination import PageParams, decode_cursor, encode_cursor
from c2r_common.problems import NotFound, require_country
from c2r_common.reference import Country
from c2r_common.schemas import SG1_QUESTION_TITLES, C2RPhase, SG1Question

PHASE_TITLES: dict[C2RPhase, str] = {
    C2RPhase.METHODOLOGY: "Global methodology",
    C2RPhase.ASSESSMENT: "Country digital infrastructure and resilience assessment",
    C2RPhase.NATIONAL_STRATEGY: "National ICT strategy and National Emergency "
    "Telecommunication Plan (NETP)",
    C2RPhase.PILOT: "Pilot activities",
    C2RPhase.DEEP_DIVE: "Deep-dive studies (e.g. early warning)",
}
# The ITU-D SG1 Questions each phase usually contributes to (a default; editable per country).
PHASE_QUESTIONS: dict[C2RPhase, tuple[SG1Question, ...]] = {
    C2RPhase.METHODOLOGY: (SG1Question.Q1_1,),
    C2RPhase.ASSESSMENT: (SG1Question.Q1_1, SG1Question.Q4_1, SG1Question.Q5_1),
    C2RPhase.NATIONAL_STRATEGY: (SG1Question.Q1_1, SG1Question.Q3_1),
    C2RPhase.PILOT: (SG1Question.Q5_1,),
    C2RPhase.DEEP_DIVE: (SG1Question.Q3_1,),
}
METHODOLOGY_SUMMARY = (
    "A methodology for identifying connectivity gaps and strengthening resilience in the "
    "new normal (ITU, October 2021), applied in every C2R country."
)


def _questions(codes: list[str] | tuple[SG1Question, ...]) -> list[SG1QuestionOut]:
    return [
        SG1QuestionOut(code=SG1Question(c), title=SG1_QUESTION_TITLES[SG1Question(c)])
        for c in codes
    ]


def _derived_status(
    phase: C2RPhase, assessments: list[Assessment], pilots: list[Pilot]
) -> PhaseStatus:
    if phase is C2RPhase.METHODOLOGY:
        return PhaseStatus.COMPLETED
    if phase is C2RPhase.ASSESSMENT and assessments:
        finished = any(
            AssessmentStatus(a.status) in lifecycle.FINISHED_STATUSES for a in assessments
        )
        return PhaseStatus.COMPLETED if finished else PhaseStatus.IN_PROGRESS
    if phase is C2RPhase.PILOT and pilots:
        done = all(p.status == PilotStatus.COMPLETED for p in pilots)
        return PhaseStatus.COMPLETED if done else PhaseStatus.IN_PROGRESS
    return PhaseStatus.NOT_STARTED


def _phase_out(
    order: int,
    phase: C2RPhase,
    record: ProgrammePhase | None,
    assessments: list[Assessment],
    pilots: list[Pilot],
) -> PhaseOut:
    linked = [
        LinkedAssessment(
            id=a.id, period=a.period, status=a.status, methodology_version=a.methodology_version
        )
        for a in assessments
    ]
    return PhaseOut(
        phase=phase,
        order=order,
        title=PHASE_TITLES[phase],
        status=PhaseStatus(record.status)
        if record
        else _derived_status(phase, assessments, pilots),
        recorded=record is not None,
        started_on=record.started_on if record else None,
        completed_on=record.completed_on if record else None,
        summary=record.summary if record else _default_summary(phase),
        sg1_questions=_questions(record.sg1_questions if record else PHASE_QUESTIONS[phase]),
        request_ids=_request_ids(phase, record, assessments),
        assessments=linked if phase is C2RPhase.ASSESSMENT else [],
    )


def _request_ids(
    phase: C2RPhase, record: ProgrammePhase | None, assessments: list[Assessment]
) -> list[uuid.UUID]:
    """Requests recorded for the phase; for the assessment phase also the requests the
    country's assessments were opened from."""
    ids = [uuid.UUID(r) for r in record.request_ids] if record else []
    if phase is C2RPhase.ASSESSMENT:
        ids += [a.source_request_id for a in assessments if a.source_request_id]
    return list(dict.fromkeys(ids))


def _default_summary(phase: C2RPhase) -> str | None:
    return METHODOLOGY_SUMMARY if phase is C2RPhase.METHODOLOGY else None


async def _records(db: AsyncSession, iso3: str) -> dict[C2RPhase, ProgrammePhase]:
    rows = await db.scalars(select(ProgrammePhase).where(ProgrammePhase.country_iso3 == iso3))
    return {C2RPhase(row.phase): row for row in rows}


async def _assessments(db: AsyncSession, iso3: str) -> list[Assessment]:
    statement = select(Assessment).where(Assessment.country_iso3 == iso3)
    return list(await db.scalars(statement.order_by(Assessment.period, Assessment.id)))


async def _pilots(db: AsyncSession, iso3: str) -> list[Pilot]:
    statement = select(Pilot).where(Pilot.country_iso3 == iso3)
    return list(await db.scalars(statement.order_by(Pilot.created_at, Pilot.id)))


async def _country_out(db: AsyncSession, country: Country) -> ProgrammeCountry:
    codes = await beneficiaries.beneficiary_codes(db)
    return ProgrammeCountry(
        iso3=country.iso3,
        name=country.name,
        itu_region=country.itu_region,
        c2r_beneficiary=country.iso3 in codes,
    )


async def _phases(db: AsyncSession, iso3: str) -> tuple[list[PhaseOut], list[Pilot]]:
    records = await _records(db, iso3)
    assessments = await _assessments(db, iso3)
    pilots = await _pilots(db, iso3)
    phases = [
        _phase_out(order, phase, records.get(phase), assessments, pilots)
        for order, phase in enumerate(C2RPhase, start=1)
    ]
    return phases, pilots


async def programme(db: AsyncSession, iso3: str) -> ProgrammeOut:
    country = require_country(iso3)
    phases, pilots = await _phases(db, country.iso3)
    contributions = await partners.contributions_to_country(db, country.iso3)
    return ProgrammeOut(
        country=await _country_out(db, country),
        phases=phases,
        pilots=[PilotOut.model_validate(p) for p in pilots],
        contributions=[partners.to_out(c) for c in contributions],
    )


async def record_phase(
    db: AsyncSession, iso3: str, phase: C2RPhase, data: PhaseIn, actor: str
) -> None:
    country = require_country(iso3)
    record = await db.get(ProgrammePhase, (country.iso3, phase.value))
    if record is None:
        record = ProgrammePhase(country_iso3=country.iso3, phase=phase.value)
        db.add(record)
    questions = data.sg1_questions if data.sg1_questions is not None else PHASE_QUESTIONS[phase]
    record.status = data.status
    record.started_on, record.completed_on = data.started_on, data.completed_on
    record.summary = data.summary
    record.sg1_questions = [q.value for q in questions]
    record.request_ids = [str(r) for r in data.request_ids]
    record.updated_by, record.updated_at = actor, utcnow()
    await db.flush()


def _site(data: PilotSiteIn) -> PilotSite:
    return PilotSite(**data.model_dump())


async def create_pilot(db: AsyncSession, iso3: str, data: PilotIn, actor: str) -> Pilot:
    country = require_country(iso3)
    pilot = Pilot(
        country_iso3=country.iso3,
        created_by=actor,
        sites=[_site(s) for s in data.sites],
        **data.model_dump(exclude={"sites"}),
    )
    db.add(pilot)
    await db.flush()
    return pilot


async def get_pilot(db: AsyncSession, iso3: str, pilot_id: uuid.UUID) -> Pilot:
    pilot = await db.get(Pilot, pilot_id)
    if pilot is None or pilot.country_iso3 != require_country(iso3).iso3:
        raise NotFound(f"No pilot {pilot_id} in {iso3.upper()}.")
    return pilot


async def add_site(db: AsyncSession, pilot: Pilot, data: PilotSiteIn) -> Pilot:
    pilot.sites.append(_site(data))
    await db.flush()
    return pilot


async def _programme_countries(db: AsyncSession) -> list[str]:
    codes: set[str] = set()
    for column in (ProgrammePhase.country_iso3, Pilot.country_iso3, Assessment.country_iso3):
        codes.update(await db.scalars(select(column).distinct()))
    return sorted(codes)


async def list_programmes(
    db: AsyncSession, page: PageParams, visible: frozenset[str] | None
) -> tuple[list[ProgrammeSummary], str | None]:
    """Countries with any programme activity, by ISO code (`visible`: a claim's countries)."""
    after = decode_cursor(page.cursor, 1, types=(str,))[0] if page.cursor else ""
    codes = [
        c for c in await _programme_countries(db) if c > after and (visible is None or c in visible)
    ]
    chosen = codes[: page.limit]
    summaries = []
    for iso3 in chosen:
        phases, _ = await _phases(db, iso3)
        summaries.append(
            ProgrammeSummary(
                country=await _country_out(db, require_country(iso3)),
                phases={p.phase: p.status for p in phases},
            )
        )
    next_cursor = encode_cursor([chosen[-1]]) if len(codes) > page.limit else None
    return summaries, next_cursor
