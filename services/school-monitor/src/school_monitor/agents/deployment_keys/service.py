"""Deployment keys: created for countries, shown once, stored hashed, revocable."""

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import utcnow
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.pagination import PageParams, paginate
from school_monitor.agents.deployment_keys.keys import hash_key, key_hint, new_key
from school_monitor.agents.deployment_keys.schemas import DeploymentKeyIn
from school_monitor.agents.models import DeploymentKey


def visible_to(key: DeploymentKey, countries: frozenset[str] | None) -> bool:
    """A caller limited to countries sees only keys that stay within them."""
    return countries is None or set(key.countries) <= countries


def _expiry_problem(data: DeploymentKeyIn) -> ProblemError | None:
    if data.expires_at is None or data.expires_at > utcnow():
        return None
    return ProblemError(
        422,
        "The key would be expired already.",
        problem_type="validation",
        errors=[FieldProblem(field="body.expires_at", message="must be in the future")],
    )


async def create_key(
    db: AsyncSession, data: DeploymentKeyIn, created_by: str, pepper: bytes
) -> tuple[DeploymentKey, str]:
    problem = _expiry_problem(data)
    if problem is not None:
        raise problem
    key = data.key if data.key is not None else new_key()
    record = DeploymentKey(
        name=data.name,
        countries=sorted(set(data.countries)),
        key_hash=hash_key(key, pepper),
        key_hint=key_hint(key),
        created_by=created_by[:200],
        expires_at=data.expires_at,
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it.
        async with db.begin_nested():
            db.add(record)
            await db.flush()
    except IntegrityError:  # an imported key registered twice (or a collision)
        raise ProblemError(
            409,
            "This key is registered already.",
            errors=[FieldProblem(field="body.key", message="registered already")],
        ) from None
    return record, key


async def get_key(
    db: AsyncSession, key_id: uuid.UUID, countries: frozenset[str] | None
) -> DeploymentKey:
    record = await db.get(DeploymentKey, key_id)
    if record is None or not visible_to(record, countries):
        raise ProblemError(404, f"No deployment key {key_id}.")
    return record


async def list_keys(
    db: AsyncSession, countries: frozenset[str] | None, page: PageParams
) -> tuple[list[DeploymentKey], str | None]:
    # Countries are a JSON list: the few keys there are get filtered after the page query,
    # which may then hold fewer items than the limit, never a key outside the caller's.
    records, next_cursor = await paginate(db, select(DeploymentKey), (DeploymentKey.id,), page)
    return [r for r in records if visible_to(r, countries)], next_cursor


async def revoke_key(db: AsyncSession, record: DeploymentKey) -> DeploymentKey:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        await db.flush()
    return record


async def find_active_key(db: AsyncSession, key_hash: str) -> DeploymentKey | None:
    """The unrevoked, unexpired deployment key of this hash (`keys.hash_key`), if any."""
    statement = select(DeploymentKey).where(
        DeploymentKey.key_hash == key_hash,
        DeploymentKey.revoked_at.is_(None),
        or_(DeploymentKey.expires_at.is_(None), DeploymentKey.expires_at > utcnow()),
    )
    return (await db.scalars(statement)).first()
