"""Export and restore: `comments-service export` a site (or one article) to JSON and `comments-service
import` it into a freshly created empty database; the threads read back identical through the API,
and every comment row (ids, parents, paths, statuses, timestamps, authors, scores) is the same."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from comments_service.app import create_app
from comments_service.db.pool import connect
from comments_service.domain.render import render_markdown
from comments_service.identity import Keyring
from comments_service.secret_keys import secret_key
from comments_service.services.cdn_purge import site_key
from comments_service.settings import Settings
from tests.support.cli import run_cli
from tests.support.html import unsafe_parts
from tests.support.purge_receiver import PurgeReceiver
from tests.support.sites import article_body, make_site

REPO = Path(__file__).resolve().parents[2]
COLUMNS = "id, article_id, parent_id, root_id, depth, path, author_id, body_markdown, body_html, status, " \
          "status_reason, reply_count, score, upvotes, downvotes, created_at, edited_at, deleted_at"


def cli(storage, database_url: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli(storage, database_url, *args)


async def build_threads(client, site, db) -> dict[str, list[int]]:
    made: dict[str, list[int]] = {}
    readers = [site.auth(site.sso_token(sub=f"r{i}", name=f"Reader {i}")) for i in range(3)]
    for article in ("exp-a", "exp-b"):
        ids: list[int] = []
        for i in range(4):
            parent = ids[-1] if i in (1, 2) else None
            r = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                  json=article_body(f"**{article}** comment {i} [link](https://x.example)",
                                                    parent_id=parent), headers=readers[i % 3])
            assert r.status_code == 201, r.text
            ids.append(r.json()["comment"]["id"])
        r = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                              json=article_body("a guest", author_name="Gina"))
        ids.append(r.json()["comment"]["id"])
        for voter, value in ((readers[1], 1), (readers[2], -1)):
            await client.post(f"/api/v1/comments/{ids[0]}/votes", params=site.q(), json={"value": value},
                              headers=voter)
        await client.patch(f"/api/v1/comments/{ids[3]}", params=site.q(), json={"body": "edited"},
                           headers=readers[0])
        made[article] = ids
    # a deleted comment with a reply under it (tombstone) and a held one
    await client.delete(f"/api/v1/comments/{made['exp-a'][1]}", params=site.q(), headers=readers[1])
    await db.execute("UPDATE comments SET status = 'held', status_reason = 'test' WHERE id = $1", made["exp-b"][4])
    return made


async def views(client, site, articles) -> dict:
    out = {}
    for article in articles:
        for sort in ("oldest", "newest", "top"):
            r = await client.get(f"/api/v1/articles/{article}/comments", params=site.q(sort=sort, replies=20))
            assert r.status_code == 200
            out[(article, sort)] = r.json()
            for c in r.json()["comments"]:
                rr = await client.get(f"/api/v1/comments/{c['id']}/replies", params=site.q())
                out[(article, "replies", c["id"])] = rr.json()
    return out


@asynccontextmanager
async def restored_service(storage, database_url: str, *, same_redis: bool = False) -> AsyncIterator[AsyncTestClient]:
    """The service on an imported database, with a Redis prefix of its own (``same_redis``: the
    run's, as a service whose database was replaced keeps its Redis)."""
    prefix = storage.redis_prefix if same_redis else f"{storage.redis_prefix}imp{secrets.token_hex(3)}:"
    settings = Settings.from_env(storage.env(COMMENTS_DATABASE_URL=database_url, COMMENTS_REDIS_PREFIX=prefix))
    async with AsyncTestClient(app=create_app(settings), base_url="http://restored.local") as restored:
        yield restored


async def rows(url: str, site_id: str) -> list[dict]:
    conn = await connect(url)
    try:
        return [dict(r) for r in await conn.fetch(
            f"SELECT {COLUMNS} FROM comments c WHERE article_id IN (SELECT id FROM articles WHERE site_id = $1) "
            "ORDER BY id", site_id)]
    finally:
        await conn.close()


@pytest.mark.parametrize("scope", ["site", "article"])
async def test_export_and_restore_into_an_empty_database(client, services, db, storage, database, tmp_path, scope):
    site = await make_site(services, db)
    made = await build_threads(client, site, db)
    articles = ["exp-a", "exp-b"] if scope == "site" else ["exp-a"]
    before = await views(client, site, articles)
    out = tmp_path / "export.json"
    args = ["export", "--site", site.id, "--out", str(out)] + (["--article", "exp-a"] if scope == "article" else [])
    done = cli(storage, database, *args)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data["counts"]["comments"] == sum(len(made[a]) for a in articles)

    async with storage.own_database("export") as target:
        done = cli(storage, target, "import", "--in", str(out))
        assert done.returncode == 0, done.stderr
        assert await rows(target, site.id) == [r for r in await rows(database, site.id)
                                               if scope == "site" or r["article_id"] == (
                                                   await db.fetchval("SELECT id FROM articles WHERE site_id = $1 "
                                                                     "AND external_id = 'exp-a'", site.id))]
        # a second import into the now non-empty database is refused and changes nothing
        again = cli(storage, target, "import", "--in", str(out))
        assert again.returncode == 1 and "empty database" in again.stderr

        async with restored_service(storage, target) as restored:
            after = await views(restored, site, articles)
            assert after == before
            if scope == "article":
                r = await restored.get("/api/v1/articles/exp-b/comments", params=site.q())
                assert r.json()["comments"] == []
            # the restored service goes on: new comments get fresh ids, readers keep their identity
            r = await restored.post("/api/v1/articles/exp-a/comments", params=site.q(),
                                    json=article_body("after restore", parent_id=made["exp-a"][0]),
                                    headers=site.auth(site.sso_token(sub="r0", name="Reader 0")))
            assert r.status_code == 201, r.text
            assert r.json()["comment"]["id"] > max(max(made[a]) for a in articles)
            assert r.json()["user"]["id"] == before[("exp-a", "oldest")]["comments"][0]["author"]["id"]


async def test_a_restore_retires_what_redis_and_a_cdn_kept_of_the_lost_database(client, services, db, storage,
                                                                               database, tmp_path):
    """The database is lost and restored from an export older than what readers last saw: Redis
    (kept) and the CDN must not go on serving the comments the restore does not have."""
    site = await make_site(services, db)
    reader = site.auth(site.sso_token(sub="r0", name="Reader 0"))
    kept = await client.post("/api/v1/articles/lost/comments", params=site.q(), json=article_body("in the export"),
                             headers=reader)
    out = tmp_path / "export.json"
    assert cli(storage, database, "export", "--site", site.id, "--out", str(out)).returncode == 0
    await client.post("/api/v1/articles/lost/comments", params=site.q(), json=article_body("after the export"),
                      headers=reader)
    seen = await client.get("/api/v1/articles/lost/comments", params=site.q())
    assert [c["body_html"] for c in seen.json()["comments"]] == ["<p>in the export</p>", "<p>after the export</p>"]

    receiver = await PurgeReceiver().start()
    try:
        async with storage.own_database("restore") as target:
            done = await asyncio.to_thread(run_cli, storage, target, "import", "--in", str(out),
                                           COMMENTS_CDN_PURGE_URL=f"http://127.0.0.1:{receiver.port}/purge")
            assert done.returncode == 0, done.stderr
            assert "Redis was not reached" not in done.stderr
            async with restored_service(storage, target, same_redis=True) as restored:
                page = (await restored.get("/api/v1/articles/lost/comments", params=site.q())).json()
                assert [c["id"] for c in page["comments"]] == [kept.json()["comment"]["id"]]
                assert page["article"]["comment_count"] == 1
    finally:
        await receiver.stop()
    assert {r["headers"].get("surrogate-key") for r in receiver.requests} == {site_key(site.id)}


async def test_a_restore_without_redis_says_how_long_cached_pages_may_last(services, db, storage, database,
                                                                          tmp_path):
    site = await make_site(services, db)
    out = tmp_path / "export.json"
    assert cli(storage, database, "export", "--site", site.id, "--out", str(out)).returncode == 0
    async with storage.own_database("restore") as target:
        done = run_cli(storage, target, "import", "--in", str(out), COMMENTS_REDIS_URL="redis://127.0.0.1:1/0",
                       COMMENTS_REDIS_PAGE_TTL="50", COMMENTS_REDIS_COUNT_TTL="100")
        assert done.returncode == 0, done.stderr
        assert "restored 1 sites" in done.stdout
        # pages and counts (the longer, 100 s) are kept up to 20% past their time to live
        assert "Redis was not reached" in done.stderr and "within 120 s" in done.stderr


def test_export_of_an_unknown_site_fails_cleanly(storage, database, tmp_path):
    done = cli(storage, database, "export", "--site", "no-such-site", "--out", str(tmp_path / "x.json"))
    assert done.returncode == 1 and "no site" in done.stderr


HOSTILE_HTML = '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>'


@pytest.mark.parametrize("images", [False, True])
async def test_import_renders_comment_html_again_and_ignores_the_files(client, services, db, storage, database,
                                                                        tmp_path, images):
    """A backup file is input like any other: its body_html never reaches a reader."""
    site = await make_site(services, db, images=images)
    markdown = ["plain words", "**bold** <script>alert(4)</script> ![pic](https://img.example/p.png)",
                '<img src=x onerror="alert(5)"> [link](javascript:alert(6))']
    for text in markdown:
        r = await client.post("/api/v1/articles/imp-a/comments", params=site.q(), json=article_body(text),
                              headers=site.auth(site.sso_token(sub="imp", name="Imp")))
        assert r.status_code == 201, r.text
    out = tmp_path / "export.json"
    assert cli(storage, database, "export", "--site", site.id, "--out", str(out)).returncode == 0
    data = json.loads(out.read_text())
    for row in data["tables"]["comments"]:
        row["body_html"] = HOSTILE_HTML
    out.write_text(json.dumps(data))

    async with storage.own_database("import") as target:
        done = cli(storage, target, "import", "--in", str(out))
        assert done.returncode == 0, done.stderr
        stored = await rows(target, site.id)
        assert [r["body_html"] for r in stored] == [render_markdown(t, allow_images=images) for t in markdown]
        async with restored_service(storage, target) as restored:
            r = await restored.get("/api/v1/articles/imp-a/comments", params=site.q(sort="oldest"))
            served = [c["body_html"] for c in r.json()["comments"]]
        assert len(served) == 3
        for body in served:
            assert unsafe_parts(body) == [] and not any(f"alert({n})" in body for n in (1, 2, 3)), body
        assert ("<img" in served[1]) is images


def test_import_refuses_a_comment_without_markdown(storage, database, tmp_path):
    data = {"format": "comments_service.export", "version": 1, "schema_version": 1,
            "tables": {"comments": [{"id": 1, "body_html": HOSTILE_HTML}]}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    done = cli(storage, database, "import", "--in", str(path))
    assert done.returncode == 1 and "body_markdown" in done.stderr


# ---------------------------------------------------------------- hostile files
def _edit(table: str, index: int, **changes):
    def apply(tables: dict) -> None:
        tables[table][index].update(changes)
    return apply


def _set_settings(settings):
    return _edit("sites", 0, settings=settings)


HOSTILE = {
    "origin_not_http": (_edit("sites", 0, allowed_origins=["javascript:alert(1)"]), "sites row", "allowed_origins"),
    "secret_of_another_key": (_edit("sites", 0, sso_secret_enc="\\x" + Keyring("another-key-" + "z" * 32).encrypt(
        "s").hex()), "sites row", "COMMENTS_SECRET_KEY"),
    "origin_not_text": (_edit("sites", 0, allowed_origins=[["https://x.example"]]), "sites row", "allowed_origins"),
    "site_name_controls": (_edit("sites", 0, name="Site\x1b[31m"), "sites row", "name"),
    "settings_wrong_type": (_set_settings({"sso_staff_roles": "yes"}), "sites row", "sso_staff_roles"),
    "settings_out_of_range": (_set_settings({"report_threshold": 0}), "sites row", "report_threshold"),
    "settings_bad_policy": (_set_settings({"moderation": {"banned_words": [1]}}), "sites row", "banned_words"),
    "settings_not_object": (_set_settings(["sso_staff_roles"]), "sites row", "settings"),
    # the rules of `site update` and the admin API: a key nothing reads is refused by name, never
    # imported into a site listed INVALID
    "settings_unknown_key": (_set_settings({"report_treshold": 3}), "sites row",
                             "report_treshold: not a site setting"),
    "settings_unknown_policy_key": (_set_settings({"moderation": {"banned_word": ["x"]}}), "sites row",
                                    "moderation.banned_word: not a moderation setting"),
    "user_name_bidi": (_edit("users", 0, display_name="\u202eevil"), "users row", "display_name"),
    "user_other_site": (_edit("users", 0, site_id="some-other-site"), "users row", "site_id"),
    "title_controls": (_edit("articles", 0, title="Title\r\nInjected: yes"), "articles row", "title"),
    "article_id_controls": (_edit("articles", 0, external_id="a\x00b"), "articles row", "external_id"),
    "article_id_too_long": (_edit("articles", 0, external_id="a" * 201), "articles row", "external_id"),
    "url_off_site": (_edit("articles", 0, url="https://phish.example/login"), "articles row", "origins"),
    "url_not_http": (_edit("articles", 0, url="javascript:alert(1)"), "articles row", "url"),
    "url_controls": (_edit("articles", 0, url="https://news.example/a\nb"), "articles row", "url"),
    "status_unknown": (_edit("comments", 0, status="approved"), "comments row", "status"),
    "article_outside_file": (_edit("comments", 0, article_id=10**12), "comments row", "article_id"),
    "author_outside_file": (_edit("comments", 0, author_id=10**12), "comments row", "author_id"),
    "parent_outside_file": (_edit("comments", 1, parent_id=10**12), "comments row", "parent_id"),
    "path_forged": (_edit("comments", 1, path=[1, 2, 3], depth=2), "comments row", "path"),
    "vote_value": (_edit("votes", 0, value=50), "votes row", "value"),
    "vote_outside_file": (_edit("votes", 0, user_id=10**12), "votes row", "user_id"),
    # the checks pass, PostgreSQL refuses: the sites and users written before it are rolled back
    "bad_timestamp": (_edit("comments", 1, created_at="yesterday-ish"), "comments", "nothing was restored"),
}


@pytest.fixture
async def backup(client, services, db, storage, database, tmp_path) -> tuple[dict, str]:
    """A real export: a site, two SSO readers (one a moderator), a guest, a reply, a vote."""
    site = await make_site(services, db)
    reader = site.auth(site.sso_token(sub="h-reader", name="Reader"))
    staff = site.auth(site.sso_token(sub="h-mod", name="Mod", role="moderator"))
    r = await client.post("/api/v1/articles/hostile/comments", params=site.q(), json=article_body("root"),
                          headers=reader)
    root = r.json()["comment"]["id"]
    r = await client.post("/api/v1/articles/hostile/comments", params=site.q(),
                          json=article_body("reply", parent_id=root), headers=staff)
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/articles/hostile/comments", params=site.q(),
                          json=article_body("guest words", author_name="Gina"))
    assert r.status_code == 201, r.text
    assert (await client.post(f"/api/v1/comments/{root}/votes", params=site.q(), json={"value": 1},
                              headers=staff)).status_code in (200, 201)
    out = tmp_path / "backup.json"
    assert cli(storage, database, "export", "--site", site.id, "--out", str(out)).returncode == 0
    return json.loads(out.read_text()), site.id


async def test_import_refuses_hostile_rows_whole_and_names_them(backup, storage, tmp_path):
    import copy

    from comments_service.db.migrations import migrate
    from comments_service.services.export import ExportError, import_data

    data, site_id = backup
    keyring = Keyring(secret_key(Settings.from_env(storage.env())))
    async with storage.own_database("hostile") as target:
        conn = await connect(target)
        try:
            await migrate(conn, Settings.from_env(storage.env()).database.migrations_dir)
            for case, (edit, row, words) in HOSTILE.items():
                hostile = copy.deepcopy(data)
                edit(hostile["tables"])
                with pytest.raises(ExportError) as refused:
                    await import_data(conn, hostile, keyring)
                assert row in str(refused.value) and words in str(refused.value), (case, str(refused.value))
                for table in ("sites", "users", "articles", "comments", "votes"):
                    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, (case, table)
        finally:
            await conn.close()
        # through the CLI: a clear message and exit status 1, no traceback
        hostile = copy.deepcopy(data)
        HOSTILE["origin_not_http"][0](hostile["tables"])
        path = tmp_path / "hostile.json"
        path.write_text(json.dumps(hostile))
        done = cli(storage, target, "import", "--in", str(path))
        assert done.returncode == 1 and f"sites row {site_id!r}: allowed_origins" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


async def test_import_normalises_what_the_api_would_and_grants_no_roles(backup, storage, tmp_path):
    """Origins come back normalised, every user a reader (a role is the SSO token's to give at the
    next post), each comment in its article's site whatever the file says."""
    data, site_id = backup
    tables = data["tables"]
    assert {u["role"] for u in tables["users"]} >= {"moderator"}
    tables["sites"][0]["allowed_origins"] = [" HTTPS://News.Example:443/any/path ", "http://Other.Example:8080"]
    for user in tables["users"]:
        user["role"] = "admin"
    tables["comments"][0]["site_id"] = "some-other-site"
    path = tmp_path / "quirky.json"
    path.write_text(json.dumps(data))
    async with storage.own_database("quirky") as target:
        done = cli(storage, target, "import", "--in", str(path))
        assert done.returncode == 0, done.stderr
        conn = await connect(target)
        try:
            assert await conn.fetchval("SELECT allowed_origins FROM sites WHERE id = $1", site_id) \
                == ["https://news.example", "http://other.example:8080"]
            assert {r["role"] for r in await conn.fetch("SELECT role FROM users")} == {"reader"}
            assert {r["site_id"] for r in await conn.fetch("SELECT site_id FROM comments")} == {site_id}
        finally:
            await conn.close()
