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
too. The posters are ``--authors`` readers of a month's standing, as most posters are;
``--new-account`` posts as accounts made by their first post (what the surge rule counts).

``--ab`` times what the spam checks alone add, in one process: rounds alternate (on, off, off, on,
...) between the comment service with its repeat and surge checks and the same service without
them, so that both sides see the same machine, caches and database; it reports each side's median
post and the median of the paired rounds' differences. ``--async-commit`` commits without waiting
for the disk (``synchronous_commit=off``): a post's fsync on this VM varies by milliseconds, more
than what the checks cost, and the checks never touch the disk.
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

from .common import HOT_ARTICLE, REDIS_URL, SECRET_KEY, SITE_ID, SSO_SECRET, database_url, forget_keys

NO_LIMITS = "post.user=0:1,post.ip=0:1"


WORDS = ("border troops river crossing villages convoy soldiers ministry talks winter road bridge market "
         "families patrol checkpoint valley mountains refugees drought harvest school clinic elders report "
         "minister spokesman partners treaty season guards trucks fuel prices wheat flour visas permits "
         "journalists camera footage witness statement rumours evidence history decade promise").split()


# readers write from a vocabulary of thousands of words, not fifty: made-up words fill it out, so that
# two comments share word pairs (and so MinHash values) about as rarely as real ones do
_SPELL = random.Random(11)
VOCABULARY = WORDS + ["".join(_SPELL.choice("abcdefghiklmnoprstuvwy") for _ in range(_SPELL.randint(3, 9)))
                      for _ in range(3000)]


def comment_text(rng: random.Random) -> str:
    """A reader's comment of 12 to 30 words, none the same as another's."""
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(12, 30))).capitalize() + "."


async def measure(db: str, rounds: int, per_round: int, scoring: bool = False,
                  new_account: bool = False, ab: bool = False, authors: int = 100,
                  async_commit: bool = False) -> dict[str, object]:
    run = secrets.token_hex(4)
    subjects = [f"post-cost-{run}-{i}" if new_account else f"post-cost-{i}" for i in range(authors)]
    if not new_account:
        conn = await asyncpg.connect(database_url(db))
        try:
            await conn.executemany(
                "INSERT INTO users (site_id, kind, external_id, display_name, created_at) "
                "VALUES ($1, 'sso', $2, 'Post Cost', now() - interval '30 days') ON CONFLICT (site_id, kind, "
                "external_id) DO UPDATE SET created_at = EXCLUDED.created_at", [(SITE_ID, s) for s in subjects])
        finally:
            await conn.close()
    # asyncpg passes a DSN's unknown parameters on as server settings
    url = database_url(db) + ("?synchronous_commit=off" if async_commit else "")
    prefix = f"postcost{secrets.token_hex(3)}:"
    app = create_app(Settings.from_env({
        "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL,
        "COMMENTS_REDIS_PREFIX": prefix, "COMMENTS_SECRET_KEY": SECRET_KEY,
        "COMMENTS_LOG_LEVEL": "ERROR", "COMMENTS_SCORING": "on" if scoring else "off",
        "COMMENTS_DECISION_WAIT_MS": "0", "COMMENTS_RATE_LIMITS": NO_LIMITS}))
    rng = random.Random(7)
    tokens = [jwt.encode({"sub": subject, "name": "Post Cost", "exp": int(time.time()) + 7200}, SSO_SECRET,
                         algorithm="HS256") for subject in subjects]
    path = f"/api/v1/articles/{HOT_ARTICLE}/comments"
    headers = {"Authorization": ""}
    body = {"body": "", "article_url": f"https://bench.example/{HOT_ARTICLE}", "article_title": "Hot"}
    expected = "pending_scoring" if scoring else "published"
    posts: list[float] = []
    misses: list[float] = []
    sides: dict[bool, list[float]] = {True: [], False: []}
    try:
        async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
            comments = app.state.services.comments
            checks = (comments.repeats, comments.surges) if ab else None
            for round_no in range(rounds + 1):  # the first round warms plans and pools
                checked = not ab or round_no % 4 in (0, 3)  # on, off, off, on: drift cancels in pairs
                if checks is not None:
                    comments.repeats, comments.surges = checks if checked else (None, None)
                post_us, miss_us = [], []
                for _ in range(per_round):
                    body["body"] = comment_text(rng)
                    headers["Authorization"] = "Bearer " + rng.choice(tokens)  # many readers, as on a busy article
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
                    sides[checked].append(statistics.median(post_us))
            if checks is not None:
                comments.repeats, comments.surges = checks
    finally:
        await forget_keys(REDIS_URL, prefix)
    if ab:
        pairs = [on - off for on, off in zip(sides[True], sides[False], strict=False)]
        return {"post_median_us_checks_on": round(statistics.median(sides[True])),
                "post_median_us_checks_off": round(statistics.median(sides[False])),
                "added_us_median_of_pairs": round(statistics.median(pairs)),
                "added_us_pairs": [round(x) for x in pairs]}
    return {"post_median_us": round(statistics.median(posts)), "miss_median_us": round(statistics.median(misses)),
            "post_rounds_us": [round(x) for x in posts], "miss_rounds_us": [round(x) for x in misses]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="cs_bench_20k")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--scoring", action="store_true", help="post as a scored site does (queued, not waited for)")
    parser.add_argument("--new-account", action="store_true", help="post as an account its first post makes")
    parser.add_argument("--ab", action="store_true", help="the spam checks on and off in alternate rounds")
    parser.add_argument("--authors", type=int, default=100, help="readers the posts are spread over")
    parser.add_argument("--async-commit", action="store_true",
                        help="commit without waiting for the disk: takes this VM's fsync out of the noise")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.db, args.rounds, args.per_round, args.scoring, args.new_account,
                                         args.ab, args.authors, args.async_commit))))


if __name__ == "__main__":
    main()
