import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from webhook_receiver import free_port

from c2r_common.notifications.dispatcher import Dispatcher, PassReport
from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest, TokenFactory
from request_intake.app import ALEMBIC_INI, SERVICE_NAME, create_app
from request_intake.clock import app_clock, install_clock
from request_intake.config import IntakeSettings
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.outbox.sender import HandoffSender
from request_intake.outbox.service import ASSESSMENT_API_OWNER

# Property tests assert rules, not speed: no per-example deadline (it flakes on busy CI).
hypothesis_settings.register_profile("request-intake", deadline=None)
hypothesis_settings.load_profile("request-intake")


def make_settings(url: str, **overrides: Any) -> IntakeSettings:
    # The suite runs relay passes itself; background work would race the per-test rollback.
    values: dict[str, Any] = {
        "database_url": url,
        "environment": Environment.TEST,
        "outbox_relay_enabled": False,
        "sla_metrics_enabled": False,
    }
    return IntakeSettings(**(values | overrides))


@pytest.fixture(scope="session")
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        name=SERVICE_NAME,
        alembic_ini=ALEMBIC_INI,
        make_settings=make_settings,
        create_app=create_app,  # type: ignore[arg-type]
    )


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# A Wednesday in Geneva summer time, between the calls' opening and closing in the helpers.
START = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock(app: FastAPI) -> Iterator[FakeClock]:
    fake = FakeClock(START)
    original = app.state.clock
    install_clock(app, fake)
    yield fake
    install_clock(app, original)


@pytest.fixture
def staff(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers(
        "calls:write", "requests:read", "requests:review", "requests:approve", subject="staff"
    )


@pytest.fixture
def reviewer(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("requests:read", "requests:review", subject="reviewer")


@pytest.fixture
def approver(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("requests:read", "requests:approve", subject="approver")


@pytest.fixture
def rwanda(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("requests:submit", "requests:read", countries=["RWA"], subject="rw-focal")


def call_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "C2R technical assistance for African Member States",
        "assistance_types": ["assessment", "national_strategy", "training"],
        "eligible_regions": ["Africa"],
        "time_zone": "Europe/Geneva",
        "opens_at": "2026-06-01T09:00:00",
        "closes_at": "2026-06-30T23:59:59",
    }
    return body | overrides


def request_body(call_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": call_id,
        "country_iso3": "RWA",
        "requesting_entity": "Ministry of ICT and Innovation",
        "entity_type": "ministry",
        "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
        "assistance_type": "assessment",
        "title": "Digital infrastructure and resilience assessment",
        "description": "A country assessment following the C2R methodology.",
        "priority": "high",
        "expected_outcomes": ["gap analysis"],
        "attachments": [{"filename": "letter.pdf", "size_bytes": 1200}],
    }
    return body | overrides


class Api:
    """Short-hands for the calls the tests make again and again."""

    def __init__(self, client: httpx.AsyncClient, staff: dict[str, str]) -> None:
        self.client = client
        self.staff = staff

    @staticmethod
    def body(call_id: str, **overrides: Any) -> dict[str, Any]:
        return request_body(call_id, **overrides)

    async def create_call(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/calls", json=call_body(**overrides), headers=self.staff
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def submit(
        self, headers: dict[str, str], call_id: str, **overrides: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/requests", json=request_body(call_id, **overrides), headers=headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def move(
        self, headers: dict[str, str], request_id: str, to: str, **extra_headers: str
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/requests/{request_id}/transitions",
            json={"to": to, "comment": f"moving to {to}"},
            headers=headers | extra_headers,
        )

    async def walk(self, request_id: str, *statuses: str) -> dict[str, Any]:
        """Moves the request through `statuses` with the staff token (all staff roles)."""
        body: dict[str, Any] = {}
        for status in statuses:
            response = await self.move(self.staff, request_id, status)
            assert response.status_code == 200, response.text
            body = response.json()
        return body


@pytest.fixture
def api(client: httpx.AsyncClient, staff: dict[str, str]) -> Api:
    return Api(client, staff)


class AssessmentApiStub:
    """A real HTTP server on loopback that answers POST /v1/assessments like assessment-api.

    It can be down (nothing listening), up, refuse for good, report an existing assessment,
    create the assessment and then answer 503 (the answer "lost" on the way back), or
    create it and hold the answer until `released` is set (a sender killed mid-send).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "up"
        self.assessments: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> created body
        self.calls = 0
        self.holding = asyncio.Event()  # set while a "hold" answer is held
        self.released = asyncio.Event()
        self.authorizations: list[str] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def distinct_keys(self) -> int:
        return len(self.assessments)

    async def _create(self, request: Request) -> JSONResponse:
        self.calls += 1
        self.authorizations.append(request.headers.get("authorization", ""))
        key = request.headers.get("idempotency-key")
        body = await request.json()
        if self.mode == "reject":
            return JSONResponse({"detail": "period must be a year"}, status_code=422)
        if self.mode == "exists":
            return JSONResponse(
                {"detail": "exists", "existing_assessment_id": str(uuid.UUID(int=7))},
                status_code=409,
            )
        if key is None:
            return JSONResponse({"detail": "Idempotency-Key required"}, status_code=400)
        if key not in self.assessments:
            self.assessments[key] = {"id": str(uuid.uuid4()), "status": "draft", **body}
        if self.mode == "lose_response":
            return JSONResponse({"detail": "gateway lost it"}, status_code=503)
        if self.mode == "hold":
            self.holding.set()
            await self.released.wait()
        return JSONResponse(self.assessments[key], status_code=201)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/v1/assessments", self._create, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(1000):  # uvicorn offers no "started" event to wait on
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("the assessment-api stub did not start")

    async def stop(self) -> None:
        self.released.set()  # a held answer must not keep the server from stopping
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None


@pytest.fixture
async def assessment_api() -> AsyncIterator[AssessmentApiStub]:
    stub = AssessmentApiStub()  # down until the test starts it
    yield stub
    await stub.stop()


class Relay:
    """A dispatcher of `app` with the hand-off sender (pointed at `url`): one pass at the
    app's clock, on the app's sessions, as the background loop runs it."""

    def __init__(self, app: FastAPI, url: str) -> None:
        self.app = app
        settings: IntakeSettings = app.state.settings
        sender = HandoffSender.for_settings(settings.model_copy(update={"assessment_api_url": url}))
        self.sender = sender
        self.dispatcher = Dispatcher(
            NOTIFICATIONS,
            settings,
            "request-intake",
            service_senders={ASSESSMENT_API_OWNER: sender},
        )

    async def run_once(self) -> PassReport:
        sessionmaker = self.app.state.database.sessionmaker
        return await self.dispatcher.run_once(sessionmaker, app_clock(self.app)())

    async def aclose(self) -> None:
        await self.dispatcher.aclose()


@pytest.fixture
async def make_relay() -> AsyncIterator[Callable[[FastAPI, str], Relay]]:
    """`make_relay(app, url)`: a hand-off dispatcher of another app (a replica, a restart)."""
    made: list[Relay] = []

    def make(app: FastAPI, url: str) -> Relay:
        made.append(Relay(app, url))
        return made[-1]

    yield make
    for relay in made:
        await relay.aclose()


@pytest.fixture
async def relay(app: FastAPI, assessment_api: AssessmentApiStub) -> AsyncIterator[Relay]:
    """The hand-off dispatcher of the test app, pointed at the stub."""
    relay = Relay(app, assessment_api.url)
    yield relay
    await relay.aclose()


@pytest.fixture
def fresh_clock() -> FakeClock:
    """A fake clock for an app a test builds itself."""
    return FakeClock(START)


@pytest.fixture
def make_app(database_url: str) -> Callable[..., FastAPI]:
    """A new app instance on the suite's database (a "restart" of the service)."""

    def make(clock: FakeClock, **overrides: Any) -> FastAPI:
        return create_app(make_settings(database_url, **overrides), clock)

    return make


@pytest.fixture
def api_for(staff: dict[str, str]) -> Callable[[httpx.AsyncClient], Api]:
    return lambda http: Api(http, staff)
