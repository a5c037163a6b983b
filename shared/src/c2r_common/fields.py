"""Field types of every service's request bodies and query parameters.

One definition per rule, so that a service cannot drift from another: an input the
databases cannot hold (an integer past its column, a NUL byte, a year past datetime's
range) or that the lax coercion would misread (`0` as 1970-01-01, `0` as false, `0.5` as a
timestamp) is refused by validation, named in the 422, before anything is stored.

Bodies are JSON, parsed before validation: their types are strict (a number is not a
boolean, a string is not an integer). Path and query parameters arrive as text: their
types (`...Param`) parse text, with the same bounds.
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

T = TypeVar("T")

# Column types: PostgreSQL's integer (int4) and bigint (int8); SQLite stores both in 8 bytes.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Dates and times of this domain (calls, sessions, contributions, measurements) lie well
# inside these years; anything outside is a typo or a probe, and keeping a margin from
# datetime's own limits (years 1 to 9999) lets day and offset arithmetic never overflow.
MIN_YEAR, MAX_YEAR = 1900, 2999
# Years that data refer to (indicator values, assessment periods).
MIN_DATA_YEAR, MAX_DATA_YEAR = 1990, 2100

# PostgreSQL's text types cannot hold U+0000; SQLite would. Refused on both alike. As a
# pattern it is also in the OpenAPI document, so that generated clients and fuzzers know.
NO_NUL_PATTERN = r"^[^\x00]*$"

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
# The year range (MIN_DATA_YEAR to MAX_DATA_YEAR) is in the pattern, so that the OpenAPI
# document states all of the rule.
PERIOD_PATTERN = r"^(199\d|20\d\d|2100)(-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?$"


def _json_integer(value: Any) -> Any:
    """A JSON number: `true` (an int in Python) and `"5"` are refused. An integral float
    (`12.0`) is an integer to JSON Schema, and is accepted as one."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# --- integers -------------------------------------------------------------------------

JsonInteger = BeforeValidator(_json_integer)
"""Put last in `Annotated[int, Field(ge=..., le=...), JsonInteger]` for other bounds: a
bound given after it (as at the field, `Int32 = Field(ge=0)`) would still be checked, but
shown in the OpenAPI document under pydantic's name (`ge`) instead of JSON Schema's
(`minimum`), which clients and fuzzers do not read."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX), JsonInteger]
"""An integer stored in an `Integer` column."""
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX), JsonInteger]
"""A count stored in an `Integer` column."""
PositiveInt32 = Annotated[int, Field(ge=1, le=INT32_MAX), JsonInteger]
"""A number from 1 (a version) stored in an `Integer` column."""
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX), JsonInteger]
"""An integer stored in a `BigInteger` column."""
Int32Param = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""An `Integer` column's value given in a path or query string."""
DataYear = Annotated[int, Field(ge=MIN_DATA_YEAR, le=MAX_DATA_YEAR), JsonInteger]
"""The year a value refers to."""

# --- other numbers ---------------------------------------------------------------------

StrictFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
"""A finite number (an integer is one too): `false` and `"1.5"` are refused, and so are
NaN and the infinities, which a JSON document cannot carry back out."""

# --- booleans -------------------------------------------------------------------------

StrictBool = Annotated[bool, Strict()]
"""`true` or `false` only: `0`, `1` and `"yes"` are refused. (Query parameters keep
`bool`, which reads the text `true`/`false`.)"""

# --- strings --------------------------------------------------------------------------

NoNulStr = Annotated[str, StringConstraints(pattern=NO_NUL_PATTERN)]
"""Any text without NUL; add `Field(max_length=...)` at the use."""


Period = Annotated[
    str,
    StringConstraints(pattern=PERIOD_PATTERN),
    Field(
        description="a year (YYYY, 1990 to 2100), or year-Qn / year-Hn / year-MM with a "
        "month 01-12",
        examples=["2026", "2026-Q3", "2026-H1", "2026-09"],
    ),
]

# --- dates and times ------------------------------------------------------------------


def _year_in_range(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PydanticCustomError(
            "year_range",
            "year must be between {min} and {max}",
            {"min": MIN_YEAR, "max": MAX_YEAR},
        )


def _date_text(value: Any) -> Any:
    """Only a YYYY-MM-DD string (or a date, from Python callers): a number would be read
    as a Unix timestamp, `0` as 1970-01-01."""
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise PydanticCustomError("date_format", "Input should be a date as a YYYY-MM-DD string")


def _datetime_text(value: Any) -> Any:
    """Only an RFC 3339 string (or a datetime, from Python callers): a number would be
    read as a Unix timestamp, `0.5` as half a second after 1970."""
    if isinstance(value, str) and _DATETIME_TEXT.fullmatch(value):
        return value
    if isinstance(value, datetime):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Input should be a date and time as an RFC 3339 string, e.g. 2026-12-02T09:30:00Z",
    )


def _date_in_range(value: date) -> date:
    _year_in_range(value.year)
    return value


def _datetime_in_range(value: datetime) -> datetime:
    _year_in_range(value.year)
    if value.tzinfo is not None:
        _year_in_range(value.astimezone(UTC).year)
    return value


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


class _JsonSchemaPattern:
    """Shows a text form's pattern in the OpenAPI document beside its `format`, so that
    clients and fuzzers see the years accepted (a date type has no pattern of its own)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": self.pattern}


_YEAR_TEXT = r"(19\d\d|2\d\d\d)"  # MIN_YEAR to MAX_YEAR

StrictDate = Annotated[
    date,
    BeforeValidator(_date_text),
    AfterValidator(_date_in_range),
    _JsonSchemaPattern(rf"^{_YEAR_TEXT}-\d\d-\d\d$"),
]
"""A calendar date, `YYYY-MM-DD`."""

UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_datetime_in_range),
    AfterValidator(_in_utc),
    _JsonSchemaPattern(rf"^{_YEAR_TEXT}-\d\d-\d\dT.*([Zz]|[+-]\d\d:\d\d)$"),
]
"""An instant, RFC 3339 with an offset; converted to UTC on the way in, so that every later
comparison, day boundary and stored value is in UTC."""

LocalOrAwareDatetime = Annotated[
    datetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_datetime_in_range),
    _JsonSchemaPattern(rf"^{_YEAR_TEXT}-\d\d-\d\dT"),
]
"""RFC 3339 with an offset, or an ISO wall-clock time without one, which the caller
places in a time zone of its choosing."""


# --- null in partial updates ----------------------------------------------------------


class _NullRefused:
    """An optional field of a partial update that may be left out but not set to null:
    the null would either be ignored (surprising) or reach a NOT NULL column (a 500).

    The OpenAPI document shows the field without null, as it is accepted."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        variants = json_schema.get("anyOf")
        if variants is None:
            return json_schema
        kept = [v for v in variants if v.get("type") != "null"]
        rest = {k: v for k, v in json_schema.items() if k != "anyOf"}
        return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "not_null", "may not be null; leave the field out to keep its value"
        )
    return value


Omittable = Annotated[T | None, _NullRefused()]
"""`Omittable[X] = None`: a partial update's field that may be left out, never null."""
