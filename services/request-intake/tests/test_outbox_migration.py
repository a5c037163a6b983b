"""The migration that moves the hand-off onto the common outbox, on real commits: entries of
the release before (pending, delivered, failed, with their attempts and errors) become
events and deliveries of the built-in subscription with the same ids, are listed the same
by /v1/requests/outbox, and the pending one goes out with the Idempotency-Key it had; the
downgrade moves them back into outbox_entries."""

import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI

from c2r_common.migrations import alembic_config, upgrade_to_head
from c2r_common.testing import app_on_fresh_database, asgi_client
from request_intake.app import ALEMBIC_INI
from request_intake.clock import install_clock

BEFORE_THE_MOVE = "7a3d9e51c2b8"
LINKED = uuid.UUID("8c8e830b-c7f7-4499-b3f0-00583e904240")

entries = sa.table(
    "outbox_entries",
    sa.column("id", sa.Uuid()),
    sa.column("request_id", sa.Uuid()),
    sa.column("idempotency_key", sa.String()),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("last_error", sa.Text()),
    sa.column("result_id", sa.String()),
)


async def _migrate(app: FastAPI, revision: str | None) -> None:
    """Down to `revision`, or up to head (None), with no pooled connection in the way."""
    url = app.state.settings.database_url
    await app.state.database.engine.dispose()
    if revision is None:
        await anyio.to_thread.run_sync(upgrade_to_head, ALEMBIC_INI, url)
    else:
        config = alembic_config(ALEMBIC_INI, url)
        await anyio.to_thread.run_sync(command.downgrade, config, revision)


async def _entries(app: FastAPI) -> list[Any]:
    async with app.state.database.engine.connect() as connection:
        rows = await connection.execute(sa.select(entries).order_by(entries.c.request_id))
        return list(rows)


async def _set(app: FastAPI, entry_id: uuid.UUID, **values: Any) -> None:
    async with app.state.database.engine.begin() as connection:
        await connection.execute(sa.update(entries).where(entries.c.id == entry_id).values(values))


async def _outbox(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await http.get("/v1/requests/outbox", headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def _approve_three(http: httpx.AsyncClient, api_for: Any, rwanda: dict[str, str]) -> None:
    api = api_for(http)
    call = await api.create_call()
    for n in range(3):
        request = await api.submit(rwanda, call["id"], title=f"Assessment {n}")
        await api.walk(request["id"], "screening", "under_review", "approved")


async def test_the_entries_move_onto_the_common_outbox_keep_their_keys_and_move_back(
    service_under_test: Any,
    tmp_path: Path,
    assessment_api: Any,
    auth_headers: Any,
    staff: dict[str, str],
    api_for: Any,
    make_relay: Any,
    fresh_clock: Any,
) -> None:
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    overrides = {"assessment_api_url": assessment_api.url}
    async with app_on_fresh_database(service_under_test, tmp_path, **overrides) as app:
        install_clock(app, fresh_clock)
        async with asgi_client(app) as http:
            await _approve_three(http, api_for, rwanda)
            before = await _outbox(http, staff)

        await _migrate(app, BEFORE_THE_MOVE)  # the downgrade: back into outbox_entries
        rows = await _entries(app)
        assert {str(row.id) for row in rows} == set(before)
        assert {row.idempotency_key for row in rows} == {f"c2r-outbox-{row.id}" for row in rows}
        pending, delivered, failed = rows
        # As the old relay left them: one delivered (its result linked), one refused, one
        # waiting after two attempts.
        await _set(app, delivered.id, status="delivered", attempts=1, result_id=str(LINKED))
        await _set(app, failed.id, status="failed", attempts=3, last_error="HTTP 422: no")
        await _set(app, pending.id, attempts=2, last_error="ConnectError: refused")

        await _migrate(app, None)  # the move
        async with asgi_client(app) as http:
            after = await _outbox(http, staff)
            assert set(after) == set(before)
            moved = [after[str(row.id)] for row in (pending, delivered, failed)]
            assert [(e["status"], e["attempts"], e["last_error"]) for e in moved] == [
                ("pending", 2, "ConnectError: refused"),
                ("delivered", 1, None),
                ("failed", 3, "HTTP 422: no"),
            ]
            assert [e["result_id"] for e in moved] == [None, str(LINKED), None]
            assert [e["payload"] for e in moved] == [before[e["id"]]["payload"] for e in moved]
            linked = await http.get(f"/v1/requests/{delivered.request_id}", headers=rwanda)
            assert linked.json()["assessment_id"] == str(LINKED)

            # The one still pending goes out with the key it had before the move.
            await assessment_api.start()
            relay = make_relay(app, assessment_api.url)
            assert (await relay.run_once()).delivered == 1
            assert set(assessment_api.assessments) == {pending.idempotency_key}
            retried = await http.post(f"/v1/requests/outbox/{failed.id}/retry", headers=staff)
            assert retried.status_code == 200, retried.text
            assert (await relay.run_once()).delivered == 1
            assert set(assessment_api.assessments) == {
                pending.idempotency_key,
                failed.idempotency_key,
            }

        await _migrate(app, BEFORE_THE_MOVE)  # and back, the deliveries' outcomes with them
        back = {row.id: row for row in await _entries(app)}
        assert {row.status for row in back.values()} == {"delivered"}
        assert back[delivered.id].result_id == str(LINKED)
        assert back[failed.id].attempts == 4
        await _migrate(app, None)
