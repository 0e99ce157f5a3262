"""The scoring pipeline in tests: real `comments-service worker` processes (through the one launcher,
servers.ServiceProcess), waiting for them and for their decisions, and a policy that leaves the
tiny test model's scores out of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.support.servers import ServiceProcess
from tests.support.storage import TestStorage

# The tiny test model's scores mean nothing: with every label's threshold disabled, decisions come
# from the word lists, premoderation and user rules only, so tests are deterministic while still
# running every comment through the real model call.
NO_THRESHOLDS = {"moderation": {"thresholds": dict.fromkeys((
    "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit"))}}


def worker_env(storage: TestStorage, checkpoint: str, config_dir: str, **overrides: str) -> dict[str, str]:
    """A worker's settings: scoring on, the given model, quick polls, a small pool, no network."""
    return {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            **storage.env(COMMENTS_SCORING="on", COMMENTS_LOG_LEVEL="INFO", COMMENTS_TOXICITY_CHECKPOINT=checkpoint,
                          COMMENTS_TOXICITY_CONFIG_DIR=config_dir, COMMENTS_TOXICITY_THREADS="1",
                          COMMENTS_SCORING_POLL_SECONDS="0.2", COMMENTS_DATABASE_POOL_MIN="1",
                          COMMENTS_DATABASE_POOL_MAX="3", **overrides)}


def start_worker(storage: TestStorage, tmp_path: Path, checkpoint: str, config_dir: str, name: str = "worker",
                 **overrides: str) -> ServiceProcess:
    """A `comments-service worker` process, started (see wait_worker_ready); its log in ``tmp_path``."""
    log_path = tmp_path / f"{name}-{time.monotonic_ns()}.log"
    return ServiceProcess(worker_env(storage, checkpoint, config_dir, **overrides), "worker", ready=None,
                          log_path=log_path).start()


async def wait_worker_ready(db: asyncpg.Connection, worker: ServiceProcess, timeout: float = 120.0) -> dict:
    """Until the worker has loaded its model and reported itself; returns its worker_status row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.running:
            raise AssertionError(f"worker exited with {worker.returncode}:\n{worker.logs()[-3000:]}")
        row = await db.fetchrow("SELECT worker_id, model, is_fallback FROM worker_status WHERE pid = $1 "
                                "ORDER BY heartbeat_at DESC LIMIT 1", worker.pid)
        if row is not None:
            return dict(row)
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker not ready after {timeout}s:\n{worker.logs()[-3000:]}")


@asynccontextmanager
async def running_worker(storage: TestStorage, database: str, tmp_path: Path, checkpoint: str,
                         config_dir: str, **overrides: str) -> AsyncIterator[tuple[ServiceProcess, dict]]:
    """A worker that has loaded its model, with its worker_status row; stopped cleanly afterwards."""
    from comments_service.db.pool import connect

    running = start_worker(storage, tmp_path, checkpoint, config_dir, **overrides)
    conn = await connect(database)
    try:
        yield running, await wait_worker_ready(conn, running)
    finally:
        await conn.close()
        assert running.stop() == 0, running.logs()[-3000:]


async def wait_decided(db: asyncpg.Connection, comment_ids: list[int], timeout: float = 120.0) -> dict[int, str]:
    """Until none of the comments awaits scoring; returns their statuses."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await db.fetch("SELECT id, status FROM comments WHERE id = ANY($1::bigint[])", comment_ids)
        statuses = {r["id"]: r["status"] for r in rows}
        if len(statuses) == len(comment_ids) and "pending_scoring" not in statuses.values():
            return statuses
        if time.monotonic() > deadline:
            pending = [i for i, s in statuses.items() if s == "pending_scoring"]
            raise AssertionError(f"{len(pending)} comments still pending after {timeout}s")
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def worker(storage, database, tiny_detoxify, tmp_path_factory):
    """A real worker for one test module (import it there): it decides that module's comments and
    stops with it, so no later module finds a live worker it did not ask for."""
    async with running_worker(storage, database, tmp_path_factory.mktemp("workers"), *tiny_detoxify) as running:
        yield running
