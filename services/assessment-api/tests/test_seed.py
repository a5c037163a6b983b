from pathlib import Path

import anyio
import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from assessment_api.app import ALEMBIC_INI
from assessment_api.assessments.models import Assessment
from assessment_api.programmes.models import PilotSite
from assessment_api.seed import seed
from c2r_common.db import Database
from c2r_common.migrations import upgrade_to_head
from c2r_common.testing import TokenFactory


async def test_seed_gives_the_example_picture(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    await seed(app.state.database)
    headers = auth_headers("assessments:read")
    listed = await client.get("/v1/assessments", headers=headers)
    by_country = {a["country_iso3"]: a for a in listed.json()["items"]}
    assert by_country["MRT"]["status"] == "accepted_by_country"
    assert by_country["MRT"]["translations"][0]["language"] == "ar"
    assert by_country["ZWE"]["status"] == "data_collection"
    scores = await client.get(f"/v1/assessments/{by_country['MRT']['id']}/scores", headers=headers)
    assert scores.json()["band"] is not None
    rwanda = await client.get("/v1/programmes/RWA", headers=headers)
    sites = rwanda.json()["pilots"][0]["sites"]
    assert len(sites) == 5
    assert sites[0]["site_type"] == "school_hosting_refugees"


async def test_seed_twice_adds_nothing(
    app: FastAPI, client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    await seed(app.state.database)
    headers = auth_headers("admin")

    async def counts() -> tuple[int, ...]:
        paths = [
            "/v1/assessments",
            "/v1/partners",
            "/v1/contributions",
            "/v1/countries/beneficiaries",
        ]
        sizes = []
        for path in paths:
            response = await client.get(path, params={"limit": 500}, headers=headers)
            sizes.append(len(response.json()["items"]))
        return tuple(sizes)

    first = await counts()
    await seed(app.state.database)
    assert await counts() == first
    assert first == (2, 6, 2, 43)


async def test_migrate_then_seed_twice_on_a_fresh_database_file(tmp_path: Path) -> None:
    # The embedded default's start-up sequence, committed for real on the file it uses.
    url = f"sqlite+aiosqlite:///{tmp_path}/assessment-api.db"
    await anyio.to_thread.run_sync(upgrade_to_head, ALEMBIC_INI, url)
    for _ in range(2):
        database = Database(url)
        await seed(database)
        await database.dispose()
    database = Database(url)
    async with database.sessionmaker() as db:
        assessments = await db.scalar(select(func.count()).select_from(Assessment))
        sites = await db.scalar(select(func.count()).select_from(PilotSite))
    await database.dispose()
    assert (assessments, sites) == (2, 5)
