"""Data of the embedded default: the reference data every deployment needs, then examples.

Idempotent: each part checks whether its data is already there, so a second run adds
nothing.
"""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.beneficiaries import service as beneficiaries
from assessment_api.examples import seed_examples
from assessment_api.methodology import service as methodologies
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.methodology.models import Methodology
from assessment_api.partners import service as partners
from assessment_api.partners.defaults import PARTNERS
from assessment_api.partners.models import Partner
from c2r_common.db import Database

SEED_ACTOR = "seed"


async def seed_reference(db: AsyncSession) -> None:
    """The default methodology v1, the C2R beneficiary list and the partners."""
    if not await db.scalar(select(func.count()).select_from(Methodology)):
        await methodologies.publish(db, DEFAULT_METHODOLOGY, by=SEED_ACTOR)
    await beneficiaries.seed_defaults(db, SEED_ACTOR)
    if not await db.scalar(select(func.count()).select_from(Partner)):
        for partner in PARTNERS:
            await partners.create_partner(db, partner)


async def seed(database: Database) -> None:
    async with database.sessionmaker() as db:
        await seed_reference(db)
        await seed_examples(db)
        await db.commit()
