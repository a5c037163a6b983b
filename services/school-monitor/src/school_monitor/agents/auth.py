"""Device tokens as bearer credentials, beside the platform's JWTs."""

from fastapi import Request

from c2r_common.auth import Principal, Scope
from c2r_common.db import Database
from school_monitor.agents.errors import invalid_device_token
from school_monitor.agents.service import TOKEN_PREFIX, find_active_agent


async def verify_device_token(request: Request, token: str) -> Principal | None:
    """A device principal for an active device token; None for any other kind of token so
    that the JWT verifier gets its turn; a revoked or unknown device token is a 401."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        found = await find_active_agent(session, token)
    if found is None:
        raise invalid_device_token()
    agent, country_iso3 = found
    return Principal(
        subject=f"agent:{agent.id}",
        scopes=frozenset({Scope.MEASUREMENTS_WRITE.value}),
        countries=frozenset({country_iso3}),
        kind="device",
        claims={
            "school_id": agent.school_id,
            "agent_id": agent.id,
            "last_seen_at": agent.last_seen_at,
        },
    )
