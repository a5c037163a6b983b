"""The domain metrics of request-intake are exposed and pass promtool."""

import shutil
import subprocess
from typing import Any

import httpx


async def test_domain_metrics_are_exposed_and_valid(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient, relay: Any
) -> None:
    call = await api.create_call()
    await api.submit(rwanda, call["id"])
    clock.advance(days=30)
    await client.get("/v1/requests/overdue/summary", headers=api.staff)
    await relay.run_once()
    exposition = (await client.get("/metrics")).text
    for name in (
        'c2r_intake_overdue_requests{stage="submitted"}',
        'c2r_intake_outbox_entries{status="pending"}',
        "c2r_intake_outbox_oldest_pending_age_seconds",
        'c2r_intake_requests_submitted_total{late="false"}',
    ):
        assert name in exposition, name
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (Debian package prometheus)"
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition.encode(), capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
