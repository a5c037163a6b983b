"""Subscriptions to school-monitor's events, under /v1/alerts/subscriptions: the alerts
are what `GET /v1/alerts` lists, pushed instead of polled (and the route table already
sends /v1/alerts here)."""

from c2r_common.auth import Scope
from c2r_common.notifications.router import subscriptions_router
from school_monitor.notifications.models import NOTIFICATIONS
from school_monitor.notifications.service import EVENT_TYPES

router = subscriptions_router(
    models=NOTIFICATIONS,
    prefix="/v1/alerts/subscriptions",
    read_scope=Scope.SCHOOLS_READ,
    event_types=EVENT_TYPES,
)
