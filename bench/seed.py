"""Fill a PostgreSQL database with a realistic comment corpus for the read benchmarks.

    python -m bench.seed --comments 1000000 --database cs_bench_1m
    python -m bench.seed --comments 10000 --database cs_bench_10k

The database is dropped and recreated, migrated, and given one site (``bench``) with SSO and
guests. The named articles come first (``big-10k`` with 10,000 comments, then ``hot-500`` with 500,
as far as the budget reaches); the rest of the budget is spread over articles whose sizes follow a
heavy-tailed distribution from 0 to 10,000, the way a news site's do. About 30% of comments are
replies, nested up to depth 6; 97% are published, 2% held, 1% deleted. Rows go in with binary
COPY, one article's comments at a time so that reply counts and paths are known before writing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, datetime, timedelta

import asyncpg
from tqdm import tqdm

from comments_service.db.migrations import migrate
from comments_service.db.pool import connect
from comments_service.identity import Keyring
from comments_service.services.sites import SiteDirectory
from comments_service.settings import Settings

from .common import ADMIN_URL, NAMED, ORIGIN, SECRET_KEY, SITE_ID, SSO_SECRET, database_url

MAX_PER_ARTICLE = 10_000
MAX_DEPTH = 6
REPLY_SHARE = 0.30
USERS = 20_000
WORDS = ("the council said vote budget rail strike match goal weather storm reporter source claims "
         "actually really never always think agree disagree fair point sources please read article "
         "again why how what when minister club season fans price energy bill housing rent school "
         "police court judge ruling appeal data study shows percent year week today tomorrow").split()
COMMENT_COLUMNS = ("id", "article_id", "parent_id", "root_id", "depth", "path", "author_id", "body_markdown",
                   "body_html", "status", "reply_count", "score", "upvotes", "downvotes", "created_at",
                   "deleted_at")


def article_sizes(total: int, rng: random.Random) -> list[tuple[str, int]]:
    """Named articles first, then log-normal sizes (median ~20, long tail, capped) until the budget is spent."""
    sizes: list[tuple[str, int]] = []
    left = total
    for name, size in NAMED.items():
        if size <= left:
            sizes.append((name, size))
            left -= size
    n = 0
    while left > 0:
        size = 0 if rng.random() < 0.08 else min(MAX_PER_ARTICLE, int(rng.lognormvariate(3.0, 1.8)))
        size = min(size, left)
        sizes.append((f"a{n:06d}", size))
        left -= size
        n += 1
    return sizes


def body(rng: random.Random) -> tuple[str, str]:
    words = rng.choices(WORDS, k=rng.randint(4, 60))
    text = " ".join(words).capitalize() + "."
    return text, f"<p>{text}</p>"


def article_comments(article_id: int, size: int, first_id: int, start: datetime,
                     rng: random.Random) -> tuple[list[tuple], int]:
    """One article's comments as COPY records, and how many are published."""
    ids: list[int] = []
    parents: list[int | None] = []
    depth: list[int] = []
    replies = [0] * size
    candidates: list[int] = []  # indexes that may still take a reply (depth < MAX_DEPTH, published)
    status: list[str] = []
    for i in range(size):
        ids.append(first_id + i)
        parent = None
        if candidates and rng.random() < REPLY_SHARE:
            # recent comments draw most replies, as in a live thread
            parent = candidates[max(0, len(candidates) - 1 - int(rng.expovariate(1 / 40)))]
        roll = rng.random()
        st = "published" if roll < 0.97 else "held" if roll < 0.99 else "deleted"
        parents.append(parent)
        depth.append(0 if parent is None else depth[parent] + 1)
        status.append(st)
        if parent is not None and st in ("published", "deleted"):
            replies[parent] += 1
        if st == "published" and depth[i] < MAX_DEPTH:
            candidates.append(i)
    paths: list[list[int]] = []
    records: list[tuple] = []
    published = 0
    for i in range(size):
        parent = parents[i]
        path = [ids[i]] if parent is None else paths[parent] + [ids[i]]
        paths.append(path)
        created = start + timedelta(seconds=i * 7 + rng.random() * 5)
        up = int(rng.expovariate(0.15))
        down = int(rng.expovariate(0.5))
        text, html = body(rng)
        published += status[i] == "published"
        records.append((ids[i], article_id, None if parent is None else ids[parent], path[0], depth[i], path,
                        rng.randint(1, USERS), text, html, status[i], replies[i], up - down, up, down,
                        created, created + timedelta(minutes=5) if status[i] == "deleted" else None))
    return records, published


async def recreate(name: str) -> str:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return database_url(name)


async def seed(name: str, total: int, seed_value: int, batch: int) -> None:
    rng = random.Random(seed_value)
    url = await recreate(name)
    conn = await connect(url)
    try:
        await migrate(conn, Settings().database.migrations_dir)
        await SiteDirectory(None, Keyring(SECRET_KEY)).save(  # type: ignore[arg-type]
            conn, site_id=SITE_ID, name="Bench News", origins=[ORIGIN], sso_secret=SSO_SECRET, guests=True)
        await conn.copy_records_to_table("users", columns=("id", "site_id", "kind", "external_id", "display_name"),
                                         records=((i, SITE_ID, "sso", f"u{i}", f"Reader {i}")
                                                  for i in range(1, USERS + 1)))
        sizes = article_sizes(total, rng)
        now = datetime.now(UTC)
        pending: list[tuple] = []
        articles: list[tuple] = []
        next_id = 1
        with tqdm(total=total, unit="comment", unit_scale=True, desc=name) as bar:
            for article_id, (ext, size) in enumerate(sizes, start=1):
                start = now - timedelta(days=rng.uniform(0, 365), seconds=size * 8)
                # each article's own generator: a named article is the same thread in every database
                records, published = article_comments(article_id, size, next_id, start,
                                                      random.Random(f"{seed_value}:{ext}"))
                next_id += size
                articles.append((article_id, SITE_ID, ext, f"https://news.example/{ext}", f"Story {ext}",
                                 published, start))
                pending.extend(records)
                if len(pending) >= batch:
                    await flush(conn, articles, pending)
                    bar.update(len(pending))
                    pending, articles = [], []
            await flush(conn, articles, pending)
            bar.update(len(pending))
        await conn.execute("SELECT setval(pg_get_serial_sequence('comments', 'id'), $1)", next_id)
        await conn.execute("SELECT setval(pg_get_serial_sequence('articles', 'id'), $1)", len(sizes) + 1)
        await conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)", USERS + 1)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    print(f"{name}: {total} comments in {len(sizes)} articles; named: "
          + ", ".join(f"{k} ({v})" for k, v in sizes[:len(NAMED)] if k in NAMED))


async def flush(conn: asyncpg.Connection, articles: list[tuple], comments: list[tuple]) -> None:
    # articles before their comments (foreign key); each batch ends on an article boundary
    async with conn.transaction():
        if articles:
            await conn.copy_records_to_table(
                "articles", columns=("id", "site_id", "external_id", "url", "title", "comment_count", "created_at"),
                records=articles)
        if comments:
            await conn.copy_records_to_table("comments", columns=COMMENT_COLUMNS, records=comments)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=1_000_000, help="comments in total (default 1,000,000)")
    parser.add_argument("--database", default=None, help="database name (default cs_bench_<size>); dropped first")
    parser.add_argument("--seed", type=int, default=42, help="random seed, for a reproducible corpus")
    parser.add_argument("--batch", type=int, default=50_000, help="comments per COPY")
    args = parser.parse_args()
    name = args.database or f"cs_bench_{_short(args.comments)}"
    asyncio.run(seed(name, args.comments, args.seed, args.batch))


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


if __name__ == "__main__":
    main()
