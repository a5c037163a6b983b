import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class Assessment(Base):
    """One country's assessment for one period, pinned to a methodology version."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("country_iso3", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    country_iso3: Mapped[str] = mapped_column(String(3), index=True)
    period: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    methodology_version: Mapped[int] = mapped_column(ForeignKey("methodologies.version"))
    status: Mapped[str] = mapped_column(String(30), index=True)
    # The ETag. The ORM bumps it on every UPDATE and makes the UPDATE conditional on the
    # revision read, so of two concurrent writers of the same revision only one succeeds.
    revision: Mapped[int] = mapped_column(Integer)
    source_request_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    translations: Mapped[list["AssessmentTranslation"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AssessmentTranslation.language"
    )

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 - SQLAlchemy's declaration


class AssessmentTranslation(Base):
    __tablename__ = "assessment_translations"

    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to an assessment, and when; never updated or deleted."""

    __tablename__ = "assessment_audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, default=None)
