"""What a post costs the process's CPU, and which parts of it: signed-in readers' top-level posts
to the hot article (published at once), one after another, straight into the ASGI app in this
process (no HTTP client, no network: only the app's own work and its round trips' CPU).

    .venv/bin/python -m bench.seed --comments 20000 --database cs_bench_20k   # once
    .venv/bin/python -m bench.post_cpu --db cs_bench_20k                     # CPU µs per post
    .venv/bin/python -m bench.post_cpu --db cs_bench_20k --without repeats,bump --direct

Why CPU and not latency: R4 (bench/reads.py) posts on the loop that answers the hot reads, so
every microsecond of a post's CPU is one the readers wait (at 5% posts the read rate is set by
``1 / (read cost + post cost / 19)``); a post's latency is mostly waiting on PostgreSQL and Redis.

``--without`` takes parts out to see what they cost, by difference: ``repeats`` (the repeat and
campaign check: its fingerprint and its Redis script), ``bump`` (the cache bump after the insert:
its Redis script and the invalidation each process then receives; this process still drops its own
copy). ``--direct`` calls ``CommentService.post`` without the HTTP layer (routing, the body's
decoding, the token, the answer's encoding). Run it from two checkouts in turn to compare commits
(``cd OTHER && python -m bench.post_cpu``): medians of ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

import jwt
import uvloop

from comments_service.app import create_app
from comments_service.identity import Identity
from comments_service.services.comments import Actor
from comments_service.settings import Settings

from .common import HOT_ARTICLE, REDIS_URL, SECRET_KEY, SITE_ID, SSO_SECRET, database_url, forget_keys
from .post_cost import NO_LIMITS, comment_text

READERS = 2000
PREFIX = "postcpu:"


async def measure(db: str, posts: int, rounds: int, without: set[str], direct: bool) -> dict[str, Any]:
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": database_url(db) + "?synchronous_commit=off",
        "COMMENTS_REDIS_URL": REDIS_URL, "COMMENTS_REDIS_PREFIX": PREFIX, "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": "ERROR", "COMMENTS_SCORING": "off", "COMMENTS_RATE_LIMITS": NO_LIMITS}))
    rng = random.Random(time.time_ns())
    # readers the seed knows as ``bench-N`` (bench/reads.py posts as them too)
    tokens = [jwt.encode({"sub": f"bench-{i}", "name": f"Bench {i}", "exp": int(time.time()) + 7200}, SSO_SECRET,
                         algorithm="HS256").encode() for i in range(READERS)]
    path = f"/api/v1/articles/{HOT_ARTICLE}/comments"
    statuses: dict[int | str, int] = {}
    startup: asyncio.Queue[dict] = asyncio.Queue()
    started: asyncio.Queue[dict] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                         startup.get, started.put))
    await started.get()
    services = app.state.services
    if "repeats" in without:
        services.comments.repeats = None
    if "bump" in without:
        cache = services.cache

        async def bump(site_id: str, external_id: str, live_event: bytes | None = None, *, appended: Any = None
                       ) -> None:
            cache.forget_local(site_id, external_id, appended is None, appended)

        cache.bump = bump  # type: ignore[method-assign]

    async def over_http() -> None:
        body = json.dumps({"body": comment_text(rng)}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": f"site={SITE_ID}".encode(),
                 "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()),
                             (b"authorization", b"Bearer " + rng.choice(tokens))]}
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    entry = await services.sites.get(SITE_ID)

    async def in_process() -> None:
        n = rng.randrange(READERS)
        identity = Identity(site_id=SITE_ID, kind="sso", external_id=f"bench-{n}", name=f"Bench {n}")
        posted = await services.comments.post(entry, Actor(identity=identity, ip="127.0.0.1"), HOT_ARTICLE,
                                              body=comment_text(rng), parent_id=None, author_name=None,
                                              article_url=None, article_title=None)
        statuses[posted.status] = statuses.get(posted.status, 0) + 1

    post = in_process if direct else over_http
    try:
        for _ in range(200):  # plans, pools and caches warm
            await post()
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(rounds):
            statuses.clear()
            c, w = time.process_time(), time.perf_counter()
            for _ in range(posts):
                await post()
            cpu.append((time.process_time() - c) / posts * 1e6)
            wall.append((time.perf_counter() - w) / posts * 1e6)
            if set(statuses) - {201, "published"}:
                raise RuntimeError(f"posts not all stored: {statuses}")
    finally:
        await startup.put({"type": "lifespan.shutdown"})
        await lifespan
        await forget_keys(REDIS_URL, PREFIX)
    return {"cpu_us_per_post": round(statistics.median(cpu)), "wall_us_per_post": round(statistics.median(wall)),
            "cpu_rounds_us": [round(x) for x in cpu], "without": sorted(without), "direct": direct}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="cs_bench_20k")
    parser.add_argument("--posts", type=int, default=1000, help="posts per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without", default="", help="parts left out, comma-separated: repeats, bump")
    parser.add_argument("--direct", action="store_true", help="call CommentService.post, no HTTP layer")
    args = parser.parse_args()
    without = {part for part in args.without.split(",") if part}
    if without - {"repeats", "bump"}:
        parser.error("--without takes repeats and bump")
    print(json.dumps(uvloop.run(measure(args.db, args.posts, args.rounds, without, args.direct))))


if __name__ == "__main__":
    main()
