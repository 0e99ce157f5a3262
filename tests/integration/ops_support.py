"""Shared by the health, diagnostics and troubleshooting tests: staff tokens, worker reports, a
second app with its own settings, and a TCP proxy to PostgreSQL that a test can cut."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from datetime import datetime, timezone
from typing import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db import tokens as token_repo
from comments_service.db import worker_status
from comments_service.identity import new_api_token
from comments_service.settings import Settings


async def staff_token(db, role: str = "admin", site_id: str | None = None) -> str:
    token, digest = new_api_token()
    await token_repo.create(db, f"{role}-{secrets.token_hex(3)}", role, site_id, digest)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def report_worker(db, *, model_id: str, is_fallback: bool = False, reason: str | None = None,
                        latency_ms: dict | None = None, throughput: float = 0.0, jobs: int = 0) -> str:
    """Writes a worker_status row exactly as a scoring worker does."""
    worker_id = "w-" + secrets.token_hex(4)
    await worker_status.report(db, worker_status.WorkerStatus(
        worker_id=worker_id, hostname="test-host", pid=4242, started_at=datetime.now(timezone.utc),
        model={"model_id": model_id, "backend": "fallback" if is_fallback else "detoxify",
               "variant": "profanity-check" if is_fallback else "original",
               "source": "fallback" if is_fallback else "local", "load_seconds": 1.25,
               "fallback_reason": reason},
        is_fallback=is_fallback, jobs_scored=jobs, batches=jobs, latency_ms=latency_ms or {},
        throughput_per_min=throughput))
    return worker_id


async def forget_workers(db) -> None:
    await db.execute("DELETE FROM worker_status")


@contextlib.asynccontextmanager
async def other_app(storage, **env: str) -> AsyncIterator[AsyncTestClient]:
    app = create_app(Settings.from_env(storage.env(**env)))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut()`` drops every connection and refuses new ones,
    which is what the service sees when the database host goes away. Runs on threads: the test
    client may drive the app's lifespan from outside the test's event loop."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target_url = target_url
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    async def start(self) -> str:
        self.listener = socket.create_server(("127.0.0.1", 0))
        local_port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        parts = urlsplit(self.target_url)
        userinfo, _, _ = parts.netloc.rpartition("@")
        host = f"127.0.0.1:{local_port}"
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo else host))

    def _accept(self) -> None:
        listener = self.listener
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [conn, upstream]
            threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)

    async def cut(self) -> None:
        if self.listener is not None:
            # shutdown first: on Linux a plain close() leaves the thread blocked in accept() listening
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()
