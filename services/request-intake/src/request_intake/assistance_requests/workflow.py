"""The review workflow: which role may move a request from which status to which."""

from dataclasses import dataclass
from enum import StrEnum

from c2r_common.auth import Principal, Scope


class Status(StrEnum):
    SUBMITTED = "submitted"
    SCREENING = "screening"
    INFO_REQUESTED = "info_requested"
    RESUBMITTED = "resubmitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    FOCAL_POINT = "focal_point"
    REVIEWER = "reviewer"
    APPROVER = "approver"


ROLE_SCOPES: dict[Role, Scope] = {
    Role.FOCAL_POINT: Scope.REQUESTS_SUBMIT,
    Role.REVIEWER: Scope.REQUESTS_REVIEW,
    Role.APPROVER: Scope.REQUESTS_APPROVE,
}

_BEFORE_DECISION = (
    Status.SUBMITTED,
    Status.SCREENING,
    Status.INFO_REQUESTED,
    Status.RESUBMITTED,
    Status.UNDER_REVIEW,
)

TRANSITIONS: dict[tuple[Status, Status], Role] = {
    (Status.SUBMITTED, Status.SCREENING): Role.REVIEWER,
    (Status.SCREENING, Status.INFO_REQUESTED): Role.REVIEWER,
    (Status.SCREENING, Status.UNDER_REVIEW): Role.REVIEWER,
    (Status.INFO_REQUESTED, Status.RESUBMITTED): Role.FOCAL_POINT,
    (Status.RESUBMITTED, Status.INFO_REQUESTED): Role.REVIEWER,
    (Status.RESUBMITTED, Status.UNDER_REVIEW): Role.REVIEWER,
    (Status.UNDER_REVIEW, Status.APPROVED): Role.APPROVER,
    (Status.UNDER_REVIEW, Status.REJECTED): Role.APPROVER,
    (Status.APPROVED, Status.IN_PROGRESS): Role.REVIEWER,
    (Status.IN_PROGRESS, Status.COMPLETED): Role.REVIEWER,
    **{(status, Status.WITHDRAWN): Role.FOCAL_POINT for status in _BEFORE_DECISION},
}


@dataclass(frozen=True)
class AllowedTransition:
    to: Status
    role: Role


def allowed_from(status: Status) -> list[AllowedTransition]:
    return [
        AllowedTransition(to, role)
        for (source, to), role in TRANSITIONS.items()
        if source == status
    ]


def required_role(source: Status, target: Status) -> Role | None:
    """The role that may make this move, or None when the workflow has no such move."""
    return TRANSITIONS.get((source, target))


def holds_role(principal: Principal, role: Role) -> bool:
    return principal.has_scope(ROLE_SCOPES[role])
