"""The migration runner against real PostgreSQL, each test in a database of its own."""

from __future__ import annotations

import asyncio
import shutil

import asyncpg
import pytest

from comments_service.db.migrations import MigrationError, current_level, discover, migrate
from comments_service.db.pool import connect
from comments_service.settings import Settings

MIGRATIONS = Settings().database.migrations_dir


@pytest.fixture
async def fresh_db(storage):
    async with storage.own_database("mig") as url:
        yield url


async def schema_snapshot(conn) -> list:
    return [tuple(r) for r in await conn.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' ORDER BY 1, 2""")]


async def test_applying_twice_changes_nothing(fresh_db):
    conn = await connect(fresh_db)
    try:
        first = await migrate(conn, MIGRATIONS)
        assert [m.version for m in first] == [m.version for m in discover(MIGRATIONS)]
        snapshot = await schema_snapshot(conn)
        assert await migrate(conn, MIGRATIONS) == []
        assert await schema_snapshot(conn) == snapshot
        assert await current_level(conn) == first[-1].version
    finally:
        await conn.close()


async def test_two_migrators_at_once_both_succeed(fresh_db):
    async def run():
        conn = await connect(fresh_db)
        try:
            return await migrate(conn, MIGRATIONS)
        finally:
            await conn.close()

    a, b = await asyncio.gather(run(), run())
    total = len(discover(MIGRATIONS))
    assert sorted([len(a), len(b)]) == [0, total]
    conn = await connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == total
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(fresh_db, tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    conn = await connect(fresh_db)
    try:
        await migrate(conn, copy)
        first = sorted(copy.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
        with pytest.raises(MigrationError, match=f"{first.name} was edited after it was applied"):
            await migrate(conn, copy)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(fresh_db, tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    (copy / "9999_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    conn = await connect(fresh_db)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, copy)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 9999") == 0
    finally:
        await conn.close()
