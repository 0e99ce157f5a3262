"""How an import's writes keep the comments' references sound: by one locking check per batch and
table where its database role may skip the foreign keys' per-row triggers, by those triggers where
it may not, with the same threads either way; and the triggers of our own fire for it regardless."""

from __future__ import annotations

import asyncio
import json
import secrets
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from comments_service.db import imports as repo
from comments_service.db.pool import connect
from tests.integration.test_export import cli
from tests.support.imports import Post, Thread, disqus_xml, import_cli, one_article_and_author


def export_of(origin: str) -> str:
    """Two stories: replies listed before their parents, a reply under a deleted comment, one held."""
    posts = [Post(id="r2", thread="t1", parent="r1", message="<p>reply</p>", name="Bea", email="bea@example.org"),
             Post(id="r1", thread="t1", name="Ann", email="ann@example.org"),
             Post(id="r3", thread="t1", parent="r2", message="<p>deeper</p>", name="Ann", email="ann@example.org"),
             Post(id="r4", thread="t1", deleted=True),
             Post(id="r5", thread="t1", parent="r4", message="<p>under a deleted one</p>"),
             Post(id="r6", thread="t2", message="<p>held at the source</p>", spam=True, name="Cy")]
    return disqus_xml([Thread(id="t1", ident="story-1", link=f"{origin}/story-1", posts=posts[:5]),
                       Thread(id="t2", ident="story-2", link=f"{origin}/story-2", posts=posts[5:])])


async def threads(db, site_id: str) -> set[tuple]:
    rows = await db.fetch(
        "SELECT c.source_id, p.source_id AS parent, c.depth, c.status, c.reply_count, u.display_name, a.external_id "
        "FROM comments c LEFT JOIN comments p ON p.id = c.parent_id JOIN users u ON u.id = c.author_id "
        "JOIN articles a ON a.id = c.article_id WHERE c.site_id = $1", site_id)
    return {tuple(r) for r in rows}


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def test_the_same_threads_whether_references_are_checked_per_batch_or_per_row(storage, tmp_path) -> None:
    role = f"cs_import_{secrets.token_hex(4)}"
    async with storage.own_database("refs", migrated=True) as url:
        admin = await connect(url)
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        try:
            await admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; "
                                f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}; "
                                f"GRANT CREATE ON SCHEMA public TO {role}")
            limited = as_user(url, role)
            reports = {}
            for site_id, who in (("by-batch", url), ("by-row", limited), ("granted", limited)):
                origin = f"https://{site_id}.example"
                made = cli(storage, url, "site", "create", "--id", site_id, "--name", site_id, "--origin", origin)
                assert made.returncode == 0, made.stderr
                if site_id == "granted":
                    await admin.execute(f"GRANT SET ON PARAMETER session_replication_role TO {role}")
                export = tmp_path / f"{site_id}.xml"
                export.write_text(export_of(origin))
                report = tmp_path / f"{site_id}.json"
                done = import_cli(storage, who, "--site", site_id, "--spam", "held", "--report", str(report),
                                  str(export))
                assert done.returncode == 0, done.stderr + done.stdout
                reports[site_id] = json.loads(report.read_text())

            assert reports["by-batch"]["references_checked"] == "per batch"
            assert reports["by-row"]["references_checked"] == "per row"
            assert reports["granted"]["references_checked"] == "per batch"
            shapes = {site_id: await threads(admin, site_id) for site_id in reports}
            assert len(shapes["by-batch"]) == 6
            assert shapes["by-batch"] == shapes["by-row"] == shapes["granted"]
            assert ("r3", "r2", 2, "published", 0, "Ann", "story-1") in shapes["by-row"]
            assert ("r5", "r4", 1, "published", 0, "Reader", "story-1") in shapes["by-row"]
            assert ("r6", None, 0, "held", 0, "Cy", "story-2") in shapes["by-row"]
        finally:
            await admin.execute(f"REVOKE SET ON PARAMETER session_replication_role FROM {role}")
            await admin.execute(f"DROP OWNED BY {role}")
            await admin.execute(f"DROP ROLE {role}")
            await admin.close()


async def test_held_imported_comments_reach_the_moderators_console_live(storage, tmp_path) -> None:
    async with storage.own_database("refs_live", migrated=True) as url:
        site = SimpleNamespace(id="live", origin="https://live.example")
        made = cli(storage, url, "site", "create", "--id", site.id, "--name", "L", "--origin", site.origin)
        assert made.returncode == 0, made.stderr
        listener = await connect(url)
        heard: asyncio.Queue[str] = asyncio.Queue()
        await listener.add_listener("moderation_queue", lambda *args: heard.put_nowait(args[3]))
        try:
            export = tmp_path / "live.xml"
            export.write_text(export_of(site.origin))
            done = import_cli(storage, url, "--site", site.id, "--spam", "held", "--report",
                              str(tmp_path / "r.json"), str(export))
            assert done.returncode == 0, done.stderr
            assert json.loads((tmp_path / "r.json").read_text())["references_checked"] == "per batch"
            payload = json.loads(await asyncio.wait_for(heard.get(), 10))
            held_id = await listener.fetchval("SELECT id FROM comments WHERE source_id = 'r6'")
            assert (payload["s"], payload["c"], payload["n"]) == (site.id, held_id, "held")
        finally:
            await listener.close()


async def test_a_batch_whose_article_or_author_is_gone_is_refused(storage) -> None:
    async with storage.own_database("refs_gone", migrated=True) as url:
        conn = await connect(url)
        try:
            article, user = await one_article_and_author(conn)
            async with conn.transaction():
                await repo.hold_articles(conn, [article])
                await repo.hold_users(conn, [user])
            with pytest.raises(repo.ReferenceGone, match="articles"):
                async with conn.transaction():
                    await repo.hold_articles(conn, [article, article + 1000])
            with pytest.raises(repo.ReferenceGone, match="users"):
                async with conn.transaction():
                    await repo.hold_users(conn, [user + 1000])
            # what the check holds, a deletion waits for: the lock a foreign key check takes
            other = await connect(url)
            try:
                async with conn.transaction():
                    await repo.hold_articles(conn, [article])
                    with pytest.raises(asyncpg.LockNotAvailableError):
                        await other.execute("SET lock_timeout = '100ms'")
                        await other.execute("DELETE FROM articles WHERE id = $1", article)
            finally:
                await other.close()
        finally:
            await conn.close()
