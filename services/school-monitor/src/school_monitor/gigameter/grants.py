"""Who may write for which school on the Giga Meter routes: credentials.authorize_giga_write,
its grants remembered for a while, since an agent pushes every few minutes."""

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope
from c2r_common.db import Database
from c2r_common.errors import ProblemError
from school_monitor.config import SchoolMonitorSettings
from school_monitor.gigameter.credentials import (
    WriteGrant,
    WriteRefused,
    authorize_giga_write,
    is_deployment_key,
)
from school_monitor.gigameter.schemas import GigaMeterMeasurement


def require_writer(principal: Principal) -> Principal:
    """The writers of the Giga Meter routes (credentials.GigaWriter), for the single push,
    which resolves its caller without dependency injection."""
    if is_deployment_key(principal) or principal.has_scope(Scope.MEASUREMENTS_WRITE):
        return principal
    raise ProblemError(403, "This needs a deployment key or a token with measurements:write.")


GrantKey = tuple[Principal, str, tuple[str, ...]]


class WriteGrants:
    """The grants of credentials.authorize_giga_write, remembered for `ttl` seconds: an
    agent pushing every few minutes costs no lookup of its school and device each time.

    Like a cached device token, a revoked device is honoured at once in the process that
    revoked it (`forget`) and within that time on another replica; a school deleted
    meanwhile is refused by the pipeline all the same, which locks its row. Refusals are
    not remembered: a school or device registered a moment ago is found at once.
    """

    MAX_ENTRIES = 100_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._grants: dict[GrantKey, tuple[float, WriteGrant]] = {}

    @staticmethod
    def _key(principal: Principal, giga_id: str, device_ids: Iterable[str | None]) -> GrantKey:
        # Only a deployment key's grant depends on the device named (see credentials).
        named = {d for d in device_ids if d} if is_deployment_key(principal) else set()
        return principal, giga_id, tuple(sorted(named))

    async def grant(
        self,
        database: Database,
        principal: Principal,
        giga_id: str,
        device_ids: Iterable[str | None] = (),
    ) -> WriteGrant:
        """The grant, or WriteRefused."""
        [found] = await self.grants(database, principal, [(giga_id, device_ids)])
        if isinstance(found, WriteRefused):
            raise found
        return found

    async def grants(
        self,
        database: Database,
        principal: Principal,
        wanted: Sequence[tuple[str, Iterable[str | None]]],
    ) -> list[WriteGrant | WriteRefused]:
        """The grant or refusal of each (Giga id, device ids): those not remembered are
        looked up in one session, each distinct one once."""
        keys = [self._key(principal, giga_id, devices) for giga_id, devices in wanted]
        now = time.monotonic()
        found: dict[GrantKey, WriteGrant | WriteRefused] = {}
        for key in keys:
            cached = self._grants.get(key)
            if cached is not None and cached[0] > now:
                found[key] = cached[1]
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            async with database.sessionmaker() as session:
                for key in missing:
                    found[key] = await self._authorize(session, key)
        return [found[key] for key in keys]

    def forget(self, agent_id: uuid.UUID) -> None:
        """Drops the grants that write as that agent (revoked, deactivated): at once in
        this process, like a revoked device token."""
        for key, (_, grant) in list(self._grants.items()):
            if grant.agent_id == agent_id:
                del self._grants[key]

    async def _authorize(self, session: AsyncSession, key: GrantKey) -> WriteGrant | WriteRefused:
        principal, giga_id, devices = key
        try:
            grant = await authorize_giga_write(
                session, principal, giga_id_school=giga_id, device_ids=devices
            )
        except WriteRefused as refusal:
            return refusal
        if self.ttl > 0:
            if len(self._grants) >= self.MAX_ENTRIES:
                self._grants.clear()
            self._grants[key] = (time.monotonic() + self.ttl, grant)
        return grant


def write_grants(app_state: Any) -> WriteGrants:
    if not hasattr(app_state, "giga_write_grants"):
        settings: SchoolMonitorSettings = app_state.settings
        app_state.giga_write_grants = WriteGrants(settings.device_token_cache_seconds)
    grants: WriteGrants = app_state.giga_write_grants
    return grants


def device_ids(payload: GigaMeterMeasurement, raw: dict[str, Any]) -> list[str | None]:
    """What a payload carries to name its device: the user_id that registration
    answered (sent back as BrowserID) and, from v2 on, the hardware id."""
    hardware_id = raw.get("device_hardware_id")
    return [payload.browser_id, hardware_id if isinstance(hardware_id, str) else None]
