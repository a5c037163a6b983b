"""Who may call the Giga Meter-compatible routes (`/api/v1/...`), and for which schools.

A Giga Meter agent carries one static bearer key compiled into its build and never
refreshed: a deployment key (school_monitor.agents.deployment_keys), limited to countries.
The platform's JWTs and device tokens are accepted as well.

Route dependencies (`Annotated` aliases; each resolves to a `Principal` whose `countries`
is the set of ISO alpha-3 codes it may act for, None for all):

- `GigaWriter`    agent writes (measurements, backlog, ping records): a deployment key, or a
                  token with `measurements:write` (JWT or device token).
- `GigaReader`    reads (Giga Maps pull, lookups): a deployment key, or `schools:read`.
- `GigaRegistrar` device registration: a deployment key, or `agents:write`.

Service functions, called with the request's session:

- `await authorize_giga_write(db, principal, giga_id_school=..., device_ids=[...])` ->
  `WriteGrant(school, agent_id, principal)`, or raises `WriteRefused` whose `reason` is
  `"unknown_school"` (no such school, or one outside the caller's countries: answer both
  alike, reveal nothing) or `"unregistered_device"` (a deployment key, but none of
  `device_ids` is a device registered for that school). Pass as `device_ids` what the
  payload carries to name the device: the measurement's `BrowserID` (the `user_id` that
  registration answered, which the app sends back), a ping record's `browserId`, and any
  hardware id (`device_hardware_id`, `mac_address`). A device token must belong to the
  school; a JWT with `measurements:write` needs only the country, as on the native API.
  `grant.principal` is the principal to hand to the ingestion pipeline: for a registered
  device it is that device's own (kind "device", pinned to its school, credited as seen).
- `await visible_school(db, principal, giga_id)` -> `School | None`: the school if the
  caller may see it, None when unknown or foreign (answer both alike).
- `readable_countries(principal)` -> `frozenset[str] | None`: to filter reads.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import CurrentPrincipal, Principal, Scope
from c2r_common.errors import ProblemError
from school_monitor.agents.auth import device_principal
from school_monitor.agents.deployment_keys.auth import DEPLOYMENT_KEY_KIND
from school_monitor.agents.models import Agent
from school_monitor.schools.models import School

MAX_GIGA_ID_LENGTH = 64


def is_deployment_key(principal: Principal) -> bool:
    # Only the key verifier puts a UUID object there: a JWT's claims are JSON, so a token
    # claiming the key kind is not taken for a key.
    key_id = principal.claims.get("deployment_key_id")
    return principal.kind == DEPLOYMENT_KEY_KIND and isinstance(key_id, uuid.UUID)


def _accepting(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if is_deployment_key(principal) or principal.has_scope(scope):
            return principal
        raise ProblemError(
            403, f"This needs a deployment key or a token with the scope {scope.value}."
        )

    return dependency


GigaWriter = Annotated[Principal, Depends(_accepting(Scope.MEASUREMENTS_WRITE))]
GigaReader = Annotated[Principal, Depends(_accepting(Scope.SCHOOLS_READ))]
GigaRegistrar = Annotated[Principal, Depends(_accepting(Scope.AGENTS_WRITE))]


def readable_countries(principal: Principal) -> frozenset[str] | None:
    return principal.countries


def giga_id_forms(giga_id: str) -> list[str]:
    """Giga ids are UUIDs that clients send in either case (upstream lower-cases them); a
    stored id is looked up under the id as sent, then lower and upper case, so that the
    unique index on the stored id is used (lower(giga_id) would scan every school). No
    form for an id that cannot be stored."""
    giga_id = giga_id.strip()
    if not giga_id or len(giga_id) > MAX_GIGA_ID_LENGTH:
        return []
    return list(dict.fromkeys((giga_id, giga_id.lower(), giga_id.upper())))


async def school_by_giga_id(db: AsyncSession, giga_id: str) -> School | None:
    forms = giga_id_forms(giga_id)
    if not forms:
        return None
    statement = select(School).where(School.giga_id.in_(forms)).order_by(School.giga_id)
    return (await db.scalars(statement.limit(1))).first()


async def visible_school(db: AsyncSession, principal: Principal, giga_id: str) -> School | None:
    school = await school_by_giga_id(db, giga_id)
    if school is None or not principal.can_access_country(school.country_iso3):
        return None
    return school


class WriteRefused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class WriteGrant:
    school: School
    agent_id: uuid.UUID | None
    principal: Principal


def _agent_ids(device_ids: Iterable[str]) -> list[uuid.UUID]:
    ids = []
    for value in device_ids:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


async def registered_device(
    db: AsyncSession, school: School, device_ids: Iterable[str | None]
) -> Agent | None:
    """The unrevoked agent of `school` named by one of `device_ids` (its id or hardware id)."""
    names = sorted({d.strip() for d in device_ids if d and d.strip()})
    if not names:
        return None
    named = [Agent.hardware_id.in_(names)]
    agent_ids = _agent_ids(names)
    if agent_ids:
        named.append(Agent.id.in_(agent_ids))
    statement = select(Agent).where(
        Agent.school_id == school.id, Agent.revoked_at.is_(None), or_(*named)
    )
    return (await db.scalars(statement.order_by(Agent.created_at).limit(1))).first()


def _unknown(giga_id: str) -> WriteRefused:
    return WriteRefused("unknown_school", f"No school with Giga id {giga_id!r}.")


async def authorize_giga_write(
    db: AsyncSession,
    principal: Principal,
    *,
    giga_id_school: str,
    device_ids: Iterable[str | None] = (),
) -> WriteGrant:
    """May `principal` write data for the school `giga_id_school` names? See the module."""
    school = await visible_school(db, principal, giga_id_school)
    if school is None:
        raise _unknown(giga_id_school)
    if principal.kind == "device":
        if principal.claims.get("school_id") != school.id:
            raise _unknown(giga_id_school)
        return WriteGrant(school, principal.claims.get("agent_id"), principal)
    if not is_deployment_key(principal):
        return WriteGrant(school, None, principal)
    agent = await registered_device(db, school, device_ids)
    if agent is None:
        raise WriteRefused(
            "unregistered_device",
            "No device registered for this school under that id; register it first.",
        )
    return WriteGrant(school, agent.id, device_principal(agent, school.country_iso3))
