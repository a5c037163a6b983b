"""Countries come from the reference data shipped in c2r_common; only the C2R beneficiary
list is this service's own data."""

from assessment_api.countries.schemas import CountryFilters, CountryOut
from c2r_common.pagination import PageParams, decode_cursor, encode_cursor
from c2r_common.reference import Country, all_countries


def _matches(country: Country, filters: CountryFilters, beneficiaries: frozenset[str]) -> bool:
    reference_filters = filters.model_dump(exclude={"c2r_beneficiary"})
    if filters.c2r_beneficiary is not None and filters.c2r_beneficiary != (
        country.iso3 in beneficiaries
    ):
        return False
    return all(
        wanted is None or getattr(country, name) == wanted
        for name, wanted in reference_filters.items()
    )


def to_out(country: Country, beneficiaries: frozenset[str]) -> CountryOut:
    return CountryOut.model_validate(
        country.model_dump() | {"c2r_beneficiary": country.iso3 in beneficiaries}
    )


def list_countries(
    filters: CountryFilters, page: PageParams, beneficiaries: frozenset[str]
) -> tuple[list[Country], str | None]:
    """Countries matching `filters` in ISO alpha-3 order, one page after the cursor."""
    after = decode_cursor(page.cursor, 1, types=(str,))[0] if page.cursor else ""
    matching = [
        c for c in all_countries() if c.iso3 > after and _matches(c, filters, beneficiaries)
    ]
    items = matching[: page.limit]
    next_cursor = encode_cursor([items[-1].iso3]) if len(matching) > page.limit else None
    return items, next_cursor
