"""The shared field types: what each accepts, what it refuses and how the refusal is named."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from c2r_common.fields import (
    INT32_MAX,
    INT64_MAX,
    DataYear,
    Int32,
    Int32Param,
    Int64,
    LocalOrAwareDatetime,
    NoNulStr,
    Omittable,
    Period,
    StrictBool,
    StrictDate,
    StrictFloat,
    UtcDatetime,
)


class Body(BaseModel):
    count: Int32 | None = None
    total: Int64 | None = None
    year: DataYear | None = None
    ratio: StrictFloat | None = None
    flag: StrictBool | None = None
    text: NoNulStr | None = Field(None, max_length=20)
    period: Period | None = None
    day: StrictDate | None = None
    moment: UtcDatetime | None = None
    wall_clock: LocalOrAwareDatetime | None = None
    kept: Omittable[StrictBool] = None


def refusal(data: dict[str, Any]) -> tuple[str, str]:
    """The (field, error type) of the one problem `data` has."""
    with pytest.raises(ValidationError) as raised:
        Body.model_validate(data)
    [error] = raised.value.errors()
    return str(error["loc"][0]), error["type"]


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        ({"count": INT32_MAX + 1}, "less_than_equal"),
        ({"count": -(2**31) - 1}, "greater_than_equal"),
        ({"count": 18446744073709551616}, "less_than_equal"),
        ({"count": True}, "int_type"),
        ({"count": "5"}, "int_type"),
        ({"count": 12.5}, "int_from_float"),
        ({"total": INT64_MAX + 1}, "less_than_equal"),
        ({"year": 1989}, "greater_than_equal"),
        ({"year": 2101}, "less_than_equal"),
        ({"ratio": False}, "float_type"),
        ({"ratio": "1.5"}, "float_type"),
        ({"ratio": float("nan")}, "finite_number"),
        ({"ratio": float("inf")}, "finite_number"),
        ({"flag": 0}, "bool_type"),
        ({"flag": 1}, "bool_type"),
        ({"flag": "true"}, "bool_type"),
        ({"text": "a\x00b"}, "string_pattern_mismatch"),
        ({"period": "2035-13"}, "string_pattern_mismatch"),
        ({"period": "2035-00"}, "string_pattern_mismatch"),
        ({"period": "0000"}, "string_pattern_mismatch"),
        ({"period": "1989"}, "string_pattern_mismatch"),
        ({"period": "2101-Q1"}, "string_pattern_mismatch"),
        ({"day": 0}, "date_format"),
        ({"day": "0"}, "date_format"),
        ({"day": 1700000000}, "date_format"),
        ({"day": "2026-02-30"}, "date_from_datetime_parsing"),
        ({"day": "9999-12-31"}, "year_range"),
        ({"moment": 0}, "datetime_format"),
        ({"moment": "0.5"}, "datetime_format"),
        ({"moment": 1.5}, "datetime_format"),
        ({"moment": "2026-12-02T09:30:00"}, "timezone_aware"),
        ({"moment": "9999-12-31T23:59:59-23:59"}, "year_range"),
        ({"moment": "2999-12-31T23:59:59-23:59"}, "year_range"),
        ({"wall_clock": 0}, "datetime_format"),
        ({"kept": None}, "not_null"),
        ({"kept": 0}, "bool_type"),
    ],
)
def test_an_input_the_rule_refuses_is_named_with_its_problem(
    data: dict[str, Any], error_type: str
) -> None:
    [field] = data
    assert refusal(data) == (field, error_type)


def test_the_inputs_the_services_promise_are_accepted() -> None:
    body = Body.model_validate(
        {
            "count": INT32_MAX,
            "total": INT64_MAX,
            "year": 2026,
            "ratio": -3,
            "flag": False,
            "text": "plain text, é ü",
            "period": "2035-12",
            "day": "2026-12-02",
            "moment": "2026-12-02T11:30:00+02:00",
            "wall_clock": "2026-12-02T11:30:00",
            "kept": True,
        }
    )
    assert (body.count, body.total, body.ratio, body.flag) == (INT32_MAX, INT64_MAX, -3.0, False)
    assert body.day == date(2026, 12, 2)
    assert body.moment == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert body.moment is not None
    assert body.moment.utcoffset() == timedelta(0)
    assert body.wall_clock == datetime(2026, 12, 2, 11, 30)
    # An integral float is an integer to JSON Schema.
    assert Body.model_validate({"count": 12.0, "year": 2069.0}).count == 12
    for period in ("1990", "2100", "2026-Q4", "2026-H2", "2026-01"):
        assert Body.model_validate({"period": period}).period == period


def test_a_left_out_field_of_a_partial_update_stays_unset() -> None:
    body = Body.model_validate({})
    assert body.kept is None
    assert "kept" not in body.model_fields_set


def test_python_callers_may_pass_dates_and_datetimes_as_objects() -> None:
    moment = datetime(2026, 12, 2, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    body = Body(day=date(2026, 12, 2), moment=moment)
    assert body.moment == moment
    assert body.moment is not None
    assert body.moment.tzinfo is UTC


def test_path_and_query_integers_are_read_from_text_within_the_column_range() -> None:
    adapter: TypeAdapter[int] = TypeAdapter(Int32Param)
    assert adapter.validate_python("2147483647") == INT32_MAX
    for text in ("2147483648", "9223372036854775808", "-2147483649"):
        with pytest.raises(ValidationError):
            adapter.validate_python(text)


def test_the_openapi_schema_says_what_is_refused() -> None:
    """A client (or a fuzzer) reading the document learns the rules: no null for an
    omittable field, the NUL-free pattern, the years of dates, the integer range."""
    properties = Body.model_json_schema()["properties"]
    assert properties["kept"]["type"] == "boolean"
    assert "anyOf" not in properties["kept"]
    [text, _] = properties["text"]["anyOf"]
    assert text["pattern"] == "^[^\\x00]*$"
    assert text["maxLength"] == 20
    [day, _] = properties["day"]["anyOf"]
    assert day["format"] == "date"
    assert day["pattern"].startswith("^(19")
    [count, _] = properties["count"]["anyOf"]
    assert (count["minimum"], count["maximum"]) == (-(2**31), INT32_MAX)
