from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.app import ServiceSpec, build_app
from c2r_common.db import utcnow
from c2r_common.notifications.dispatcher import Sessionmaker, dispatching
from c2r_common.settings import Environment
from c2r_common.singleton import Leadership, run_alone
from request_intake.assistance_requests.router import router as requests_router
from request_intake.background import SERVICE, Periodic, pruning_idempotency_keys
from request_intake.calls.router import feed_router as calls_feed_router
from request_intake.calls.router import router as calls_router
from request_intake.clock import Clock, app_clock, install_clock
from request_intake.config import IntakeSettings
from request_intake.evidence.router import router as evidence_router
from request_intake.evidence.sources import EvidenceSources
from request_intake.flows import notification_scan
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.notifications.router import TAG as NOTIFICATIONS_TAG
from request_intake.notifications.router import router as notifications_router
from request_intake.outbox.router import router as outbox_router
from request_intake.outbox.sender import handoff_senders
from request_intake.reports.router import router as reports_router
from request_intake.reviews.router import forms_router as review_forms_router
from request_intake.reviews.router import requests_router as request_reviews_router
from request_intake.reviews.router import router as reviews_router
from request_intake.sessions.router import router as sessions_router
from request_intake.sla.router import router as sla_router
from request_intake.sla.service import export_overdue_gauge, refresh_overdue_gauge
from request_intake.sla_policy import SlaPolicy, app_sla_policy

SERVICE_NAME = "request-intake"
ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


SLA_METRICS_SECONDS = 30.0
SLA_METRICS_LOCK = "request-intake:sla-metrics"
SLA_GAUGE_LEADERSHIP = "request-intake:sla-gauge"


async def _refresh_sla_metrics(
    app: FastAPI, sessionmaker: Sessionmaker, leadership: Leadership
) -> None:
    """Only the gauge leader among the replicas exports the overdue gauge, refreshed under
    the round lock; the others export no such series (see the README's metrics)."""
    leads = await leadership.check()
    export_overdue_gauge(leads)
    if not leads:
        return

    async def refresh(db: AsyncSession) -> None:
        await refresh_overdue_gauge(db, app_clock(app)(), app_sla_policy(app))

    await run_alone(sessionmaker, SLA_METRICS_LOCK, refresh)


async def _notification_scan(app: FastAPI, sessionmaker: Sessionmaker) -> None:
    settings: IntakeSettings = app.state.settings
    await notification_scan(sessionmaker, settings, app_clock(app)(), app_sla_policy(app))


def _background_work(
    app: FastAPI, settings: IntakeSettings, leadership: Leadership
) -> list[Periodic]:
    # Bound to the engine's own sessions, whatever the app's sessionmaker later becomes.
    sessionmaker = app.state.database.sessionmaker
    work = []
    if settings.sla_metrics_enabled:
        refresh = partial(_refresh_sla_metrics, app, sessionmaker, leadership)
        work.append(Periodic("sla-metrics", SLA_METRICS_SECONDS, refresh))
    # Like the dispatcher, not under test: the tests run scans themselves, and one in the
    # background would race their transactions.
    if settings.notify_scan_enabled and settings.environment is not Environment.TEST:
        scan = partial(_notification_scan, app, sessionmaker)
        work.append(Periodic("notify-scan", settings.notify_scan_seconds, scan))
    return work


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs SLA metrics, the scan for time-based events and the notification dispatcher
    (with the hand-off to assessment-api as its service sender) beside the app."""
    settings: IntakeSettings = app.state.settings
    app.state.evidence_sources = EvidenceSources.for_settings(settings)
    # A leader silent for 3 rounds is ended by the server and another replica takes over.
    idle_timeout = SLA_METRICS_SECONDS * 3 + 5
    leadership = Leadership(app.state.database.engine, SLA_GAUGE_LEADERSHIP, idle_timeout)
    work = _background_work(app, settings, leadership)
    for periodic in work:
        periodic.start()
    try:
        async with (
            pruning_idempotency_keys(app),
            dispatching(
                app.state.database,
                NOTIFICATIONS,
                settings,
                SERVICE,
                service_senders=handoff_senders(settings),
            ) as dispatcher,
        ):
            app.state.notification_dispatcher = dispatcher
            yield
    finally:
        for periodic in work:
            await periodic.stop()
        await app.state.evidence_sources.aclose()
        await leadership.aclose()


SPEC = ServiceSpec(
    name=SERVICE_NAME,
    title="C2R request-intake",
    description="Calls for technical assistance, Member State requests with deadlines, "
    "the review workflow and its SLAs, the hand-off to assessment-api, and information "
    "sessions.",
    version="0.1.0",
    alembic_ini=ALEMBIC_INI,
    # Fixed paths under /v1/requests come before the request routes.
    routers=[
        calls_feed_router,
        calls_router,
        outbox_router,
        # Before /v1/requests/{request_id}, which would take "subscriptions" for an id.
        notifications_router,
        sla_router,
        reports_router,
        requests_router,
        review_forms_router,
        request_reviews_router,
        reviews_router,
        evidence_router,
        sessions_router,
    ],
    openapi_tags=[
        {"name": "calls", "description": "Calls for technical-assistance requests."},
        {"name": "requests", "description": "Member State requests and their workflow."},
        {"name": "sla", "description": "Overdue requests and upcoming deadlines."},
        {"name": "reports", "description": "Counts of requests, as JSON or CSV."},
        {"name": "outbox", "description": "The hand-off of approved requests."},
        {
            "name": NOTIFICATIONS_TAG,
            "description": "Subscriptions to the requests' and calls' events (submitted, "
            "status changed, information requested, SLA due soon and overdue, call opened, "
            "closing and closed), delivered as signed webhooks or e-mail, and their delivery "
            "log.",
        },
        {"name": "sessions", "description": "Information sessions and participants."},
        {"name": "reviews", "description": "Reviewers assigned to requests, scored reviews."},
        {
            "name": "evidence",
            "description": "Evidence packs: what reviewers read beside a request.",
        },
    ],
    lifespan=lifespan,
)


def create_app(settings: IntakeSettings, clock: Clock = utcnow) -> FastAPI:
    app = build_app(SPEC, settings)
    install_clock(app, clock)
    app.state.sla_policy = SlaPolicy.from_settings(settings)
    return app
