"""Which database failures are transient, and re-running a transaction that lost a race.

A transient failure is one the same request would likely survive if sent again a moment
later: the write lost a race (deadlock, serialization failure, a lock not obtained in
time), or the database was briefly out of reach (restart, failover, lost connection,
connection limits, an exhausted pool). The error handlers answer those 503 with
Retry-After instead of 500.

The classifier looks at the exception and at what it wraps (SQLAlchemy's `.orig`, and
`__cause__`), so a driver error is classified the same whether it comes raw from asyncpg
or sqlite3, or wrapped by SQLAlchemy.
"""

import asyncio
import errno
import logging
import random
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger("c2r.transient")

T = TypeVar("T")

# PostgreSQL SQLSTATEs after which the whole transaction was rolled back and re-running it
# as it is can succeed: the retryable conflicts.
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
CONFLICT_SQLSTATES = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout, NOWAIT, SKIP LOCKED's cousins
QUERY_CANCELED = "57014"  # statement_timeout, but also a cancel by request (see below)
# The server going away or refusing connections for now: shutdown (fast/smart, crash),
# start-up or recovery, too many connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
CONNECTION_EXCEPTION_CLASS = "08"  # connection lost, refused, does not exist
# 08P01 is a protocol violation (a message the server could not parse): a bug in the
# client, which sending again reproduces.
PROTOCOL_VIOLATION = "08P01"

# asyncpg's InterfaceError and InternalClientError cover client-side misuse too (a wrong
# argument count): only these messages mean the connection itself is gone or unusable for
# now. "another operation (2) is in progress" is what a statement sent just as the
# server's FATAL "terminating connection" arrives gets, before asyncpg sees it closed.
_UNUSABLE_CONNECTION_MESSAGES = ("connection is closed", "is in progress", "not connected")

# OSErrors of a socket that could not reach, or lost, the database server.
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
    }
)
# asyncio's create_connection() joins the failures of every address it tried (::1 and
# 127.0.0.1 for "localhost") into one OSError without errno and with this message.
_MULTIPLE_CONNECT_FAILURES = "Multiple exceptions:"


def is_transient(exc: BaseException) -> bool:
    """True if `exc` is a database failure that the same request may survive a moment
    later (answer 503 with Retry-After), False for anything else (a bug, a constraint)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_transient(member) for member in exc.exceptions)
    return any(_is_transient_itself(link) for link in _chain(exc))


def is_retryable_conflict(exc: BaseException) -> bool:
    """True if `exc` is a deadlock or a serialization failure: the transaction wrote
    nothing that will be kept, so re-running it from its start (a new session) is safe.

    On PostgreSQL, SQLSTATE 40P01 or 40001. On SQLite, SQLITE_BUSY_SNAPSHOT: a transaction
    that read, then tried to write after another one committed (its serialization
    failure). A lost connection is not one: a COMMIT that was sent may have been applied.
    """
    return any(_is_conflict(link) for link in _chain(exc))


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]],
    attempts: int = 3,
    *,
    base_delay: float = 0.02,
    max_delay: float = 0.2,
) -> T:
    """Awaits `fn()`, and again (up to `attempts` calls in all) while it fails with a
    retryable conflict (`is_retryable_conflict`); returns its result.

    `fn` must open and commit its own transaction on each call (a fresh session), and do
    nothing outside it that cannot be repeated. Between calls it sleeps a random time
    below `base_delay * 2**n` (at most `max_delay`), so the two sides of a deadlock do not
    collide again in step. The last failure, or any other error, is raised as it is.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if attempt == attempts or not is_retryable_conflict(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))
            cause = getattr(exc, "orig", None) or exc  # without SQLAlchemy's statement text
            logger.info(
                "attempt %d of %d lost a conflict (%s: %s); running it again in %.3f s",
                attempt,
                attempts,
                type(cause).__name__,
                cause,
                delay,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it wraps: SQLAlchemy's `.orig` and explicit `__cause__` links.

    Implicit `__context__` is not followed: an error raised while handling a transient one
    is a failure of its own.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        if isinstance(orig, BaseException):
            pending.append(orig)
        if link.__cause__ is not None:
            pending.append(link.__cause__)


def _is_transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # SQLAlchemy saw the connection die under the statement
    if isinstance(exc, PoolTimeoutError):
        return True  # every pooled connection in use for the whole pool_timeout
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return any(message in str(exc) for message in _UNUSABLE_CONNECTION_MESSAGES)
    if isinstance(exc, sqlite3.Error):
        return _is_sqlite_busy(exc)
    if isinstance(exc, OSError):
        return _is_network_failure(exc)
    sqlstate = _sqlstate(exc)
    return sqlstate is not None and _is_transient_sqlstate(sqlstate, str(exc))


def _is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorname", None) == "SQLITE_BUSY_SNAPSHOT"
    return _sqlstate(exc) in CONFLICT_SQLSTATES


def _sqlstate(exc: BaseException) -> str | None:
    # asyncpg and psycopg name it sqlstate, psycopg2 pgcode; SQLAlchemy's asyncpg adapter
    # sets both.
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return code if isinstance(code, str) else None


def _is_transient_sqlstate(sqlstate: str, message: str) -> bool:
    if sqlstate in CONFLICT_SQLSTATES or sqlstate == LOCK_NOT_AVAILABLE:
        return True
    if sqlstate == QUERY_CANCELED:
        # A statement that ran past statement_timeout (or, on old servers, lock_timeout)
        # waited on load or locks. A cancel "due to user request" is mostly our own: an
        # asyncio task cancelled because its client went away or a deadline of ours
        # passed. That is no database condition, and a retry would not be the fix.
        return "statement timeout" in message or "lock timeout" in message
    if sqlstate in UNAVAILABLE_SQLSTATES:
        return True
    return sqlstate.startswith(CONNECTION_EXCEPTION_CLASS) and sqlstate != PROTOCOL_VIOLATION


def _is_sqlite_busy(exc: sqlite3.Error) -> bool:
    # SQLITE_BUSY ("database is locked": another connection holds the write lock past the
    # busy timeout) and SQLITE_LOCKED ("database table is locked"), with their extended
    # codes (SQLITE_BUSY_SNAPSHOT, ...). An error made by hand has no code: its message.
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    message = str(exc)
    return "database is locked" in message or "is busy" in message or "table is locked" in message


def _is_network_failure(exc: OSError) -> bool:
    if isinstance(exc, ConnectionError | TimeoutError):
        return True  # refused, reset, aborted, broken pipe; connect timeout
    if isinstance(exc, socket.gaierror):
        return exc.errno == socket.EAI_AGAIN  # DNS server unreachable, not a wrong name
    if exc.errno in _NETWORK_ERRNOS:
        return True
    return exc.errno is None and str(exc).startswith(_MULTIPLE_CONNECT_FAILURES)
