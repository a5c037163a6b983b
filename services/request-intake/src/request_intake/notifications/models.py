"""The outbox tables (c2r_common.notifications) on this service's base."""

from c2r_common.notifications.models import notification_models
from request_intake.db import Base

NOTIFICATIONS = notification_models(Base)
