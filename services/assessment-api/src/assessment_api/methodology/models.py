from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class Methodology(Base):
    """One published methodology version; immutable once stored, so assessments pinned to
    it keep scoring the same way."""

    __tablename__ = "methodologies"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(200))
