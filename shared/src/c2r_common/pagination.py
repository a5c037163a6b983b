"""Cursor (keyset) pagination with a stable order.

The cursor is an opaque, URL-safe encoding of the sort key of the last item served; the
next page starts strictly after it, so inserts between pages neither repeat nor skip rows.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlalchemy import BigInteger, DateTime, Integer, Select, SmallInteger, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.fields import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` to get the next page; null on the last page"
    )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # A page of the item's own example, so that every list documents one.
        schema = handler(core_schema)
        item_example = _first_example(cls.model_fields["items"].annotation)
        if item_example is not None:
            cursor = encode_cursor([EXAMPLE_CURSOR_TIME, EXAMPLE_CURSOR_ID])
            schema["examples"] = [{"items": [item_example], "next_cursor": cursor}]
        return schema


# The last item's creation time and id, as the cursor of a page ordered by creation holds.
EXAMPLE_CURSOR_TIME = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
EXAMPLE_CURSOR_ID = uuid.UUID("1f0c6a52-3b5e-4a43-9c4f-8a8b1d7e2c11")


def _first_example(list_type: Any) -> Any:
    item = next(iter(getattr(list_type, "__args__", ())), None)
    return _model_example(item)


def _model_example(model: Any) -> Any:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples[0] if isinstance(examples, list) and examples else None


def example_of(annotation: Any) -> Any:
    """The first example of a model, of a list of models (as a list of one), or of the
    first member of a union that has one; None when there is none. For generic wrappers
    (pages, envelopes) to document an example of what they wrap."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_example(annotation)
    if getattr(annotation, "__origin__", None) is list:
        item = _first_example(annotation)
        return None if item is None else [item]
    for member in getattr(annotation, "__args__", ()):
        found = example_of(member)
        if found is not None:
            return found
    return None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if isinstance(value, dict) and "$date" in value:
        return date.fromisoformat(value["$date"])
    if isinstance(value, dict) and "$uuid" in value:
        return uuid.UUID(value["$uuid"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _malformed_cursor() -> ProblemError:
    return ProblemError(
        422,
        "The cursor is not one this API issued.",
        problem_type="validation",
        errors=[FieldProblem(field="query.cursor", message="malformed cursor")],
    )


def decode_cursor(cursor: str, width: int, *, types: Sequence[type] | None = None) -> list[Any]:
    """The `width` values of a cursor this API issued; with `types`, each value must be of
    its type. Anything else, however forged, is a 422 naming the cursor, never a 500."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(values, list) and len(values) == width:
            decoded = [_from_jsonable(v) for v in values]
            if types is None or all(_is_of(v, t) for v, t in zip(decoded, types, strict=True)):
                return decoded
    # RecursionError: a forged cursor can nest lists deeper than the JSON parser follows.
    except (binascii.Error, ValueError, TypeError, AttributeError, RecursionError):
        pass
    raise _malformed_cursor()


def _is_of(value: Any, expected: type) -> bool:
    # bool is an int in Python; a cursor's `true` is no row id.
    return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


# What the databases can compare an integer column with: PostgreSQL refuses a bound value
# past the column's type (asyncpg raises before the query runs).
_INTEGER_RANGES: tuple[tuple[type[Integer], int, int], ...] = (
    (SmallInteger, -(2**15), 2**15 - 1),
    (BigInteger, INT64_MIN, INT64_MAX),
    (Integer, INT32_MIN, INT32_MAX),
)


def _fits_column(value: Any, column: InstrumentedAttribute[Any]) -> bool:
    # A TypeDecorator (UTCDateTime) reports its Python type through the type it wraps.
    column_type = getattr(column.type, "impl", column.type)
    try:
        expected = column_type.python_type
    except NotImplementedError:
        return True
    if value is None:
        return True
    if not _is_of(value, expected):
        return False
    if isinstance(column_type, Integer):
        low, high = next(
            (lo, hi) for kind, lo, hi in _INTEGER_RANGES if isinstance(column_type, kind)
        )
        return bool(low <= value <= high)
    if isinstance(value, str):
        return "\x00" not in value  # PostgreSQL cannot compare text with a NUL in it
    if isinstance(column_type, DateTime) and column_type.timezone:
        return _is_utc_expressible(value)
    return True


def _is_utc_expressible(moment: datetime) -> bool:
    """An aware datetime that UTC can express (a year-9999 instant with a negative offset
    cannot), as a timezone-aware column stores and compares it."""
    if moment.tzinfo is None:
        return False
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


async def paginate(
    session: AsyncSession,
    statement: Select[RowT],
    order_by: Sequence[InstrumentedAttribute[Any]],
    params: PageParams,
) -> tuple[list[RowT], str | None]:
    """Rows of one page of `statement`, ascending by `order_by` (which must be unique as a
    whole, e.g. (created_at, id)), and the cursor of the next page."""
    if params.cursor:  # an empty `cursor=` is the first page, like no cursor
        after = decode_cursor(params.cursor, len(order_by))
        # A cursor of another list (other key types) would fail or mislead the comparison.
        if not all(_fits_column(v, c) for v, c in zip(after, order_by, strict=True)):
            raise _malformed_cursor()
        statement = statement.where(tuple_(*order_by) > tuple_(*after))
    statement = statement.order_by(*order_by).limit(params.limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, column.key) for column in order_by])
