"""A real PostgreSQL streaming replica for the tests: a private primary (initdb on a free loopback
port) and a standby made from it with ``pg_basebackup -R``, on another free port, both from the
PostgreSQL binaries installed on the machine. The machine's own server (the other tests' 5432) does
not allow replication connections, and tests leave its configuration alone.

PostgreSQL refuses to run as root: run as root (CI), every server command runs as the ``postgres``
system user through ``runuser``. Made once per session (initdb and the base backup take seconds);
stopped afterwards by the pid in each data directory's postmaster.pid.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

DATABASE = "cs_replica_test"
_START_S = 60  # one server's start or stop, or the base backup; seconds on a slow, shared machine


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgReplica:
    """The private primary and its streaming replica, and what the tests do to them."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self._as_postgres = os.geteuid() == 0

    # ---------------------------------------------------------------- urls
    def _url(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self._url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self._url(self.replica_port)

    # ---------------------------------------------------------------- servers
    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=_START_S, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")

    def _options(self, port: int) -> str:
        # fsync off: the data is thrown away after the session, and a slow disk shared with other
        # tests would otherwise set the pace. WAL written without a commit (the background
        # writer's standby snapshots) is flushed, and so streamed, within 20 ms rather than 200:
        # a read's fence (comments_service/db/replicas.py) may have to wait for it.
        return (f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c wal_writer_delay=20ms")

    def _pg_ctl_start(self, name: str, port: int, extra: str = "") -> None:
        self._run("pg_ctl", "-D", str(self.root / name), "-o", f"{self._options(port)} {extra}",
                  "-l", str(self.root / f"{name}.log"), "-w", "-t", str(_START_S), "start")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.root / "primary"), "-A", "trust", "-U", "postgres", "--no-sync")
        with open(self.root / "primary" / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self._pg_ctl_start("primary", self.primary_port)
        # -c fast: the backup starts after an immediate checkpoint, not a spread one (minutes)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                  "-D", str(self.root / "replica"), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.start_replica()

    def start_replica(self) -> None:
        # every statement in replica.log, with its parameters: the tests read there which reads it ran
        self._pg_ctl_start("replica", self.replica_port, "-c log_statement=all")

    def replica_log(self) -> str:
        return (self.root / "replica.log").read_text(errors="replace")

    def stop_replica(self) -> None:
        self._stop("replica")

    def replica_running(self) -> bool:
        return self._pid("replica") is not None

    def _pid(self, name: str) -> int | None:
        try:
            pid = int((self.root / name / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def _stop(self, name: str) -> None:
        """Fast shutdown of the server whose pid its data directory names; SIGQUIT (immediate)
        and then SIGKILL if it is still there after a while."""
        pid = self._pid(name)
        if pid is None:
            return
        for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)

    def stop(self) -> None:
        self._stop("replica")
        self._stop("primary")

    # ---------------------------------------------------------------- sql
    async def on_replica(self, sql: str, *args: object) -> object:
        conn = await asyncpg.connect(self.replica_url, timeout=10)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def pause_replay(self) -> None:
        await self.on_replica("SELECT pg_wal_replay_pause()")

    async def resume_replay(self) -> None:
        await self.on_replica("SELECT pg_wal_replay_resume()")


async def _wait_for(what: str, check, timeout: float = _START_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
async def pg_replica() -> AsyncIterator[PgReplica]:
    """A migrated database on a private primary, streamed to a hot standby."""
    from comments_service.db.migrations import migrate
    from comments_service.db.pool import connect
    from comments_service.settings import Settings

    bindir = _bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) on this machine")
    as_root = os.geteuid() == 0
    # as root, under /tmp: the postgres user must reach the directory (root's TMPDIR may be private)
    root = Path(tempfile.mkdtemp(prefix="cs-test-replica-", dir="/tmp" if as_root else None))
    if as_root:
        shutil.chown(root, "postgres", "postgres")
    pg = PgReplica(bindir, root)
    try:
        await asyncio.to_thread(pg.start)
        admin = await asyncpg.connect(pg._url(pg.primary_port, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await admin.close()
        conn = await connect(pg.primary_url)
        try:
            await migrate(conn, Settings().database.migrations_dir)
        finally:
            await conn.close()
        await _wait_for("the replica to serve the migrated database", lambda: pg.on_replica(
            "SELECT pg_is_in_recovery() AND to_regclass('comments') IS NOT NULL"))
        yield pg
    finally:
        await asyncio.to_thread(pg.stop)
        shutil.rmtree(root, ignore_errors=True)
