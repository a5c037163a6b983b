"""Device tokens as bearer credentials, beside the platform's JWTs."""

import time
import uuid
from collections.abc import Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope
from c2r_common.db import Database, after_commit
from school_monitor.agents.errors import invalid_device_token
from school_monitor.agents.models import Agent
from school_monitor.agents.service import TOKEN_PREFIX, find_active_agent, hash_token
from school_monitor.config import SchoolMonitorSettings


def device_principal(agent: Agent, country_iso3: str) -> Principal:
    """Who a device is: it writes measurements for its own school only."""
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


class PrincipalCache:
    """Principals of verified credentials by the credential's hash, for `ttl` seconds, so
    that a busy agent does not cost a database lookup per push."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, credential_hash: str) -> Principal | None:
        entry = self._entries.get(credential_hash)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, credential_hash: str, principal: Principal) -> None:
        if self.ttl > 0:
            self._entries[credential_hash] = (time.monotonic() + self.ttl, principal)

    def drop(self, credential_hash: str) -> None:
        self._entries.pop(credential_hash, None)

    def forget(self, matches: Callable[[Principal], bool]) -> None:
        for credential_hash, (_, principal) in list(self._entries.items()):
            if matches(principal):
                del self._entries[credential_hash]


class DeviceTokenVerifier:
    """Resolves device tokens to device principals.

    A verified token is remembered for `device_token_cache_seconds`. Revoking through this
    process forgets it at once; another replica of the service honours the revocation
    within that time.
    """

    def __init__(self, settings: SchoolMonitorSettings) -> None:
        self.cache = PrincipalCache(settings.device_token_cache_seconds)

    async def __call__(self, request: Request, token: str) -> Principal | None:
        """A device principal for an active device token; None for any other kind of token
        so that the JWT verifier gets its turn; a revoked or unknown one is a 401."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_hash = hash_token(token)
        cached = self.cache.get(token_hash)
        if cached is not None:
            return cached
        database: Database = request.app.state.database
        async with database.sessionmaker() as session:
            found = await find_active_agent(session, token)
        if found is None:
            self.cache.drop(token_hash)
            raise invalid_device_token()
        principal = device_principal(*found)
        self.cache.put(token_hash, principal)
        return principal

    def forget(self, agent_id: uuid.UUID) -> None:
        subject = f"agent:{agent_id}"
        self.cache.forget(lambda principal: principal.subject == subject)


def forget_revoked_agent(request: Request, db: AsyncSession, agent_id: uuid.UUID) -> None:
    """What this process remembers of a revoked agent's credentials (its device token, the
    write grants cached for it) goes once `db` commits the revocation: forgotten earlier, a
    concurrent push would still read the agent as active and remember it again. Each keeper
    registers its `forget` in `app.state.agent_revocation_listeners`, so this domain needs
    to know none of them."""
    listeners = list(getattr(request.app.state, "agent_revocation_listeners", []))

    def forget_all() -> None:
        for forget in listeners:
            forget(agent_id)

    after_commit(db, forget_all)
