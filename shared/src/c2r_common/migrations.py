"""Alembic glue shared by the services: async env.py, upgrade on demand, head check."""

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, async_engine_from_config

from c2r_common.db import ensure_sqlite_folder as _ensure_sqlite_folder


def alembic_config(ini_path: Path, database_url: str) -> Config:
    config = Config(str(ini_path))
    config.set_main_option("script_location", str(ini_path.parent / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(ini_path: Path, database_url: str) -> None:
    command.upgrade(alembic_config(ini_path, database_url), "head")


def head_revisions(ini_path: Path) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(ini_path, "sqlite://")).get_heads())


async def applied_revisions(connection: AsyncConnection) -> set[str]:
    rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    return {row[0] for row in rows}


# Alembic's include_name hook: (name, type of object, parent names) -> compared or not.
IncludeName = Callable[..., bool]


def _configure_and_run(
    connection: Connection, metadata: MetaData, include_name: IncludeName | None = None
) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_name=include_name,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(metadata: MetaData, include_name: IncludeName | None) -> None:
    config = context.config
    _ensure_sqlite_folder(config.get_main_option("sqlalchemy.url") or "")
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    async with engine.connect() as connection:
        await connection.run_sync(_configure_and_run, metadata, include_name)
    await engine.dispose()


def run_env(
    metadata: MetaData, default_url: Callable[[], str], include_name: IncludeName | None = None
) -> None:
    """The body of every service's migrations/env.py.

    `default_url` gives the service's configured database when alembic is run by hand
    (`alembic -c alembic.ini ...`) rather than through the service's `migrate` command.
    `include_name` leaves out of autogenerate's comparison (`alembic check`) the objects a
    service manages outside the models, such as the partitions of a partitioned table.
    """
    if not context.config.get_main_option("sqlalchemy.url"):
        context.config.set_main_option("sqlalchemy.url", default_url().replace("%", "%%"))
    existing = context.config.attributes.get("connection")
    if existing is not None:  # called with a live connection (tests)
        _configure_and_run(existing, metadata, include_name)
        return
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(metadata, include_name))
