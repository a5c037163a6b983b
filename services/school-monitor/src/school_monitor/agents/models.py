import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class Agent(Base):
    """A measuring device registered for one school; only its token's hash is kept."""

    __tablename__ = "agents"
    __table_args__ = (
        Index(None, "school_id", "id"),
        Index(None, "last_seen_at"),
        Index(None, "hardware_id"),
        Index(None, "mac_address"),
        # One active agent per device and school, so that a registration repeated
        # concurrently (a retry, a double click, two replicas) finds the first one's.
        Index(
            "uq_agents_active_device",
            "school_id",
            "hardware_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    hardware_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(16))
    app_version: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a Giga Meter agent reports at registration and reads back on a reinstall: the
    # id of its installation (upstream's `mac_address`) and its operating system.
    mac_address: Mapped[str | None] = mapped_column(String(200))
    os: Mapped[str | None] = mapped_column(String(100))
    # Set when the device registered itself with a deployment key (a Giga Meter agent):
    # such a device never receives its token and pushes with the key.
    deployment_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deployment_keys.id", ondelete="SET NULL")
    )


class DeploymentKey(Base):
    """A bearer key compiled into an agent build, valid for the schools of its countries.

    Only its hash is kept. The agents that carry it cannot be told apart by the key, so a
    push with it is accepted only for a device registered with it (see gigameter.credentials).
    """

    __tablename__ = "deployment_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    countries: Mapped[list[str]] = mapped_column(JSON)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
