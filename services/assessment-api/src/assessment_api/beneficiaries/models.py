from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class Beneficiary(Base):
    """A C2R beneficiary country, with where its membership comes from."""

    __tablename__ = "beneficiaries"

    country_iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    source: Mapped[str] = mapped_column(String(300))
    # True when no public source names the country: the list is a placeholder to be edited.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
