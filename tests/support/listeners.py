"""Cutting a process's LISTEN connection from the server's side, as a PostgreSQL restart would."""

from __future__ import annotations

import asyncio

import asyncpg

from comments_service.services.own_pending import OwnPending


async def cut_own_pending(db: asyncpg.Connection, own_pending: OwnPending) -> None:
    """Ends ``own_pending``'s LISTEN connection and waits until the process knows it is gone."""
    conn = own_pending._conn
    assert conn is not None, "the listener should be up before it is cut"
    await db.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
    for _ in range(500):
        if not own_pending.listening:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the process should notice its LISTEN connection is gone")
