"""The assessment CSV exports write a caller's text that starts a formula as text."""

import csv
import io
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory

pytestmark = pytest.mark.usefixtures("seeded")

FORMULA = "=cmd|' /C calc'!A0"


async def test_an_indicator_source_starting_a_formula_is_exported_as_text(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: Any
) -> None:
    created = await create_assessment("MRT", "2021")
    entered = await client.put(
        f"/v1/assessments/{created['id']}/indicators/internet_users_pct",
        json={"value": 30.5, "year": 2024, "source": FORMULA},
        headers=auth_headers("assessments:write"),
    )
    assert entered.status_code == 200, entered.text
    as_csv = await client.get(
        f"/v1/assessments/{created['id']}/export",
        params={"format": "csv"},
        headers=auth_headers("assessments:read"),
    )
    assert as_csv.status_code == 200
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    [row] = [r for r in rows if r["record"] == "indicator" and r["code"] == "internet_users_pct"]
    assert row["source"] == "'" + FORMULA
    assert (row["value"], row["year"]) == ("30.5", "2024")  # the server's numbers, as numbers
    assert not [
        cell
        for r in rows
        for cell in r.values()
        if cell and cell.startswith(("=", "@", "\t", "\r")) and not cell.startswith("'")
    ]
