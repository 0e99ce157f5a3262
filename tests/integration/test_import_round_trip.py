"""Leaving and coming back: a site exported (WXR or our own format) and imported into an empty
database with `import --site` holds the same threads: the same articles (ids on the site, titles,
urls), and per comment the same place in its thread, text, author, time and status."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db import users as user_repo
from comments_service.db.pool import connect
from comments_service.domain.render import render_markdown
from tests.integration.test_export import cli
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import NEWS_ORIGIN, make_site

T0 = datetime(2022, 6, 1, 8, 0, 0, 123456, tzinfo=UTC)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
# what the import makes of each status: an unscored comment waits for a moderator like a held one
IMPORTED_STATUS = {"published": "published", "held": "held", "pending_scoring": "held", "rejected": "rejected",
                   "deleted": "deleted"}


async def seed(services, db, site_id: str, max_depth: int) -> None:
    """Two articles with threads as deep as the service allows and in every status, text that stresses
    both formats, and an empty article. Bodies are stored as the service renders them."""
    ana = await user_repo.ensure_sso_user(db, site_id, "ana", "Ana & <Co>", "ana@example.org", "reader")
    bob = await seed_reader(db, site_id, "bob", "بوب 😀")
    minute = 0

    async def add(article: str, status: str, parent: int | None, body: str, author: int) -> int:
        nonlocal minute
        minute += 1
        row = await seed_comment(services, db, site_id, article=article, status=status, reason=None,
                                 author_id=author, parent_id=parent, body=body,
                                 created_at=T0 + timedelta(minutes=minute, microseconds=minute))
        await db.execute("UPDATE comments SET body_html = $2 WHERE id = $1", row.id, render_markdown(body))
        return row.id

    for article in ("rt-one", "2022/06/rt-two"):
        top = await add(article, "published", None, f"first of {article}: ]]> & <b>tag</b> **bold** 😀", ana)
        parent = top
        for level in range(1, max_depth + 1):
            parent = await add(article, "published", parent, f"level {level} مرحبا", bob if level % 2 else ana)
        await add(article, "held", top, "held for review", bob)
        await add(article, "rejected", top, "rejected as spam", ana)
        await add(article, "pending_scoring", None, "not scored yet", bob)
        gone = await add(article, "deleted", None, "deleted by its author", bob)
        await add(article, "published", gone, "a reply under a deleted comment", ana)
        await add(article, "published", top, "a late reply to the first", bob)
    await db.execute("UPDATE articles SET title = 'Tom & Jerry <3' WHERE site_id = $1 AND external_id = 'rt-one'",
                     site_id)
    await seed_comment(services, db, site_id, article="rt-empty", status="published", body="x")
    await db.execute("DELETE FROM comments WHERE article_id = (SELECT id FROM articles WHERE site_id = $1 AND "
                     "external_id = 'rt-empty')", site_id)


def text_of(body_html: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", body_html))).strip()


async def threads(url: str, site_id: str, *, seconds_only: bool) -> dict:
    """The site's threads as a reader would compare them: per article its title, url and comments in
    thread order, each naming its parent by its place in that order (ids differ between databases)."""
    conn = await connect(url)
    try:
        articles = await conn.fetch("SELECT id, external_id, title, url FROM articles WHERE site_id = $1", site_id)
        out = {}
        for article in articles:
            rows = await conn.fetch(
                "SELECT c.id, c.parent_id, c.body_html, c.status, c.created_at, u.display_name FROM comments c "
                "JOIN users u ON u.id = c.author_id WHERE c.article_id = $1 ORDER BY c.path", article["id"])
            place = {row["id"]: i for i, row in enumerate(rows)}
            comments = []
            for row in rows:
                created = row["created_at"].replace(microsecond=0) if seconds_only else row["created_at"]
                comments.append({
                    "parent": place.get(row["parent_id"]), "author": row["display_name"], "created_at": created,
                    "status": IMPORTED_STATUS[row["status"]],
                    # an import never brings back what an author deleted
                    "text": "" if row["status"] == "deleted" else text_of(row["body_html"])})
            out[article["external_id"]] = {"title": article["title"], "url": article["url"], "comments": comments}
        return out
    finally:
        await conn.close()


def differences(after: dict, before: dict) -> list:
    """What differs, field by field, for a readable failure."""
    out: list = [(key, after[key], before[key]) for key in ("title", "url") if after[key] != before[key]]
    if len(after["comments"]) != len(before["comments"]):
        out.append(("comments", len(after["comments"]), len(before["comments"])))
    for i, (a, b) in enumerate(zip(after["comments"], before["comments"], strict=False)):
        out += [(i, key, a[key], b[key]) for key in b if a[key] != b[key]]
    return out


@pytest.mark.parametrize("fmt", ["wxr", "native"])
async def test_export_then_import_into_an_empty_database_gives_identical_threads(services, db, storage, database,
                                                                                 settings, tmp_path, fmt):
    site = await make_site(services, db)
    await seed(services, db, site.id, settings.comments.max_depth)
    out = tmp_path / f"export.{fmt}"
    done = cli(storage, database, "export", "--site", site.id, *(["--format", "wxr"] if fmt == "wxr" else []),
               "--out", str(out))
    assert done.returncode == 0, done.stderr

    async with storage.own_database("roundtrip", migrated=True) as target:
        done = cli(storage, target, "site", "create", "--id", site.id, "--name", "Moved",
                   "--origin", site.origin, "--origin", NEWS_ORIGIN)
        assert done.returncode == 0, done.stderr
        subjects = ["--match-users", "subject"] if fmt == "native" else []
        done = cli(storage, target, "import", "--site", site.id, "--format", fmt, *subjects, str(out))
        assert done.returncode == 0, done.stdout + done.stderr
        if fmt == "native":
            # the SSO reader's comments are hers again: her next sign-in finds them under her name
            conn = await connect(target)
            try:
                kinds = await conn.fetch("SELECT DISTINCT u.kind, u.external_id FROM comments c "
                                         "JOIN users u ON u.id = c.author_id WHERE u.kind = 'sso'")
            finally:
                await conn.close()
            assert ("sso", "ana") in {(r["kind"], r["external_id"]) for r in kinds}

        before = await threads(database, site.id, seconds_only=fmt == "wxr")
        after = await threads(target, site.id, seconds_only=fmt == "wxr")
        assert set(after) == set(before) == {"rt-one", "2022/06/rt-two", "rt-empty"}
        assert after["rt-one"]["title"] == "Tom & Jerry <3"
        assert len(after["rt-one"]["comments"]) == 7 + settings.comments.max_depth
        for article in before:
            assert after[article] == before[article], differences(after[article], before[article])

        # a second run finds everything there already and adds nothing
        done = cli(storage, target, "import", "--site", site.id, "--format", fmt, str(out))
        assert done.returncode == 0, done.stdout + done.stderr
        assert await threads(target, site.id, seconds_only=fmt == "wxr") == after
