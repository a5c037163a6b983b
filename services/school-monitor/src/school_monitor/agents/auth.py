"""Device tokens as bearer credentials, beside the platform's JWTs."""

import time
import uuid

from fastapi import Request

from c2r_common.auth import Principal, Scope
from c2r_common.db import Database
from school_monitor.agents.errors import invalid_device_token
from school_monitor.agents.service import TOKEN_PREFIX, find_active_agent, hash_token
from school_monitor.config import SchoolMonitorSettings


class DeviceTokenVerifier:
    """Resolves device tokens to device principals.

    A verified token is remembered for `device_token_cache_seconds` so that a busy agent
    does not cost a database lookup per push. Revoking through this process forgets it at
    once; another replica of the service honours the revocation within that time.
    """

    def __init__(self, settings: SchoolMonitorSettings) -> None:
        self.ttl = settings.device_token_cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def __call__(self, request: Request, token: str) -> Principal | None:
        """A device principal for an active device token; None for any other kind of token
        so that the JWT verifier gets its turn; a revoked or unknown one is a 401."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_hash = hash_token(token)
        cached = self._cache.get(token_hash)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        database: Database = request.app.state.database
        async with database.sessionmaker() as session:
            found = await find_active_agent(session, token)
        if found is None:
            self._cache.pop(token_hash, None)
            raise invalid_device_token()
        agent, country_iso3 = found
        principal = Principal(
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
        if self.ttl > 0:
            self._cache[token_hash] = (time.monotonic() + self.ttl, principal)
        return principal

    def forget(self, agent_id: uuid.UUID) -> None:
        subject = f"agent:{agent_id}"
        for token_hash, (_, principal) in list(self._cache.items()):
            if principal.subject == subject:
                del self._cache[token_hash]


def device_verifier(request: Request) -> DeviceTokenVerifier | None:
    for verifier in getattr(request.app.state, "extra_verifiers", []):
        if isinstance(verifier, DeviceTokenVerifier):
            return verifier
    return None
