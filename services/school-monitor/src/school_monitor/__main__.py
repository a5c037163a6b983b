"""`school-monitor serve|migrate|seed` (shared) and `school-monitor import-schools FILE`."""

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from c2r_common.auth import Principal, Scope
from c2r_common.cli import run_service_cli
from c2r_common.db import Database
from c2r_common.settings import ServiceSettings
from school_monitor.app import ALEMBIC_INI, SERVICE_NAME, create_app
from school_monitor.config import get_settings
from school_monitor.schools.csv_import import import_schools
from school_monitor.seed import seed

OPERATOR = Principal(subject="cli:import-schools", scopes=frozenset({Scope.ADMIN.value}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "import-schools":
        sys.exit(import_schools_command(sys.argv[2:]))
    app_factory = cast(Callable[[ServiceSettings], FastAPI], create_app)
    run_service_cli(
        SERVICE_NAME, get_settings, app_factory, ALEMBIC_INI, default_port=8103, seed=seed
    )


def import_schools_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{SERVICE_NAME} import-schools",
        description="Import school master data from a CSV with Giga's columns (upsert by "
        "school_id_giga) into the configured database.",
    )
    parser.add_argument("file", type=Path, help="the CSV file")
    parser.add_argument("--country", help="ISO alpha-3 of rows without a country column")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8-sig")
    country = args.country.upper() if args.country else None
    return asyncio.run(_import(text, country))


async def _import(text: str, country: str | None) -> int:
    total = max(text.count("\n") - 1, 0)

    def progress(rows: int) -> None:
        print(f"\r{rows:>10,} / {total:,} rows", end="", file=sys.stderr, flush=True)

    database = Database(get_settings().database_url)
    try:
        async with database.sessionmaker() as session:
            report = await import_schools(session, OPERATOR, text, country, progress)
            await session.commit()
    finally:
        await database.dispose()
    print(file=sys.stderr)
    for problem in report.rejected:
        print(f"line {problem.line}: {problem.reason}", file=sys.stderr)
    if report.unknown_columns:
        print(f"ignored columns: {', '.join(report.unknown_columns)}", file=sys.stderr)
    print(
        f"{report.rows} rows: {report.created} created, {report.updated} updated, "
        f"{len(report.rejected)} rejected"
    )
    return 0


if __name__ == "__main__":
    main()
