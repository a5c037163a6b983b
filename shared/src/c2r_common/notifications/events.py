"""The typed events of the platform and their CloudEvents 1.0 JSON envelope.

One pydantic model per event type; the class holds its stable `type` (reverse-DNS, as
CloudEvents recommends) and says what its subject (the thing it is about: the order of
delivery is kept per subject) and its country are. An event's id is derived from what
happened (the type, the subject and the moment of the change), so that writing the same
change twice yields one event, never two.
"""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ConfigDict, Field

TYPE_PREFIX = "org.itu.c2r."
# uuid5 namespace of event ids: fixed for ever, or ids would change between releases.
EVENT_ID_NAMESPACE = uuid.UUID("4a4a8f5e-27a7-4e9f-9b0f-6f3c2f0d7c21")
CONTENT_TYPE = JSONFormat.CONTENT_TYPE


class EventData(BaseModel):
    """The `data` of one event type; subclasses set `event_type` and `title`."""

    model_config = ConfigDict(frozen=True)

    event_type: ClassVar[str]
    # One line for people (e-mail subjects), per language; formatted with the model's fields.
    titles: ClassVar[dict[str, str]]
    # About no country and for everyone (a call for requests): every subscriber to the type
    # gets it, focal points limited to their countries too. Opt-in, so that an event that
    # merely lacks a country is not shown to everyone by mistake.
    public: ClassVar[bool] = False

    def subject(self) -> str:
        raise NotImplementedError

    def country(self) -> str | None:
        return None

    def title(self, language: str) -> str:
        used = language if language in self.titles else "en"
        return self.titles[used].format(**self.title_values(used))

    def title_values(self, language: str) -> dict[str, Any]:
        """What the title of `language` is formatted with: the fields, and the words a type
        adds (a plural, a name in that language)."""
        return self.model_dump()


class Event(BaseModel):
    """An event ready for the outbox: its envelope attributes and its typed data."""

    id: uuid.UUID
    type: str
    source: str = Field(description="the service that emitted it, as a URI reference")
    subject: str
    time: datetime
    country_iso3: str | None
    data: dict[str, Any]
    public: bool = Field(
        default=False, description="about no country, for every subscriber to its type"
    )

    @classmethod
    def of(cls, data: EventData, *, source: str, time: datetime, key: str) -> "Event":
        """The event of `data`; `key` names the change (e.g. the moment of the status change),
        so that the id is the same each time the same change is written."""
        subject = data.subject()
        return cls(
            id=event_id(data.event_type, subject, key),
            type=data.event_type,
            source=source,
            subject=subject,
            time=time,
            country_iso3=data.country(),
            data=data.model_dump(mode="json"),
            public=data.public,
        )


def event_id(event_type: str, subject: str, key: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{event_type}\n{subject}\n{key}")


def to_cloudevent(event: Event) -> bytes:
    """The event as a CloudEvents 1.0 structured-mode JSON document."""
    attributes: dict[str, Any] = {
        "id": str(event.id),
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
        "datacontenttype": "application/json",
    }
    if event.country_iso3:
        attributes["c2rcountry"] = event.country_iso3  # an extension: lower-case alnum only
    return JSONFormat().write(CloudEvent(attributes, event.data))


def from_cloudevent(body: bytes) -> CloudEvent:
    event = JSONFormat().read(None, body)
    assert isinstance(event, CloudEvent)
    return event
