"""The database schema: applies the pending migrations (``db/migrations.py`` holds the runner and
the advisory lock that lets any number of processes migrate at once)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from ..db import migrations


class Schema:
    def __init__(self, pool: asyncpg.Pool, directory: str | Path) -> None:
        self.pool = pool
        self.directory = directory

    async def migrate(self) -> list[str]:
        """Apply every pending migration; the names of those this call applied ("0003_votes")."""
        async with self.pool.acquire() as conn:
            applied = await migrations.migrate(conn, self.directory)
        return [f"{m.version:04d}_{m.name}" for m in applied]
