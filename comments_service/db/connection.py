"""The connection every repository function takes, and the one row a statement always returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A pooled connection (what ``pool.acquire()`` yields: a proxy with the same methods) or a
# dedicated one (``asyncpg.connect``: LISTEN, advisory locks, the CLI).
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
# A row as a statement returned it (a Record) or as a caller rebuilt it (a dict).
Row: TypeAlias = asyncpg.Record | Mapping[str, Any]


async def one_row(conn: Connection, sql: str, *args: object) -> asyncpg.Record:
    """The row of a statement that always returns one: an aggregate, a SELECT over a one-row FROM,
    an UPDATE ... RETURNING of a row the caller holds locked. No row there is a broken invariant,
    raised here rather than as a TypeError where the row is read."""
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise LookupError(f"no row from a statement that always returns one: {sql[:80]!r}")
    return row
