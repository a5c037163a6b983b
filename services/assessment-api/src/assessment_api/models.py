"""Imports every domain's models so that Alembic sees the whole schema."""

from assessment_api.db import Base, IdempotencyRecord
from assessment_api.methodology.models import Methodology

__all__ = ["Base", "IdempotencyRecord", "Methodology"]
