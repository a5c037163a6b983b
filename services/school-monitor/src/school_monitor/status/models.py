import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class Alert(Base):
    """A change of a school's status worth telling someone about."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(None, "created_at", "id"),
        Index("ix_alerts_country_created", "country_iso3", "created_at", "id"),
        Index("ix_alerts_school_created", "school_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    country_iso3: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(30))
    previous: Mapped[str] = mapped_column(String(20))
    current: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
