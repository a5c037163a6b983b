"""Device registration and device tokens.

A token is 32 random bytes behind a recognisable prefix; only its SHA-256 is stored. A
slow password hash would add nothing against guessing 256 random bits and would cost
every measurement push a few milliseconds.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
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
        # Giga Meter's own blocklist (giga-meter-backend, common/hardware-id.utils.ts).
        "no_uuid_available",
        "fefefefe-fefe-fefe-fefe-fefefefefefe",
        "12345678-1234-1234-1234-123456789abc",
    }
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def is_generic_hardware_id(hardware_id: str, extra: list[str]) -> bool:
    normalised = hardware_id.strip().lower()
    return normalised in GENERIC_HARDWARE_IDS or normalised in {e.lower() for e in extra}


def refuse_generic_hardware_id(
    hardware_id: str, generic_ids: list[str], field: str = "body.hardware_id"
) -> None:
    if is_generic_hardware_id(hardware_id, generic_ids):
        raise ProblemError(
            422,
            "This hardware id is shared by many devices; register the device with its own id.",
            problem_type="validation",
            errors=[FieldProblem(field=field, message="generic hardware id")],
        )


def _issue_token(agent: Agent) -> str:
    token = new_token()
    agent.token_hash = hash_token(token)
    agent.token_hint = token[: len(TOKEN_PREFIX) + 6]
    return token


async def _added(db: AsyncSession, agent: Agent) -> bool:
    """Inserts the agent in a savepoint; False when a unique index refuses it: the device
    has an active agent for the school already (or, astronomically unlikely, the token's
    hash is taken)."""
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it.
        async with db.begin_nested():
            db.add(agent)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def _add_agent(db: AsyncSession, agent: Agent) -> None:
    if not await _added(db, agent):
        raise ProblemError(
            409,
            "This device has an active agent for this school already; revoke it first.",
            errors=[FieldProblem(field="body.hardware_id", message="registered already")],
        )


async def register_agent(
    db: AsyncSession, data: AgentIn, school: School, generic_ids: list[str]
) -> tuple[Agent, str]:
    refuse_generic_hardware_id(data.hardware_id, generic_ids)
    agent = Agent(
        school_id=school.id,
        hardware_id=data.hardware_id.strip(),
        name=data.name,
        app_version=data.app_version,
    )
    token = _issue_token(agent)
    await _add_agent(db, agent)
    return agent, token


@dataclass(frozen=True)
class EnrolledDevice:
    """What a self-registering agent (Giga Meter) tells about itself."""

    hardware_id: str
    mac_address: str | None
    os: str | None
    app_version: str | None


async def enrol_device(
    db: AsyncSession, school: School, device: EnrolledDevice, deployment_key_id: uuid.UUID | None
) -> tuple[Agent, bool]:
    """The school's active agent of this device, or a new one: (agent, created).

    A registration repeated by the same device (a reinstall, a retry) finds its agent
    again instead of adding one. The device pushes with its deployment key, so the token
    issued here is never shown: only its hash is kept, as for every agent.
    """
    existing = await _enrolled_agent(db, school, device)
    if existing is None:
        new = Agent(school_id=school.id, hardware_id=device.hardware_id)
        new.deployment_key_id = deployment_key_id
        _note_reported(new, device)
        _issue_token(new)
        if await _added(db, new):
            return new, True
        # The same registration from another request won: the index waited for its commit,
        # so its agent is there to read.
        existing = await _enrolled_agent(db, school, device)
        if existing is None:
            raise ProblemError(409, "The device could not be registered; retry.")
    _note_reported(existing, device)
    await db.flush()
    return existing, False


async def _enrolled_agent(db: AsyncSession, school: School, device: EnrolledDevice) -> Agent | None:
    """By hardware id; else an agent that registered by this installation id alone (an app
    upgraded to one that sends the machine's id), which then takes the machine's id."""
    by_hardware = await active_agents(db, device.hardware_id, school_id=school.id)
    if by_hardware or not device.mac_address or device.mac_address == device.hardware_id:
        return by_hardware[0] if by_hardware else None
    for agent in await active_agents(db, device.mac_address, school_id=school.id):
        if agent.mac_address == agent.hardware_id:
            agent.hardware_id = device.hardware_id
            return agent
    return None


def _note_reported(agent: Agent, device: EnrolledDevice) -> None:
    agent.mac_address = device.mac_address or agent.mac_address
    agent.os = device.os or agent.os
    agent.app_version = device.app_version or agent.app_version


async def active_agents(
    db: AsyncSession, hardware_id: str, school_id: uuid.UUID | None = None
) -> list[Agent]:
    """Unrevoked agents with this hardware id, the latest registered first."""
    statement = select(Agent).where(
        Agent.hardware_id == hardware_id.strip(), Agent.revoked_at.is_(None)
    )
    if school_id is not None:
        statement = statement.where(Agent.school_id == school_id)
    return list((await db.scalars(statement.order_by(Agent.created_at.desc()))).all())


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
