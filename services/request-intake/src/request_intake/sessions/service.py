import uuid
from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import NotFound
from c2r_common.reference import country_by_iso3
from request_intake.sessions.models import InformationSession, SessionParticipant
from request_intake.sessions.schemas import SessionIn, SessionOut


def _by_region(iso3_codes: set[str]) -> dict[str, int]:
    regions = Counter(
        country.itu_region.value
        for country in (country_by_iso3(code) for code in iso3_codes)
        if country is not None
    )
    return dict(sorted(regions.items()))


def to_out(session: InformationSession) -> SessionOut:
    participants = session.participants
    delegates = [p for p in participants if p.is_member_state and p.country_iso3]
    member_states = {p.country_iso3 for p in delegates if p.country_iso3}
    return SessionOut(
        id=session.id,
        title=session.title,
        held_on=session.held_on,
        participants=participants,
        participant_count=len(participants),
        member_state_count=len(member_states),
        member_state_participant_count=len(delegates),
        country_count=len({p.country_iso3 for p in participants if p.country_iso3}),
        member_states_by_region=_by_region(member_states),
    )


async def create_session(db: AsyncSession, data: SessionIn) -> InformationSession:
    session = InformationSession(
        title=data.title,
        held_on=data.held_on,
        participants=[SessionParticipant(**p.model_dump()) for p in data.participants],
    )
    db.add(session)
    await db.flush()
    return session


async def get_session(db: AsyncSession, session_id: uuid.UUID) -> InformationSession:
    session = await db.get(InformationSession, session_id)
    if session is None:
        raise NotFound(f"No information session {session_id}.")
    return session


async def list_sessions(
    db: AsyncSession, page: PageParams
) -> tuple[list[InformationSession], str | None]:
    order = (InformationSession.held_on, InformationSession.id)
    return await paginate(db, select(InformationSession), order, page)
