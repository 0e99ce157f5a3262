"""The database from synchronous tests (hypothesis drives its examples synchronously), and snapshots
of every table a request could change, to show that a refused request changed nothing."""

from __future__ import annotations

import asyncio
import threading

import asyncpg


class SyncDb:
    """An asyncpg connection driven from synchronous code (hypothesis tests) through its own loop thread."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.conn = self.run(asyncpg.connect(url))

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(60)

    def fetchval(self, query: str, *args):
        return self.run(self.conn.fetchval(query, *args))

    def fetch(self, query: str, *args):
        return self.run(self.conn.fetch(query, *args))

    def close(self) -> None:
        self.run(self.conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


# every table whose content a request could change; api_tokens is left out (a lookup stamps last_used_at)
SNAPSHOT_EXCLUDE = {"api_tokens", "schema_migrations", "worker_status"}


def snapshot_query(tables: list[str]) -> str:
    """One statement that returns, per table, its row count and a digest of its rows."""
    parts = [f"(SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
             f"FROM {name} t)" for name in tables]
    return "SELECT ARRAY[" + ", ".join(parts) + "]::text[]"


def data_tables(db: SyncDb) -> list[str]:
    rows = db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r["tablename"] for r in rows if r["tablename"] not in SNAPSHOT_EXCLUDE]
