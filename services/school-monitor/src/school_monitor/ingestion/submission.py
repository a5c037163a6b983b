"""What a request hands to the pipeline, and the screening of it: the rules a schema
cannot check (time window, school known and allowed). Pure: no database."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from c2r_common.auth import Principal
from c2r_common.errors import FieldProblem, ProblemError
from school_monitor.measurements.schemas import ItemProblem, MeasurementIn, PingIn
from school_monitor.measurements.validation import FUTURE_TOLERANCE, time_problem

Item = MeasurementIn | PingIn


@dataclass(frozen=True)
class Flag:
    """A data-quality flag that goes with an item: recorded if the item is newly stored."""

    kind: str
    detail: str


@dataclass
class Submission:
    """The items of one request, with who sent them, and the flags of some of them (by
    index)."""

    principal: Principal
    items: Sequence[tuple[int, Item]]
    problems: list[ItemProblem]
    received: int
    prefix: str = "body.items"
    flags: Mapping[int, Sequence[Flag]] = field(default_factory=dict)
    # The endpoint's kind (measurement | ping): the metrics count the items of `problems`,
    # refused before they parsed, under it, beside the arrivals of that kind.
    kind: str = ""

    def __post_init__(self) -> None:
        if self.problems and not self.kind:
            raise ValueError("a submission with unparsed items needs its endpoint's kind")

    @property
    def agent_id(self) -> Any:
        return self.principal.claims.get("agent_id") if self.principal.kind == "device" else None

    @property
    def device_school(self) -> uuid.UUID | None:
        """The school of a device token: the only one it may push for."""
        if self.principal.kind != "device":
            return None
        school_id = self.principal.claims["school_id"]
        return school_id if isinstance(school_id, uuid.UUID) else uuid.UUID(str(school_id))

    def school_ids(self) -> set[uuid.UUID]:
        device_school = self.device_school
        if device_school is not None:
            return {device_school}
        return {item.school_id for _, item in self.items if item.school_id is not None}

    def where(self, index: int) -> str:
        return f"{self.prefix}.{index}" if self.prefix else "body"


@dataclass
class Screened:
    """The items of a submission that passed every check, each with its school."""

    submission: Submission
    items: list[tuple[Item, uuid.UUID]] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)


@dataclass(frozen=True)
class TimeWindow:
    """Measured at most 5 minutes in the future and within the accepted age."""

    now: datetime
    max_age: timedelta

    @property
    def earliest(self) -> datetime:
        return self.now - self.max_age

    @property
    def latest(self) -> datetime:
        return self.now + FUTURE_TOLERANCE


def _refuse_other_school(device_school: uuid.UUID, item: Item) -> ProblemError:
    return ProblemError(
        403,
        f"This device is registered for school {device_school} and cannot push data "
        f"for school {item.school_id}.",
    )


def screen(submission: Submission, countries: dict[uuid.UUID, str], window: TimeWindow) -> Screened:
    """Checks the rules a schema cannot: time window, school known and allowed.

    A school outside the token's countries is refused exactly like an unknown one, so a
    writer cannot learn which ids are schools, nor their country. Raises the problem that
    refuses the whole submission: a device pushing for another school.
    """
    screened = Screened(submission)
    device_school = submission.device_school
    earliest, latest = window.earliest, window.latest
    for index, item in submission.items:
        school_id = item.school_id if device_school is None else device_school
        if device_school is not None and item.school_id not in (None, device_school):
            raise _refuse_other_school(device_school, item)
        if not earliest <= item.moment <= latest:
            screened.problems.append(_out_of_window(submission, index, item, window))
        elif school_id is None:
            missing = FieldProblem(
                field=f"{submission.where(index)}.school_id", message="required for this token"
            )
            screened.problems.append(ItemProblem(index=index, reason="invalid", errors=[missing]))
        elif not _known_to(submission.principal, school_id, countries):
            unknown = FieldProblem(
                field=f"{submission.where(index)}.school_id", message=f"no school {school_id}"
            )
            screened.problems.append(
                ItemProblem(index=index, reason="unknown_school", errors=[unknown])
            )
        else:
            screened.items.append((item, school_id))
    return screened


def _known_to(principal: Principal, school_id: uuid.UUID, countries: dict[uuid.UUID, str]) -> bool:
    country = countries.get(school_id)
    return country is not None and principal.can_access_country(country)


def screen_all(
    submissions: Sequence[Submission], countries: dict[uuid.UUID, str], window: TimeWindow
) -> list[Screened | ProblemError]:
    """Each submission screened, or the problem that refuses it whole."""
    checked: list[Screened | ProblemError] = []
    for submission in submissions:
        try:
            checked.append(screen(submission, countries, window))
        except ProblemError as refusal:
            checked.append(refusal)
    return checked


# A measurement and a ping are keyed apart: each kind's UUIDs are its own table's keys.
ItemKey = tuple[str, uuid.UUID]


def item_key(item: Item) -> ItemKey:
    return item.KIND, item.uuid


def first_of_each_uuid(screened: Sequence[Screened]) -> list[tuple[Item, uuid.UUID, Any]]:
    """(item, school, agent) of every accepted item, an item sent twice counted once: the
    first one."""
    first_seen: dict[ItemKey, tuple[Item, uuid.UUID, Any]] = {}
    for accepted in screened:
        agent_id = accepted.submission.agent_id
        for item, school_id in accepted.items:
            first_seen.setdefault(item_key(item), (item, school_id, agent_id))
    return list(first_seen.values())


def _out_of_window(
    submission: Submission, index: int, item: Item, window: TimeWindow
) -> ItemProblem:
    where = f"{submission.where(index)}.{item.MOMENT_FIELD}"
    problem = time_problem(item.moment, window.now, window.max_age, where)
    assert problem is not None
    return ItemProblem(index=index, reason="out_of_window", errors=[problem])
