"""Service-to-service deliveries: an event handed to another service of the platform
through its REST API, by the same dispatcher as webhooks and mails (claim with a lease,
send outside any transaction, mark in a commit of its own).

A subscription owned by `service:<name>` with neither a webhook nor a mailbox is the
platform's own (a built-in subscription, written by the emitting service, never by a
user): the dispatcher sends its deliveries through the ServiceSender registered for that
owner. The public subscriptions API never shows, changes or deletes it, and failures never
pause it: a hand-off waits for its receiver, however long.

The call carries an `Idempotency-Key` stable for the event (`c2r-outbox-<event id>`), so
that the receiver makes one thing however many times it is sent: after a lost answer, or
a sender killed mid-send and the delivery sent again after its lease.
"""

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from c2r_common.client import ServiceClient
from c2r_common.errors import PROBLEM_TYPE_BASE
from c2r_common.notifications.events import Event
from c2r_common.notifications.models import SubscriptionRow
from c2r_common.notifications.webhooks import SendResult

SERVICE_OWNER_PREFIX = "service:"
IDEMPOTENCY_KEY_PREFIX = "c2r-outbox-"
CHANNEL = "service"
# "Not now" rather than "never": 401/403 mean our credentials or scopes are misconfigured,
# not that the event is wrong, so it goes through once the configuration is fixed.
RETRYABLE_CLIENT_STATUSES = frozenset({401, 403, 408, 425, 429})
IN_FLIGHT_TYPE = f"{PROBLEM_TYPE_BASE}idempotency-key-in-flight"
MAX_ERROR_CHARS = 2000


def service_owner(service: str) -> str:
    """The owner of a built-in subscription for `service` (e.g. service:assessment-api)."""
    return SERVICE_OWNER_PREFIX + service


def is_service_owned(subscription: SubscriptionRow) -> bool:
    # No webhook and no mailbox as well: a user's subscription always has one of them, so a
    # token whose subject happens to start with the prefix never makes a built-in one.
    return (
        subscription.owner.startswith(SERVICE_OWNER_PREFIX)
        and subscription.webhook_url is None
        and subscription.email is None
    )


def service_owned(s: type[SubscriptionRow]) -> ColumnElement[bool]:
    """`is_service_owned` in SQL, for the subscriptions' queries."""
    return and_(
        s.owner.startswith(SERVICE_OWNER_PREFIX), s.webhook_url.is_(None), s.email.is_(None)
    )


@dataclass(frozen=True)
class ServiceAnswer(SendResult):
    """A send's outcome; `result` is what the receiver made (e.g. a created resource's id),
    for the sender's `on_delivered` hook."""

    result: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """A sender's own backoff; `max_age_hours` None: retried until it goes through (the
    dispatcher's maximum age makes a delivery dead, which a hand-off must not become by
    waiting)."""

    backoff_base_seconds: float
    backoff_max_seconds: float
    max_age_hours: float | None = None


def error_text(response: httpx.Response) -> str:
    """`HTTP <status>: <the problem's detail, or the body>`, bounded."""
    detail: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail or response.text}"[:MAX_ERROR_CHARS]


def _problem_type(response: httpx.Response) -> str | None:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("type"), str):
            return str(body["type"])
    return None


def classify(response: httpx.Response) -> ServiceAnswer:
    """What a receiver's answer means: 2xx done; 401/403/408/425/429, 5xx and an
    Idempotency-Key still being processed there (409 in-flight) later; other 4xx never."""
    status = response.status_code
    if 200 <= status < 300:
        return ServiceAnswer(True, status, 0.0, None)
    in_flight = status == 409 and _problem_type(response) == IN_FLIGHT_TYPE
    refused = 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES and not in_flight
    return ServiceAnswer(False, status, 0.0, error_text(response), permanent=refused)


def refused(error: str, status_code: int | None = None) -> ServiceAnswer:
    """A send no later attempt can fix (a person must look): the delivery is dead."""
    return ServiceAnswer(False, status_code, 0.0, error[:MAX_ERROR_CHARS], permanent=True)


class ServiceSender:
    """POSTs an event's data to `path` of one peer service through a ServiceClient (its
    peer token or OAuth client credentials, its timeouts; retries=0 there: the
    dispatcher's backoff, kept in the database, does the retrying).

    Subclasses adapt it to one contract: `body` (check the stored data before sending),
    `classify` (read the answer), `on_delivered` (runs inside the transaction that marks
    the delivery, so its effect and the mark commit together), `observe` and
    `refresh_gauges` (a service's own metrics)."""

    def __init__(
        self,
        client: ServiceClient,
        path: str,
        *,
        retry: RetryPolicy | None = None,
        key_prefix: str = IDEMPOTENCY_KEY_PREFIX,
    ) -> None:
        self.client = client
        self.path = path
        self.retry = retry
        self.key_prefix = key_prefix

    def idempotency_key(self, event: Event) -> str:
        return f"{self.key_prefix}{event.id}"

    def body(self, event: Event) -> Any:
        """The JSON body of the call; raises ValueError when the stored data cannot be
        sent (the delivery is dead with the reason: sending it again would not help)."""
        return event.data

    def classify(self, response: httpx.Response) -> ServiceAnswer:
        return classify(response)

    async def send(self, event: Event) -> ServiceAnswer:
        started = time.perf_counter()
        try:
            body = self.body(event)
        except ValueError as exc:
            return refused(f"stored event does not match the contract: {exc}")
        try:
            response = await self.client.post(
                self.path, json=body, headers={"Idempotency-Key": self.idempotency_key(event)}
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            return ServiceAnswer(False, None, _since(started), error)
        return dataclasses.replace(self.classify(response), latency_ms=_since(started))

    async def on_delivered(self, session: AsyncSession, event: Event, answer: SendResult) -> None:
        """Called in the transaction marking the delivery delivered (flush, never commit)."""

    def observe(self, event: Event, outcome: str) -> None:
        """Called after each marked attempt: delivered, retry or dead."""

    async def refresh_gauges(self, session: AsyncSession, now: datetime) -> None:
        """Called with the dispatcher's own gauges, after each pass."""

    async def aclose(self) -> None:
        await self.client.aclose()


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
