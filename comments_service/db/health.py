"""Telling "the database is away" apart from bugs, so the API can answer 503 instead of 500."""

from __future__ import annotations

import asyncio

import asyncpg

_UNAVAILABLE = (
    ConnectionError, OSError, asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)

# asyncpg (0.32) mishandles an ErrorResponse that arrives on an idle connection, such as the FATAL
# "terminating connection due to administrator command" PostgreSQL sends to every session when it
# stops or restarts (pg_ctl stop -m fast, pg_terminate_backend): the protocol drops into its
# error-consume state (2) and every later call on that connection raises InternalClientError
# "cannot switch to state N; another operation (2) is in progress" until the socket's EOF is read.
# A pooled connection in that state is a dead connection (the pool terminates it when its reset
# fails), not a bug of ours.
_DEAD_PROTOCOL = "another operation (2) is in progress"


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        return _DEAD_PROTOCOL in str(exc)
    return isinstance(exc, _UNAVAILABLE)
