"""Device registration and device tokens.

A token is 32 random bytes behind a recognisable prefix; only its SHA-256 is stored. A
slow password hash would add nothing against guessing 256 random bits and would cost
every measurement push a few milliseconds.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import utcnow
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.pagination import PageParams, paginate
from school_monitor.agents.models import Agent
from school_monitor.agents.schemas import AgentIn
from school_monitor.schools.models import School

TOKEN_PREFIX = "c2rdev_"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)

# Ids that many machines report (placeholders of firmware vendors, null MACs): devices
# behind them cannot be told apart, so they are refused (a Giga Meter pain point).
GENERIC_HARDWARE_IDS = frozenset(
    {
        "",
        "0",
        "none",
        "null",
        "unknown",
        "default",
        "default string",
        "to be filled by o.e.m.",
        "system serial number",
        "not applicable",
        "not specified",
        "0123456789",
        "0123456789abcdef",
        "00000000",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",
        "00:00:00:00:00:00",
        "00-00-00-00-00-00",
        "ff:ff:ff:ff:ff:ff",
        "02:00:00:00:00:00",
    }
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def is_generic_hardware_id(hardware_id: str, extra: list[str]) -> bool:
    normalised = hardware_id.strip().lower()
    return normalised in GENERIC_HARDWARE_IDS or normalised in {e.lower() for e in extra}


async def register_agent(
    db: AsyncSession, data: AgentIn, school: School, generic_ids: list[str]
) -> tuple[Agent, str]:
    if is_generic_hardware_id(data.hardware_id, generic_ids):
        raise ProblemError(
            422,
            "This hardware id is shared by many devices; register the device with its own id.",
            problem_type="validation",
            errors=[FieldProblem(field="body.hardware_id", message="generic hardware id")],
        )
    token = new_token()
    agent = Agent(
        school_id=school.id,
        hardware_id=data.hardware_id.strip(),
        name=data.name,
        app_version=data.app_version,
        token_hash=hash_token(token),
        token_hint=token[: len(TOKEN_PREFIX) + 6],
    )
    db.add(agent)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:  # a token hash collision: astronomically unlikely
        raise ProblemError(409, "Could not issue a unique token; retry.") from None
    return agent, token


async def get_agent(db: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await db.get(Agent, agent_id)
    if agent is None:
        raise ProblemError(404, f"No agent {agent_id}.")
    return agent


async def list_agents(
    db: AsyncSession,
    school_id: uuid.UUID | None,
    countries: frozenset[str] | None,
    page: PageParams,
) -> tuple[list[Agent], str | None]:
    statement = select(Agent)
    if school_id is not None:
        statement = statement.where(Agent.school_id == school_id)
    if countries is not None:
        in_countries = select(School.id).where(School.country_iso3.in_(sorted(countries)))
        statement = statement.where(Agent.school_id.in_(in_countries))
    return await paginate(db, statement, (Agent.id,), page)


async def revoke_agent(db: AsyncSession, agent: Agent) -> Agent:
    if agent.revoked_at is None:
        agent.revoked_at = utcnow()
        await db.flush()
    return agent


async def find_active_agent(db: AsyncSession, token: str) -> tuple[Agent, str] | None:
    """The unrevoked agent holding `token` and its school's country, if any."""
    row = (
        await db.execute(
            select(Agent, School.country_iso3)
            .join(School, School.id == Agent.school_id)
            .where(Agent.token_hash == hash_token(token), Agent.revoked_at.is_(None))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def note_agent_seen(
    db: AsyncSession,
    agent_id: uuid.UUID,
    last_seen_at: datetime | None,
    app_version: str | None,
) -> bool:
    """Records that the agent pushed data; at most once a minute, so that a busy agent
    does not turn every push into an extra row update."""
    now = utcnow()
    if last_seen_at is not None and now - last_seen_at < LAST_SEEN_RESOLUTION:
        return False
    values: dict[str, object] = {"last_seen_at": now}
    if app_version:
        values["app_version"] = app_version
    await db.execute(update(Agent).where(Agent.id == agent_id).values(**values))
    return True
