from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class Measurement(Base):
    """One speed test, keyed by the client's UUID so that a retry is never stored twice.

    On PostgreSQL the table is partitioned by month of `measured_at` (the migration of
    2026-12-01; school_monitor.retention creates and drops the partitions) and its primary
    key is (uuid, measured_at): the UUID is unique through `MeasurementKey`. SQLite keeps
    one table with the UUID as its primary key.
    """

    __tablename__ = "measurements"
    __table_args__ = (Index(None, "school_id", "measured_at", "uuid"),)

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    download_mbps: Mapped[float] = mapped_column(Float)
    upload_mbps: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    packet_loss_pct: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(50))
    server: Mapped[str | None] = mapped_column(String(300))
    app_version: Mapped[str | None] = mapped_column(String(50))
    agent_id: Mapped[UUID | None] = mapped_column()
    raw_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Ping(Base):
    """One connectivity check, keyed by the client's UUID (Giga's `app_local_uuid`).

    Partitioned like `Measurement` on PostgreSQL, by month of `checked_at`; UUIDs unique
    through `PingKey`.
    """

    __tablename__ = "pings"
    __table_args__ = (Index(None, "school_id", "checked_at", "uuid"),)

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_connected: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(50))
    agent_id: Mapped[UUID | None] = mapped_column()


class MeasurementKey(Base):
    """PostgreSQL: the UUID of every measurement stored in the acceptance window, unique
    across the monthly partitions of `measurements` (a partitioned table's unique index
    must hold the partition key). Keys older than the window are pruned: a retry of such
    an item is refused as out of window anyway. Empty on SQLite, whose `measurements`
    primary key is the UUID."""

    __tablename__ = "measurement_keys"
    __table_args__ = (Index(None, "stored_at"),)

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the row's received_at


class PingKey(Base):
    """The same as `MeasurementKey`, for `pings`."""

    __tablename__ = "ping_keys"
    __table_args__ = (Index(None, "stored_at"),)

    uuid: Mapped[UUID] = mapped_column(primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FailedMeasurement(Base):
    """A Giga Meter payload that could not become a measurement, and why.

    One per client UUID (a retrying agent does not pile up copies). Filed under
    `country_iso3`: the country the sender named, when the sender may write for it, else
    none (seen only by callers not limited to countries), so that no caller can put a
    record in front of another country's readers.
    """

    __tablename__ = "failed_measurements"
    __table_args__ = (
        Index(None, "received_at", "id"),
        Index(None, "client_uuid", unique=True),
        Index(None, "country_iso3", "received_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    client_uuid: Mapped[str | None] = mapped_column(String(64))
    giga_id_school: Mapped[str | None] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(8))
    country_iso3: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class MeasurementFlag(Base):
    """A data-quality flag on a stored measurement: it was kept, but something in it does
    not add up (a Giga Meter agent reporting its IP address's country, not its school's).

    Written in the transaction that stores the measurement, once per measurement and kind.
    Listed to the readers of the school's country.
    """

    __tablename__ = "measurement_flags"
    __table_args__ = (Index(None, "country_iso3", "created_at", "measurement_uuid", "kind"),)

    measurement_uuid: Mapped[UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    country_iso3: Mapped[str] = mapped_column(String(3))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
