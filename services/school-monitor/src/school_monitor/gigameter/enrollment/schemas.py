"""Answers in the shapes the Giga Meter agent reads (field names as upstream's)."""

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from c2r_common.db import utcnow

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    """Upstream's `ApiSuccessResponseDto`: the app reads `data`."""

    success: bool = True
    data: DataT
    timestamp: datetime = Field(default_factory=utcnow)
    message: str = "success"


class GigaCountry(BaseModel):
    """A country where the agent may be installed (upstream's `dailycheckapp_country`)."""

    id: str
    code: str = Field(description="ISO alpha-2, as the app sends it")
    code_iso3: str
    name: str
    country_id: str
    created_at: datetime | None
