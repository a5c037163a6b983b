"""`school-monitor import-schools FILE` as a process, against a migrated database of the
selected backend: progress per committed chunk, exit status, the rejected rows' CSV."""

import asyncio
import csv
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from c2r_common.db import Database
from c2r_common.testing import fresh_database
from school_monitor.app import ALEMBIC_INI
from school_monitor.rollups.models import CountryStats
from school_monitor.schools.models import School

HEADER = "school_id_giga,school_name,country_iso3_code,notes\n"


@pytest.fixture
async def database_url_for_cli(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(ALEMBIC_INI, "cli", tmp_path) as url:
        yield url


async def _import(
    url: str, *args: str | Path, chunk_rows: int = 1000
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "C2R_SCHOOLS_DATABASE_URL": url,
        "C2R_SCHOOLS_IMPORT_CHUNK_ROWS": str(chunk_rows),
    }
    command = [sys.executable, "-m", "school_monitor", "import-schools", *map(str, args)]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
    )


async def _schools_and_counter(url: str) -> tuple[int, int]:
    database = Database(url)
    try:
        async with database.sessionmaker() as session:
            schools = int(await session.scalar(select(func.count()).select_from(School)) or 0)
            stats = await session.get(CountryStats, "RWA")
            return schools, stats.schools_total if stats else 0
    finally:
        await database.dispose()


async def test_rejected_rows_exit_1_and_are_written_with_line_and_reason(
    database_url_for_cli: str, tmp_path: Path
) -> None:
    csv_file, rejected = tmp_path / "schools.csv", tmp_path / "rejected.csv"
    rows = "".join(f"cli-{i},School {i},RWA,\n" for i in range(2500))
    csv_file.write_text(HEADER + rows + 'bad,,RWA,"no name"\ncli-7,Again,RWA,\n')
    result = await _import(database_url_for_cli, csv_file, "--rejected", rejected)
    assert result.returncode == 1, result.stderr
    for committed in ("1,000 / 2,502 rows", "2,000 / 2,502 rows", "2,502 / 2,502 rows"):
        assert committed in result.stderr  # progress after each committed chunk
    assert "line 2502: school_name:" in result.stderr
    assert "ignored columns: notes" in result.stderr
    assert result.stdout.strip() == "2502 rows: 2500 created, 0 updated, 2 rejected"
    with rejected.open(newline="") as out:
        written = list(csv.reader(out))
    assert written[0] == [
        "line",
        "reason",
        "school_id_giga",
        "school_name",
        "country_iso3_code",
        "notes",
    ]
    assert written[1][0] == "2502"
    assert written[1][1].startswith("school_name:")
    assert written[1][2:] == ["bad", "", "RWA", "no name"]
    assert written[2][:2] == ["2503", "school_id_giga cli-7 repeats line 9"]
    assert len(written) == 3
    assert await _schools_and_counter(database_url_for_cli) == (2500, 2500)


async def test_a_clean_import_exits_0_and_its_rejected_file_has_only_the_header(
    database_url_for_cli: str, tmp_path: Path
) -> None:
    csv_file, rejected = tmp_path / "schools.csv", tmp_path / "rejected.csv"
    csv_file.write_text(HEADER + "".join(f"ok-{i},School {i},RWA,\n" for i in range(30)))
    result = await _import(database_url_for_cli, csv_file, "--rejected", rejected)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30 rows: 30 created, 0 updated, 0 rejected"
    assert rejected.read_text().strip() == "line,reason"


async def test_a_file_broken_part_way_exits_3_keeping_its_committed_chunks(
    database_url_for_cli: str, tmp_path: Path
) -> None:
    """A byte that is not UTF-8 near the end: the chunks before it are committed and
    stay; once the file is fixed, running the same import again completes it."""
    csv_file = tmp_path / "schools.csv"
    good = [f"part-{i},School {i},RWA,\n".encode() for i in range(3000)]
    csv_file.write_bytes(HEADER.encode() + b"".join(good[:2990]) + b"part-x,\xff,RWA,\n")
    result = await _import(database_url_for_cli, csv_file, chunk_rows=100)
    assert result.returncode == 3, result.stderr
    assert "stopped: The import stopped after line" in result.stderr
    schools, counted = await _schools_and_counter(database_url_for_cli)
    assert 0 < schools < 2990
    assert schools % 100 == 0  # whole chunks
    assert counted == schools
    assert f"{schools} rows: {schools} created" in result.stdout

    csv_file.write_bytes(HEADER.encode() + b"".join(good))
    again = await _import(database_url_for_cli, csv_file, chunk_rows=100)
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.strip()
        == f"3000 rows: {3000 - schools} created, {schools} updated, 0 rejected"
    )
    assert await _schools_and_counter(database_url_for_cli) == (3000, 3000)
