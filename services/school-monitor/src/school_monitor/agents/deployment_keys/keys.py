"""What a deployment key looks like, and how it is kept.

A generated key is 32 random bytes behind a recognisable prefix. An operator may instead
register the key an existing agent build already carries, so that build works unchanged;
such a key must be long enough, and varied enough, not to be guessed and must not look like
another kind of bearer credential (a JWT, a device token), which are verified elsewhere.

An imported key need not be random, so a plain hash of it could be guessed offline from a
copy of the database. Keys are hashed with HMAC-SHA256 under a server-side pepper that the
database never holds: as cheap per push as a plain hash (a few microseconds), useless
without the pepper. Only the last characters are kept in clear, to tell keys apart.
"""

import hashlib
import hmac
import math
import secrets
from collections import Counter

from school_monitor.agents.service import TOKEN_PREFIX

KEY_PREFIX = "c2rkey_"
MIN_IMPORTED_KEY_LENGTH = 32
# What the character frequencies of an imported key suggest it holds, at least: a random
# hex key of 32 characters comes to 95-125 bits, "password" repeated four times to 88.
MIN_IMPORTED_KEY_BITS = 90.0
MAX_KEY_LENGTH = 500
HINT_LENGTH = 4


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def key_hint(key: str) -> str:
    return key[-HINT_LENGTH:]


def estimated_bits(key: str) -> float:
    """The key's length times the Shannon entropy of its characters: an upper bound of
    what it holds, low for repeated or few characters."""
    counts = Counter(key)
    return -sum(n * math.log2(n / len(key)) for n in counts.values())


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def may_be_deployment_key(token: str) -> bool:
    """Whether a bearer token is worth looking up among deployment keys."""
    return (
        MIN_IMPORTED_KEY_LENGTH <= len(token) <= MAX_KEY_LENGTH
        and not token.startswith(TOKEN_PREFIX)
        and not looks_like_jwt(token)
    )


def imported_key_problem(key: str) -> str | None:
    """Why an operator-supplied key cannot be used, or None."""
    if len(key) < MIN_IMPORTED_KEY_LENGTH:
        return f"a key has at least {MIN_IMPORTED_KEY_LENGTH} characters"
    if len(key) > MAX_KEY_LENGTH:
        return f"a key has at most {MAX_KEY_LENGTH} characters"
    if key != key.strip() or any(ch.isspace() for ch in key):
        return "a key has no spaces"
    if not key.isascii() or not key.isprintable():
        return "a key is printable ASCII"
    if not may_be_deployment_key(key):
        return "this looks like a JWT or a device token, not a key"
    if estimated_bits(key) < MIN_IMPORTED_KEY_BITS:
        return "a key is too predictable: use a random one"
    return None
