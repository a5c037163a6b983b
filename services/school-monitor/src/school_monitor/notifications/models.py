"""The outbox tables (c2r_common.notifications) on this service's base, and the state the
detection keeps to notify each change once."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime
from c2r_common.notifications.models import notification_models
from school_monitor.db import Base

NOTIFICATIONS = notification_models(Base)


class SchoolNoticeState(Base):
    """A school's status as last notified (or taken as the baseline): a change is notified
    once, when the school's status differs from this one and has held long enough."""

    __tablename__ = "notification_school_states"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    is_online: Mapped[bool] = mapped_column(Boolean)
    connectivity_status: Mapped[str] = mapped_column(String(10))
    # Went offline inside an area outage, told by the area's event: its return is told by
    # the area's recovery, not one by one.
    absorbed: Mapped[bool] = mapped_column(Boolean, default=False)


class AreaOutageState(Base):
    """An area outage in progress (deleted when it recovers)."""

    __tablename__ = "notification_area_outages"

    country_iso3: Mapped[str] = mapped_column(String(3), primary_key=True)
    # WHOLE_COUNTRY for the country itself, else the admin1 ("" for schools without one).
    area: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgentSilenceNotice(Base):
    """The silence of an agent that was notified: the last push it was silent since."""

    __tablename__ = "notification_agent_silences"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
