"""Where the test run's PostgreSQL and Redis come from, and the run's own database and key prefix.

Each run creates its own database on the server and its own Redis key prefix, so concurrent runs
(two engineers, CI and a benchmark) never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class TestStorage:
    """Real servers: the local ones at 127.0.0.1 when present, else embedded ones for this run."""

    def __init__(self) -> None:
        self._embedded: list = []
        self.admin_url = os.environ.get("COMMENTS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        self.redis_url = os.environ.get("COMMENTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        self.database = f"cs_test_{RUN_ID}"
        self.redis_prefix = f"cs_test_{RUN_ID}:"
        # ONNX exports (the default toxicity backend) of the test checkpoints: this run's own
        # folder, never the user's cache
        self.toxicity_cache_dir = str(Path(tempfile.gettempdir()) / f"cs-test-toxicity-{RUN_ID}")

    def start(self) -> None:
        parts = urlsplit(self.admin_url)
        if parts.hostname and not _reachable(parts.hostname, parts.port or 5432):
            from comments_service.embedded import EmbeddedPostgres

            pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cs-test-pg-")))
            self.admin_url = pg.start()
            self._embedded.append(pg)
        rparts = urlsplit(self.redis_url)
        if rparts.scheme.startswith("redis") and not _reachable(rparts.hostname or "127.0.0.1", rparts.port or 6379):
            from comments_service.embedded import EmbeddedRedis

            redis = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="cs-test-redis-")))
            self.redis_url = redis.start()
            self._embedded.append(redis)

    def stop(self) -> None:
        for server in reversed(self._embedded):
            server.stop()
        shutil.rmtree(self.toxicity_cache_dir, ignore_errors=True)

    def database_url(self, database: str | None = None) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + (database or self.database)))

    async def create_database(self, name: str | None = None) -> str:
        name = name or self.database
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.database_url(name)

    @asynccontextmanager
    async def own_database(self, label: str, *, migrated: bool = False) -> AsyncIterator[str]:
        """A database of one test's own (its url): empty, or with every migration applied; dropped
        afterwards."""
        name = f"cs_{label}_{secrets.token_hex(4)}"
        url = await self.create_database(name)
        try:
            if migrated:
                from comments_service.db.migrations import migrate
                from comments_service.db.pool import connect
                from comments_service.settings import Settings

                conn = await connect(url)
                try:
                    await migrate(conn, Settings().database.migrations_dir)
                finally:
                    await conn.close()
            yield url
        finally:
            await self.drop_database(name)

    async def drop_database(self, name: str | None = None) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name or self.database}" WITH (FORCE)')
        finally:
            await conn.close()

    def env(self, **overrides: str) -> dict[str, str]:
        """COMMENTS_* variables for a service process of this run."""
        base = {
            "COMMENTS_DATABASE_URL": self.database_url(),
            "COMMENTS_REDIS_URL": self.redis_url,
            "COMMENTS_REDIS_PREFIX": self.redis_prefix,
            "COMMENTS_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "COMMENTS_LOG_LEVEL": "WARNING",
            # comments publish at once unless a test runs the scoring pipeline (it passes "on" and
            # starts `comments-service worker` processes of its own)
            "COMMENTS_SCORING": "off",
            "COMMENTS_TOXICITY_CACHE_DIR": self.toxicity_cache_dir,
            # webhook endpoints on 127.0.0.1 over http: the tests' receivers (tests/integration/test_webhooks.py)
            "COMMENTS_WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true",
            # guests post without the proof of work: tests of it turn it on (tests/*/test_guest_challenge.py)
            "COMMENTS_GUEST_CHALLENGE": "off",
            # many tests post one text twice: tests of the repeat rules turn it on (test_repeats.py)
            "COMMENTS_REPEAT_CHECKS": "off",
            # generous limits: tests of the limits themselves set their own
            "COMMENTS_RATE_LIMITS": "post.user=0:1,post.ip=0:1,edit.user=0:1,edit.ip=0:1,vote.user=0:1,"
                                    "vote.ip=0:1,report.user=0:1,report.ip=0:1,check.user=0:1,check.ip=0:1,"
                                    "guest.ip=0:1,troubleshoot.ip=0:1,counts.ip=0:1,signin.ip=0:1",
        }
        base.update(overrides)
        return base
