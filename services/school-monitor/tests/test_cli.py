"""`school-monitor import-schools FILE` against a migrated database file."""

import os
import subprocess
import sys
from pathlib import Path

from c2r_common.migrations import upgrade_to_head
from school_monitor.app import ALEMBIC_INI


def test_import_schools_command_reports_progress_and_counts(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade_to_head(ALEMBIC_INI, url)
    csv_file = tmp_path / "schools.csv"
    rows = "".join(f"cli-{i},School {i},RWA\n" for i in range(2500))
    csv_file.write_text(
        "school_id_giga,school_name,country_iso3_code,notes\n" + rows + "bad,,RWA\n"
    )
    env = os.environ | {"C2R_SCHOOLS_DATABASE_URL": url}
    command = [sys.executable, "-m", "school_monitor", "import-schools", str(csv_file)]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "2,501 / 2,501 rows" in result.stderr
    assert "line 2502: school_name:" in result.stderr
    assert "ignored columns: notes" in result.stderr
    assert result.stdout.strip() == "2501 rows: 2500 created, 0 updated, 1 rejected"
