"""Facts about the generated country reference data (c2r_common.reference)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from c2r_common.reference import (
    Country,
    ItuRegion,
    all_countries,
    country_by_iso2,
    country_by_iso3,
    reference_source,
)

# The UN M49 overview the reference data is built from, kept in the repository.
M49_CSV = Path(__file__).parents[1] / "reference-source" / "unsd-m49-overview.csv"


def _country(iso3: str) -> Country:
    country = country_by_iso3(iso3)
    assert country is not None, iso3
    return country


def _csv_rows() -> list[dict[str, str]]:
    with M49_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_rwanda_is_african_ldc_and_landlocked() -> None:
    rwanda = _country("RWA")
    assert rwanda.itu_region is ItuRegion.AFRICA
    assert rwanda.ldc
    assert rwanda.lldc
    assert rwanda.iso2 == "RW"
    assert rwanda.m49 == 646


def test_mauritania_is_arab_state_and_ldc() -> None:
    mauritania = _country("MRT")
    assert mauritania.itu_region is ItuRegion.ARAB_STATES
    assert mauritania.ldc
    # M49 keeps it in Africa; only the ITU-D region differs.
    assert mauritania.m49_region == "Africa"


@pytest.mark.parametrize(
    ("iso3", "region"),
    [
        ("ZWE", ItuRegion.AFRICA),
        ("DZA", ItuRegion.ARAB_STATES),
        ("RUS", ItuRegion.CIS),
        ("FRA", ItuRegion.EUROPE),
        ("TUR", ItuRegion.EUROPE),
        ("BRA", ItuRegion.AMERICAS),
        ("FJI", ItuRegion.ASIA_PACIFIC),
    ],
)
def test_itu_region(iso3: str, region: ItuRegion) -> None:
    assert _country(iso3).itu_region is region


def test_fiji_is_sids() -> None:
    assert _country("FJI").sids


def test_every_country_has_an_itu_region() -> None:
    assert all(isinstance(country.itu_region, ItuRegion) for country in all_countries())


def test_iso2_lookup() -> None:
    assert _country("RWA") == country_by_iso2("RW")
    assert country_by_iso2("rw") == country_by_iso2("RW")
    assert country_by_iso2("ZZ") is None


def test_iso3_lookup_is_case_insensitive() -> None:
    assert country_by_iso3("rwa") == country_by_iso3("RWA")
    assert country_by_iso3("XXX") is None


def test_exactly_22_arab_states() -> None:
    arab_states = [c for c in all_countries() if c.itu_region is ItuRegion.ARAB_STATES]
    assert len(arab_states) == 22


def test_codes_are_unique() -> None:
    countries = all_countries()
    for codes in (
        [c.iso3 for c in countries],
        [c.iso2 for c in countries if c.iso2 is not None],
        [c.m49 for c in countries],
    ):
        duplicates = [code for code, n in Counter(codes).items() if n > 1]
        assert duplicates == []


def test_countries_are_sorted_by_iso3() -> None:
    iso3s = [country.iso3 for country in all_countries()]
    assert iso3s == sorted(iso3s)


def test_count_matches_csv_rows_with_alpha3() -> None:
    rows_with_alpha3 = [row for row in _csv_rows() if row["ISO-alpha3 Code"]]
    # Antarctica has an alpha-3 code but no M49 region (hence no ITU-D region): it is the one
    # alpha-3 row the build skips on purpose.
    without_region = [r["ISO-alpha3 Code"] for r in rows_with_alpha3 if not r["Region Name"]]
    assert without_region == ["ATA"]
    assert country_by_iso3("ATA") is None
    assert len(all_countries()) == len(rows_with_alpha3) - len(without_region)


def test_reference_source() -> None:
    source = reference_source()
    assert source["file"] == "unsd-m49-overview.csv"
    assert source["alpha2_source"].startswith("pycountry ")
    assert source["itu_regions_source"] == "itu_regions.json"
