"""Helpers for the scoring pipeline tests: real `comments-service worker` processes, an app with
scoring on, sites whose policy does not depend on the tiny model's meaningless scores."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.settings import Settings
from tests.storage import TestStorage

# The tiny test model's scores mean nothing: with every label's threshold disabled, decisions come
# from the word lists, premoderation and user rules only, so tests are deterministic while still
# running every comment through the real model call.
NO_THRESHOLDS = {"moderation": {"thresholds": {label: None for label in (
    "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit")}}}


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def worker_env(storage: TestStorage, checkpoint: str, config_dir: str, **overrides: str) -> dict[str, str]:
    env = storage.env(
        COMMENTS_SCORING="on", COMMENTS_LOG_LEVEL="INFO", COMMENTS_TOXICITY_CHECKPOINT=checkpoint,
        COMMENTS_TOXICITY_CONFIG_DIR=config_dir, COMMENTS_TOXICITY_THREADS="1",
        COMMENTS_SCORING_POLL_SECONDS="0.2", COMMENTS_DATABASE_POOL_MIN="1", COMMENTS_DATABASE_POOL_MAX="3",
        **overrides)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            **env}


def start_worker(storage: TestStorage, tmp_path: Path, checkpoint: str, config_dir: str, name: str = "worker",
                 **overrides: str) -> Worker:
    log_path = tmp_path / f"{name}-{time.monotonic_ns()}.log"
    handle = log_path.open("w")
    process = subprocess.Popen([sys.executable, "-m", "comments_service.cli", "worker"],
                               env=worker_env(storage, checkpoint, config_dir, **overrides),
                               stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Worker(process, log_path)


async def wait_ready(db, worker: Worker, timeout: float = 120.0) -> dict:
    """Until the worker has loaded its model and reported itself; returns its worker_status row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise AssertionError(f"worker exited with {worker.process.returncode}:\n{worker.log()[-3000:]}")
        row = await db.fetchrow("SELECT worker_id, model, is_fallback FROM worker_status WHERE pid = $1 "
                                "ORDER BY heartbeat_at DESC LIMIT 1", worker.pid)
        if row is not None:
            return dict(row)
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker not ready after {timeout}s:\n{worker.log()[-3000:]}")


async def wait_decided(db, comment_ids: list[int], timeout: float = 120.0) -> dict[int, str]:
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


@asynccontextmanager
async def scoring_app(storage: TestStorage, **env: str) -> AsyncIterator[AsyncTestClient]:
    """The real app with the scoring pipeline on (the shared test app publishes directly)."""
    settings = Settings.from_env(storage.env(COMMENTS_SCORING="on", **env))
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        yield client


async def set_site_policy(db, site_id: str, settings: dict) -> None:
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", site_id, settings)
