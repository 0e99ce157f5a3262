"""Applies the numbered plain-SQL files in ``migrations/``.

Each file runs in its own transaction while the runner holds a session advisory lock, so any
number of processes may migrate at once: the first applies, the rest wait and find nothing to do.
Applied files are recorded with a SHA-256 checksum; an applied file that was edited afterwards is
refused, because the database no longer matches what the file says.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from asyncpg import Record

from ..domain.structs import Struct
from .connection import Connection

log = logging.getLogger("comments_service.migrations")

# an arbitrary constant shared by every migrator of this service
ADVISORY_LOCK_KEY = 7_243_112_001
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


class Migration(Struct, frozen=True):
    version: int
    name: str
    sql: str
    checksum: str


def discover(directory: str | Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(Path(directory).glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        sql = path.read_text(encoding="utf-8")
        found.append(Migration(version=int(match[1]), name=match[2], sql=sql,
                               checksum=hashlib.sha256(sql.encode()).hexdigest()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


async def migrate(conn: Connection, directory: str | Path) -> list[Migration]:
    """Apply every pending migration; return those applied by this call."""
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        pending = _unapplied(migrations, await conn.fetch("SELECT version, name, checksum FROM schema_migrations"))
        done: list[Migration] = []
        for index, m in enumerate(pending, 1):
            log.info("applying migration", extra={"migration": f"{m.version:04d}_{m.name}",
                                                   "progress": f"{index}/{len(pending)}"})
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version, m.name, m.checksum,
                )
            done.append(m)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


async def pending(conn: Connection, directory: str | Path) -> list[Migration]:
    """The migrations not applied yet, without applying anything or taking the lock (for a process
    that must not change the schema: it only checks that someone has)."""
    migrations = discover(directory)
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return migrations
    return _unapplied(migrations, await conn.fetch("SELECT version, name, checksum FROM schema_migrations"))


def _unapplied(migrations: list[Migration], applied_rows: list[Record]) -> list[Migration]:
    """The migrations not among ``applied_rows``; MigrationError when an applied one was edited."""
    applied = {r["version"]: r for r in applied_rows}
    for m in migrations:
        row = applied.get(m.version)
        if row is not None and row["checksum"] != m.checksum:
            raise MigrationError(
                f"migration {m.version:04d}_{m.name}.sql was edited after it was applied "
                f"(recorded checksum {row['checksum'][:12]}…, file now {m.checksum[:12]}…); "
                "add a new migration instead of changing an applied one"
            )
    return [m for m in migrations if m.version not in applied]


async def current_level(conn: Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
