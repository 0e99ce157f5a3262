"""What a post costs the app, and what the first read after it costs: a signed-in reader's top-level
post to the hot article (published at once: no scoring worker), then the page it retired, read
again (a cache miss: the page's statement, its featured comments and pin included). Straight
through the ASGI app in this process, like bench.edge_cost: no network, no load generator.

    .venv/bin/python -m bench.seed --comments 20000 --database cs_bench_20k   # once
    .venv/bin/python -m bench.post_cost --db cs_bench_20k                    # ms per post and per miss

Run it from two checkouts in turn (``cd OTHER && python -m bench.post_cost``) to compare commits:
the schema's triggers and indexes on comments (every post writes them) are part of what it times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time

import jwt
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.settings import Settings

from .common import HOT_ARTICLE, REDIS_URL, SECRET_KEY, SITE_ID, SSO_SECRET, database_url

NO_LIMITS = "post.user=0:1,post.ip=0:1"


async def measure(db: str, rounds: int, per_round: int) -> dict[str, object]:
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": REDIS_URL,
        "COMMENTS_REDIS_PREFIX": f"postcost{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": "ERROR", "COMMENTS_SCORING": "off", "COMMENTS_RATE_LIMITS": NO_LIMITS}))
    token = jwt.encode({"sub": "post-cost", "name": "Post Cost", "exp": int(time.time()) + 7200}, SSO_SECRET,
                       algorithm="HS256")
    path = f"/api/v1/articles/{HOT_ARTICLE}/comments"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"body": "A measured comment on the crossings.", "article_url": f"https://bench.example/{HOT_ARTICLE}",
            "article_title": "Hot"}
    posts: list[float] = []
    misses: list[float] = []
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for round_no in range(rounds + 1):  # the first round warms plans and pools
            post_us, miss_us = [], []
            for _ in range(per_round):
                t = time.perf_counter()
                r = await client.post(path, params={"site": SITE_ID}, json=body, headers=headers)
                post_us.append((time.perf_counter() - t) * 1e6)
                assert r.status_code == 201 and r.json()["status"] == "published", r.text
                t = time.perf_counter()
                r = await client.get(path, params={"site": SITE_ID})
                miss_us.append((time.perf_counter() - t) * 1e6)
                assert r.status_code == 200, r.text
            if round_no:
                posts.append(statistics.median(post_us))
                misses.append(statistics.median(miss_us))
    return {"post_median_us": round(statistics.median(posts)), "miss_median_us": round(statistics.median(misses)),
            "post_rounds_us": [round(x) for x in posts], "miss_rounds_us": [round(x) for x in misses]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="cs_bench_20k")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.db, args.rounds, args.per_round))))


if __name__ == "__main__":
    main()
