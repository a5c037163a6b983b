import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c2r_common.db import UTCDateTime
from request_intake.db import Base


class ReviewForm(Base):
    """What a call's reviewers score: criteria with a scale and a weight, and how many
    reviews an approval needs."""

    __tablename__ = "review_forms"

    call_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reviews_required: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewAssignment(Base):
    """A reviewer (a token subject) asked to review one request, in a role, by a date."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        UniqueConstraint("request_id", "reviewer", name="uq_review_assignments_request_reviewer"),
        Index("ix_review_assignments_reviewer_due", "reviewer", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """The current text of one assignment's review; every version is kept in
    ReviewRevision, written in the same transaction."""

    __tablename__ = "reviews"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    assignment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("review_assignments.id", ondelete="CASCADE"), unique=True
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistance_requests.id", ondelete="CASCADE"), index=True
    )
    reviewer: Mapped[str] = mapped_column(String(200))
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    recommendation: Mapped[str] = mapped_column(String(10))
    comments: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewRevision(Base):
    """One version of a review, as submitted or amended."""

    __tablename__ = "review_revisions"
    __table_args__ = (
        UniqueConstraint("review_id", "revision", name="uq_review_revisions_review_revision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    recommendation: Mapped[str] = mapped_column(String(10))
    comments: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
