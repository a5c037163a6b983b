"""Imports every domain's models so that Alembic sees the whole schema."""

from school_monitor.agents.models import Agent
from school_monitor.db import Base, IdempotencyRecord
from school_monitor.gigameter.enrollment.models import FlaggedSchool
from school_monitor.measurements.models import FailedMeasurement, Measurement, Ping
from school_monitor.notifications.models import (
    NOTIFICATIONS,
    AgentSilenceNotice,
    AreaOutageState,
    SchoolNoticeState,
)
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.schools.models import School, SchoolTag
from school_monitor.status.models import Alert

__all__ = [
    "NOTIFICATIONS",
    "Agent",
    "AgentSilenceNotice",
    "Alert",
    "AreaOutageState",
    "Base",
    "CountryDaily",
    "CountryStats",
    "FailedMeasurement",
    "FlaggedSchool",
    "IdempotencyRecord",
    "Measurement",
    "Ping",
    "School",
    "SchoolDaily",
    "SchoolNoticeState",
    "SchoolTag",
]
