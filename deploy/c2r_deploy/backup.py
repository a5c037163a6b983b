"""`c2r backup` and `c2r restore`: the embedded default's databases (one SQLite file per
service under the data folder), copied with SQLite's online backup API.

A backup reads each database in one read transaction (all pages in one step), so it is the
database as of one commit, taken while the services keep serving and writing: in WAL mode a
reader neither waits for the writer nor blocks it. Every committed row of that moment is in
it. The copies are plain single-file databases (no -wal beside them), checked with
`PRAGMA integrity_check`, with a manifest naming what was taken and when.

Restore copies them back with the same API, into the data folder of a stopped embedded
default. PostgreSQL (production) is backed up per service database with pg_dump and
pg_restore: deploy/README.md, "Back up and restore".
"""

import argparse
import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from c2r_deploy.routes import load_routes

MANIFEST = "backup.json"
BUSY_TIMEOUT_SECONDS = 30.0  # a checkpoint or a long write may hold the database briefly


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
    for entry in databases.values():
        copy_database(backup_dir / str(entry["file"]), data_dir / str(entry["file"]))
    return sorted(databases)


def copy_database(source: Path, target: Path) -> None:
    """`source` as of one commit into `target`, as a single file."""
    with (
        closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as reader,
        closing(sqlite3.connect(target, timeout=BUSY_TIMEOUT_SECONDS)) as writer,
    ):
        reader.backup(writer)  # pages=-1: every page within one read transaction
        # The copy keeps the source's WAL mode; back to a rollback journal, so that the
        # file alone is the whole database.
        writer.execute("PRAGMA journal_mode=DELETE")
    check_integrity(target, target.name)


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
