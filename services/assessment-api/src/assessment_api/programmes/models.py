import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class ProgrammePhase(Base):
    """The recorded state of one C2R phase in one country (absent: derived or not started)."""

    __tablename__ = "programme_phases"

    country_iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    phase: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    completed_on: Mapped[date | None] = mapped_column(Date, default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    sg1_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Technical-assistance requests of request-intake behind this phase (their ids).
    request_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pilot(Base):
    __tablename__ = "pilots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    country_iso3: Mapped[str] = mapped_column(String(3), index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    partner_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sites: Mapped[list["PilotSite"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PilotSite.id"
    )


class PilotSite(Base):
    """A site of a pilot; schools refer to school-monitor's school ids."""

    __tablename__ = "pilot_sites"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pilot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pilots.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[str | None] = mapped_column(String(100), default=None)
    name: Mapped[str] = mapped_column(String(300))
    site_type: Mapped[str] = mapped_column(String(60))
    connected_on: Mapped[date | None] = mapped_column(Date, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
