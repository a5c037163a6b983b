"""Optimistic concurrency for shared documents (assessments, requests): the ETag is the
document's version number; a write carrying a stale If-Match is refused with 412."""

from typing import Annotated

from fastapi import Depends, Header

from c2r_common.errors import ProblemError


async def _if_match_header(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="the ETag read with the document; a stale one is refused with 412",
        ),
    ] = None,
) -> str | None:
    return if_match


IfMatch = Annotated[str | None, Depends(_if_match_header)]


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int, document: str) -> None:
    """Refuses a write based on a stale copy. Without If-Match the caller takes the risk of
    overwriting; the services still apply each write to the version it read."""
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in tags or etag(version) in tags:
        return
    raise ProblemError(
        412,
        f"The {document} has changed since it was read (current ETag {etag(version)}); "
        "read it again and retry.",
        problem_type="precondition-failed",
        extra={"current_etag": etag(version)},
    )
