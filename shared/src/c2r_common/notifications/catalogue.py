"""Every event type the platform emits, one model each (the README's event catalogue).

The types are part of the public contract: a type, once published, keeps its meaning; a
new meaning gets a new type.
"""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.notifications.events import TYPE_PREFIX, EventData


class SchoolEvent(EventData):
    school_id: uuid.UUID
    giga_id: str
    name: str
    country_iso3: str
    admin1: str | None
    changed_at: datetime = Field(description="when the school's status changed")

    def subject(self) -> str:
        return f"schools/{self.school_id}"

    def country(self) -> str | None:
        return self.country_iso3


class SchoolOffline(SchoolEvent):
    """A school stopped reporting for longer than the offline window, and stayed so."""

    event_type: ClassVar[str] = TYPE_PREFIX + "school.offline"
    titles: ClassVar[dict[str, str]] = {
        "en": "School {name} ({country_iso3}) went offline",
        "fr": "L'école {name} ({country_iso3}) est hors ligne",
    }


class SchoolOnline(SchoolEvent):
    """An offline school reports again, and kept reporting."""

    event_type: ClassVar[str] = TYPE_PREFIX + "school.online"
    titles: ClassVar[dict[str, str]] = {
        "en": "School {name} ({country_iso3}) is back online",
        "fr": "L'école {name} ({country_iso3}) est de nouveau en ligne",
    }


class SchoolBelowBenchmark(SchoolEvent):
    """A school's download speed fell from good to below its benchmark, and stayed below."""

    event_type: ClassVar[str] = TYPE_PREFIX + "school.below_benchmark"
    titles: ClassVar[dict[str, str]] = {
        "en": "School {name} ({country_iso3}) fell below its speed benchmark",
        "fr": "L'école {name} ({country_iso3}) est passée sous son débit de référence",
    }
    download_mbps: float | None
    benchmark_mbps: float


class SchoolRecovered(SchoolEvent):
    """A school below its benchmark is good again, and stayed so."""

    event_type: ClassVar[str] = TYPE_PREFIX + "school.recovered"
    titles: ClassVar[dict[str, str]] = {
        "en": "School {name} ({country_iso3}) is back above its speed benchmark",
        "fr": "L'école {name} ({country_iso3}) a retrouvé son débit de référence",
    }
    download_mbps: float | None
    benchmark_mbps: float


class AreaSchool(BaseModel):
    model_config = ConfigDict(frozen=True)

    school_id: uuid.UUID
    giga_id: str
    name: str


class AreaEvent(EventData):
    country_iso3: str
    admin1: str | None = Field(description="the first-level area; null: the whole country")
    monitored: int = Field(description="schools of the area that ever reported")
    offline: int = Field(description="of those, offline now")
    started_at: datetime = Field(description="when the outage was detected")

    def subject(self) -> str:
        area = "" if self.admin1 is None else f"/{self.admin1}"
        return f"areas/{self.country_iso3}{area}"

    def country(self) -> str | None:
        return self.country_iso3


class AreaOutage(AreaEvent):
    """A configured share of an area's reporting schools went offline within a window: one
    event naming the area and its offline schools (instead of one per school)."""

    event_type: ClassVar[str] = TYPE_PREFIX + "area.outage"
    titles: ClassVar[dict[str, str]] = {
        "en": "Outage in {country_iso3} {admin1}: {offline} of {monitored} schools offline",
        "fr": "Panne en {country_iso3} {admin1} : {offline} écoles sur {monitored} hors ligne",
    }
    schools: list[AreaSchool]


class AreaRecovered(AreaEvent):
    """The area's offline share fell back below the recovery share."""

    event_type: ClassVar[str] = TYPE_PREFIX + "area.recovered"
    titles: ClassVar[dict[str, str]] = {
        "en": "Outage over in {country_iso3} {admin1}: {offline} of {monitored} schools offline",
        "fr": "Fin de la panne en {country_iso3} {admin1} : {offline} écoles sur {monitored} "
        "hors ligne",
    }
    recovered_at: datetime


def days_in(language: str, count: int) -> str:
    """`1 day`, `2 days`; `1 jour`, `2 jours` (French takes the singular below 2, as `0 jour`)."""
    if language == "fr":
        return f"{count} {'jour' if count < 2 else 'jours'}"
    return f"{count} {'day' if count == 1 else 'days'}"


class AgentSilent(EventData):
    """A measuring device (agent) sent nothing for the configured number of days."""

    event_type: ClassVar[str] = TYPE_PREFIX + "agent.silent"
    titles: ClassVar[dict[str, str]] = {
        "en": "Agent of school {school_name} ({country_iso3}) silent for {days}",
        "fr": "L'agent de l'école {school_name} ({country_iso3}) est muet depuis {days}",
    }
    agent_id: uuid.UUID
    school_id: uuid.UUID
    school_name: str
    country_iso3: str
    last_seen_at: datetime | None
    days: int

    def title_values(self, language: str) -> dict[str, Any]:
        return super().title_values(language) | {"days": days_in(language, self.days)}

    def subject(self) -> str:
        return f"agents/{self.agent_id}"

    def country(self) -> str | None:
        return self.country_iso3


class AssessmentEvent(EventData):
    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    assessment_title: str
    methodology_version: int
    revision: int = Field(description="the assessment's revision (its ETag) after the change")
    changed_at: datetime = Field(description="when the change was made")

    def subject(self) -> str:
        return f"assessments/{self.assessment_id}"

    def country(self) -> str | None:
        return self.country_iso3


class AssessmentMoved(AssessmentEvent):
    note: str | None = Field(description="the note given with the move, if any")


class AssessmentCompleted(AssessmentMoved):
    """An assessment moved to completed: its values are frozen, the country is asked to
    accept it."""

    event_type: ClassVar[str] = TYPE_PREFIX + "assessment.completed"
    titles: ClassVar[dict[str, str]] = {
        "en": "Assessment {assessment_title} ({country_iso3}, {period}) completed",
        "fr": "Évaluation {assessment_title} ({country_iso3}, {period}) terminée",
    }


class AssessmentAccepted(AssessmentMoved):
    """The country accepted a completed assessment."""

    event_type: ClassVar[str] = TYPE_PREFIX + "assessment.accepted"
    titles: ClassVar[dict[str, str]] = {
        "en": "Assessment {assessment_title} ({country_iso3}, {period}) accepted by the country",
        "fr": "Évaluation {assessment_title} ({country_iso3}, {period}) acceptée par le pays",
    }


class AssessmentPublished(AssessmentMoved):
    """An accepted assessment was published."""

    event_type: ClassVar[str] = TYPE_PREFIX + "assessment.published"
    titles: ClassVar[dict[str, str]] = {
        "en": "Assessment {assessment_title} ({country_iso3}, {period}) published",
        "fr": "Évaluation {assessment_title} ({country_iso3}, {period}) publiée",
    }


class AssessmentTranslated(AssessmentEvent):
    """A translation of an assessment's report was marked completed."""

    event_type: ClassVar[str] = TYPE_PREFIX + "assessment.translated"
    titles: ClassVar[dict[str, str]] = {
        "en": "Assessment {assessment_title} ({country_iso3}, {period}) translated into {language}",
        "fr": "Évaluation {assessment_title} ({country_iso3}, {period}) traduite ({language})",
    }
    language: str = Field(description="the translation's language (BCP 47 tag)")


class RequestNotice(EventData):
    """What every event of a technical-assistance request says of it."""

    request_id: uuid.UUID
    request_title: str
    country_iso3: str
    call_id: uuid.UUID
    call_title: str
    assistance_type: str
    status: str = Field(description="the request's workflow status after the change")

    def subject(self) -> str:
        return f"requests/{self.request_id}"

    def country(self) -> str | None:
        return self.country_iso3


class RequestSubmitted(RequestNotice):
    """A Member State submitted a request under a call (for ITU's reviewers)."""

    event_type: ClassVar[str] = TYPE_PREFIX + "request.submitted"
    titles: ClassVar[dict[str, str]] = {
        "en": "Request {request_title} ({country_iso3}) submitted to {call_title}",
        "fr": "Demande {request_title} ({country_iso3}) soumise à l'appel {call_title}",
    }
    late: bool = Field(description="submitted after the deadline, within the grace period")
    submitted_at: datetime


class RequestStatusChanged(RequestNotice):
    """A request moved in the workflow (for its focal point): every move, a request for
    information and a decision included."""

    event_type: ClassVar[str] = TYPE_PREFIX + "request.status_changed"
    titles: ClassVar[dict[str, str]] = {
        "en": "Request {request_title} ({country_iso3}): {from_name} → {to_name}",
        "fr": "Demande {request_title} ({country_iso3}) : {from_name} → {to_name}",
    }
    from_status: str
    to_status: str
    role: str = Field(description="the workflow role that made the move")
    comment: str = Field(description="the comment given with the move")
    changed_at: datetime

    def title_values(self, language: str) -> dict[str, Any]:
        return super().title_values(language) | {
            "from_name": status_name(language, self.from_status),
            "to_name": status_name(language, self.to_status),
        }


class RequestInfoRequested(RequestNotice):
    """ITU's reviewers asked the Member State for more information on its request."""

    event_type: ClassVar[str] = TYPE_PREFIX + "request.info_requested"
    titles: ClassVar[dict[str, str]] = {
        "en": "More information is asked for on request {request_title} ({country_iso3})",
        "fr": "Des informations complémentaires sont demandées pour {request_title} "
        "({country_iso3})",
    }
    message: str = Field(description="what the reviewer asks for (the move's comment)")
    requested_at: datetime


# The names of the SLA clocks, the workflow stages and the statuses, for the titles (the
# data keeps the slugs); a slug missing here is shown as it is.
CLOCKS_EN = {"first_response": "first response", "resolution": "resolution"}
CLOCKS_FR = {"first_response": "de première réponse", "resolution": "de résolution"}
STATUSES_FR = {
    "submitted": "soumise",
    "screening": "en présélection",
    "info_requested": "informations demandées",
    "resubmitted": "soumise à nouveau",
    "under_review": "en examen",
    "approved": "approuvée",
    "rejected": "rejetée",
    "in_progress": "en cours",
    "completed": "achevée",
    "withdrawn": "retirée",
}
STAGES_FR = {
    "submitted": "soumission",
    "screening": "présélection",
    "info_requested": "demande d'informations",
    "resubmitted": "nouvelle soumission",
    "under_review": "examen",
    "approved": "approbation",
    "rejected": "rejet",
    "in_progress": "mise en œuvre",
    "completed": "achèvement",
    "withdrawn": "retrait",
}


def status_name(language: str, status: str) -> str:
    """`info requested`; `informations demandées`."""
    if language == "fr":
        return STATUSES_FR.get(status, status)
    return status.replace("_", " ")


def clock_name(language: str, target: str, stage: str | None) -> str:
    """`first response`, `stage "screening"`; `de première réponse`, `de l'étape
    « présélection »`."""
    if language == "fr":
        if target == "stage" and stage is not None:
            return f"de l'étape « {STAGES_FR.get(stage, stage)} »"
        return CLOCKS_FR.get(target, target)
    if target == "stage" and stage is not None:
        return f'stage "{stage.replace("_", " ")}"'
    return CLOCKS_EN.get(target, target)


class SlaNotice(RequestNotice):
    """An SLA clock of a request: its target (first_response, resolution, stage)."""

    target: str = Field(description="first_response, resolution or stage")
    stage: str | None = Field(description="a stage clock's workflow stage")
    due_at: datetime
    due_at_local: datetime = Field(description="the due date in the SLA calendar's time zone")

    def title_values(self, language: str) -> dict[str, Any]:
        return super().title_values(language) | {
            "clock": clock_name(language, self.target, self.stage)
        }


class SlaDueSoon(SlaNotice):
    """A running SLA clock has only the warning share of its time left (or the configured
    number of business days)."""

    event_type: ClassVar[str] = TYPE_PREFIX + "request.sla_due_soon"
    titles: ClassVar[dict[str, str]] = {
        "en": "SLA {clock} of request {request_title} ({country_iso3}) due {due_at_local}",
        "fr": "Échéance {clock} de la demande {request_title} ({country_iso3}) le {due_at_local}",
    }
    business_seconds_left: float


class SlaOverdue(SlaNotice):
    """A running SLA clock passed its due date."""

    event_type: ClassVar[str] = TYPE_PREFIX + "request.sla_overdue"
    titles: ClassVar[dict[str, str]] = {
        "en": "SLA {clock} of request {request_title} ({country_iso3}) overdue since "
        "{due_at_local}",
        "fr": "Échéance {clock} de la demande {request_title} ({country_iso3}) dépassée "
        "depuis le {due_at_local}",
    }


class CallNotice(EventData):
    """A call for technical-assistance requests: public information (the open-calls feed
    needs no token), about no one country, so it reaches every subscriber to its type."""

    public: ClassVar[bool] = True

    call_id: uuid.UUID
    call_title: str
    assistance_types: list[str]
    eligible_regions: list[str]
    eligible_countries: list[str]
    time_zone: str
    opens_at: datetime = Field(description="in the call's time zone")
    deadline: datetime = Field(description="the deadline in the call's time zone")
    deadline_utc: datetime

    def subject(self) -> str:
        return f"calls/{self.call_id}"


class CallOpened(CallNotice):
    """A call opened: requests are accepted until its deadline."""

    event_type: ClassVar[str] = TYPE_PREFIX + "call.opened"
    titles: ClassVar[dict[str, str]] = {
        "en": "Call {call_title} is open until {deadline}",
        "fr": "L'appel {call_title} est ouvert jusqu'au {deadline}",
    }


class CallClosing(CallNotice):
    """An open call's deadline is at most the configured number of days away."""

    event_type: ClassVar[str] = TYPE_PREFIX + "call.closing"
    titles: ClassVar[dict[str, str]] = {
        "en": "Call {call_title} closes in {days} ({deadline})",
        "fr": "L'appel {call_title} se termine dans {days} ({deadline})",
    }
    days_left: int = Field(description="whole days to the deadline, rounded up")

    def title_values(self, language: str) -> dict[str, Any]:
        return super().title_values(language) | {"days": days_in(language, self.days_left)}


class CallClosed(CallNotice):
    """A call's deadline passed (late requests may still come in its grace period)."""

    event_type: ClassVar[str] = TYPE_PREFIX + "call.closed"
    titles: ClassVar[dict[str, str]] = {
        "en": "Call {call_title} closed at {deadline}",
        "fr": "L'appel {call_title} est clos depuis le {deadline}",
    }
    accepts_until: datetime = Field(description="end of the grace period, in the call's zone")


EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        SchoolOffline,
        SchoolOnline,
        SchoolBelowBenchmark,
        SchoolRecovered,
        AreaOutage,
        AreaRecovered,
        AgentSilent,
        AssessmentCompleted,
        AssessmentAccepted,
        AssessmentPublished,
        AssessmentTranslated,
        RequestSubmitted,
        RequestStatusChanged,
        RequestInfoRequested,
        SlaDueSoon,
        SlaOverdue,
        CallOpened,
        CallClosing,
        CallClosed,
    )
}
