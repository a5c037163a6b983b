"""The rejected rows' CSV that `school-monitor import-schools --rejected` writes: a cell
that starts a formula is written as text, and reads back as it was when the fixed file is
imported again."""

import asyncio
import csv
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from c2r_common.db import Database
from c2r_common.testing import fresh_database
from school_monitor.app import ALEMBIC_INI
from school_monitor.schools.models import School

HEADER = "school_id_giga,school_name,country_iso3_code,latitude,notes\n"
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(ALEMBIC_INI, "csvcells", tmp_path) as url:
        yield url


async def _import(url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"C2R_SCHOOLS_DATABASE_URL": url}
    command = [sys.executable, "-m", "school_monitor", "import-schools", *map(str, args)]
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
    )


async def test_rejected_cells_are_neutralised_and_read_back_as_they_were(
    database_url: str, tmp_path: Path
) -> None:
    source, rejected = tmp_path / "schools.csv", tmp_path / "rejected.csv"
    quoted = FORMULA.replace('"', '""')
    source.write_text(HEADER + f'csv-1,-Foo School,RWA,-200,"{quoted}"\n')
    result = await _import(database_url, source, "--rejected", rejected)
    assert result.returncode == 1, result.stderr
    with rejected.open(newline="") as out:
        [header, row] = list(csv.reader(out))
    assert header[2:] == ["school_id_giga", "school_name", "country_iso3_code", "latitude", "notes"]
    # The formula and the name starting with '-' as text; the latitude, a plain number, as is.
    assert row[2:] == ["csv-1", "'-Foo School", "RWA", "-200", "'" + FORMULA]
    fixed = rejected.read_text().replace(",-200,", ",-2.47,")
    rejected.write_text(fixed)
    again = await _import(database_url, rejected)
    assert again.returncode == 0, again.stderr
    database = Database(database_url)
    try:
        async with database.sessionmaker() as session:
            school = await session.scalar(select(School).where(School.giga_id == "csv-1"))
    finally:
        await database.dispose()
    assert school is not None
    assert (school.name, school.latitude) == ("-Foo School", -2.47)
