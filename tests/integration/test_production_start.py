"""Starting the service as production does (README, "Production"): every process needs the shared
COMMENTS_SECRET_KEY, and `migrate`, `serve` and `worker` may all start at once against one
database: the migrations' advisory lock lets exactly one of them apply each migration."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest

from comments_service.db.migrations import discover
from comments_service.db.pool import connect
from comments_service.settings import Settings
from tests.support.paths import REPO
from tests.support.servers import ServiceProcess, process_env


@pytest.fixture
async def empty_db(storage):
    """A database of this test's own with no tables at all."""
    async with storage.own_database("start") as url:
        yield url


def without_key(storage, url: str, data_dir) -> dict[str, str]:
    env = storage.env(COMMENTS_DATABASE_URL=url, COMMENTS_DATA_DIR=str(data_dir))
    del env["COMMENTS_SECRET_KEY"]
    return env


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["site", "create", "--id", "x", "--origin",
                                                               "https://x.example", "--sso-secret-stdin"],
                                     ["rekey"]])
async def test_without_the_secret_key_a_process_stops_naming_it_and_generates_none(storage, empty_db, tmp_path,
                                                                                 command):
    # a key made up by each process would sign guest tokens and seal SSO secrets the others reject
    done = subprocess.run([sys.executable, "-m", "comments_service.cli", *command], cwd=REPO,
                          env=process_env(without_key(storage, empty_db, tmp_path), isolated=True),
                          input="a-host-secret\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "COMMENTS_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "secret_key").exists()
    conn = await connect(empty_db)
    try:
        if command[0] in ("serve", "worker"):
            # stopped before touching the database
            assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None
        else:
            if await conn.fetchval("SELECT to_regclass('sites')") is not None:
                assert await conn.fetchval("SELECT count(*) FROM sites") == 0
    finally:
        await conn.close()


async def test_migrate_and_two_replicas_started_at_once_apply_each_migration_once(storage, empty_db, tmp_path):
    env = storage.env(COMMENTS_DATABASE_URL=empty_db, COMMENTS_LOG_LEVEL="INFO")
    log_path = tmp_path / "start.log"
    replicas = [ServiceProcess(env, "serve", ready=None, log_path=log_path, isolated=True) for _ in range(2)]
    for replica in replicas:
        replica.start()
    try:
        migrate = subprocess.run([sys.executable, "-m", "comments_service.cli", "migrate"], cwd=REPO,
                                 env=process_env(env, isolated=True), capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        for replica in replicas:
            await _wait_live(replica)

        expected = [f"{m.version:04d}_{m.name}" for m in discover(Settings().database.migrations_dir)]
        conn = await connect(empty_db)
        try:
            applied = [f"{r['version']:04d}_{r['name']}" for r in await conn.fetch(
                "SELECT version, name FROM schema_migrations ORDER BY version")]
        finally:
            await conn.close()
        assert applied == expected
        # each migration applied by exactly one of the three processes
        lines = (log_path.read_text() + migrate.stderr + migrate.stdout).splitlines()
        for name in expected:
            assert sum(1 for line in lines if "applying migration" in line and name in line) == 1, name
    finally:
        for replica in replicas:
            replica.stop()


async def _wait_live(replica: ServiceProcess, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert replica.running, replica.logs()[-3000:]
            try:
                if (await http.get(replica.url + "/health/live")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"serve did not answer in {timeout}s:\n{replica.logs()[-3000:]}")


async def test_with_migrate_on_start_off_serve_waits_for_the_migrate_job(storage, empty_db, tmp_path):
    # for deployments whose service role may not change the schema: a separate `migrate` job does
    env = storage.env(COMMENTS_DATABASE_URL=empty_db, COMMENTS_MIGRATE_ON_START="false")
    early = subprocess.run([sys.executable, "-m", "comments_service.cli", "serve"], cwd=REPO,
                           env=process_env(env, isolated=True), capture_output=True, text=True, timeout=120)
    assert early.returncode == 2, early.stdout + early.stderr
    assert "COMMENTS_MIGRATE_ON_START is off: run `comments-service migrate` first" in early.stderr
    assert "Traceback" not in early.stderr
    conn = await connect(empty_db)
    try:
        assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None
    finally:
        await conn.close()

    migrate = subprocess.run([sys.executable, "-m", "comments_service.cli", "migrate"], cwd=REPO,
                             env=process_env(env, isolated=True), capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    with ServiceProcess(env, "serve", log_path=tmp_path / "serve.log", isolated=True) as replica:
        assert httpx.get(replica.url + "/health/live", timeout=5).status_code == 200
