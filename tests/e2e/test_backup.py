"""`c2r backup` of the running embedded default under write load, then `c2r restore` into
another data folder: every row committed before the backup began is in the restored
database, which is sound, single-file, and holds nothing that was never written."""

import sqlite3
import subprocess
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from topology import BIN, Topology

WRITERS = 4
WRITES_PER_WRITER = 150  # bounded: the load stops by itself


@dataclass
class WriteLoad:
    """Partners created through the gateway; each name with when its 201 arrived."""

    gateway: str
    headers: dict[str, str]
    prefix: str = field(default_factory=lambda: f"backup-load-{uuid.uuid4().hex[:8]}")
    acknowledged: dict[str, float] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, writer: int) -> None:
        with httpx.Client(base_url=self.gateway, headers=self.headers, timeout=30) as client:
            for index in range(WRITES_PER_WRITER):
                if self.stop.is_set():
                    return
                name = f"{self.prefix}-{writer}-{index}"
                self.sent.add(name)
                response = client.post("/v1/partners", json={"name": name, "kind": "government"})
                if response.status_code == 201:
                    self.acknowledged[name] = time.monotonic()

    def acknowledged_before(self, moment: float) -> set[str]:
        return {name for name, at in self.acknowledged.items() if at < moment}


def c2r(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "c2r", *map(str, args)], capture_output=True, text=True, check=True, timeout=120
    )


def partners(database: Path, prefix: str) -> set[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT name FROM partners WHERE name LIKE ?", (f"{prefix}%",))
        return {name for (name,) in rows}


def test_a_backup_under_write_load_restores_every_committed_row(
    embedded: Topology, tmp_path: Path
) -> None:
    load = WriteLoad(embedded.gateway, embedded.headers("admin"))
    writers = [threading.Thread(target=load.write, args=(n,)) for n in range(WRITERS)]
    for thread in writers:
        thread.start()
    try:
        while len(load.acknowledged) < 40:  # the load is under way
            time.sleep(0.05)
        backup_began = time.monotonic()
        c2r("backup", "--data-dir", embedded.logs, "--output", tmp_path / "backup")
        time.sleep(0.5)
    finally:
        load.stop.set()
        for thread in writers:
            thread.join(timeout=60)
    assert any(at > backup_began for at in load.acknowledged.values()), "writes went on"

    c2r("restore", tmp_path / "backup", "--data-dir", tmp_path / "restored")
    restored = tmp_path / "restored"
    assert sorted(p.name for p in restored.iterdir()) == [
        "assessment-api.db",
        "request-intake.db",
        "school-monitor.db",
    ]  # single files: no -wal or -shm beside them
    found = partners(restored / "assessment-api.db", load.prefix)
    committed_before = load.acknowledged_before(backup_began)
    assert len(committed_before) >= 40
    assert committed_before <= found, sorted(committed_before - found)[:5]
    assert found <= load.sent  # nothing that was never written
    for database in restored.iterdir():
        with closing(sqlite3.connect(database)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert connection.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path: Path) -> None:
    result = subprocess.run(
        [BIN / "c2r", "restore", tmp_path, "--data-dir", tmp_path / "data"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "not a backup" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_backup_of_databases_written_by_another_process_is_one_consistent_moment(
    tmp_path: Path,
) -> None:
    """A writer process commits two rows per transaction (a pair) in WAL mode without pause;
    every backup holds whole pairs only, and every pair committed before it began."""
    data = tmp_path / "data"
    data.mkdir()
    names = ("assessment-api", "request-intake", "school-monitor")
    for name in names:
        with closing(sqlite3.connect(data / f"{name}.db")) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("CREATE TABLE pairs (n INTEGER, side INTEGER)")
            connection.commit()
    writer = subprocess.Popen(
        [
            BIN / "python",
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], timeout=30)\n"
            "c.execute('PRAGMA journal_mode=WAL')\n"
            "deadline = time.monotonic() + 20\n"
            "n = 0\n"
            "while time.monotonic() < deadline:\n"
            "    c.execute('INSERT INTO pairs VALUES (?, 0)', (n,))\n"
            "    c.execute('INSERT INTO pairs VALUES (?, 1)', (n,))\n"
            "    c.commit()\n"
            "    print(n, flush=True)\n"
            "    n += 1\n",
            str(data / "school-monitor.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        for _ in range(200):  # the writer is under way
            committed_before = int(writer.stdout.readline())
        c2r("backup", "--data-dir", data, "--output", tmp_path / "backup")
    finally:
        writer.kill()
        writer.communicate()  # and its pipe closed
    with closing(sqlite3.connect(tmp_path / "backup" / "school-monitor.db")) as connection:
        sides = connection.execute("SELECT n, count(*) FROM pairs GROUP BY n").fetchall()
    assert {count for _, count in sides} == {2}  # never half a transaction
    assert {n for n, _ in sides} >= set(range(committed_before + 1))


def restore(backup: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "c2r", "restore", backup, "--data-dir", data],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_restore_into_the_running_embedded_default_is_refused_and_writes_nothing(
    embedded: Topology, tmp_path: Path
) -> None:
    c2r("backup", "--data-dir", embedded.logs, "--output", tmp_path / "backup")
    name = f"after-the-backup-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{embedded.gateway}/v1/partners",
        json={"name": name, "kind": "government"},
        headers=embedded.headers("admin"),
        timeout=30,
    )
    assert response.status_code == 201, response.text

    result = restore(tmp_path / "backup", embedded.logs)
    assert result.returncode == 1
    assert "is in use" in result.stderr
    assert "stop the embedded default first" in result.stderr
    # The row written after the backup is still there: the backup was not copied over it.
    assert partners(embedded.logs / "assessment-api.db", name) == {name}


def make_databases(folder: Path, label: str) -> None:
    folder.mkdir()
    for name in ("assessment-api", "request-intake", "school-monitor"):
        with closing(sqlite3.connect(folder / f"{name}.db")) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("CREATE TABLE marks (label TEXT)")
            connection.execute("INSERT INTO marks VALUES (?)", (label,))
            connection.commit()


def marks(database: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return [label for (label,) in connection.execute("SELECT label FROM marks")]


def test_restore_refuses_while_another_process_holds_a_database_open(tmp_path: Path) -> None:
    make_databases(tmp_path / "source", "from the backup")
    c2r("backup", "--data-dir", tmp_path / "source", "--output", tmp_path / "backup")
    data = tmp_path / "data"
    make_databases(data, "current")
    # An idle reader in another process, as a running service's pooled connection is.
    holder = subprocess.Popen(
        [
            BIN / "python",
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1])\n"
            "c.execute('PRAGMA journal_mode=WAL')\n"
            "c.execute('SELECT count(*) FROM marks').fetchall()\n"
            "print('open', flush=True)\n"
            "time.sleep(120)\n",
            str(data / "school-monitor.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        before = {path.name: path.read_bytes() for path in data.iterdir()}
        result = restore(tmp_path / "backup", data)
        assert result.returncode == 1
        assert "school-monitor.db is in use" in result.stderr
        assert {path.name: path.read_bytes() for path in data.iterdir()} == before
    finally:
        holder.kill()
        holder.communicate()

    result = restore(tmp_path / "backup", data)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in data.iterdir()) == [
        "assessment-api.db",
        "request-intake.db",
        "school-monitor.db",
    ]  # the old -wal and -shm gone with the databases they belonged to
    for database in data.iterdir():
        assert marks(database) == ["from the backup"]
