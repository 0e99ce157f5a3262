"""The database schema: applies the pending migrations (``db/migrations.py`` holds the runner and
the advisory lock that lets any number of processes migrate at once), or, for a process that must
not change the schema, checks that nothing is pending."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from ..db import migrations


class SchemaBehind(RuntimeError):
    """Migrations are pending where this process may not apply them; the message names them."""


class Schema:
    def __init__(self, pool: asyncpg.Pool, directory: str | Path) -> None:
        self.pool = pool
        self.directory = directory

    async def migrate(self) -> list[str]:
        """Apply every pending migration; the names of those this call applied ("0003_votes")."""
        async with self.pool.acquire() as conn:
            applied = await migrations.migrate(conn, self.directory)
        return [f"{m.version:04d}_{m.name}" for m in applied]

    async def require_current(self) -> None:
        """SchemaBehind when a migration this code needs has not been applied."""
        async with self.pool.acquire() as conn:
            missing = await migrations.pending(conn, self.directory)
        if missing:
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in missing)
            raise SchemaBehind(f"the database lacks {len(missing)} migration(s) this version needs ({names}), and "
                               f"COMMENTS_MIGRATE_ON_START is off: run `comments-service migrate` first")
