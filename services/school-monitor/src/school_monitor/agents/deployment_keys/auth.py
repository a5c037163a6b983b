"""Deployment keys as bearer credentials, beside device tokens and the platform's JWTs."""

import uuid
from functools import partial

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import Database, after_commit, utcnow
from school_monitor.agents.auth import PrincipalCache
from school_monitor.agents.deployment_keys.keys import hash_key, may_be_deployment_key
from school_monitor.agents.deployment_keys.service import find_active_key
from school_monitor.agents.models import DeploymentKey
from school_monitor.config import SchoolMonitorSettings

DEPLOYMENT_KEY_KIND = "deployment_key"
# A key carries no platform scope: a key copied out of an agent build must not open the
# native API. Only the Giga Meter routes accept it (school_monitor.gigameter.credentials).
DEPLOYMENT_KEY_SCOPE = "giga:agent"


def key_principal(record: DeploymentKey) -> Principal:
    return Principal(
        subject=f"deployment-key:{record.id}",
        scopes=frozenset({DEPLOYMENT_KEY_SCOPE}),
        countries=frozenset(record.countries),
        kind=DEPLOYMENT_KEY_KIND,
        claims={"deployment_key_id": record.id, "expires_at": record.expires_at},
    )


class DeploymentKeyVerifier:
    """Resolves deployment keys to principals limited to the key's countries.

    Anything that is not a key (a JWT, a device token) is left to the other verifiers; an
    unknown string of a key's shape is too, so that it gets the JWT verifier's 401. A found
    key is remembered for `device_token_cache_seconds`, like device tokens (every agent of
    a country pushes with the same key), and never past its expiry.
    """

    def __init__(self, settings: SchoolMonitorSettings) -> None:
        self.cache = PrincipalCache(settings.device_token_cache_seconds)
        self.pepper = settings.key_pepper

    async def __call__(self, request: Request, token: str) -> Principal | None:
        if not may_be_deployment_key(token):
            return None
        key_hash = hash_key(token, self.pepper)
        cached = self.cache.get(key_hash)
        if cached is not None and _unexpired(cached):
            return cached
        database: Database = request.app.state.database
        async with database.sessionmaker() as session:
            record = await find_active_key(session, key_hash)
        if record is None:
            self.cache.drop(key_hash)
            return None
        principal = key_principal(record)
        self.cache.put(key_hash, principal)
        return principal

    def forget(self, key_id: uuid.UUID) -> None:
        self.cache.forget(lambda principal: principal.claims.get("deployment_key_id") == key_id)


def _unexpired(principal: Principal) -> bool:
    expires_at = principal.claims.get("expires_at")
    return expires_at is None or expires_at > utcnow()


def forget_revoked_key(request: Request, db: AsyncSession, key_id: uuid.UUID) -> None:
    """The verified principal this process caches for a revoked key goes once `db` commits
    the revocation: forgotten earlier, a concurrent push would still read the key as active
    and cache it again."""
    for verifier in getattr(request.app.state, "extra_verifiers", []):
        if isinstance(verifier, DeploymentKeyVerifier):
            after_commit(db, partial(verifier.forget, key_id))
