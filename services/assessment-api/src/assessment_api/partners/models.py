import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assessment_api.db import Base
from c2r_common.db import UTCDateTime, utcnow


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    country_iso3: Mapped[str | None] = mapped_column(String(3), default=None)
    founding: Mapped[bool] = mapped_column(Boolean, default=False)
    steering_committee: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_on: Mapped[date | None] = mapped_column(Date, default=None)
    source: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contribution(Base):
    """Money a partner gives to C2R. Amounts are kept in minor units (cents) so sums are
    exact on every database."""

    __tablename__ = "contributions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    contributed_on: Mapped[date] = mapped_column(Date)
    focus_region: Mapped[str | None] = mapped_column(String(30), default=None)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    phases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    partner: Mapped[Partner] = relationship(lazy="joined")
