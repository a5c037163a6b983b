"""The outbox tables (c2r_common.notifications) on this service's base."""

from assessment_api.db import Base
from c2r_common.notifications.models import notification_models

NOTIFICATIONS = notification_models(Base)
