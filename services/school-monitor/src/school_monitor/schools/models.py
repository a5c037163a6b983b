import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class School(Base):
    """A school's master data (Giga's columns) and its live connectivity state.

    The state columns are updated by ingestion in the same transaction as the data that
    changes them, so reads never have to look at raw measurements.
    """

    __tablename__ = "schools"
    __table_args__ = (
        Index(None, "country_iso3", "id"),
        Index("ix_schools_country_status", "country_iso3", "connectivity_status", "id"),
        Index("ix_schools_country_admin1", "country_iso3", "admin1", "id"),
        # Medians of the latest speeds per country are read off these indexes.
        Index("ix_schools_country_download", "country_iso3", "latest_download_mbps"),
        Index("ix_schools_country_upload", "country_iso3", "latest_upload_mbps"),
        Index("ix_schools_country_latency", "country_iso3", "latest_latency_ms"),
        Index("ix_schools_country_last_seen", "country_iso3", "last_seen_at"),
        Index("ix_schools_online_last_seen", "is_online", "last_seen_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    giga_id: Mapped[str] = mapped_column(String(64), unique=True)
    government_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    country_iso3: Mapped[str] = mapped_column(String(3))
    admin1: Mapped[str | None] = mapped_column(String(200))
    admin2: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    education_level: Mapped[str | None] = mapped_column(String(100))
    connectivity_type: Mapped[str | None] = mapped_column(String(100))
    electricity_availability: Mapped[bool | None] = mapped_column(Boolean)
    num_students: Mapped[int | None] = mapped_column(Integer)
    num_computers: Mapped[int | None] = mapped_column(Integer)
    download_speed_contracted: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connectivity_status: Mapped[str] = mapped_column(String(10), default="unknown")
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_measurement_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_download_mbps: Mapped[float | None] = mapped_column(Float)
    latest_upload_mbps: Mapped[float | None] = mapped_column(Float)
    latest_latency_ms: Mapped[float | None] = mapped_column(Float)

    tag_rows: Mapped[list["SchoolTag"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="SchoolTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class SchoolTag(Base):
    """A label such as `refugee-hosting` or a pilot programme's name."""

    __tablename__ = "school_tags"
    __table_args__ = (Index("ix_school_tags_tag", "tag", "school_id"),)

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
