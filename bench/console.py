"""The moderator console at newsroom scale: every view's first page, and a decision's round trip.

    .venv/bin/python -m bench.console                    # 100k held, 10k articles, 30 runs, 300 decisions
    .venv/bin/python -m bench.console --runs 10 --decisions 100 --keep

Creates its own database (dropped afterwards unless --keep) and Redis key prefix, migrates it and
seeds one site with 10,000 articles (a few hot ones, a long tail), 20,000 readers, 100,000 held
comments, 50,000 published (some reported), 10,000 rejected, 30,000 audit entries over 90 days
and 500 problem reports; a second site holds 20,000 held comments, so per-site indexes matter.
Then it drives the real app in-process (Litestar's ASGI test client: no sockets, so the times are
the server's own: routing, the console session's lookup, SQL, encoding), signed in the way the
console is: a session cookie with its CSRF header. Each view's first page is the request the
console makes when the view opens. Writes the results and the command line to
bench/RESULTS_console.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db import tokens
from comments_service.db.migrations import migrate
from comments_service.db.pool import connect
from comments_service.identity import Keyring, new_api_token
from comments_service.services.sites import SiteDirectory
from comments_service.settings import Settings

from .common import REDIS_URL, SECRET_KEY, scratch_storage

RESULTS = Path(__file__).resolve().parent / "RESULTS_console.md"
SITE = "consolebench"
TARGET_VIEW_MS = 300.0
TARGET_DECISION_P99_MS = 50.0

ARTICLES = """
INSERT INTO articles (site_id, external_id, url, title, created_at)
SELECT $1, 'a-' || g, 'https://bench.example/a-' || g, 'Article ' || g, now() - (g % 60) * interval '1 day'
FROM generate_series(1, $2::int) g;
"""
USERS = """
INSERT INTO users (site_id, kind, external_id, display_name, created_at)
SELECT $1, 'sso', 'u-' || g, 'User ' || g, now() - interval '100 days' FROM generate_series(1, $2::int) g;
"""
# a heavy tail: comment g goes to article floor(n * u^3) for a uniform u, so the first articles are hot
COMMENTS = """
WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM articles WHERE site_id = $1),
     u AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE site_id = $1)
INSERT INTO comments (article_id, author_id, body_markdown, body_html, status, status_reason, toxicity,
                      toxicity_model, created_at, moderated_at, moderated_by, path)
SELECT a.ids[1 + floor(array_length(a.ids, 1) * power(((g * 2654435761::bigint) % 1000003) / 1000003.0, 3))::int],
       u.ids[1 + ((g * 7919) % array_length(u.ids, 1))],
       $2 || ' comment ' || g, '<p>' || $2 || ' comment ' || g || '</p>', $2,
       CASE $2 WHEN 'held' THEN 'toxicity_hold' WHEN 'rejected' THEN 'toxicity_reject' END,
       jsonb_build_object('toxicity', round(random()::numeric, 4), 'insult', round(random()::numeric, 4)),
       'bench', now() - ($3::int - g) * interval '50 seconds',
       CASE WHEN $2 <> 'held' AND g % 2 = 0 THEN now() - ($3::int - g) * interval '50 seconds' + interval '1 hour' END,
       CASE WHEN $2 <> 'held' AND g % 2 = 0 THEN 'token:1' END, '{}'
FROM generate_series(1, $3::int) g, a, u;
"""
THREADS = """
UPDATE comments SET root_id = id, path = ARRAY[id] WHERE parent_id IS NULL AND root_id IS NULL;
UPDATE articles a SET comment_count = c.n
FROM (SELECT article_id, count(*) AS n FROM comments WHERE status = 'published' GROUP BY article_id) c
WHERE c.article_id = a.id;
"""
REPORTS = """
WITH p AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM comments
           WHERE site_id = $1 AND status = 'published' ORDER BY id LIMIT $2),
     u AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE site_id = $1)
INSERT INTO reports (comment_id, reporter_id, reason, created_at)
SELECT p.id, u.ids[1 + (p.n * 31 % array_length(u.ids, 1))],
       (ARRAY['offensive', 'spam', 'off_topic', 'other'])[1 + p.n % 4], now() - (p.n % 90) * interval '1 day'
FROM p, u;
"""
REPORTED = "UPDATE comments SET open_reports = 1, reported_at = now() WHERE id IN (SELECT comment_id FROM reports)"
AUDIT = """
WITH c AS (SELECT id, author_id, article_id, row_number() OVER (ORDER BY id) AS n FROM comments
           WHERE site_id = $1 AND status <> 'held' ORDER BY id LIMIT $2)
INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, comment_id, user_id, article_id,
                                before_status, after_status, reason, created_at)
SELECT $1, 'token:' || (1 + c.n % 5), 'Moderator ' || (1 + c.n % 5),
       (ARRAY['approve', 'reject', 'approve', 'ban', 'trust'])[1 + c.n % 5], c.id, c.author_id, c.article_id,
       'held', CASE WHEN c.n % 5 = 1 THEN 'rejected' ELSE 'published' END,
       CASE WHEN c.n % 5 = 1 THEN 'spam' END, now() - (c.n % 90) * interval '1 day' - (c.n % 1000) * interval '1 minute'
FROM c;
"""
PROBLEMS = """
INSERT INTO problem_reports (reference, site_id, description, troubleshoot, created_at)
SELECT 'ref-' || g, $1, 'cannot post ' || g, '{}', now() - (g % 90) * interval '1 day'
FROM generate_series(1, $2::int) g;
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"{statistics.median(values):.1f} | {pct(values, 95):.1f} | {pct(values, 99):.1f} | "
            f"{max(values):.1f} | {len(values)}")


async def seed(url: str, args: argparse.Namespace) -> str:
    conn = await connect(url)
    try:
        await migrate(conn, Settings().database.migrations_dir)
        directory = SiteDirectory(None, Keyring(SECRET_KEY))  # type: ignore[arg-type]
        t = time.perf_counter()
        for site, articles in ((SITE, args.articles), ("other", 200)):
            await directory.save(conn, site_id=site, name=site, origins=["https://bench.example"], sso_secret=None,
                                 guests=True)
            await conn.execute(ARTICLES, site, articles)
            await conn.execute(USERS, site, 20_000)
        await conn.execute(COMMENTS, SITE, "held", args.held)
        await conn.execute(COMMENTS, SITE, "published", 50_000)
        await conn.execute(COMMENTS, SITE, "rejected", 10_000)
        await conn.execute(COMMENTS, "other", "held", 20_000)
        await conn.execute(THREADS)
        await conn.execute(REPORTS, SITE, 2_000)
        await conn.execute(REPORTED)
        await conn.execute(AUDIT, SITE, 30_000)
        await conn.execute(PROBLEMS, SITE, 500)
        await conn.execute("ANALYZE")
        print(f"seeded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        token, digest = new_api_token()
        await tokens.create(conn, "bench-admin", "admin", SITE, digest)
        return token
    finally:
        await conn.close()


async def sign_in(client: AsyncTestClient, token: str) -> dict[str, str]:
    """The console's way in: the token exchanged for a session cookie, CSRF header on writes."""
    r = await client.post("/api/v1/moderation/session", json={"token": token, "site": SITE})
    if r.status_code == 200:
        return {"X-CSRF-Token": r.json()["csrf"]}
    print(f"no console session ({r.status_code}): signing requests with the bearer token", file=sys.stderr)
    return {"Authorization": f"Bearer {token}"}


async def views(conn: asyncpg.Connection) -> list[tuple[str, str, str, dict]]:
    """(view, what, path, params): the first request each console view makes when it opens."""
    busiest = await conn.fetchval(
        "SELECT a.external_id FROM articles a JOIN comments c ON c.article_id = a.id WHERE a.site_id = $1 "
        "GROUP BY a.external_id ORDER BY count(*) DESC LIMIT 1", SITE)
    author = await conn.fetchval(
        "SELECT author_id FROM comments WHERE site_id = $1 GROUP BY author_id ORDER BY count(*) DESC LIMIT 1", SITE)
    m = "/api/v1/moderation"
    return [
        ("shell", "GET /moderation (the page)", "/moderation", {}),
        ("shell", "GET /session (resume)", f"{m}/session", {}),
        ("queue", "held, oldest first", f"{m}/queue", {"state": "held", "sort": "oldest"}),
        ("queue", "held, by score", f"{m}/queue", {"state": "held", "sort": "score"}),
        ("queue", "reported", f"{m}/queue", {"state": "reported"}),
        ("queue", "waiting counts", f"{m}/counts", {}),
        ("articles", "by activity", f"{m}/articles", {"sort": "activity"}),
        ("articles", "most held", f"{m}/articles", {"sort": "held"}),
        ("articles", f"the busiest article's thread ({busiest})", f"{m}/articles/{busiest}/thread",
         {"include": "held,rejected"}),
        ("people", "search by name", f"{m}/people", {"q": "User 1"}),
        ("people", "the busiest author's drawer", f"{m}/users/{author}/profile", {}),
        ("audit", "newest first", f"{m}/audit", {}),
        ("audit", "one moderator", f"{m}/audit", {"moderator": "token:2"}),
        ("audit", "who acted (the filter's list)", f"{m}/audit/actors", {}),
        ("stats", "7 days (the view's first page)", f"{m}/stats", {"days": 7}),
        ("stats", "30 days", f"{m}/stats", {"days": 30}),
        ("stats", "90 days", f"{m}/stats", {"days": 90}),
        ("settings", "the site", f"{m}/sites/{SITE}", {}),
        ("settings", "the policy's labels and defaults", f"{m}/sites/{SITE}/policy", {}),
        ("admin", "sites", f"{m}/sites", {}),
        ("admin", "tokens", f"{m}/tokens", {}),
    ]


async def run(args: argparse.Namespace) -> str:
    async with scratch_storage("console", keep=args.keep) as (url, prefix):
        token = await seed(url, args)
        settings = Settings.from_env({
            "COMMENTS_DATABASE_URL": url, "COMMENTS_REDIS_URL": REDIS_URL, "COMMENTS_REDIS_PREFIX": prefix,
            "COMMENTS_SECRET_KEY": SECRET_KEY, "COMMENTS_LOG_LEVEL": "WARNING", "COMMENTS_SCORING": "off"})
        conn = await connect(url)
        scenarios = await views(conn)
        lines: list[str] = []
        missing: list[str] = []
        async with AsyncTestClient(app=create_app(settings), base_url="http://bench.local") as client:
            headers = await sign_in(client, token)
            times: dict[str, list[float]] = {}
            # scenarios take turns run by run, so that load from others on this shared machine falls
            # on all of them alike; the first round warms plans and pools
            for run_no in range(args.runs + 1):
                for view, what, path, params in scenarios:
                    label = f"{view} | {what}"
                    if label in missing:
                        continue
                    query = {"site": SITE, **params} if path.startswith("/api/") else params
                    t = time.perf_counter()
                    r = await client.get(path, params=query, headers=headers)
                    ms = (time.perf_counter() - t) * 1000
                    if r.status_code != 200:
                        missing.append(label)
                        print(f"{label}: {r.status_code} {r.text[:200]}", file=sys.stderr)
                        continue
                    if run_no:
                        times.setdefault(label, []).append(ms)
            for label, values in times.items():
                verdict = "met" if statistics.median(values) < TARGET_VIEW_MS else "MISSED"
                lines.append(f"| {label} | {summary(values)} | {verdict} |")
            lines += [f"| {label} | – | – | – | – | – | no such route |" for label in missing]

            # a decision's round trip: approve one held comment, as the queue's `a` does
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM comments WHERE site_id = $1 AND status = 'held' ORDER BY created_at, id LIMIT $2",
                SITE, args.decisions + 10)]
            decisions: list[float] = []
            for i, comment_id in enumerate(ids):
                t = time.perf_counter()
                r = await client.post(f"/api/v1/moderation/comments/{comment_id}/decision", params={"site": SITE},
                                      json={"action": "approve"}, headers=headers)
                ms = (time.perf_counter() - t) * 1000
                assert r.status_code == 200 and r.json()["outcome"] == "approved", r.text
                if i >= 10:
                    decisions.append(ms)
            p99 = pct(decisions, 99)
            decided = (f"| decision | approve one held comment (round trip) | {summary(decisions)} | "
                       f"{'met' if p99 < TARGET_DECISION_P99_MS else 'MISSED'} (p99 < 50 ms) |")
        await conn.close()
        return render(args, lines, decided)


def render(args: argparse.Namespace, lines: list[str], decided: str) -> str:
    command = ".venv/bin/python -m bench.console " + " ".join(sys.argv[1:])
    return f"""# Moderator console benchmark

Command: `{command.strip()}` (defaults: --held 100000 --articles 10000 --runs 30 --decisions 300)

Setup: {args.held:,} held comments on the measured site over {args.articles:,} articles (a heavy
tail: a few hot articles hold most of them), 20,000 readers, 50,000 published (2,000 reported),
10,000 rejected, 30,000 audit entries over 90 days, 500 problem reports; a second site with
20,000 held. The real app in-process through Litestar's ASGI test client, signed in as the
console is (a session cookie; the CSRF header on the decision): each time covers routing, the
session lookup, the SQL and encoding; no network. Machine: 2 shared CPU cores, PostgreSQL and
Redis on localhost, other jobs running at the same time: read the p50; p99 and max move between
runs.

Targets: every view's first page under {TARGET_VIEW_MS:.0f} ms server time; a decision's round trip
p99 under {TARGET_DECISION_P99_MS:.0f} ms.

| view | request | p50 ms | p95 ms | p99 ms | max ms | n | target |
|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}
{decided}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--held", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    text = asyncio.run(run(args))
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
