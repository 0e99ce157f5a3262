"""Moderation throughput: the queue listing at 100k held comments and bulk decisions.

    .venv/bin/python -m bench.moderation                      # 100k held, 1,000 approved in batches of 100
    .venv/bin/python -m bench.moderation --held 20000 --runs 30 --keep

Creates its own database (dropped afterwards unless --keep) and Redis key prefix, migrates it,
seeds one site with ``--held`` held comments (scores, 200 articles, 20,000 authors) plus 20,000
published ones and a second site with 20,000 held comments (so per-site indexes matter), then drives
the real app in-process (Litestar's ASGI test client: no sockets, so the times are the server's own:
routing, auth, SQL, encoding). Writes the results and the command line to bench/RESULTS_moderation.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db import tokens
from comments_service.db.migrations import migrate
from comments_service.db.pool import connect
from comments_service.identity import Keyring, new_api_token
from comments_service.services.sites import SiteDirectory
from comments_service.settings import Settings

from .common import REDIS_URL, SECRET_KEY, scratch_storage

RESULTS = Path(__file__).resolve().parent / "RESULTS_moderation.md"

SEED = """
INSERT INTO articles (site_id, external_id, url, title, created_at)
SELECT $1, 'a-' || g, 'https://bench.example/a-' || g, 'Article ' || g, now() - interval '2 days'
FROM generate_series(1, 200) g;
"""
USERS = """
INSERT INTO users (site_id, kind, external_id, display_name)
SELECT $1, 'sso', 'u-' || g, 'User ' || g FROM generate_series(1, $2::int) g;
"""
# comments spread over the site's articles and authors; created_at one second apart, oldest first
COMMENTS = """
WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM articles WHERE site_id = $1),
     u AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE site_id = $1)
INSERT INTO comments (article_id, author_id, body_markdown, body_html, status, status_reason, toxicity,
                      toxicity_model, created_at, path)
SELECT a.ids[1 + (g % array_length(a.ids, 1))], u.ids[1 + ((g * 7919) % array_length(u.ids, 1))],
       'held comment ' || g, '<p>held comment ' || g || '</p>', $2, CASE WHEN $2 = 'held' THEN 'toxicity_hold' END,
       jsonb_build_object('toxicity', round(random()::numeric, 4), 'insult', round(random()::numeric, 4)),
       'bench', now() - interval '2 days' + g * interval '1 second', '{}'
FROM generate_series(1, $3::int) g, a, u;
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.2f} ms · p95 {pct(values, 95):.2f} ms · "
            f"max {max(values):.2f} ms (n={len(values)})")


async def seed(url: str, held: int) -> tuple[str, str]:
    conn = await connect(url)
    try:
        await migrate(conn, Settings().database.migrations_dir)
        directory = SiteDirectory(None, Keyring(SECRET_KEY))  # type: ignore[arg-type]
        for site in ("modbench", "other"):
            await directory.save(conn, site_id=site, name=site, origins=["https://bench.example"], sso_secret=None,
                                 guests=True)
            await conn.execute(SEED, site)
            await conn.execute(USERS, site, 20_000)
        t = time.perf_counter()
        await conn.execute(COMMENTS, "modbench", "held", held)
        await conn.execute(COMMENTS, "modbench", "published", 20_000)
        await conn.execute(COMMENTS, "other", "held", 20_000)
        await conn.execute("ANALYZE")
        print(f"seeded {held:,} held comments in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        token, digest = new_api_token()
        await tokens.create(conn, "bench", "moderator", "modbench", digest)
        plan = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM comments c WHERE c.site_id = 'modbench' AND "
            "c.status = 'held' AND (c.created_at, c.id) > ('1970-01-01', 0) ORDER BY c.created_at, c.id LIMIT 26")
        return token, "\n".join(r[0] for r in plan)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> str:
    async with scratch_storage("moderation", keep=args.keep) as (url, prefix):
        token, plan = await seed(url, args.held)
        settings = Settings.from_env({
            "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL, "COMMENTS_REDIS_PREFIX": prefix,
            "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING", "COMMENTS_SCORING": "off"})
        headers = {"Authorization": f"Bearer {token}"}
        lines: list[str] = []
        async with AsyncTestClient(app=create_app(settings), base_url="http://bench.local") as client:
            async def timed(method: str, path: str, **kw) -> tuple[float, dict]:
                t = time.perf_counter()
                r = await client.request(method, path, headers=headers, **kw)
                ms = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, r.text
                return ms, r.json()

            # scenarios take turns run by run, so that load from others on this shared machine
            # falls on all of them alike
            scenarios = [("baseline: GET /reason-codes (auth + framework only)", "/api/v1/moderation/reason-codes",
                          {}, None)]
            for sort in ("oldest", "score"):
                for limit in (25, 100):
                    scenarios.append((f"queue first page, sort={sort}, limit={limit}", "/api/v1/moderation/queue",
                                      {"site": "modbench", "state": "held", "sort": sort, "limit": limit}, limit))
            scenarios.append(("waiting counts (held + reported)", "/api/v1/moderation/counts", {"site": "modbench"},
                              None))
            times: dict[str, list[float]] = {label: [] for label, *_ in scenarios}
            for run_no in range(args.runs + 1):
                for label, path, params, expect in scenarios:
                    ms, body = await timed("GET", path, params=params)
                    if expect is not None:
                        assert len(body["items"]) == expect
                    if run_no:  # the first round warms plans and pools
                        times[label].append(ms)
            lines += [f"| {label} | {summary(values)} |" for label, values in times.items()]
            params = {"site": "modbench", "state": "held", "sort": "oldest", "limit": 25}
            _, page = await timed("GET", "/api/v1/moderation/queue", params=params)
            deep = []
            for _ in range(args.runs):
                ms, page = await timed("GET", "/api/v1/moderation/queue",
                                       params={**params, "cursor": page["next_cursor"]})
                deep.append(ms)
            lines.append(f"| queue next pages (keyset), sort=oldest, limit=25 | {summary(deep)} |")

            # bulk: the oldest --bulk held comments, approved in batches
            conn = await connect(url)
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM comments WHERE site_id = 'modbench' AND status = 'held' ORDER BY created_at, id "
                "LIMIT $1", args.bulk)]
            batches = []
            t0 = time.perf_counter()
            for i in range(0, len(ids), args.batch):
                ms, body = await timed("POST", "/api/v1/moderation/decisions", params={"site": "modbench"},
                                       json={"comment_ids": ids[i:i + args.batch], "action": "approve"})
                assert body["succeeded"] == len(ids[i:i + args.batch]), body
                batches.append(ms)
            total = time.perf_counter() - t0
            published = await conn.fetchval("SELECT count(*) FROM comments WHERE id = ANY($1::bigint[]) AND "
                                             "status = 'published'", ids)
            audit = await conn.fetchval("SELECT count(*) FROM moderation_actions WHERE action = 'approve'")
            await conn.close()
            assert published == len(ids) == audit
            lines.append(f"| bulk approve, batch of {args.batch} (one transaction per comment) | {summary(batches)} |")
            lines.append(f"| bulk approve {len(ids):,} comments in total | {total:.2f} s · "
                         f"{len(ids) / total:,.0f} comments/s |")
        return render(args, lines, plan)


def render(args: argparse.Namespace, lines: list[str], plan: str) -> str:
    command = ".venv/bin/python -m bench.moderation " + " ".join(sys.argv[1:])
    return f"""# Moderation benchmark

Command: `{command.strip()}` (defaults: --held 100000 --runs 50 --bulk 1000 --batch 100)

Setup: {args.held:,} held comments on the measured site (200 articles, 20,000 authors, random model
scores) plus 20,000 published, and a second site with 20,000 held. The real app in-process through
Litestar's ASGI test client: each time covers routing, moderator-token auth (its last use written
at most once a minute), the SQL, author-history counts and JSON encoding; no network. Machine: 2 shared CPU
cores, PostgreSQL and Redis on localhost, other engineers' jobs running at the same time.
Target: the first queue page under 20 ms server time at 100k held comments.

Reading the numbers: the queue's own SQL is well under a millisecond at this size (plan below: an
index-only range scan of the partial index `comments_queue_held_oldest`, 4 buffers); the rest is
five small enrichment queries (articles, parents, author history, open reports) and encoding. The
baseline row is what every moderator request pays before any queue work: routing, the token
lookup and encoding (`api_tokens.last_used_at` is written at most once a minute). The p95 and
max columns move a lot between runs on this shared machine; the p50 is the stable figure. Bulk
decisions run one short transaction per comment (lock, decide, audit row, counters) and retire the
article's cached pages after each commit.

| what | server time |
|---|---|
{chr(10).join(lines)}

Query plan of the first page (site-scoped, oldest first):

```
{plan}
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--bulk", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    text = asyncio.run(run(args))
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
