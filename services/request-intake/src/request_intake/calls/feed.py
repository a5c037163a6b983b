"""The public feed of open calls: its validator and how long a cache may keep it (pure)."""

import hashlib
from collections.abc import Iterable
from datetime import datetime

# A cache may keep the feed this long, less when a call opens or closes sooner.
FEED_MAX_AGE_SECONDS = 300


def feed_etag(body: bytes) -> str:
    """A strong validator of the feed's bytes: the same calls give the same tag."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names `etag` (or `*`); weak tags compare by their value."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def max_age(now: datetime, changes: Iterable[datetime]) -> int:
    """Seconds until the feed may change (a listed call closes, an upcoming one opens),
    at most FEED_MAX_AGE_SECONDS."""
    upcoming = [(moment - now).total_seconds() for moment in changes if moment > now]
    return int(max(0, min([FEED_MAX_AGE_SECONDS, *upcoming])))
