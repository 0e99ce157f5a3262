"""What a post costs the app, and what the first read after it costs: a signed-in reader's top-level
post to the hot article (published at once: no scoring worker), then the page it retired, read
again (a cache miss: the page's statement, its featured comments and pin included). Straight
through the ASGI app in this process, like bench.edge_cost: no network, no load generator.

    .venv/bin/python -m bench.seed --comments 20000 --database cs_bench_20k   # once
    .venv/bin/python -m bench.post_cost --db cs_bench_20k                    # ms per post and per miss

Run it from two checkouts in turn (``cd OTHER && python -m bench.post_cost``) to compare commits:
the schema's triggers and indexes on comments (every post writes them) are part of what it times.
Every post's text is different (random words), as readers' are: the same text again would be a
repeat, refused by the spam checks (services/repeats.py), which run on every post. ``--scoring``
posts as a scored site does (the comment queued for the worker; no worker runs, and the POST
does not wait for a decision), so that the checks that run only then (the surge count) are timed
too. The poster is a reader of a month's standing, as most posters are; ``--new-account`` posts
as an account made by its first post (what the surge rule counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import time

import asyncpg
import jwt
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.settings import Settings

from .common import HOT_ARTICLE, REDIS_URL, SECRET_KEY, SITE_ID, SSO_SECRET, database_url

NO_LIMITS = "post.user=0:1,post.ip=0:1"


WORDS = ("border troops river crossing villages convoy soldiers ministry talks winter road bridge market "
         "families patrol checkpoint valley mountains refugees drought harvest school clinic elders report "
         "minister spokesman partners treaty season guards trucks fuel prices wheat flour visas permits "
         "journalists camera footage witness statement rumours evidence history decade promise").split()


def comment_text(rng: random.Random) -> str:
    """A reader's comment of 12 to 30 words, none the same as another's."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))).capitalize() + "."


async def measure(db: str, rounds: int, per_round: int, scoring: bool = False,
                  new_account: bool = False) -> dict[str, object]:
    subject = f"post-cost-{secrets.token_hex(4)}" if new_account else "post-cost"
    if not new_account:
        conn = await asyncpg.connect(database_url(db))
        try:
            await conn.execute(
                "INSERT INTO users (site_id, kind, external_id, display_name, created_at) "
                "VALUES ($1, 'sso', $2, 'Post Cost', now() - interval '30 days') ON CONFLICT (site_id, kind, "
                "external_id) DO UPDATE SET created_at = EXCLUDED.created_at", SITE_ID, subject)
        finally:
            await conn.close()
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": database_url(db), "COMMENTS_REDIS_URL": REDIS_URL,
        "COMMENTS_REDIS_PREFIX": f"postcost{secrets.token_hex(3)}:", "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": "ERROR", "COMMENTS_SCORING": "on" if scoring else "off",
        "COMMENTS_DECISION_WAIT_MS": "0", "COMMENTS_RATE_LIMITS": NO_LIMITS}))
    rng = random.Random(7)
    token = jwt.encode({"sub": subject, "name": "Post Cost", "exp": int(time.time()) + 7200}, SSO_SECRET,
                       algorithm="HS256")
    path = f"/api/v1/articles/{HOT_ARTICLE}/comments"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"body": "", "article_url": f"https://bench.example/{HOT_ARTICLE}", "article_title": "Hot"}
    expected = "pending_scoring" if scoring else "published"
    posts: list[float] = []
    misses: list[float] = []
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for round_no in range(rounds + 1):  # the first round warms plans and pools
            post_us, miss_us = [], []
            for _ in range(per_round):
                body["body"] = comment_text(rng)
                t = time.perf_counter()
                r = await client.post(path, params={"site": SITE_ID}, json=body, headers=headers)
                post_us.append((time.perf_counter() - t) * 1e6)
                assert r.status_code == 201 and r.json()["status"] == expected, r.text
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
    parser.add_argument("--scoring", action="store_true", help="post as a scored site does (queued, not waited for)")
    parser.add_argument("--new-account", action="store_true", help="post as an account its first post makes")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.db, args.rounds, args.per_round, args.scoring, args.new_account))))


if __name__ == "__main__":
    main()
