"""Build c2r_common's country reference data from the UN M49 overview CSV.

Writes shared/src/c2r_common/reference/countries.json. The ITU-D region of each country
comes from the rules in itu_regions.json (kept as data next to the output so reviewers can
audit every membership list and override together with its source).

Build-time only: needs `pycountry` (`pip install pycountry`) because the M49 CSV carries no
ISO alpha-2 codes. The runtime package never imports pycountry.

Usage (from the repo root):
    python shared/scripts/build_reference.py [CSV_PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pycountry

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT / "shared" / "src" / "c2r_common" / "reference"
# The CSV lives beside the repo (not inside it), so the default is relative to the repo root
# rather than to the current directory.
DEFAULT_CSV = REPO_ROOT / "shared" / "reference-source" / "unsd-m49-overview.csv"
DEFAULT_OUTPUT = REFERENCE_DIR / "countries.json"
ITU_REGIONS_FILE = REFERENCE_DIR / "itu_regions.json"

COL_NAME = "Country or Area"
COL_M49 = "M49 Code"
COL_ISO3 = "ISO-alpha3 Code"
COL_REGION = "Region Name"
COL_SUBREGION = "Sub-region Name"
COL_LDC = "Least Developed Countries (LDC)"
COL_LLDC = "Land Locked Developing Countries (LLDC)"
COL_SIDS = "Small Island Developing States (SIDS)"
COL_DEVELOPMENT = "Developed / Developing Countries"

# Only these values occur in the UNSD file; anything else means the format changed and the
# build must stop instead of silently mapping it to False.
FLAG_VALUES = {"x": True, "": False}
DEVELOPMENT_VALUES = {"Developing": True, "Developed": False}


class ReferenceDataError(Exception):
    """The inputs are inconsistent; the JSON must not be written."""


@dataclass(frozen=True)
class ItuRules:
    """The parsed contents of itu_regions.json."""

    explicit: dict[str, str]  # iso3 -> ITU-D region, from membership lists and overrides
    by_m49_region: dict[str, str]  # M49 region name -> ITU-D region
    alpha2_overrides: dict[str, str | None]  # iso3 -> alpha-2 where pycountry has none


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_region(region: str, regions: set[str], where: str) -> None:
    if region not in regions:
        raise ReferenceDataError(f"{where}: unknown ITU-D region {region!r}")


def _assign(explicit: dict[str, str], iso3: str, region: str, where: str) -> None:
    # A code listed twice would make the result depend on list order; refuse instead.
    if iso3 in explicit:
        raise ReferenceDataError(f"{where}: {iso3} already assigned to {explicit[iso3]!r}")
    explicit[iso3] = region


def explicit_assignments(data: dict[str, Any]) -> dict[str, str]:
    regions = set(data["regions"])
    explicit: dict[str, str] = {}
    for membership in data["memberships"]:
        region = membership["itu_region"]
        _check_region(region, regions, "memberships")
        for iso3 in membership["members"]:
            _assign(explicit, iso3, region, f"memberships[{region}]")
    for override in data["overrides"]:
        _check_region(override["itu_region"], regions, "overrides")
        _assign(explicit, override["iso3"], override["itu_region"], "overrides")
    return explicit


def load_itu_rules(path: Path) -> ItuRules:
    data = load_json(path)
    by_m49_region: dict[str, str] = data["m49_rule"]["by_m49_region"]
    for region in by_m49_region.values():
        _check_region(region, set(data["regions"]), "m49_rule")
    return ItuRules(
        explicit=explicit_assignments(data),
        by_m49_region=by_m49_region,
        alpha2_overrides=data["alpha2_overrides"]["codes"],
    )


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    # utf-8-sig strips the BOM, which would otherwise end up in the first column name.
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def skip_reason(row: dict[str, str]) -> str | None:
    """Why a row cannot become a country entry, or None if it can."""
    if not row[COL_ISO3]:
        return "no ISO alpha-3 code"
    # Without an M49 region there is no ITU-D region and no development status (Antarctica).
    if not row[COL_REGION]:
        return "no M49 region"
    return None


def parse_choice(row: dict[str, str], column: str, choices: dict[str, bool]) -> bool:
    value = row[column].strip()
    if value not in choices:
        raise ReferenceDataError(f"{row[COL_ISO3]}: unexpected {column!r} value {value!r}")
    return choices[value]


def alpha2_for(iso3: str, overrides: dict[str, str | None]) -> str | None:
    if iso3 in overrides:
        return overrides[iso3]
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        # Forcing an explicit override (even a null one) keeps every gap a reviewed decision.
        raise ReferenceDataError(
            f"{iso3}: pycountry has no alpha-2 code; add it (or null) to alpha2_overrides"
        )
    return str(country.alpha_2)


def itu_region_for(iso3: str, m49_region: str, rules: ItuRules) -> str:
    # Explicit lists and overrides take precedence over the M49 rule.
    if iso3 in rules.explicit:
        return rules.explicit[iso3]
    if m49_region not in rules.by_m49_region:
        raise ReferenceDataError(f"{iso3}: M49 region {m49_region!r} has no ITU-D rule")
    return rules.by_m49_region[m49_region]


def build_country(row: dict[str, str], rules: ItuRules) -> dict[str, Any]:
    iso3 = row[COL_ISO3].strip().upper()
    return {
        "iso3": iso3,
        "iso2": alpha2_for(iso3, rules.alpha2_overrides),
        "m49": int(row[COL_M49]),
        "name": row[COL_NAME].strip(),
        "m49_region": row[COL_REGION].strip(),
        "m49_subregion": row[COL_SUBREGION].strip(),
        "itu_region": itu_region_for(iso3, row[COL_REGION].strip(), rules),
        "ldc": parse_choice(row, COL_LDC, FLAG_VALUES),
        "lldc": parse_choice(row, COL_LLDC, FLAG_VALUES),
        "sids": parse_choice(row, COL_SIDS, FLAG_VALUES),
        "developing": parse_choice(row, COL_DEVELOPMENT, DEVELOPMENT_VALUES),
    }


def check_consistency(countries: list[dict[str, Any]], rules: ItuRules) -> None:
    """Catch stale rules and duplicate codes before anything is written."""
    iso3s = {country["iso3"] for country in countries}
    unknown = sorted(set(rules.explicit) - iso3s)
    if unknown:
        raise ReferenceDataError(f"itu_regions.json lists codes not in the CSV: {unknown}")
    for field in ("iso3", "iso2", "m49"):
        counts = Counter(c[field] for c in countries if c[field] is not None)
        duplicates = sorted(str(value) for value, n in counts.items() if n > 1)
        if duplicates:
            raise ReferenceDataError(f"duplicate {field} values: {duplicates}")


def build_document(csv_path: Path, countries: list[dict[str, Any]]) -> dict[str, Any]:
    # The file's mtime is the best record of when the UNSD download happened.
    retrieved = date.fromtimestamp(csv_path.stat().st_mtime).isoformat()
    return {
        "source": {
            "name": "UN M49 Standard country or area codes (overview)",
            "file": csv_path.name,
            "retrieved": retrieved,
            "alpha2_source": f"pycountry {version('pycountry')}",
            "itu_regions_source": ITU_REGIONS_FILE.name,
        },
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "countries": sorted(countries, key=lambda country: country["iso3"]),
    }


def convert(rows: list[dict[str, str]], rules: ItuRules) -> list[dict[str, Any]]:
    countries: list[dict[str, Any]] = []
    for row in rows:
        reason = skip_reason(row)
        if reason is None:
            countries.append(build_country(row, rules))
        else:
            print(f"skipped: {row[COL_NAME]} (M49 {row[COL_M49]}): {reason}")
    return countries


def report(countries: list[dict[str, Any]], output: Path) -> None:
    without_iso2 = sorted(c["iso3"] for c in countries if c["iso2"] is None)
    print(f"without alpha-2: {', '.join(without_iso2) or 'none'}")
    for region, count in sorted(Counter(c["itu_region"] for c in countries).items()):
        print(f"  {region}: {count}")
    print(f"wrote {len(countries)} countries to {output}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_path", nargs="?", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    csv_path: Path = args.csv_path.resolve()
    try:
        rules = load_itu_rules(ITU_REGIONS_FILE)
        countries = convert(read_rows(csv_path), rules)
        check_consistency(countries, rules)
    except ReferenceDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    document = build_document(csv_path, countries)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    args.output.write_text(text, encoding="utf-8")
    report(countries, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
