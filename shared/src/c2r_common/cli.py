"""The console entry point shared by the services: `<service> serve|migrate`."""

import argparse
import asyncio
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from c2r_common.db import Database
from c2r_common.migrations import upgrade_to_head
from c2r_common.observability import configure_logging
from c2r_common.settings import ServiceSettings

# CPython's default thresholds (700, 10, 10) run a young collection every 700 container
# allocations; one 1,000-item ingest batch makes tens of thousands of them, and every few
# young collections the older generations, with the large heap of models, routes and
# metadata, are scanned again. Measured on batch ingestion: a quarter of the throughput.
# Reference counting frees almost everything a request makes at once; the collector is
# only there for cycles, and can run much less often.
GC_THRESHOLDS = (50_000, 20, 20)


def run_service_cli(
    name: str,
    load_settings: Callable[[], ServiceSettings],
    create_app: Callable[[ServiceSettings], FastAPI],
    alembic_ini: Path,
    default_port: int,
    seed: Callable[[Database], Awaitable[None]] | None = None,
) -> None:
    """`serve` runs the HTTP server; `migrate` applies migrations; `seed` loads the example
    data of the embedded default (idempotent: running it twice adds nothing)."""
    parser = argparse.ArgumentParser(prog=name, description=f"The {name} service.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--seed", action="store_true", help="then load the example data")
    commands.add_parser("migrate", help="apply database migrations up to head")
    commands.add_parser("seed", help="load example data (idempotent)")
    args = parser.parse_args()

    settings = load_settings()
    configure_logging(name, settings.log_level)
    if args.command == "migrate" or getattr(args, "migrate", False):
        upgrade_to_head(alembic_ini, settings.database_url)
    wants_seed = args.command == "seed" or getattr(args, "seed", False)
    if wants_seed and seed is not None:
        asyncio.run(_seed(settings.database_url, seed))
    if args.command == "serve":
        app = create_app(settings)
        _tune_garbage_collection()
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_config=None,  # our JSON logging is already configured
            access_log=False,
            proxy_headers=True,
        )


def _tune_garbage_collection() -> None:
    """Moves the start-up heap out of the collector's reach, then sets GC_THRESHOLDS."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _seed(database_url: str, seed: Callable[[Database], Awaitable[None]]) -> None:
    database = Database(database_url)
    try:
        await seed(database)
    finally:
        await database.dispose()
