"""The hand-off sender: the common dispatcher's ServiceSender for assessment-api's built-in
subscription. It re-reads the stored body through the contract (c2r_common.handoff),
POSTs it to /v1/assessments with the entry's stable Idempotency-Key and a service token,
reads the answer per the contract, and links the assessment on the request in the
transaction that marks the delivery delivered.

All state is in the database: a restart resumes the backlog, and the stable key means a
delivery whose answer was lost (or whose sender was killed mid-send) creates nothing twice.
"""

import contextlib
import uuid
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import service_token_provider
from c2r_common.client import ServiceClient
from c2r_common.handoff import (
    ASSESSMENTS_PATH,
    AssessmentCreated,
    AssessmentExists,
    AssessmentHandoff,
)
from c2r_common.notifications.events import Event
from c2r_common.notifications.service_sender import (
    RetryPolicy,
    ServiceAnswer,
    ServiceSender,
    classify,
    refused,
)
from c2r_common.notifications.webhooks import SendResult
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.config import IntakeSettings
from request_intake.metrics import OUTBOX_ATTEMPTS
from request_intake.outbox.service import ASSESSMENT_API_OWNER
from request_intake.outbox.stats import refresh_gauges

# The dispatcher's outcomes as the outbox has always counted them.
_OUTCOMES = {"delivered": "delivered", "retry": "retry", "dead": "failed"}


def _body(response: httpx.Response) -> Any:
    with contextlib.suppress(ValueError):
        return response.json()
    return None


def _assessment_id(
    model: type[AssessmentCreated] | type[AssessmentExists], body: Any
) -> str | None:
    try:
        parsed = model.model_validate(body)
    except ValidationError:
        return None
    return str(
        parsed.id if isinstance(parsed, AssessmentCreated) else parsed.existing_assessment_id
    )


def classify_answer(response: httpx.Response) -> ServiceAnswer:
    """What assessment-api's answer means for the entry, per the hand-off contract."""
    status = response.status_code
    body = _body(response)
    if 200 <= status < 300:
        created = _assessment_id(AssessmentCreated, body)
        if created is None:
            # Sending again would not fix an answer we cannot read: a person must look.
            return refused(f"HTTP {status} without an assessment id", status)
        return ServiceAnswer(True, status, 0.0, None, result=created)
    if status == 409:
        existing = _assessment_id(AssessmentExists, body)
        if existing is not None:
            return ServiceAnswer(True, status, 0.0, None, result=existing)
        # Without the existing assessment, the same key is still being processed there
        # (idempotency-key-in-flight): the next attempt gets the stored answer.
        return ServiceAnswer(False, status, 0.0, classify(response).error)
    return classify(response)


class HandoffSender(ServiceSender):
    @classmethod
    def for_settings(cls, settings: IntakeSettings) -> "HandoffSender":
        static = settings.assessment_api_token
        client = ServiceClient(
            settings.assessment_api_url,
            token_provider=service_token_provider(
                settings,
                subject="request-intake",
                scopes=["assessments:write"],
                static_token=static.get_secret_value() if static else None,
            ),
            timeout_seconds=settings.http_timeout_seconds,
            retries=0,  # the dispatcher's backoff, kept in the database, does the retrying
        )
        return cls(client, ASSESSMENTS_PATH, retry=retry_policy(settings))

    def body(self, event: Event) -> Any:
        # A stored body that no longer matches the contract fails with the reason.
        return AssessmentHandoff.model_validate(event.data).model_dump(mode="json")

    def classify(self, response: httpx.Response) -> ServiceAnswer:
        return classify_answer(response)

    async def on_delivered(self, session: AsyncSession, event: Event, answer: SendResult) -> None:
        if not isinstance(answer, ServiceAnswer) or answer.result is None:
            return
        request_id = uuid.UUID(str(event.data["source_request_id"]))
        # A direct UPDATE that bumps the version: readers' ETags go stale, as they should.
        await session.execute(
            update(AssistanceRequest)
            .where(AssistanceRequest.id == request_id)
            .values(assessment_id=uuid.UUID(answer.result), version=AssistanceRequest.version + 1)
            .execution_options(synchronize_session=False)
        )

    def observe(self, event: Event, outcome: str) -> None:
        OUTBOX_ATTEMPTS.labels(_OUTCOMES[outcome]).inc()

    async def refresh_gauges(self, session: AsyncSession, now: datetime) -> None:
        await refresh_gauges(session, now)


def retry_policy(settings: IntakeSettings) -> RetryPolicy:
    # No maximum age: a hand-off is retried until assessment-api takes it, however long.
    return RetryPolicy(settings.outbox_backoff_base_seconds, settings.outbox_backoff_max_seconds)


def handoff_senders(settings: IntakeSettings) -> dict[str, ServiceSender]:
    """The dispatcher's service senders: the hand-off, unless the relay is switched off."""
    if not settings.outbox_relay_enabled:
        return {}
    return {ASSESSMENT_API_OWNER: HandoffSender.for_settings(settings)}
