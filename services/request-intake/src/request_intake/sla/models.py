import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime
from request_intake.db import Base


class SlaClock(Base):
    """One SLA clock of a request: its first response, its resolution, or one stage.

    Running from `started_at` until `stopped_at`; while the request waits for the Member
    State it is paused (`paused_at`), and on resumption its due date and warning time move
    later by the business time it was paused (kept in `paused_microseconds`). A clock
    stopped at or before its due date was met; one stopped by a withdrawal is cancelled
    and counts neither way.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        Index("ix_sla_clocks_request_running", "request_id", "stopped_at"),
        Index("ix_sla_clocks_warn_due", "stopped_at", "warn_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE")
    )
    call_id: Mapped[uuid.UUID] = mapped_column(index=True)  # the report groups by call
    target: Mapped[str] = mapped_column(String(20))  # first_response, resolution, stage
    stage: Mapped[str | None] = mapped_column(String(30))  # a stage clock's stage
    calendar: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_microseconds: Mapped[int] = mapped_column(BigInteger, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
