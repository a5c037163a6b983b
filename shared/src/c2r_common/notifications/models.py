"""The outbox tables, defined on a service's own declarative base (services own their
databases): `notification_models(Base)` once, in the service's models registry, and a
migration creating the three tables (the service's `alembic check` keeps them in step).

- `notification_events`: one row per event, written by `emit` in the caller's transaction;
  its id is the event's stable id (primary key: the same change written twice is one row).
- `notification_subscriptions`: who wants which events, where.
- `notification_deliveries`: one row per (event, subscription), unique, created with the
  event; the dispatcher claims, sends and marks each one in transactions of its own.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
DeliveryId = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus:
    PENDING = "pending"  # due at next_attempt_at (also while leased to a sender)
    DIGEST = "digest"  # waits for the subscriber's daily digest
    DELIVERED = "delivered"
    DEAD = "dead"  # given up (too old, or refused for good): redeliver by hand


class SubscriptionStatus:
    ACTIVE = "active"
    PAUSED = "paused"


class _Row:
    """What the mapped classes are to the type checker (they are built on each service's
    base at run time, so no class of this module is their base)."""

    def __init__(self, **columns: Any) -> None: ...


class EventRow(_Row):
    id: Mapped[uuid.UUID]
    type: Mapped[str]
    source: Mapped[str]
    subject: Mapped[str]
    country_iso3: Mapped[str | None]
    time: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SubscriptionRow(_Row):
    id: Mapped[uuid.UUID]
    owner: Mapped[str]
    owner_countries: Mapped[list[str] | None]
    webhook_url: Mapped[str | None]
    email: Mapped[str | None]
    language: Mapped[str]
    event_types: Mapped[list[str]]
    countries: Mapped[list[str] | None]
    digest: Mapped[bool]
    secret: Mapped[str | None]
    status: Mapped[str]
    paused_reason: Mapped[str | None]
    consecutive_failures: Mapped[int]
    last_digest_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryRow(_Row):
    id: Mapped[int]
    event_id: Mapped[uuid.UUID]
    subscription_id: Mapped[uuid.UUID]
    subject: Mapped[str]
    event_type: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    age_from: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_latency_ms: Mapped[float | None]
    last_error: Mapped[str | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class NotificationModels:
    event: type[EventRow]
    subscription: type[SubscriptionRow]
    delivery: type[DeliveryRow]


def notification_models(base: type[DeclarativeBase]) -> NotificationModels:
    """The three mapped classes on `base` (call once per service)."""

    class NotificationEvent(base):  # type: ignore[valid-type,misc]
        __tablename__ = "notification_events"
        __table_args__ = (Index("ix_notification_events_created", "created_at"),)

        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        type: Mapped[str] = mapped_column(String(100))
        source: Mapped[str] = mapped_column(String(200))
        subject: Mapped[str] = mapped_column(String(300))
        country_iso3: Mapped[str | None] = mapped_column(String(3))
        time: Mapped[datetime] = mapped_column(UTCDateTime)
        data: Mapped[dict[str, Any]] = mapped_column(JSON)
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    class NotificationSubscription(base):  # type: ignore[valid-type,misc]
        __tablename__ = "notification_subscriptions"
        __table_args__ = (Index("ix_notification_subscriptions_owner", "owner", "created_at"),)

        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
        owner: Mapped[str] = mapped_column(String(200))  # the token's subject
        # The creator's countries (null: all), kept so that a focal point's subscription
        # never receives another country's events, whatever its filter says.
        owner_countries: Mapped[list[str] | None] = mapped_column(JSON)
        webhook_url: Mapped[str | None] = mapped_column(String(2000))
        email: Mapped[str | None] = mapped_column(String(320))
        language: Mapped[str] = mapped_column(String(5), default="en")
        event_types: Mapped[list[str]] = mapped_column(JSON)
        countries: Mapped[list[str] | None] = mapped_column(JSON)  # null: all it may see
        digest: Mapped[bool] = mapped_column(Boolean, default=False)
        # The webhook signing secret, encrypted (c2r_common.notifications.secrets): it must
        # be read back to sign, so it cannot be hashed.
        secret: Mapped[str | None] = mapped_column(Text)
        status: Mapped[str] = mapped_column(String(10), default=SubscriptionStatus.ACTIVE)
        paused_reason: Mapped[str | None] = mapped_column(String(500))
        consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
        last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
        updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    class NotificationDelivery(base):  # type: ignore[valid-type,misc]
        __tablename__ = "notification_deliveries"
        __table_args__ = (
            # Once per (event, subscription), whatever the replicas and restarts.
            UniqueConstraint("event_id", "subscription_id"),
            Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
            Index("ix_notification_deliveries_subject", "subscription_id", "subject", "id"),
        )

        id: Mapped[int] = mapped_column(DeliveryId, primary_key=True, autoincrement=True)
        event_id: Mapped[uuid.UUID] = mapped_column(
            ForeignKey("notification_events.id", ondelete="CASCADE"), index=True
        )
        subscription_id: Mapped[uuid.UUID] = mapped_column(
            ForeignKey("notification_subscriptions.id", ondelete="CASCADE")
        )
        subject: Mapped[str] = mapped_column(String(300))
        event_type: Mapped[str] = mapped_column(String(100))
        status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
        attempts: Mapped[int] = mapped_column(Integer, default=0)
        next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
        # The max age counts from here: the event's creation, or a manual redelivery.
        age_from: Mapped[datetime] = mapped_column(UTCDateTime)
        last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
        last_status_code: Mapped[int | None] = mapped_column(Integer)
        last_latency_ms: Mapped[float | None] = mapped_column()
        last_error: Mapped[str | None] = mapped_column(Text)
        delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
        created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    return NotificationModels(
        event=NotificationEvent,
        subscription=NotificationSubscription,
        delivery=NotificationDelivery,
    )
