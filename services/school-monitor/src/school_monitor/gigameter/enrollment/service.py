"""What the Giga Meter agent's enrollment calls answer, from the school registry and the
agents domain.

Every look-up is limited to the caller's countries, and an id outside them gets the answer
an unknown id gets: nothing tells a caller that a school exists elsewhere.
"""

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.reference import country_by_iso2, country_by_iso3
from school_monitor.agents import service as agents
from school_monitor.agents.models import Agent
from school_monitor.gigameter.credentials import is_deployment_key, visible_school
from school_monitor.gigameter.enrollment.models import FlaggedSchool
from school_monitor.gigameter.enrollment.schemas import (
    Deactivated,
    DeviceRegistrationIn,
    DeviceSchoolStatus,
    DeviceSchoolStatusIn,
    DeviceStatus,
    ExistingInstallation,
    FeatureFlags,
    FlaggedSchoolIn,
    FlaggedSchoolOut,
    GigaCountry,
    GigaSchool,
    IpMetadata,
    RegisteredDevice,
)
from school_monitor.schools.models import School

MAX_LOOKUP_LENGTH = 200


def iso2_of(iso3: str) -> str:
    country = country_by_iso3(iso3)
    return (country.iso2 if country is not None else None) or ""


def visible_iso3(principal: Principal, iso2: str) -> str | None:
    """The alpha-3 code of `iso2` if the caller may act there."""
    country = country_by_iso2(iso2) if len(iso2.strip()) == 2 else None
    if country is None or not principal.can_access_country(country.iso3):
        return None
    return country.iso3


async def countries_by_code(db: AsyncSession, principal: Principal, iso2: str) -> list[GigaCountry]:
    """The country of alpha-2 `iso2` when it has schools the caller may see, else none."""
    iso3 = visible_iso3(principal, iso2)
    if iso3 is None:
        return []
    if not await db.scalar(select(exists().where(School.country_iso3 == iso3))):
        return []
    country = country_by_iso3(iso3)
    name = country.name if country is not None else iso3
    return [
        GigaCountry(
            id=iso3,
            code=iso2.strip().upper(),
            code_iso3=iso3,
            name=name,
            country_id=iso3,
            created_at=None,
        )
    ]


def giga_school(school: School) -> GigaSchool:
    return GigaSchool(
        id=str(school.id),
        school_id=school.government_id,
        name=school.name,
        country=iso2_of(school.country_iso3),
        education_level=school.education_level,
        admin_1_name=school.admin1,
        admin_2_name=school.admin2,
        giga_id_school=school.giga_id,
    )


async def schools_by_government_id(
    db: AsyncSession, principal: Principal, iso2: str, government_id: str
) -> list[GigaSchool]:
    """The school search: the country's schools with this government id (any case)."""
    iso3 = visible_iso3(principal, iso2)
    wanted = government_id.strip()
    if iso3 is None or not wanted or len(wanted) > MAX_LOOKUP_LENGTH:
        return []
    statement = (
        select(School)
        .where(School.country_iso3 == iso3, func.lower(School.government_id) == wanted.lower())
        .order_by(School.id)
        .limit(100)
    )
    return [giga_school(school) for school in (await db.scalars(statement)).all()]


def unknown_school(giga_id: str, field: str = "body.giga_id_school") -> ProblemError:
    return ProblemError(
        404,
        f"No school with Giga id {giga_id!r}.",
        errors=[FieldProblem(field=field, message="unknown school")],
    )


async def school_for(db: AsyncSession, principal: Principal, giga_id: str) -> School:
    school = await visible_school(db, principal, giga_id)
    if school is None:
        raise unknown_school(giga_id)
    return school


def _device_identity(data: DeviceRegistrationIn, generic_ids: list[str]) -> agents.EnrolledDevice:
    """The machine's hardware id when the app sends one (v2), else its installation id."""
    for field, value in (
        ("device_hardware_id", data.device_hardware_id),
        ("mac_address", data.mac_address),
    ):
        if value is not None and value.strip():
            agents.refuse_generic_hardware_id(value, generic_ids, f"body.{field}")
    hardware_id = (data.device_hardware_id or "").strip() or (data.mac_address or "").strip()
    if not hardware_id:
        raise ProblemError(
            422,
            "A device registers with its id.",
            problem_type="validation",
            errors=[FieldProblem(field="body.mac_address", message="required")],
        )
    return agents.EnrolledDevice(
        hardware_id=hardware_id,
        mac_address=data.mac_address,
        os=data.os,
        app_version=data.app_version,
    )


async def register_device(
    db: AsyncSession,
    principal: Principal,
    data: DeviceRegistrationIn,
    generic_ids: list[str],
) -> tuple[Agent, bool]:
    """Our agent record for the device, bound to its school: (agent, created)."""
    await claim_write_lock(db)
    school = await school_for(db, principal, data.giga_id_school)
    device = _device_identity(data, generic_ids)
    key_id = principal.claims.get("deployment_key_id") if is_deployment_key(principal) else None
    return await agents.enrol_device(db, school, device, key_id)


def registered_device(agent: Agent, school: School) -> RegisteredDevice:
    return RegisteredDevice(
        id=str(agent.id),
        user_id=str(agent.id),
        giga_id_school=school.giga_id,
        mac_address=agent.mac_address,
        os=agent.os,
        app_version=agent.app_version,
        created=agent.created_at.isoformat(),
        country_code=iso2_of(school.country_iso3),
        created_at=agent.created_at,
        device_hardware_id=agent.hardware_id,
    )


async def registered_devices(
    db: AsyncSession, principal: Principal, giga_id: str
) -> list[RegisteredDevice]:
    """The start-up re-check: the school's active devices (none: the app forgets its school)."""
    school = await visible_school(db, principal, giga_id)
    if school is None:
        return []
    return [registered_device(agent, school) for agent in await _active_agents_of(db, school)]


async def _active_agents_of(db: AsyncSession, school: School) -> list[Agent]:
    statement = (
        select(Agent)
        .where(Agent.school_id == school.id, Agent.revoked_at.is_(None))
        .order_by(Agent.created_at.desc(), Agent.id)
        .limit(100)
    )
    return list((await db.scalars(statement)).all())


def _country_text(value: str | None) -> str:
    return (value or "").strip().upper()[:8]


async def flag_school(
    db: AsyncSession, principal: Principal, data: FlaggedSchoolIn
) -> FlaggedSchool:
    """One flag per school and pair of countries; a repeated report returns the first."""
    await claim_write_lock(db)
    school = await school_for(db, principal, data.giga_id_school)
    detected, selected = _country_text(data.detected_country), _country_text(data.selected_country)
    existing = await _flag_of(db, school.id, detected, selected)
    if existing is not None:
        return existing
    flag = FlaggedSchool(
        school_id=school.id,
        country_iso3=school.country_iso3,
        detected_country=detected,
        selected_country=selected,
        government_id=data.school_id,
        created=data.created,
    )
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending before it.
        async with db.begin_nested():
            db.add(flag)
            await db.flush()
    except IntegrityError:  # the same report from another request, committed meanwhile
        found = await _flag_of(db, school.id, detected, selected)
        if found is None:
            raise
        return found
    return flag


async def _flag_of(
    db: AsyncSession, school_id: uuid.UUID, detected: str, selected: str
) -> FlaggedSchool | None:
    statement = select(FlaggedSchool).where(
        FlaggedSchool.school_id == school_id,
        FlaggedSchool.detected_country == detected,
        FlaggedSchool.selected_country == selected,
    )
    return (await db.scalars(statement)).first()


async def flagged_schools(
    db: AsyncSession, principal: Principal, page: int, size: int
) -> list[FlaggedSchoolOut]:
    """Upstream's page/size listing, newest first, limited to the caller's countries."""
    statement = select(FlaggedSchool, School.giga_id).join(
        School, School.id == FlaggedSchool.school_id
    )
    if principal.countries is not None:
        statement = statement.where(FlaggedSchool.country_iso3.in_(sorted(principal.countries)))
    statement = (
        statement.order_by(FlaggedSchool.created_at.desc(), FlaggedSchool.id)
        .offset(page * size)
        .limit(size)
    )
    return [
        FlaggedSchoolOut(
            id=str(flag.id),
            detected_country=flag.detected_country,
            selected_country=flag.selected_country,
            school_id=flag.government_id,
            created=flag.created,
            giga_id_school=giga_id,
            created_at=flag.created_at,
        )
        for flag, giga_id in (await db.execute(statement)).all()
    ]


async def flags_for_device(
    db: AsyncSession, principal: Principal, mac_address: str
) -> FeatureFlags | None:
    """v1.0.x asks by its installation id; an unknown device gets none (it keeps its own)."""
    for agent in await _active_agents_named(db, mac_address):
        school = await db.get(School, agent.school_id)
        if school is not None and principal.can_access_country(school.country_iso3):
            return FeatureFlags()
    return None


async def _active_agents_named(db: AsyncSession, device_id: str) -> list[Agent]:
    device_id = device_id.strip()
    if not device_id or len(device_id) > MAX_LOOKUP_LENGTH:
        return []
    statement = select(Agent).where(
        Agent.revoked_at.is_(None),
        (Agent.mac_address == device_id) | (Agent.hardware_id == device_id),
    )
    return list((await db.scalars(statement.order_by(Agent.created_at.desc()))).all())


async def flags_for_school(db: AsyncSession, principal: Principal, giga_id: str) -> FeatureFlags:
    """v2 asks by Giga id. Every school has upstream's defaults (the ping check on)."""
    await school_for(db, principal, giga_id)
    return FeatureFlags()


async def _visible_agents(
    db: AsyncSession, principal: Principal, hardware_id: str, generic_ids: list[str]
) -> list[tuple[Agent, School]]:
    if not hardware_id.strip() or len(hardware_id) > MAX_LOOKUP_LENGTH:
        return []
    if agents.is_generic_hardware_id(hardware_id, generic_ids):
        return []
    found = []
    for agent in await agents.active_agents(db, hardware_id):
        school = await db.get(School, agent.school_id)
        if school is not None and principal.can_access_country(school.country_iso3):
            found.append((agent, school))
    return found


async def existing_installation(
    db: AsyncSession, principal: Principal, hardware_id: str, generic_ids: list[str]
) -> ExistingInstallation:
    """v2, after a reinstall: the registration this machine already has, if any."""
    found = await _visible_agents(db, principal, hardware_id, generic_ids)
    if not found:
        return ExistingInstallation(exists=False)
    agent, school = found[0]
    return ExistingInstallation(
        exists=True,
        user_id=str(agent.id),
        school_id=school.government_id,
        giga_id_school=school.giga_id,
        mac_address=agent.mac_address,
        os=agent.os,
        app_version=agent.app_version,
        country_code=iso2_of(school.country_iso3),
        source="dailycheckapp_school",
        schoolInfo=giga_school(school),
        is_active=True,
    )


async def device_status(
    db: AsyncSession,
    principal: Principal,
    hardware_id: str,
    giga_id: str,
    generic_ids: list[str],
) -> DeviceStatus:
    """v2 start-up: has this device been deactivated? Unknown devices count as active, as
    upstream does for registrations older than hardware ids."""
    if agents.is_generic_hardware_id(hardware_id, generic_ids):
        return DeviceStatus(
            is_active=True, message="Device not found (blocked hardware ID)", exists=False
        )
    school = await visible_school(db, principal, giga_id)
    latest = await _latest_agent(db, school, hardware_id) if school is not None else None
    if latest is None:
        return DeviceStatus(is_active=True, message="Device not found", exists=False)
    if latest.revoked_at is not None:
        return DeviceStatus(is_active=False, message="Device has been deactivated", exists=True)
    return DeviceStatus(is_active=True, message="Device is active", exists=True)


async def _latest_agent(db: AsyncSession, school: School, hardware_id: str) -> Agent | None:
    statement = (
        select(Agent)
        .where(Agent.school_id == school.id, Agent.hardware_id == hardware_id.strip())
        .order_by(Agent.created_at.desc(), Agent.id)
        .limit(1)
    )
    return (await db.scalars(statement)).first()


async def deactivate(
    db: AsyncSession, principal: Principal, hardware_id: str, giga_id: str
) -> list[Agent]:
    """Revokes the school's active agents with this hardware id; the revoked ones."""
    await claim_write_lock(db)
    school = await visible_school(db, principal, giga_id)
    if school is None:
        return []
    revoked = await agents.active_agents(db, hardware_id, school_id=school.id)
    for agent in revoked:
        await agents.revoke_agent(db, agent)
    return revoked


async def _school_named(
    db: AsyncSession, principal: Principal, giga_id: str | None, government_id: str | None
) -> School | None:
    if giga_id and giga_id.strip():
        return await visible_school(db, principal, giga_id)
    wanted = (government_id or "").strip()
    if not wanted:
        return None
    statement = select(School).where(func.lower(School.government_id) == wanted.lower())
    if principal.countries is not None:
        statement = statement.where(School.country_iso3.in_(sorted(principal.countries)))
    return (await db.scalars(statement.order_by(School.id).limit(1))).first()


async def device_school_status(
    db: AsyncSession, principal: Principal, data: DeviceSchoolStatusIn, generic_ids: list[str]
) -> DeviceSchoolStatus:
    """v2's kill switch, as upstream answers it: a school not found (unknown or foreign),
    or a device with no active registration there, is inactive. A generic hardware id
    names no device, so only the school is checked."""
    school = await _school_named(db, principal, data.giga_id_school, data.external_id)
    if school is None:
        return DeviceSchoolStatus(isActive=False, message="School not found")
    hardware_id = (data.device_hardware_id or "").strip()
    if agents.is_generic_hardware_id(hardware_id, generic_ids):
        hardware_id = ""
    if hardware_id:
        found = await agents.active_agents(db, hardware_id, school_id=school.id)
    else:
        found = await _active_agents_of(db, school)
    if hardware_id and not found:
        return DeviceSchoolStatus(isActive=False, message="Device not found")
    return DeviceSchoolStatus(
        isActive=True,
        message="Device is active",
        school=giga_school(school),
        devices=[registered_device(agent, school) for agent in found],
    )


def deactivation_answer(revoked: int) -> Deactivated:
    if revoked:
        return Deactivated(
            deactivated=True, message=f"Successfully deactivated {revoked} device(s)"
        )
    return Deactivated(
        deactivated=False,
        message="No active device found with the provided hardware_id and giga_id_school",
    )


def ip_metadata(ip: str, principal: Principal) -> IpMetadata:
    """No outside look-up: the only country known is the one the caller's credential names
    (a country's deployment key), so that the app preselects it."""
    return IpMetadata(ip=ip[:64], country=single_country_iso2(principal), source="c2r")


def single_country_iso2(principal: Principal) -> str:
    """The country a credential names when it names exactly one (a country's deployment key)."""
    if principal.countries is None or len(principal.countries) != 1:
        return ""
    return iso2_of(next(iter(principal.countries)))
