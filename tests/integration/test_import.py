"""`comments-service import --site`: a Disqus export comes in as threads readers see through the API,
held where the source held it, without personal data unless asked, and again adds only what is new;
an import killed half-way leaves whole articles or none and resumes with nothing doubled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from comments_service.db.pool import connect
from tests.integration.test_export import cli
from tests.support.imports import Post, Thread, disqus_xml, import_cli, import_process, one_article_and_author
from tests.support.sites import make_site


def story(n: int, site, posts: list[Post]) -> Thread:
    return Thread(id=f"t{n}", ident=f"story-{n}", link=f"{site.origin}/2024/05/story-{n}", title=f"Story {n}",
                  posts=posts)


async def page(client, site, article: str) -> dict:
    r = await client.get(f"/api/v1/articles/{quote(article, safe='')}/comments", params=site.q())
    assert r.status_code == 200, r.text
    return r.json()


def shape(comments: list[dict]) -> list:
    """(text, [replies' shapes]) per comment, as the API nests them."""
    return [(c["body_html"], shape(c.get("replies") or [])) for c in comments]


async def test_a_disqus_export_becomes_threads_readers_see(storage, database, client, services, db, tmp_path) -> None:
    site = await make_site(services, db)
    posts = [
        Post(id="p2", thread="t1", parent="p1", message="<p>A reply, listed before its parent.</p>",
             created="2024-05-01T10:05:00Z", name="Bea", email="bea@example.org"),
        Post(id="p1", thread="t1", message="<p>First &amp; <b>bold</b> <a href='https://x.example/'>link</a></p>",
             name="Ann", email="ann@example.org"),
        Post(id="p3", thread="t1", message="<p>Held at the source</p>", spam=True, created="2024-05-01T10:06:00Z"),
        Post(id="p4", thread="t1", message="<p>gone</p>", deleted=True, created="2024-05-01T10:07:00Z"),
        Post(id="p5", thread="t1", parent="p4", message="<p>reply to a deleted one</p>",
             created="2024-05-01T10:08:00Z"),
        Post(id="p6", thread="t1", parent="missing", message="<p>orphan</p>", created="2024-05-01T10:09:00Z"),
        Post(id="p7", thread="t1", message="<script>alert(1)</script><p>x<img src=x onerror=alert(1)></p>",
             created="2024-05-01T10:10:00Z"),
    ]
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([story(1, site, posts), story(2, site, [])]), encoding="utf-8")
    report_file = tmp_path / "report.json"
    done = import_cli(storage, database, "--site", site.id, "--report", str(report_file), str(export))
    assert done.returncode == 0, done.stderr + done.stdout

    report = json.loads(report_file.read_text())
    assert report["format"] == "disqus"
    assert report["comments"]["read"] == 7 and report["comments"]["imported"] == 7
    assert report["comments"]["by_status"] == {"published": 5, "rejected": 1, "deleted": 1}
    assert report["comments"]["orphaned"] == 1 and report["comments"]["tombstoned"] == 1
    assert report["articles"]["created"] == 2

    body = await page(client, site, "story-1")
    assert body["article"]["title"] == "Story 1" and body["article"]["comment_count"] == 5
    texts = [c["body_html"] for c in body["comments"]]
    first = next(c for c in body["comments"] if "First" in c["body_html"])
    assert [r["body_html"] for r in first["replies"]] == ["<p>A reply, listed before its parent.</p>"]
    assert first["author"]["name"] == "Ann"
    assert any("orphan" in t for t in texts)
    tomb = next(c for c in body["comments"] if c.get("status") == "deleted" or c.get("deleted"))
    assert [r["body_html"] for r in tomb["replies"]] == ["<p>reply to a deleted one</p>"]
    assert not any("Held at the source" in t for t in texts)
    assert all("<script" not in t and "onerror" not in t for t in texts)
    assert (await page(client, site, "story-2"))["article"]["title"] == "Story 2"  # an empty thread's article

    # no personal data without --keep-personal-data, and authors are nobody anyone can sign in as
    rows = await db.fetch("SELECT u.kind, u.email, c.author_ip, c.created_at FROM comments c "
                          "JOIN users u ON u.id = c.author_id WHERE c.site_id = $1", site.id)
    assert {r["kind"] for r in rows} == {"imported"}
    assert all(r["email"] is None and r["author_ip"] is None for r in rows)
    assert min(r["created_at"] for r in rows).isoformat().startswith("2024-05-01T10:00:00")


async def test_running_again_adds_only_what_is_new_and_readers_see_it_at_once(storage, database, client, services,
                                                                            db, tmp_path) -> None:
    site = await make_site(services, db)
    posts = [Post(id="a1", thread="t1"), Post(id="a2", thread="t1", parent="a1", message="<p>reply</p>")]
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([story(1, site, posts)]))
    assert import_cli(storage, database, "--site", site.id, str(export)).returncode == 0
    before = await page(client, site, "story-1")  # cached now
    assert before["article"]["comment_count"] == 2

    again = import_cli(storage, database, "--site", site.id, str(export))
    assert again.returncode == 0 and "2 already imported" in again.stdout
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 2

    posts.append(Post(id="a3", thread="t1", parent="a2", message="<p>newer</p>", created="2024-05-02T10:00:00Z"))
    export.write_text(disqus_xml([story(1, site, posts)]))
    newer = import_cli(storage, database, "--site", site.id, str(export))
    assert newer.returncode == 0, newer.stderr
    after = await page(client, site, "story-1")
    assert after["article"]["comment_count"] == 3
    reply = after["comments"][0]["replies"][0]
    assert reply["reply_count"] == 1 and reply["replies"][0]["body_html"] == "<p>newer</p>"
    counts = await client.post("/api/v1/counts", params=site.q(), json={"article_ids": ["story-1"]})
    assert counts.json()["counts"]["story-1"] == 3


async def test_a_dry_run_writes_nothing_and_a_truncated_file_nothing_either(storage, database, services, db,
                                                                           tmp_path) -> None:
    site = await make_site(services, db)
    export = tmp_path / "disqus.xml"
    text = disqus_xml([story(1, site, [Post(id="d1", thread="t1"), Post(id="d2", thread="t1")])])
    export.write_text(text)
    dry = import_cli(storage, database, "--site", site.id, "--dry-run", str(export))
    assert dry.returncode == 0 and "dry run" in dry.stdout and "2 imported" in dry.stdout
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", site.id) == 0

    export.write_text(text[: text.index('<post dsq:id="d2"') + 40])
    cut = import_cli(storage, database, "--site", site.id, str(export))
    assert cut.returncode == 1 and "line" in cut.stdout and "nothing was imported" in cut.stdout
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 0
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", site.id) == 0


async def test_personal_data_is_kept_only_when_asked_and_sso_users_are_matched_by_email(storage, database,
                                                                                      services, db, tmp_path) -> None:
    site = await make_site(services, db)
    await db.execute("INSERT INTO users (site_id, kind, external_id, display_name, email) "
                     "VALUES ($1, 'sso', 'sub-ann', 'Ann', 'Ann@Example.org')", site.id)
    posts = [Post(id="k1", thread="t1", name="Ann D.", email="ann@example.org"),
             Post(id="k2", thread="t1", name="Bob", email="bob@example.org")]
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([story(1, site, posts)]))
    done = import_cli(storage, database, "--site", site.id, "--keep-personal-data", "--match-users", "email",
                      str(export))
    assert done.returncode == 0, done.stderr
    rows = {r["source_id"]: r for r in await db.fetch(
        "SELECT c.source_id, c.author_ip::text AS ip, u.kind, u.external_id, u.email FROM comments c "
        "JOIN users u ON u.id = c.author_id WHERE c.site_id = $1", site.id)}
    assert (rows["k1"]["kind"], rows["k1"]["external_id"]) == ("sso", "sub-ann")
    assert rows["k2"]["kind"] == "imported" and rows["k2"]["email"] == "bob@example.org"
    assert rows["k2"]["ip"] == "203.0.113.7/32" or rows["k2"]["ip"] == "203.0.113.7"


async def test_scored_imports_wait_behind_new_comments(storage, database, services, db, tmp_path) -> None:
    site = await make_site(services, db)
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([story(1, site, [Post(id="s1", thread="t1"), Post(id="s2", thread="t1",
                                                                                     spam=True)])]))
    assert import_cli(storage, database, "--site", site.id, "--score", str(export)).returncode == 0
    rows = await db.fetch("SELECT c.source_id, c.status, j.priority FROM comments c "
                          "LEFT JOIN scoring_jobs j ON j.comment_id = c.id WHERE c.site_id = $1 ORDER BY 1", site.id)
    assert [(r["source_id"], r["status"], r["priority"]) for r in rows] == [
        ("s1", "pending_scoring", 1), ("s2", "rejected", None)]


async def test_an_import_killed_half_way_leaves_whole_articles_and_resumes(storage, tmp_path) -> None:
    # a database of its own: 45,000 comments would slow every later test that reads whole tables
    async with storage.own_database("killed", migrated=True) as url:
        site = SimpleNamespace(id="killed", origin="https://killed.example")
        made = cli(storage, url, "site", "create", "--id", site.id, "--name", "K", "--origin", site.origin)
        assert made.returncode == 0, made.stderr
        db = await connect(url)
        try:
            await killed_and_resumed(storage, url, db, site, tmp_path)
        finally:
            await db.close()


async def killed_and_resumed(storage, database, db, site, tmp_path) -> None:
    threads = [story(n, site, [Post(id=f"k{n}-{i}", thread=f"t{n}", parent=f"k{n}-{i - 1}" if i % 3 else None,
                                    message=f"<p>comment {i} of {n}</p>") for i in range(30)])
               for n in range(1500)]
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml(threads))
    child = import_process(storage, database, "--site", site.id, str(export))
    try:
        for _ in range(600):
            if await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id):
                break
            assert child.poll() is None, child.communicate()
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the import wrote nothing in 30 s")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    partial = await db.fetch("SELECT a.external_id, a.comment_count, count(c.id) AS n FROM articles a "
                             "LEFT JOIN comments c ON c.article_id = a.id WHERE a.site_id = $1 "
                             "GROUP BY a.id", site.id)
    written = sum(r["n"] for r in partial)
    assert 0 < written < 1500 * 30, "the kill came too late to test a resume"
    assert all(r["n"] in (0, 30) and r["comment_count"] == r["n"] for r in partial)

    # the killed run's stage is still there; the next run replaces it and drops it when done
    assert await db.fetchval("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'import_stage_%'") == 1
    resumed = import_cli(storage, database, "--site", site.id, str(export))
    assert resumed.returncode == 0, resumed.stderr
    assert await db.fetchval("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'import_stage_%'") == 0
    assert f"{written} already imported" in resumed.stdout
    totals = await db.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT source_id) AS distinct_ids FROM comments WHERE site_id = $1", site.id)
    assert totals["n"] == totals["distinct_ids"] == 1500 * 30
    wrong = await db.fetchval(
        "SELECT count(*) FROM articles a WHERE a.site_id = $1 AND a.comment_count <> "
        "(SELECT count(*) FROM comments c WHERE c.article_id = a.id AND c.status = 'published')", site.id)
    assert wrong == 0
    replies = await db.fetchval(
        "SELECT count(*) FROM comments p WHERE p.site_id = $1 AND p.reply_count <> "
        "(SELECT count(*) FROM comments c WHERE c.parent_id = p.id AND c.status = 'published')", site.id)
    assert replies == 0


async def test_the_operators_rules_name_articles_and_authors(storage, database, client, services, db,
                                                            tmp_path) -> None:
    site = await make_site(services, db)
    threads = [
        Thread(id="t1", ident="", link=f"{site.origin}/2024/05/troops-return/", title="Troops return",
               posts=[Post(id="r1", thread="t1", email="sso.reader@example.org", name="Reader One")]),
        # the same story on the old host, and once more with a query: one article, reported and merged
        Thread(id="t2", ident="", link="http://old-host.example/2024/05/troops-return", title="Old copy",
               posts=[Post(id="r2", thread="t2", username="olduser", name="Old User")]),
        Thread(id="t3", ident="", link=f"{site.origin}/about", title="Not a story"),
    ]
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml(threads))
    user_map = tmp_path / "users.csv"
    user_map.write_text("# source, subject\nSSO.Reader@example.org,sub-1\nolduser,sub-2\n")
    report_file = tmp_path / "report.json"
    done = import_cli(storage, database, "--site", site.id, "--article-id-from", "url",
                      "--url-pattern", r"/(\d{4}/\d\d/[^/]+)", "--user-map", str(user_map),
                      "--report", str(report_file), str(export))
    assert done.returncode == 0, done.stderr
    report = json.loads(report_file.read_text())
    assert report["articles"]["merged"] == 1 and report["articles"]["other_host"] == 1
    assert report["articles"]["skipped"]["counts"] == {"url_pattern_no_match": 1}
    body = await page(client, site, "2024/05/troops-return")
    assert body["article"]["title"] == "Troops return" and body["article"]["comment_count"] == 2
    owners = await db.fetch("SELECT u.kind, u.external_id FROM comments c JOIN users u ON u.id = c.author_id "
                            "WHERE c.site_id = $1 ORDER BY c.source_id", site.id)
    assert [(r["kind"], r["external_id"]) for r in owners] == [("sso", "sub-1"), ("sso", "sub-2")]
    # progress is shown in logs as plain lines
    assert "import: read" in done.stderr and "import: wrote" in done.stderr


async def test_new_comments_are_claimed_before_scored_imports(storage) -> None:
    from comments_service.db.pool import connect
    from comments_service.db.scoring import CLAIM

    async with storage.own_database("claim", migrated=True) as url:
        conn = await connect(url)
        try:
            article, author = await one_article_and_author(conn)
            ids = [await conn.fetchval(
                "INSERT INTO comments (article_id, site_id, author_id, body_markdown, body_html, status) "
                "VALUES ($1, 's', $2, 'c', '<p>c</p>', 'pending_scoring') RETURNING id", article, author)
                for _ in range(3)]
            # two imported comments queued first, then a new one
            await conn.execute("INSERT INTO scoring_jobs (comment_id, priority, created_at) "
                               "SELECT unnest($1::bigint[]), 1, now() - interval '1 hour'", ids[:2])
            await conn.execute("INSERT INTO scoring_jobs (comment_id) VALUES ($1)", ids[2])
            claimed = await conn.fetch(CLAIM, "probe-worker", 1, 30)
            assert [r["comment_id"] for r in claimed] == [ids[2]]
            claimed = await conn.fetch(CLAIM, "probe-worker", 5, 30)
            assert sorted(r["comment_id"] for r in claimed) == ids[:2]
        finally:
            await conn.close()


async def test_a_terminal_gets_a_progress_bar(storage, database, services, db, tmp_path) -> None:
    import pty
    import subprocess
    import sys

    from tests.support.imports import REPO

    site = await make_site(services, db)
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([story(1, site, [Post(id=f"b{i}", thread="t1") for i in range(50)])]))
    leader, follower = pty.openpty()
    env = {**os.environ, **storage.env(COMMENTS_DATABASE_URL=database), "COLUMNS": "120"}
    child = subprocess.Popen([sys.executable, "-m", "comments_service.cli", "import", "--site", site.id,
                              str(export)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = await asyncio.to_thread(os.read, leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, shown
    text = shown.decode(errors="replace")
    # tqdm's bar: the phase, a percentage, a rate; and the counts beside it
    assert "reading [####################] 100%" in text and "50 comments" in text and "/s" in text, text
    assert "writing" in text and "1/1 articles" in text
    assert b"50 imported" in out


async def test_a_comment_id_the_file_gives_in_two_threads_is_imported_once_where_it_came_first(
        storage, database, services, db, tmp_path) -> None:
    site = await make_site(services, db)
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([
        story(1, site, [Post(id="once", thread="t1", message="<p>first</p>"),
                        Post(id="u1", thread="t1", parent="once", message="<p>its reply</p>")]),
        story(2, site, [Post(id="u2", thread="t2", message="<p>other</p>"),
                        Post(id="once", thread="t2", message="<p>the same id again</p>")])]))
    report_file = tmp_path / "report.json"
    done = import_cli(storage, database, "--site", site.id, "--report", str(report_file), str(export))
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(report_file.read_text())
    assert report["comments"]["skipped"]["counts"] == {"duplicate_source_id": 1}
    assert "once was read in another thread" in report["comments"]["skipped"]["examples"]["duplicate_source_id"][0][
        "detail"]
    rows = await db.fetch("SELECT c.source_id, c.body_html, a.external_id FROM comments c "
                          "JOIN articles a ON a.id = c.article_id WHERE c.site_id = $1 ORDER BY 1", site.id)
    assert [tuple(r) for r in rows] == [("once", "<p>first</p>", "story-1"), ("u1", "<p>its reply</p>", "story-1"),
                                        ("u2", "<p>other</p>", "story-2")]
    again = import_cli(storage, database, "--site", site.id, str(export))  # the repeat is known by its id too
    assert again.returncode == 0 and "4 already imported" in again.stdout
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 3
