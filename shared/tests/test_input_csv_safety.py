"""CSV cells a spreadsheet would run as formulas are written as text (OWASP CSV injection)."""

import csv
import io
from typing import Any

import pytest

from c2r_common.csv_safety import SafeDictWriter, SafeWriter, neutralise_cell, restore_cell


def written(*cells: Any) -> list[str]:
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(cells)
    return next(csv.reader(io.StringIO(buffer.getvalue())))


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "+1+1", "-1+2", "@SUM(A1)", "\tx", "\rx"],
)
def test_a_text_starting_a_formula_is_prefixed_with_a_quote(text: str) -> None:
    assert written(text) == ["'" + text]


def test_numbers_and_plain_text_are_written_as_they_are() -> None:
    """A number the server holds stays a number (a negative score, a count); a text that
    is a plain decimal number is no formula either."""
    assert written(-3.5, 0, 12, None, "-3.5", "+7", "-1e3", "Rwanda", "a=b", "") == [
        "-3.5",
        "0",
        "12",
        "",
        "-3.5",
        "+7",
        "-1e3",
        "Rwanda",
        "a=b",
        "",
    ]


def test_the_dict_writer_neutralises_its_rows_and_keeps_its_header() -> None:
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, ["name", "score"], lineterminator="\n")
    writer.writeheader()
    writer.writerows([{"name": "=1+1", "score": -2.5}, {"name": "ok", "score": 3}])
    assert buffer.getvalue() == "name,score\n'=1+1,-2.5\nok,3\n"


@pytest.mark.parametrize("text", ["=1+1", "-Foo", "@x", "plain", "'quoted", "-2.47"])
def test_a_neutralised_cell_reads_back_as_the_value_it_was(text: str) -> None:
    assert restore_cell(neutralise_cell(text)) == text
