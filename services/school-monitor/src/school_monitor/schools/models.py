import uuid
from datetime import datetime

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (Index(None, "country_iso3", "id"),)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
