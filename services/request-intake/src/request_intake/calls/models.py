import uuid
from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from request_intake.db import Base


class Call(Base):
    """A call for technical-assistance requests, open between two instants."""

    __tablename__ = "calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    assistance_types: Mapped[list[str]] = mapped_column(JSON)
    eligible_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_zone: Mapped[str] = mapped_column(String(64))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    grace_period_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_requests_per_country: Mapped[int | None] = mapped_column(Integer)
    # The organisation's calendar its requests' SLAs count on; None: the default one.
    sla_calendar: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
