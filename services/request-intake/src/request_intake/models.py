"""Imports every domain's models so that Alembic sees the whole schema."""

from request_intake.db import Base, IdempotencyRecord
from request_intake.sessions.models import InformationSession, SessionParticipant

__all__ = ["Base", "IdempotencyRecord", "InformationSession", "SessionParticipant"]
