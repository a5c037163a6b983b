"""Subscriptions to the assessments' events. Its own tag: the operation ids of the merged
gateway document stay unique beside school-monitor's subscriptions."""

from assessment_api.notifications.models import NOTIFICATIONS
from assessment_api.notifications.service import EVENT_TYPES
from c2r_common.auth import Scope
from c2r_common.notifications.router import subscriptions_router

TAG = "assessment-notifications"

router = subscriptions_router(
    models=NOTIFICATIONS,
    prefix="/v1/assessments/subscriptions",
    read_scope=Scope.ASSESSMENTS_READ,
    event_types=EVENT_TYPES,
    tag=TAG,
)
