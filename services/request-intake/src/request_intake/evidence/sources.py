"""Reads a country's evidence from assessment-api and school-monitor over REST, each part
within its own time budget. Every failure becomes an Unavailable part with the reason,
never an exception: one service slow or down leaves the other part standing."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Annotated, TypeVar

import httpx
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from c2r_common.auth import Scope, service_token_provider
from c2r_common.client import ServiceClient
from c2r_common.evidence import (
    AssessmentEvidence,
    AssessmentPart,
    ConnectivityEvidence,
    ConnectivityPart,
    GapsSummary,
    LatestAssessment,
    LatestAssessments,
    ScoresSummary,
    Unavailable,
)
from c2r_common.schemas import CountryConnectivitySummary
from request_intake.config import IntakeSettings

logger = logging.getLogger("request_intake.evidence")

SERVICE_NAME = "request-intake"
TOP_GAPS = 5
GATEWAY_UNAVAILABLE = frozenset({502, 503, 504})
ModelT = TypeVar("ModelT", bound=BaseModel)


class PartFailed(Exception):
    """A part could not be read; the message is the reason shown to the reader."""


class _Source:
    def __init__(self, name: str, client: ServiceClient) -> None:
        self.name = name
        self.client = client

    async def read(self, path: str, model: type[ModelT], missing: str, **params: object) -> ModelT:
        """The answer to GET `path` as `model`; `missing`: the reason given on a 404."""
        try:
            response = await self.client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise PartFailed(f"{self.name} is unreachable ({type(exc).__name__})") from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            raise PartFailed(missing)
        if response.status_code in GATEWAY_UNAVAILABLE:
            raise PartFailed(f"{self.name} is unavailable (HTTP {response.status_code})")
        if response.status_code != httpx.codes.OK:
            raise PartFailed(f"{self.name} answered HTTP {response.status_code}")
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise PartFailed(f"{self.name} sent an answer this service cannot read") from exc


class EvidenceSources:
    def __init__(
        self, assessments: ServiceClient, schools: ServiceClient, budget_seconds: float
    ) -> None:
        self.assessments = _Source("assessment-api", assessments)
        self.schools = _Source("school-monitor", schools)
        self.budget_seconds = budget_seconds

    @classmethod
    def for_settings(cls, settings: IntakeSettings) -> "EvidenceSources":
        def client(url: str, scope: Scope, token: str | None) -> ServiceClient:
            credentials = service_token_provider(
                settings, subject=SERVICE_NAME, scopes=[scope], static_token=token
            )
            return ServiceClient(
                url,
                token_provider=credentials,
                timeout_seconds=settings.evidence_timeout_seconds,
                retries=1,
            )

        assessment_token = settings.assessment_api_token
        schools_token = settings.school_monitor_token
        return cls(
            client(
                settings.assessment_api_url,
                Scope.ASSESSMENTS_READ,
                assessment_token.get_secret_value() if assessment_token else None,
            ),
            client(
                settings.school_monitor_url,
                Scope.SCHOOLS_READ,
                schools_token.get_secret_value() if schools_token else None,
            ),
            settings.evidence_timeout_seconds,
        )

    async def aclose(self) -> None:
        await self.assessments.client.aclose()
        await self.schools.client.aclose()

    async def _within_budget(self, name: str, reading: Awaitable[ModelT]) -> ModelT | Unavailable:
        try:
            # The whole part, every call and retry included, fits in one budget.
            async with asyncio.timeout(self.budget_seconds):
                return await reading
        except TimeoutError:
            reason = f"{name} did not answer within {self.budget_seconds} s"
        except PartFailed as failure:
            reason = str(failure)
        logger.warning("evidence part unavailable: %s", reason)
        return Unavailable(reason=reason)

    async def assessment(self, iso3: str) -> AssessmentPart:
        return await self._within_budget("assessment-api", self._latest_assessment(iso3))

    async def connectivity(self, iso3: str) -> ConnectivityPart:
        return await self._within_budget("school-monitor", self._connectivity(iso3))

    async def _connectivity(self, iso3: str) -> ConnectivityEvidence:
        path = f"/v1/connectivity/countries/{iso3}"
        missing = f"school-monitor has no connectivity data for {iso3}"
        summary = await self.schools.read(path, CountryConnectivitySummary, missing)
        return ConnectivityEvidence(summary=summary)

    async def _latest_assessment(self, iso3: str) -> AssessmentEvidence:
        latest = await self._latest(iso3)
        base = f"/v1/assessments/{latest.assessment_id}"
        missing = f"assessment-api no longer has assessment {latest.assessment_id}"
        scores = await self.assessments.read(f"{base}/scores", ScoresSummary, missing)
        gaps = await self.assessments.read(f"{base}/gaps", GapsSummary, missing)
        return AssessmentEvidence(
            assessment_id=latest.assessment_id,
            period=latest.period,
            assessment_status=latest.status,
            methodology_version=latest.methodology_version,
            overall=scores.overall,
            band=scores.band,
            coverage=scores.coverage,
            pillars=scores.pillars,
            top_gaps=gaps.gaps[:TOP_GAPS],
            missing_data=gaps.missing_data,
        )

    async def _latest(self, iso3: str) -> LatestAssessment:
        """The country's latest finished assessment, chosen by assessment-api itself: its
        comparison answers one row per country, by its own rule (finished statuses only;
        the latest period; within it, the newest methodology version)."""
        missing = "assessment-api does not compare assessments"
        latest = await self.assessments.read(
            "/v1/assessments/compare", LatestAssessments, missing, countries=iso3
        )
        for row in latest.rows:
            if row.country_iso3 == iso3:
                return row
        raise PartFailed(f"assessment-api has no finished assessment of {iso3}")


def evidence_sources(request: Request) -> EvidenceSources:
    sources: EvidenceSources = request.app.state.evidence_sources
    return sources


EvidenceSourcesDep = Annotated[EvidenceSources, Depends(evidence_sources)]
