"""Imports every domain's models so that Alembic sees the whole schema."""

from request_intake.assistance_requests.models import AssistanceRequest, RequestEvent
from request_intake.calls.models import Call
from request_intake.db import Base, IdempotencyRecord
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.reviews.models import Review, ReviewAssignment, ReviewForm, ReviewRevision
from request_intake.sessions.models import InformationSession, SessionParticipant
from request_intake.sla.models import SlaClock

__all__ = [
    "NOTIFICATIONS",
    "AssistanceRequest",
    "Base",
    "Call",
    "IdempotencyRecord",
    "InformationSession",
    "RequestEvent",
    "Review",
    "ReviewAssignment",
    "ReviewForm",
    "ReviewRevision",
    "SessionParticipant",
    "SlaClock",
]
