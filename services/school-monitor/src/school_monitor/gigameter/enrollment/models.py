import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime, utcnow
from school_monitor.db import Base


class FlaggedSchool(Base):
    """A school chosen in a country other than the one its agent's network is in.

    The Giga Meter agent reports it at registration (upstream's `flagged school`): a school
    near a border, behind a foreign satellite link, or a wrong choice. One record per
    school and pair of countries: a device registering again adds nothing.
    """

    __tablename__ = "flagged_schools"
    __table_args__ = (
        UniqueConstraint("school_id", "detected_country", "selected_country"),
        Index(None, "country_iso3", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    # The school's country, so that a reader sees only its countries' flags.
    country_iso3: Mapped[str] = mapped_column(String(3))
    detected_country: Mapped[str] = mapped_column(String(8))
    selected_country: Mapped[str] = mapped_column(String(8))
    government_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[str | None] = mapped_column(String(64))  # the agent's own time text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
