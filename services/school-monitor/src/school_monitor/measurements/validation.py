"""Item-by-item validation of batches: every bad item is reported, every good one kept."""

from collections import defaultdict
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from c2r_common.errors import FieldProblem
from school_monitor.measurements.schemas import ItemProblem

ModelT = TypeVar("ModelT", bound=BaseModel)

FUTURE_TOLERANCE = timedelta(minutes=5)


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _field(prefix: str, location: tuple[int | str, ...]) -> str:
    return ".".join([prefix, *(str(part) for part in location)])


def validate_items(
    model: type[ModelT], raw_items: list[dict[str, Any]], prefix: str = "body.items"
) -> tuple[list[tuple[int, ModelT]], list[ItemProblem]]:
    """The valid items with their index, and a problem per invalid item.

    For a batch known to hold bad items: one call over the whole list finds every error with
    its index, then the good items are validated one by one.
    """
    try:
        return list(enumerate(_list_adapter(model).validate_python(raw_items))), []
    except ValidationError as exc:
        by_index: dict[int, list[FieldProblem]] = defaultdict(list)
        for error in exc.errors():
            index = int(error["loc"][0])
            by_index[index].append(
                FieldProblem(
                    field=_field(f"{prefix}.{index}", error["loc"][1:]),
                    message=error["msg"],
                    type=error["type"],
                )
            )
    good = [
        (index, model.model_validate(item))
        for index, item in enumerate(raw_items)
        if index not in by_index
    ]
    problems = [
        ItemProblem(index=index, reason="invalid", errors=errors)
        for index, errors in sorted(by_index.items())
    ]
    return good, problems


def time_problem(
    at: datetime, now: datetime, max_age: timedelta, field: str
) -> FieldProblem | None:
    """Measured at most 5 minutes in the future and within the accepted age."""
    if at > now + FUTURE_TOLERANCE:
        return FieldProblem(field=field, message="more than 5 minutes in the future")
    if at < now - max_age:
        days = max_age.days
        return FieldProblem(field=field, message=f"older than the accepted {days} days")
    return None
