"""What the edge of the app costs on the hottest request: a cached thread page (R1's), called
straight through the ASGI app in this process: no network, no HTTP parser, no load generator
sharing the two cores. It isolates what the app itself does per request (middleware, site and
reader resolution, cache lookup, response), which wrk's figures on this machine cannot show to
within a few per cent.

    .venv/bin/python -m bench.seed --comments 1000000      # once: cs_bench_1m
    .venv/bin/python -m bench.edge_cost                    # µs per request, median of 7 rounds

Run it from two checkouts in turn (``cd OTHER && python -m bench.edge_cost`` imports that tree's
code) to compare commits on the same machine in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from typing import Any

from comments_service.app import create_app
from comments_service.settings import Settings

from .common import HOT_ARTICLE, SECRET_KEY, SITE_ID, database_url


async def measure(db: str, rounds: int, per_round: int) -> dict[str, Any]:
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": "redis://127.0.0.1:6379/0",
        "COMMENTS_REDIS_PREFIX": f"edge{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": "ERROR", "COMMENTS_SCORING": "off"}))
    path = f"/api/v1/articles/{HOT_ARTICLE}/comments"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": f"site={SITE_ID}".encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")], "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8000)}
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async with _lifespan(app):
        for _ in range(2000):  # warm: the page in Redis and in the process's local cache
            await app(dict(scope, state={}), receive, send)
        if statuses != {200}:
            raise SystemExit(f"the page answered {sorted(statuses)}; seed cs_bench_1m first")
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(per_round):
                await app(dict(scope, state={}), receive, send)
            times.append((time.perf_counter() - start) / per_round * 1e6)
    return {"median_us": round(statistics.median(times), 1), "min_us": round(min(times), 1),
            "rounds_us": [round(t, 1) for t in times]}


class _lifespan:
    """The app's startup and shutdown, driven as an ASGI server would."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self) -> None:
        self.task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                 self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        if (await self.outbox.get())["type"] != "lifespan.startup.complete":
            raise SystemExit("the app did not start")

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="cs_bench_1m")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.db, args.rounds, args.per_round))))


if __name__ == "__main__":
    main()
