import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class Assessment(Base):
    """One country's assessment for one period, pinned to a methodology version."""

    __tablename__ = "assessments"
    __table_args__ = (
        # One assessment per country, period and methodology version: the original and its
        # re-scored copies under other versions sit side by side.
        UniqueConstraint("country_iso3", "period", "methodology_version"),
        # Of those, one original: a second one for the same country and period is a 409.
        Index(
            "ix_assessments_original_country_period",
            "country_iso3",
            "period",
            unique=True,
            sqlite_where=text("rescored_from_id IS NULL"),
            postgresql_where=text("rescored_from_id IS NULL"),
        ),
    )

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
    # The assessment whose values this one re-scores under another methodology version.
    rescored_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assessments.id"), default=None
    )
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
