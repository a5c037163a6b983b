"""`school-monitor serve|migrate|seed` (shared), `school-monitor import-schools FILE` and
`school-monitor rollups verify|rebuild`."""

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from c2r_common.auth import Principal, Scope
from c2r_common.cli import run_service_cli
from c2r_common.csv_safety import SafeDictWriter
from c2r_common.db import Database
from c2r_common.settings import ServiceSettings
from school_monitor.app import ALEMBIC_INI, SERVICE_NAME, create_app
from school_monitor.config import get_settings
from school_monitor.integrity.cli import rollups_command
from school_monitor.schools.csv_import import ImportStopped, import_schools
from school_monitor.schools.schemas import ImportProblem, ImportReport
from school_monitor.seed import seed

OPERATOR = Principal(subject="cli:import-schools", scopes=frozenset({Scope.ADMIN.value}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "import-schools":
        sys.exit(import_schools_command(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "rollups":
        sys.exit(rollups_command(sys.argv[2:], prog=f"{SERVICE_NAME} rollups"))
    app_factory = cast(Callable[[ServiceSettings], FastAPI], create_app)
    run_service_cli(
        SERVICE_NAME, get_settings, app_factory, ALEMBIC_INI, default_port=8103, seed=seed
    )


# Exit codes of import-schools (2 is argparse's usage error).
EXIT_REJECTED_ROWS = 1  # the file was imported except the rows reported
EXIT_STOPPED = 3  # the import stopped part-way; the committed rows stay, re-run the file


def import_schools_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{SERVICE_NAME} import-schools",
        description="Import school master data from a CSV with Giga's columns (upsert by "
        "school_id_giga) into the configured database, committing every "
        "C2R_SCHOOLS_IMPORT_CHUNK_ROWS rows.",
        epilog=f"Exit status: 0 every row imported; {EXIT_REJECTED_ROWS} some rows rejected "
        f"(the others imported); 2 usage error; {EXIT_STOPPED} the import stopped part-way "
        "(the rows committed so far stay; running it again with the same file is safe).",
    )
    parser.add_argument("file", type=Path, help="the CSV file")
    parser.add_argument("--country", help="ISO alpha-3 of rows without a country column")
    parser.add_argument(
        "--rejected",
        type=Path,
        metavar="OUT.csv",
        help="write the rejected rows to this CSV: line, reason, then the file's columns",
    )
    args = parser.parse_args(argv)
    country = args.country.upper() if args.country else None
    return asyncio.run(_import(args.file, country, args.rejected))


async def _import(path: Path, country: str | None, rejected_path: Path | None) -> int:
    total = _data_rows(path)

    def progress(rows: int) -> None:
        print(f"\r{rows:>10,} / {total:,} rows", end="", file=sys.stderr, flush=True)

    rejected: list[tuple[ImportProblem, dict[str, str]]] = []
    settings = get_settings()
    database = Database(settings.database_url)
    stopped: ImportStopped | None = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            report = await import_schools(
                database.sessionmaker,
                OPERATOR,
                lines,
                country,
                chunk_rows=settings.import_chunk_rows,
                progress=progress,
                on_rejected=lambda problem, row: rejected.append((problem, row)),
            )
    except ImportStopped as exc:
        stopped, report = exc, exc.report
    finally:
        await database.dispose()
    print(file=sys.stderr)
    _print_report(report)
    if rejected_path is not None:
        _write_rejected(rejected_path, rejected)
    if stopped is not None:
        print(f"stopped: {stopped.detail} ({stopped.__cause__!r})", file=sys.stderr)
        return EXIT_STOPPED
    return EXIT_REJECTED_ROWS if report.rejected else 0


def _data_rows(path: Path) -> int:
    """Lines after the header, counted without decoding (for the progress line)."""
    with path.open("rb") as raw:
        return max(sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b"")) - 1, 0)


def _print_report(report: ImportReport) -> None:
    for problem in report.rejected:
        print(f"line {problem.line}: {problem.reason}", file=sys.stderr)
    if report.unknown_columns:
        print(f"ignored columns: {', '.join(report.unknown_columns)}", file=sys.stderr)
    print(
        f"{report.rows} rows: {report.created} created, {report.updated} updated, "
        f"{len(report.rejected)} rejected"
    )


def _write_rejected(path: Path, rejected: list[tuple[ImportProblem, dict[str, str]]]) -> None:
    """The rejected rows as they were in the file, after their line number and reason:
    fixed, the file can be imported as it is (the two extra columns are ignored)."""
    rejected.sort(key=lambda entry: entry[0].line)
    columns = [name for name in (rejected[0][1] if rejected else {}) if name is not None]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = SafeDictWriter(out, ["line", "reason", *columns], extrasaction="ignore")
        writer.writeheader()
        for problem, row in rejected:
            writer.writerow({**row, "line": problem.line, "reason": problem.reason})


if __name__ == "__main__":
    main()
