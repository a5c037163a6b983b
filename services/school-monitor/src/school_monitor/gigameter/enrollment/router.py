"""The Giga Meter agent's calls before and around its measurements, at upstream's paths
(`/api/v1/...`), with upstream's envelope and the fields the app's code reads."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from school_monitor.agents.auth import forget_revoked_agent
from school_monitor.gigameter.credentials import GigaReader, GigaRegistrar
from school_monitor.gigameter.enrollment import service
from school_monitor.gigameter.enrollment.schemas import (
    DataFixAnswer,
    Deactivated,
    DeactivateIn,
    DeviceRegistrationIn,
    DeviceSchoolStatus,
    DeviceSchoolStatusIn,
    DeviceStatus,
    Envelope,
    ExistingInstallation,
    FeatureFlags,
    FlaggedSchoolIn,
    FlaggedSchoolOut,
    GeolocateAnswer,
    GeolocateIn,
    GigaCountry,
    GigaSchool,
    IpMetadata,
    ProtocolConfig,
    RecordId,
    RegisteredDevice,
    UserId,
)
from school_monitor.measurements.dependencies import SettingsDep

router = APIRouter(prefix="/api/v1", tags=["giga-meter"], responses=problem_responses(401, 403))
DEVICES = "/dailycheckapp_schools"


@router.get(
    "/dailycheckapp_countries/{code}",
    response_model=Envelope[list[GigaCountry]],
    summary="Country check: the country of this ISO alpha-2 code, if the agent may enrol there",
    description="An empty list for a country without schools, unknown, or outside the "
    "caller's countries (the app then says its country is not supported).",
)
async def country_by_code(
    code: str, principal: GigaReader, db: SessionDep
) -> Envelope[list[GigaCountry]]:
    return Envelope(data=await service.countries_by_code(db, principal, code))


@router.get(
    "/schools/country_code_school_id/{country_code}/{school_id}",
    response_model=Envelope[list[GigaSchool]],
    summary="School search: the schools of a country (ISO alpha-2) with this government id",
    description="An empty list when there is none the caller may see.",
)
async def schools_by_government_id(
    country_code: str, school_id: str, principal: GigaReader, db: SessionDep
) -> Envelope[list[GigaSchool]]:
    found = await service.schools_by_government_id(db, principal, country_code, school_id)
    return Envelope(data=found, message="")


@router.get(
    "/schools/features_flags/{giga_id_school}",
    response_model=Envelope[FeatureFlags],
    summary="Feature flags of a school (the v2 app's form)",
    responses=problem_responses(404),
)
async def flags_by_giga_id(
    giga_id_school: str, principal: GigaReader, db: SessionDep
) -> Envelope[FeatureFlags]:
    return Envelope(data=await service.flags_for_school(db, principal, giga_id_school))


@router.get(
    f"{DEVICES}/features_flags",
    response_model=Envelope[FeatureFlags | list[FeatureFlags]],
    summary="Feature flags of the school of a device (the v1.0.x app's form)",
    description="An empty list for a device not registered here: the app keeps its flags.",
)
async def flags_by_device(
    principal: GigaReader,
    db: SessionDep,
    mac_address: Annotated[str, Query(max_length=200)] = "",
) -> Envelope[FeatureFlags | list[FeatureFlags]]:
    flags = await service.flags_for_device(db, principal, mac_address)
    return Envelope(data=flags if flags is not None else [])


@router.get(
    f"{DEVICES}/checkExistingInstallation/{{device_hardware_id}}",
    response_model=Envelope[ExistingInstallation],
    summary="v2: the registration a machine already has, found by its hardware id",
)
async def existing_installation(
    device_hardware_id: str, principal: GigaReader, db: SessionDep, settings: SettingsDep
) -> Envelope[ExistingInstallation]:
    found = await service.existing_installation(
        db, principal, device_hardware_id, settings.extra_generic_hardware_ids
    )
    return Envelope(data=found)


@router.get(
    f"{DEVICES}/checkDeviceStatus/{{device_hardware_id}}/{{giga_id_school}}",
    response_model=Envelope[DeviceStatus],
    summary="v2 start-up: whether the device has been deactivated",
)
async def device_status(
    device_hardware_id: str,
    giga_id_school: str,
    principal: GigaReader,
    db: SessionDep,
    settings: SettingsDep,
) -> Envelope[DeviceStatus]:
    status = await service.device_status(
        db, principal, device_hardware_id, giga_id_school, settings.extra_generic_hardware_ids
    )
    return Envelope(data=status, message=status.message)


@router.post(
    f"{DEVICES}/check-device-school-status",
    response_model=Envelope[DeviceSchoolStatus],
    status_code=201,  # upstream's, NestJS's default for a POST
    summary="v2 kill switch: whether the school and the device are still active",
    description="`isActive: false` (school unknown or foreign, device not registered there) "
    "makes the app wipe its storage, as upstream answers; `success` is `isActive`.",
    responses=problem_responses(422),
)
async def device_school_status(
    data: DeviceSchoolStatusIn, principal: GigaReader, db: SessionDep, settings: SettingsDep
) -> Envelope[DeviceSchoolStatus]:
    status = await service.device_school_status(
        db, principal, data, settings.extra_generic_hardware_ids
    )
    return Envelope(success=status.isActive, data=status, message=status.message)


@router.get(
    "/protocol-config/resolve",
    response_model=Envelope[ProtocolConfig],
    summary="v2: the speed test to run (M-Lab's ndt7, the only one this service takes)",
)
async def protocol_config(
    principal: GigaReader,
    giga_id_school: Annotated[str | None, Query(alias="gigaIdSchool", max_length=64)] = None,
    country_code: Annotated[str | None, Query(alias="countryCode", max_length=8)] = None,
) -> Envelope[ProtocolConfig]:
    # The app sends its school and country; every school and country has the default.
    return Envelope(data=ProtocolConfig())


@router.put(
    f"{DEVICES}/deactivate",
    response_model=Envelope[Deactivated],
    summary="v2 log-out: deactivate the device (its agent is revoked)",
    responses=problem_responses(422),
)
async def deactivate_device(
    data: DeactivateIn, principal: GigaRegistrar, db: SessionDep, request: Request
) -> Envelope[Deactivated]:
    revoked = await service.deactivate(db, principal, data.device_hardware_id, data.giga_id_school)
    for agent in revoked:
        forget_revoked_agent(request, db, agent.id)
    answer = service.deactivation_answer(len(revoked))
    return Envelope(data=answer, message=answer.message)


@router.get(
    f"{DEVICES}/{{giga_id_school}}",
    response_model=Envelope[list[RegisteredDevice]],
    summary="Start-up re-check: the devices registered for a school",
    description="An empty list makes the app forget its school: a registered device always "
    "finds its record here; an unknown or foreign Giga id gets an empty list.",
)
async def registered_devices(
    giga_id_school: str, principal: GigaReader, db: SessionDep
) -> Envelope[list[RegisteredDevice]]:
    return Envelope(data=await service.registered_devices(db, principal, giga_id_school))


@router.post(
    DEVICES,
    response_model=Envelope[UserId],
    status_code=201,
    summary="Device registration: our agent record bound to the school; data.user_id is its id",
    description="A device registering again (same school, same hardware id) gets its "
    "record back (200) instead of a second one. Generic hardware ids are refused.",
    responses={200: {"model": Envelope[UserId]}, **problem_responses(404, 422)},
)
async def register_device(
    data: DeviceRegistrationIn,
    principal: GigaRegistrar,
    db: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> Envelope[UserId]:
    agent, created = await service.register_device(
        db, principal, data, settings.extra_generic_hardware_ids
    )
    if not created:
        response.status_code = 200
    return Envelope(data=UserId(user_id=str(agent.id)))


@router.post(
    "/flagged_dailycheckapp_schools",
    response_model=Envelope[RecordId],
    status_code=201,
    summary="Flag a school chosen in another country than the one the device is in",
    responses=problem_responses(404, 422),
)
async def flag_school(
    data: FlaggedSchoolIn, principal: GigaRegistrar, db: SessionDep
) -> Envelope[RecordId]:
    flag = await service.flag_school(db, principal, data)
    return Envelope(data=RecordId(id=str(flag.id)))


@router.get(
    "/flagged_dailycheckapp_schools",
    response_model=Envelope[list[FlaggedSchoolOut]],
    summary="Flagged schools of the caller's countries, newest first",
    responses=problem_responses(422),
)
async def flagged_schools(
    principal: GigaReader,
    db: SessionDep,
    page: Annotated[int, Query(ge=0, le=100_000)] = 0,
    size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Envelope[list[FlaggedSchoolOut]]:
    return Envelope(data=await service.flagged_schools(db, principal, page, size))


@router.get(
    "/dailycheckapp_data_fix",
    response_model=DataFixAnswer,
    summary="Deprecated upstream: always an empty list",
)
async def data_fixes(principal: GigaReader) -> DataFixAnswer:
    return DataFixAnswer()


@router.get(
    "/dailycheckapp_data_fix/{giga_id}",
    response_model=DataFixAnswer,
    summary="Deprecated upstream: always an empty list (the Giga id is right)",
)
async def data_fix(giga_id: str, principal: GigaReader) -> DataFixAnswer:
    return DataFixAnswer()


def caller_ip(request: Request) -> str:
    """The client's address as the gateway saw it (the first X-Forwarded-For hop)."""
    forwarded = request.headers.get("x-forwarded-for", "")
    first = forwarded.split(",")[0].strip()
    if first:
        return first
    return request.headers.get("x-real-ip", "") or (request.client.host if request.client else "")


@router.get(
    "/ip-metadata",
    response_model=IpMetadata,
    summary="The caller's address, and its country when its credential names one",
)
async def own_ip_metadata(request: Request, principal: GigaReader) -> IpMetadata:
    return service.ip_metadata(caller_ip(request), principal)


@router.get(
    "/ip-metadata/{ip}",
    response_model=IpMetadata,
    summary="This address, and the country the caller's credential names, if one",
)
async def ip_metadata(ip: str, principal: GigaReader) -> IpMetadata:
    return service.ip_metadata(ip, principal)


@router.post(
    "/geolocation/geolocate",
    response_model=GeolocateAnswer,
    status_code=201,  # upstream's, NestJS's default for a POST
    summary="Geolocation from Wi-Fi access points: none is known here (no outside service)",
    responses=problem_responses(422),
)
async def geolocate(data: GeolocateIn, principal: GigaReader) -> GeolocateAnswer:
    return GeolocateAnswer()
