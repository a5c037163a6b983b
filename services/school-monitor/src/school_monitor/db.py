"""The service's declarative base; every domain's models.py builds on it."""

from sqlalchemy.orm import DeclarativeBase

from c2r_common.db import new_metadata
from c2r_common.idempotency import IdempotencyRecordMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass
