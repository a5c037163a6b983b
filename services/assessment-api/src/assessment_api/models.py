"""Imports every domain's models so that Alembic sees the whole schema."""

from assessment_api.db import Base, IdempotencyRecord

__all__ = ["Base", "IdempotencyRecord"]
