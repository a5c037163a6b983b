"""Imports every domain's models so that Alembic sees the whole schema."""

from assessment_api.assessments.models import Assessment, AssessmentTranslation, AuditEvent
from assessment_api.beneficiaries.models import Beneficiary
from assessment_api.db import Base, IdempotencyRecord
from assessment_api.indicators.models import IndicatorValue, IndicatorValueChange
from assessment_api.methodology.models import Methodology
from assessment_api.notifications.models import NOTIFICATIONS
from assessment_api.partners.models import Contribution, Partner
from assessment_api.programmes.models import Pilot, PilotSite, ProgrammePhase

__all__ = [
    "NOTIFICATIONS",
    "Assessment",
    "AssessmentTranslation",
    "AuditEvent",
    "Base",
    "Beneficiary",
    "Contribution",
    "IdempotencyRecord",
    "IndicatorValue",
    "IndicatorValueChange",
    "Methodology",
    "Partner",
    "Pilot",
    "PilotSite",
    "ProgrammePhase",
]
