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


def is_database_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, _UNAVAILABLE)
