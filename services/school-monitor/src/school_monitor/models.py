"""Imports every domain's models so that Alembic sees the whole schema."""

from school_monitor.db import Base, IdempotencyRecord
from school_monitor.schools.models import School

__all__ = ["Base", "IdempotencyRecord", "School"]
