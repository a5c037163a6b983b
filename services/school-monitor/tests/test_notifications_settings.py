"""The key of the stored webhook secrets is checked at startup, not at the first webhook."""

import pytest
from pydantic import ValidationError

from school_monitor.config import SchoolMonitorSettings

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://u:p@db/schools",
    "jwt_jwks_url": "https://idp.example.org/jwks",
    "deployment_key_pepper": "p" * 32,
}


def test_production_without_a_notify_secret_key_does_not_start() -> None:
    with pytest.raises(ValidationError, match="notify_secret_key is required in production"):
        SchoolMonitorSettings(**PRODUCTION)  # type: ignore[arg-type]


def test_production_refuses_a_short_notify_secret_key() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        SchoolMonitorSettings(**PRODUCTION, notify_secret_key="short")  # type: ignore[arg-type]


def test_production_with_a_notify_secret_key_seals_and_unseals() -> None:
    from c2r_common.notifications.secrets import new_secret, seal, unseal

    settings = SchoolMonitorSettings(**PRODUCTION, notify_secret_key="k" * 32)  # type: ignore[arg-type]
    secret = new_secret()
    assert unseal(seal(secret, settings), settings) == secret
