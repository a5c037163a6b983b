"""Subscriptions to the requests' and calls' events. Its own tag: the operation ids of
the merged gateway document stay unique beside the other services' subscriptions."""

from c2r_common.auth import Scope
from c2r_common.notifications.router import subscriptions_router
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.notifications.service import EVENT_TYPES

TAG = "request-notifications"

router = subscriptions_router(
    models=NOTIFICATIONS,
    prefix="/v1/requests/subscriptions",
    read_scope=Scope.REQUESTS_READ,
    event_types=EVENT_TYPES,
    tag=TAG,
)
