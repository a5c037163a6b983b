import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class IndicatorValue(Base):
    """The current value of one indicator in one assessment."""

    __tablename__ = "indicator_values"

    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    indicator_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    provenance: Mapped[str] = mapped_column(
        String(20), default="reported", server_default="reported"
    )
    source_url: Mapped[str | None] = mapped_column(String(2083), default=None)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorValueChange(Base):
    """Every change of an indicator value, kept for history (value None: removed)."""

    __tablename__ = "indicator_value_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    indicator_code: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    provenance: Mapped[str | None] = mapped_column(String(20), default=None)
    source_url: Mapped[str | None] = mapped_column(String(2083), default=None)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
