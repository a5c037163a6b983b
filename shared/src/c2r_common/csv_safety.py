"""CSV files a spreadsheet can open without running anything a caller wrote.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
spreadsheets as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`): the OWASP "CSV
injection" advice is to prefix such a cell with a single quote, which spreadsheets show as
text. Every CSV the platform writes goes through these writers.

Numbers are left alone. A value the server holds as a number (a score, a count, a
negative shortfall) is written by the csv module from that number, never from a caller's
text, and `-3.5` must stay a number for the spreadsheet to sum it. A text that is a plain
decimal number (a latitude `-2.47` read from an imported file) is not a formula either:
spreadsheets read it as the number it is, so it is left as it is too.
"""

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def neutralise_cell(value: Any) -> Any:
    """The value, with a quote before a text a spreadsheet would run as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return NEUTRALISING_PREFIX + value
    return value


def restore_cell(text: str) -> str:
    """The text as it was before `neutralise_cell`: a file the platform wrote, read back
    (the school import reads its own rejected-rows file), gives the values it was given."""
    if text.startswith(NEUTRALISING_PREFIX) and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class SafeWriter:
    """`csv.writer` whose rows are neutralised cell by cell."""

    def __init__(self, file: Any, **options: Any) -> None:
        self._writer: _Writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """`csv.DictWriter` whose rows are neutralised cell by cell."""

    def __init__(self, file: Any, fieldnames: Sequence[str], **options: Any) -> None:
        self._writer = csv.DictWriter(file, fieldnames, **options)

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow({key: neutralise_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_response(example: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI of a route answering CSV: a text body, typed as a string for generated
    clients, with `example` — best what the route's own writer makes of its JSON answer's
    example, so that the two cannot drift apart."""
    return {
        200: {
            "description": "CSV (UTF-8, a header line then one line per row), as an attachment",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
        }
    }
