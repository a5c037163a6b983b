"""Partners of C2R, their contributions and the totals by partner and by region."""

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.partners.models import Contribution, Partner
from assessment_api.partners.schemas import (
    ContributionFilters,
    ContributionIn,
    ContributionOut,
    ContributionTotal,
    ContributionTotals,
    PartnerFilters,
    PartnerIn,
    PartnerUpdate,
    TotalsBy,
)
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, InvalidField, NotFound

MINOR_UNITS = 100
CENT = Decimal("0.01")
UNSPECIFIED_REGION = "unspecified"


def _amount(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_UNITS).quantize(CENT)


async def create_partner(db: AsyncSession, data: PartnerIn) -> Partner:
    partner = Partner(**data.model_dump())
    try:
        async with db.begin_nested():
            db.add(partner)
    except IntegrityError:
        raise Conflict(f"A partner named {data.name!r} already exists.") from None
    return partner


async def get_partner(db: AsyncSession, partner_id: uuid.UUID) -> Partner:
    partner = await db.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    return partner


async def update_partner(db: AsyncSession, partner: Partner, data: PartnerUpdate) -> Partner:
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(partner, name, value)
    await db.flush()
    return partner


async def list_partners(
    db: AsyncSession, filters: PartnerFilters, page: PageParams
) -> tuple[list[Partner], str | None]:
    statement = select(Partner)
    if filters.steering_committee is not None:
        statement = statement.where(Partner.steering_committee == filters.steering_committee)
    if filters.founding is not None:
        statement = statement.where(Partner.founding == filters.founding)
    return await paginate(db, statement, (Partner.name, Partner.id), page)


def to_out(contribution: Contribution) -> ContributionOut:
    return ContributionOut(
        id=contribution.id,
        partner_id=contribution.partner_id,
        partner_name=contribution.partner.name,
        amount=_amount(contribution.amount_minor),
        currency=contribution.currency,
        contributed_on=contribution.contributed_on,
        focus_region=contribution.focus_region,
        countries=contribution.countries,
        phases=contribution.phases,
        description=contribution.description,
        illustrative=contribution.illustrative,
        created_by=contribution.created_by,
        created_at=contribution.created_at,
    )


async def create_contribution(db: AsyncSession, data: ContributionIn, actor: str) -> Contribution:
    if await db.get(Partner, data.partner_id) is None:
        raise InvalidField(
            "body.partner_id",
            "unknown partner",
            f"No partner {data.partner_id}.",
        )
    contribution = Contribution(
        **data.model_dump(exclude={"amount"}),
        amount_minor=int(data.amount * MINOR_UNITS),
        created_by=actor,
    )
    db.add(contribution)
    await db.flush()
    await db.refresh(contribution, ["partner"])
    return contribution


async def list_contributions(
    db: AsyncSession, filters: ContributionFilters, page: PageParams
) -> tuple[list[Contribution], str | None]:
    statement = select(Contribution)
    if filters.partner_id is not None:
        statement = statement.where(Contribution.partner_id == filters.partner_id)
    if filters.focus_region is not None:
        statement = statement.where(Contribution.focus_region == filters.focus_region)
    if filters.country_iso3 is not None:
        # Country lists are JSON arrays of quoted ISO codes: the same text match works on
        # both databases.
        quoted = f'"{filters.country_iso3.upper()}"'
        statement = statement.where(Contribution.countries.cast(String).contains(quoted))
    order = (Contribution.contributed_on, Contribution.id)
    return await paginate(db, statement, order, page)


async def contributions_to_country(db: AsyncSession, iso3: str) -> list[Contribution]:
    rows = await db.scalars(
        select(Contribution).order_by(Contribution.contributed_on, Contribution.id)
    )
    return [c for c in rows if iso3 in c.countries]


def _key_and_label(contribution: Contribution, by: TotalsBy) -> tuple[str, str]:
    if by is TotalsBy.PARTNER:
        return str(contribution.partner_id), contribution.partner.name
    region = contribution.focus_region or UNSPECIFIED_REGION
    return region, region


async def totals(db: AsyncSession, by: TotalsBy) -> ContributionTotals:
    """Sums per key and currency: amounts in different currencies are never added up."""
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for contribution in await db.scalars(select(Contribution)):
        key, label = _key_and_label(contribution, by)
        entry = sums[(key, label, contribution.currency)]
        entry[0] += contribution.amount_minor
        entry[1] += 1
    rows = [
        ContributionTotal(
            key=key,
            label=label,
            currency=currency,
            total=_amount(amount),
            contributions=count,
        )
        for (key, label, currency), (amount, count) in sums.items()
    ]
    rows.sort(key=lambda row: (row.label, row.currency))
    return ContributionTotals(by=by, totals=rows)
