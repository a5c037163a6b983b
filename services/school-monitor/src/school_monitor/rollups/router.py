from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep, utcnow
from c2r_common.errors import problem_responses
from c2r_common.problems import NotFound, require_country, require_visible_country
from c2r_common.reference import ItuRegion, all_countries
from c2r_common.schemas import CountryConnectivitySummary
from school_monitor.integrity.rebuild import rebuild
from school_monitor.integrity.schemas import RebuildOut, VerifyOut
from school_monitor.integrity.verify import verify
from school_monitor.measurements.dependencies import SettingsDep
from school_monitor.rollups import queries
from school_monitor.rollups.dependencies import DayRange
from school_monitor.rollups.schemas import CountryDailyOut, RegionConnectivitySummary

router = APIRouter(
    prefix="/v1/connectivity", tags=["connectivity"], responses=problem_responses(401, 403)
)
Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]
Admin = Annotated[Principal, Depends(require_scopes(Scope.ADMIN))]
REGION_SLUGS = {
    region.value.lower().replace(" & ", "-").replace(" ", "-"): region for region in ItuRegion
}


async def known_country(iso3: Annotated[str, Path(pattern="^[A-Za-z]{3}$")]) -> str:
    return require_country(iso3).iso3


Country = Annotated[str, Depends(known_country)]


@router.get(
    "/countries/{iso3}",
    response_model=CountryConnectivitySummary,
    summary="How connected a country's schools are, from the maintained counters",
    responses=problem_responses(404, 422),
)
async def country_summary(
    principal: Reader, iso3: Country, db: SessionDep, settings: SettingsDep, request: Request
) -> CountryConnectivitySummary:
    require_visible_country(principal, iso3)
    cache: queries.ScanCache = request.app.state.summary_scan_cache
    return await queries.country_summary(db, iso3, settings.benchmark_for(iso3), utcnow(), cache)


@router.get(
    "/countries/{iso3}/daily",
    response_model=list[CountryDailyOut],
    summary="A country's daily series, rolled up from its schools' days",
    responses=problem_responses(404, 422),
)
async def country_daily(
    principal: Reader, iso3: Country, days: DayRange, db: SessionDep
) -> list[CountryDailyOut]:
    require_visible_country(principal, iso3)
    return await queries.country_daily(db, iso3, *days)


@router.get(
    "/regions/{region}",
    response_model=RegionConnectivitySummary,
    summary="Schools by status across the countries of an ITU-D region",
    responses=problem_responses(404),
)
async def region_summary(
    principal: Reader, region: str, db: SessionDep
) -> RegionConnectivitySummary:
    itu_region = REGION_SLUGS.get(region.lower())
    if itu_region is None:
        raise NotFound(f"No ITU-D region {region!r}; one of {', '.join(REGION_SLUGS)}.")
    iso3s = [
        c.iso3
        for c in all_countries()
        if c.itu_region is itu_region and principal.can_access_country(c.iso3)
    ]
    return await queries.region_summary(db, itu_region.value, iso3s, utcnow())


async def optional_country(
    country: Annotated[
        str | None, Query(pattern="^[A-Za-z]{3}$", description="ISO alpha-3; all if absent")
    ] = None,
) -> str | None:
    return None if country is None else await known_country(country)


OptionalCountry = Annotated[str | None, Depends(optional_country)]
# A report, not a collection to page through: the totals are always given, the values
# themselves up to `limit` (all of them through `school-monitor rollups verify`).
ListedValues = Annotated[int, Query(ge=1, le=1000, description="values listed at most")]


@router.get(
    "/rollups/verify",
    response_model=VerifyOut,
    summary="Every derived figure recomputed from the raw rows, and each one that differs",
    responses=problem_responses(404, 422, 503),
)
async def verify_rollups(
    _admin: Admin,
    country: OptionalCountry,
    db: SessionDep,
    settings: SettingsDep,
    limit: ListedValues = 100,
) -> VerifyOut:
    return VerifyOut.of(country, await verify(db, settings, country), limit)


@router.post(
    "/rollups/rebuild",
    response_model=RebuildOut,
    summary="Repair of every derived figure from the raw rows, while ingestion goes on",
    responses=problem_responses(404, 422, 503),
)
async def rebuild_rollups(
    _admin: Admin,
    country: OptionalCountry,
    db: SessionDep,
    settings: SettingsDep,
    limit: ListedValues = 100,
) -> RebuildOut:
    return RebuildOut.of(country, await rebuild(db, settings, country), limit)
