"""`c2r backup` and `c2r restore`: the embedded default's databases (one SQLite file per
service under the data folder), copied with SQLite's online backup API.

A backup reads each database in one read transaction (all pages in one step), so it is the
database as of one commit, taken while the services keep serving and writing: in WAL mode a
reader neither waits for the writer nor blocks it. Every committed row of that moment is in
it. The copies are plain single-file databases (no -wal beside them), checked with
`PRAGMA integrity_check`, with a manifest naming what was taken and when.

Restore copies them back with the same API, into the data folder of a stopped embedded
default: it first takes an exclusive lock on every target database and refuses when any is
in use (a running service keeps its connections open, and in WAL mode an open connection
holds a shared lock on the file), so it never writes pages under a running service; it
writes only once it holds all of them. PostgreSQL (production) is backed up per service
database with pg_dump and pg_restore: deploy/README.md, "Back up and restore".
"""

import argparse
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from c2r_deploy.routes import load_routes

MANIFEST = "backup.json"
BUSY_TIMEOUT_SECONDS = 30.0  # a checkpoint or a long write may hold the database briefly
# A running service holds its database for as long as it runs: waiting longer gains nothing.
RESTORE_LOCK_TIMEOUT_SECONDS = 1.0


class BackupError(SystemExit):
    """A refusal with its reason, printed by the CLI as an exit status 1 message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"c2r: {message}")


def backup(data_dir: Path, output: Path, services: Iterable[str]) -> dict[str, object]:
    """Copies each service's database from `data_dir` into the new folder `output`."""
    databases = {name: data_dir / f"{name}.db" for name in services}
    for path in databases.values():
        if not path.exists():
            raise BackupError(f"{path}: no such database (has the embedded default run?)")
    output.mkdir(parents=True, exist_ok=False)  # an existing backup is never overwritten
    taken = {}
    for name, path in databases.items():
        copy_database(path, output / path.name)
        taken[name] = {"file": path.name, "bytes": (output / path.name).stat().st_size}
    manifest: dict[str, object] = {
        "taken_at": datetime.now(UTC).isoformat(),
        "source": str(data_dir),
        "databases": taken,
    }
    (output / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(backup_dir: Path, data_dir: Path) -> list[str]:
    """Copies every database of the backup in `backup_dir` into `data_dir`."""
    try:
        manifest = json.loads((backup_dir / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{backup_dir}: no {MANIFEST}, not a backup") from None
    databases: dict[str, dict[str, object]] = manifest["databases"]
    for name, entry in databases.items():
        check_integrity(backup_dir / str(entry["file"]), name)  # all sound before any is written
    data_dir.mkdir(parents=True, exist_ok=True)
    files = [str(entry["file"]) for entry in databases.values()]
    with ExitStack() as held:
        writers = [held.enter_context(exclusive(data_dir / file)) for file in files]
        for file, writer in zip(files, writers, strict=True):
            copy_into(backup_dir / file, writer)
    for file in files:
        # The old shared-memory index no longer describes the file: gone with it.
        (data_dir / f"{file}-shm").unlink(missing_ok=True)
        check_integrity(data_dir / file, file)
    return sorted(databases)


@contextmanager
def exclusive(target: Path) -> Iterator[sqlite3.Connection]:
    """A connection holding `target` exclusively until it closes; refused when in use."""
    with closing(
        sqlite3.connect(target, timeout=RESTORE_LOCK_TIMEOUT_SECONDS, isolation_level=None)
    ) as connection:
        # In exclusive locking mode the lock of the first write transaction is kept after
        # its commit, for as long as the connection lives.
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise BackupError(
                f"{target} is in use ({exc}): stop the embedded default first (`make run`, "
                "`c2r run`); nothing was restored"
            ) from None
        yield connection


def copy_database(source: Path, target: Path) -> None:
    """`source` as of one commit into `target`, as a single file."""
    with closing(sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS)) as writer:
        copy_into(source, writer)
    check_integrity(target, target.name)


def copy_into(source: Path, writer: sqlite3.Connection) -> None:
    # A target left in WAL mode (a restore over an old database): its WAL folded in and
    # removed first, so that the copy goes into a plain file whatever its page size.
    writer.execute("PRAGMA journal_mode=DELETE")
    with closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as reader:
        reader.backup(writer)  # pages=-1: every page within one read transaction
    # The copy keeps the source's WAL mode; back to a rollback journal, so that the
    # file alone is the whole database.
    writer.execute("PRAGMA journal_mode=DELETE")


def check_integrity(path: Path, name: str) -> None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        (result,) = connection.execute("PRAGMA integrity_check").fetchone()
    if result != "ok":
        raise BackupError(f"{name}: {path} fails its integrity check: {result}")


def _backup_command(args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.output or f"backups/c2r-{stamp}")
    services = [service.name for service in load_routes().services]
    manifest = backup(Path(args.data_dir), output, services)
    print(f"backed up {', '.join(services)} into {output} at {manifest['taken_at']}")


def _restore_command(args: argparse.Namespace) -> None:
    restored = restore(Path(args.input), Path(args.data_dir))
    print(f"restored {', '.join(restored)} into {args.data_dir}")


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    backup_parser = commands.add_parser(
        "backup", help="back up the embedded default's databases (while it runs)"
    )
    backup_parser.add_argument("--data-dir", default="data")
    backup_parser.add_argument("--output", default=None, help="new folder (backups/c2r-<time>)")
    backup_parser.set_defaults(handler=_backup_command)
    restore_parser = commands.add_parser(
        "restore", help="restore a backup into the data folder of a stopped embedded default"
    )
    restore_parser.add_argument("input", help="the backup's folder")
    restore_parser.add_argument("--data-dir", default="data")
    restore_parser.set_defaults(handler=_restore_command)
