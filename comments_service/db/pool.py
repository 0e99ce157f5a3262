"""The asyncpg pool: JSON codecs installed on every connection."""

from __future__ import annotations

import asyncpg
import msgspec

from ..settings import DatabaseSettings


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=lambda v: msgspec.json.encode(v).decode(),
                                  decoder=msgspec.json.decode, schema="pg_catalog")


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Pooled connections never carry session state: LISTEN and advisory locks live on dedicated
    connections, and nothing here runs SET or opens cursors. So the default reset query (one more
    round trip on every release, two or three per post) is skipped; asyncpg itself still rolls
    back an open transaction and drops listeners before calling this."""


async def create_pool(settings: DatabaseSettings, url: str) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn=url, min_size=settings.pool_min, max_size=settings.pool_max,
        command_timeout=settings.command_timeout, init=_init_connection, reset=_no_session_state,
        server_settings={"application_name": "comments_service"},
    )


# a replica's pooled connection: an unreachable replica must not hold a reader for long (the
# primary answers instead, db/replicas.py)
REPLICA_CONNECT_TIMEOUT = 2.0


async def create_replica_pool(settings: DatabaseSettings, url: str) -> asyncpg.Pool:
    """A read replica's pool: like the primary's, but it opens no connection until a read needs
    one, so a replica that is down does not stop the start."""
    return await asyncpg.create_pool(
        dsn=url, min_size=0, max_size=settings.pool_max, timeout=REPLICA_CONNECT_TIMEOUT,
        command_timeout=settings.command_timeout, init=_init_connection, reset=_no_session_state,
        server_settings={"application_name": "comments_service"},
    )


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn


async def create_command_pool(url: str) -> asyncpg.Pool:
    """A pool for one CLI command: one connection (a second only if a service nests an acquire),
    JSON codecs, and no statement timeout, because a migration waits on the advisory lock for as
    long as another process migrates, and an export or import of a large site takes as long as it
    takes."""
    return await asyncpg.create_pool(dsn=url, min_size=1, max_size=2, init=_init_connection)
