from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.methodology.models import Methodology
from assessment_api.methodology.schemas import (
    MethodologyDefinition,
    MethodologyOut,
    MethodologySummary,
)
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, NotFound


def definition_of(methodology: Methodology) -> MethodologyDefinition:
    return MethodologyDefinition.model_validate(methodology.definition)


def to_summary(methodology: Methodology) -> MethodologySummary:
    return MethodologySummary(
        version=methodology.version,
        name=methodology.name,
        published_at=methodology.published_at,
        published_by=methodology.published_by,
        indicator_count=len(definition_of(methodology).indicators()),
    )


def to_out(methodology: Methodology) -> MethodologyOut:
    summary = to_summary(methodology)
    return MethodologyOut(**summary.model_dump(), definition=definition_of(methodology))


async def publish(db: AsyncSession, definition: MethodologyDefinition, by: str) -> Methodology:
    """Stores `definition` as the next version."""
    latest = await db.scalar(select(func.max(Methodology.version)))
    methodology = Methodology(
        version=(latest or 0) + 1,
        name=definition.name,
        definition=definition.model_dump(mode="json"),
        published_by=by,
    )
    try:
        async with db.begin_nested():
            db.add(methodology)
    except IntegrityError:
        raise Conflict("Another version was published at the same time; retry.") from None
    return methodology


async def get_version(db: AsyncSession, version: int) -> Methodology:
    methodology = await db.get(Methodology, version)
    if methodology is None:
        raise NotFound(f"No methodology version {version}.")
    return methodology


async def latest(db: AsyncSession) -> Methodology:
    methodology = await db.scalar(select(Methodology).order_by(Methodology.version.desc()).limit(1))
    if methodology is None:
        raise Conflict("No methodology has been published yet.")
    return methodology


async def list_versions(db: AsyncSession, page: PageParams) -> tuple[list[Methodology], str | None]:
    return await paginate(db, select(Methodology), (Methodology.version,), page)
