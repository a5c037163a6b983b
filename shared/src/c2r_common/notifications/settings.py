"""Settings of the notifications, for a service's settings class to inherit."""

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator

from c2r_common.settings import Environment, ServiceSettings


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded (port 587)
    TLS = "tls"  # TLS from the first byte (port 465)
    NONE = "none"  # loopback relays and tests only


MIN_SECRET_KEY_LENGTH = 32


class NotifyingSettings(ServiceSettings):
    notify_relay_interval_seconds: float = Field(
        5.0, ge=0, description="pause between passes of the notification dispatcher (0: never)"
    )
    notify_batch_size: int = Field(
        100, ge=1, le=10_000, description="deliveries claimed per dispatcher pass"
    )
    notify_backoff_base_seconds: float = Field(
        10.0, gt=0, description="delay before the second attempt; doubled at each failure"
    )
    notify_backoff_max_seconds: float = Field(
        3600.0, gt=0, description="longest delay between two attempts of a delivery"
    )
    notify_max_age_hours: float = Field(
        72.0, gt=0, description="a delivery still failing this long after its event is dead"
    )
    notify_webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="time a webhook receiver has to answer"
    )
    notify_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="a claimed delivery whose sender vanished (killed mid-send) is sent again "
        "after this long, with the same webhook-id; longer than any send",
    )
    notify_pause_after_failures: int = Field(
        20, ge=1, description="consecutive failed attempts after which a subscription is paused"
    )
    notify_allow_private_urls: bool = Field(
        False,
        description="outside production, let webhooks reach loopback and private addresses "
        "(local receivers in development and tests); production always refuses them",
    )
    notify_secret_key: SecretStr | None = Field(
        None,
        description="key under which webhook signing secrets are encrypted at rest (at least "
        f"{MIN_SECRET_KEY_LENGTH} characters; required in production); elsewhere, without it, "
        "one derived from jwt_secret (then rotating that secret voids the stored ones)",
    )
    notify_digest_hour_utc: int = Field(
        6, ge=0, le=23, description="hour (UTC) after which each day's digest mails are sent"
    )
    smtp_host: str | None = Field(None, description="SMTP server of e-mail notifications")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port")
    smtp_security: SmtpSecurity = Field(
        SmtpSecurity.STARTTLS, description="starttls, tls (implicit) or none"
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_sender: str = Field(
        "Connect2Recover <notifications@c2r.itu.int>", description="From: of notification mails"
    )
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="SMTP connection timeout")

    @model_validator(mode="after")
    def _webhook_secrets_have_a_key(self) -> Self:
        # Checked at startup, not when a secret is first sealed: production verifies tokens
        # by JWKS and has no jwt_secret to derive a key from, and a key derived from it would
        # void every stored secret when it is rotated.
        key = self.notify_secret_key.get_secret_value() if self.notify_secret_key else None
        if key is None and (self.environment is Environment.PRODUCTION or self.jwt_secret is None):
            raise ValueError(
                "notify_secret_key is required in production (or without jwt_secret): "
                "the key under which webhook signing secrets are encrypted"
            )
        if key is not None and len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"notify_secret_key has at least {MIN_SECRET_KEY_LENGTH} characters")
        return self

    @property
    def notify_key_material(self) -> bytes:
        """What webhook signing secrets' encryption key is derived from."""
        if self.notify_secret_key is not None:
            return self.notify_secret_key.get_secret_value().encode()
        if self.jwt_secret is None:  # refused by the validator above
            raise RuntimeError("notify_secret_key is missing")
        return self.jwt_secret.get_secret_value().encode()

    @property
    def refuses_private_urls(self) -> bool:
        return self.environment is Environment.PRODUCTION or not self.notify_allow_private_urls
