"""`school-monitor rollups verify|rebuild [--country ISO3]` on the configured database."""

import argparse
import asyncio
import sys

from c2r_common.db import Database
from school_monitor.config import SchoolMonitorSettings, get_settings
from school_monitor.integrity.figures import Difference
from school_monitor.integrity.rebuild import rebuild
from school_monitor.integrity.verify import verify

EXIT_DIFFERENCES = 1  # verify found derived values that differ from the raw rows


def rollups_command(argv: list[str], prog: str = "school-monitor rollups") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check the derived figures (daily rollups, country counters, school "
        "status) against the raw measurements and pings, or repair them.",
    )
    parser.add_argument("action", choices=["verify", "rebuild"])
    parser.add_argument("--country", help="ISO alpha-3: only this country's schools and rows")
    args = parser.parse_args(argv)
    country = args.country.upper() if args.country else None
    return asyncio.run(_run(args.action, get_settings(), country))


async def _run(action: str, settings: SchoolMonitorSettings, country: str | None) -> int:
    database = Database(settings.database_url)
    try:
        async with database.sessionmaker() as session:
            if action == "verify":
                return _print_verified(await verify(session, settings, country))
            report = await rebuild(session, settings, country)
    finally:
        await database.dispose()
    for change in report.changes:
        print(f"repaired {change}")
    print(f"{report.schools} schools recomputed, {len(report.changes)} values repaired")
    return 0


def _print_verified(differences: list[Difference]) -> int:
    for difference in differences:
        print(difference)
    if differences:
        print(f"{len(differences)} differences", file=sys.stderr)
        return EXIT_DIFFERENCES
    print("every derived value matches the raw rows")
    return 0
