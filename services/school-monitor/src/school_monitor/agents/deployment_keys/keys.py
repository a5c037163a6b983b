"""What a deployment key looks like.

A generated key is 32 random bytes behind a recognisable prefix. An operator may instead
register the key an existing agent build already carries, so that build works unchanged;
such a key must be long enough not to be guessed and must not look like another kind of
bearer credential (a JWT, a device token), which are verified elsewhere.
"""

import secrets

from school_monitor.agents.service import TOKEN_PREFIX, hash_token

KEY_PREFIX = "c2rkey_"
MIN_IMPORTED_KEY_LENGTH = 32
MAX_KEY_LENGTH = 500
HINT_LENGTH = 12


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # A fast hash is enough for keys of 256 random bits (see agents.service).
    return hash_token(key)


def key_hint(key: str) -> str:
    return key[:HINT_LENGTH]


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
    return None
