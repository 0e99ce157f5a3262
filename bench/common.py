"""What the seed and the scenarios agree on: the bench site, its secret key and named articles."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SITE_ID = "bench"
ORIGIN = "https://bench.example"
SSO_SECRET = "bench-sso-secret-0123456789abcdef0123"
SECRET_KEY = "bench-secret-key-" + "b" * 32
HOT_ARTICLE = "hot-500"  # R1 and R4
BIG_ARTICLE = "big-10k"  # R2
NAMED = {BIG_ARTICLE: 10_000, HOT_ARTICLE: 500}  # taken from the comment budget in this order


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def scratch_storage(label: str, keep: bool = False) -> AsyncIterator[tuple[str, str]]:
    """A database of its own and a Redis key prefix for one run: (database url, prefix). Both are
    dropped afterwards, the database unless ``keep``."""
    name = f"cs_bench_{label}_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    prefix = f"{name}:"
    try:
        yield database_url(name), prefix
    finally:
        if not keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await forget_keys(REDIS_URL, prefix)


async def forget_keys(redis_url: str, prefix: str) -> None:
    """Delete a run's Redis keys: a bench's posts leave hundreds of thousands (each one's repeat
    check writes five, living an hour; versions live a day) in the Redis the tests share, whose
    SCANs they slow down."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()
