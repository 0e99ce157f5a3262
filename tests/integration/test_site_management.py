"""Site management that cannot surprise: `comments-service site list | show | create | update |
delete`, run as the operator runs them, against the test database. Creating an existing id is
refused and leaves that site as it was; an update changes only what it names; a delete asks,
refuses while the site has comments unless forced, and then removes everything the site holds in
one go. The admin API's site settings follow the same rule: only what a PATCH names changes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.seeding import seed_comment
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

REPO = Path(__file__).resolve().parents[2]
API = "/api/v1/moderation"
# every table that holds a site's rows, and how to count them for one site
SITE_ROWS = {
    "sites": "SELECT count(*) FROM sites WHERE id = $1",
    "articles": "SELECT count(*) FROM articles WHERE site_id = $1",
    "users": "SELECT count(*) FROM users WHERE site_id = $1",
    "comments": "SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.site_id = $1",
    "votes": "SELECT count(*) FROM votes v JOIN users u ON u.id = v.user_id WHERE u.site_id = $1",
    "reports": "SELECT count(*) FROM reports r JOIN users u ON u.id = r.reporter_id WHERE u.site_id = $1",
    "bans": "SELECT count(*) FROM bans WHERE site_id = $1",
    "api_tokens": "SELECT count(*) FROM api_tokens WHERE site_id = $1",
    "problem_reports": "SELECT count(*) FROM problem_reports WHERE site_id = $1",
}


def cli(storage, database: str, *args: str, stdin: str | int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **storage.env(COMMENTS_DATABASE_URL=database)}
    kwargs: dict = {"stdin": stdin} if isinstance(stdin, int) else {"input": stdin or ""}
    return subprocess.run([sys.executable, "-m", "comments_service.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def new_id() -> str:
    return "cli" + secrets.token_hex(4)


async def site_row(db, site_id: str) -> dict | None:
    row = await db.fetchrow("SELECT id, name, allowed_origins, sso_secret_enc, guest_commenting, allow_images, "
                            "settings FROM sites WHERE id = $1", site_id)
    return dict(row) if row is not None else None


async def rows_of(db, site_id: str) -> dict[str, int]:
    return {table: await db.fetchval(query, site_id) for table, query in SITE_ROWS.items()}


async def test_create_refuses_an_existing_id_and_leaves_that_site_as_it_was(storage, database, db):
    site_id = new_id()
    made = cli(storage, database, "site", "create", "--id", site_id, "--name", "The Daily", "--origin",
               "https://daily.example", "--guests", "--sso-secret-stdin",
               stdin="first-secret-0123456789-abcdefghijklmnop\n")
    assert made.returncode == 0, made.stderr
    before = await site_row(db, site_id)
    assert before["guest_commenting"] is True and before["sso_secret_enc"] is not None

    # the same id again, as someone would who did not know it existed: refused, nothing changed
    again = cli(storage, database, "site", "create", "--id", site_id, "--origin", "https://other.example",
                "--sso-secret-stdin", stdin="second-secret-0123456789-abcdefghijklmnop\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "site update" in again.stderr
    assert await site_row(db, site_id) == before


async def test_update_changes_only_the_options_it_names(storage, database, db):
    site_id = new_id()
    assert cli(storage, database, "site", "create", "--id", site_id, "--name", "Before", "--origin",
               "https://a.example", "--origin", "https://b.example", "--guests", "--images", "--settings",
               json.dumps({"report_threshold": 3, "moderation": {"banned_words": ["grapefruit"]}}),
               "--sso-secret-stdin", stdin="kept-secret-0123456789-abcdefghijklmnop\n").returncode == 0
    original = await site_row(db, site_id)

    renamed = cli(storage, database, "site", "update", site_id, "--name", "After")
    assert renamed.returncode == 0, renamed.stderr
    assert await site_row(db, site_id) == {**original, "name": "After"}

    no_guests = cli(storage, database, "site", "update", site_id, "--no-guests")
    assert no_guests.returncode == 0, no_guests.stderr
    assert await site_row(db, site_id) == {**original, "name": "After", "guest_commenting": False}

    # settings merge over the stored ones, the moderation object key by key
    merged = cli(storage, database, "site", "update", site_id, "--settings",
                 json.dumps({"moderation": {"suspect_words": ["kumquat"]}, "auto_close_days": 5}))
    assert merged.returncode == 0, merged.stderr
    settings = (await site_row(db, site_id))["settings"]
    assert settings == {"report_threshold": 3, "auto_close_days": 5,
                        "moderation": {"banned_words": ["grapefruit"], "suspect_words": ["kumquat"]}}
    # null puts one setting back to its default
    assert cli(storage, database, "site", "update", site_id, "--settings",
               json.dumps({"report_threshold": None})).returncode == 0
    assert "report_threshold" not in (await site_row(db, site_id))["settings"]

    # the secret changes only when one is given, and origins only when given (then all of them)
    secret_before = (await site_row(db, site_id))["sso_secret_enc"]
    assert cli(storage, database, "site", "update", site_id, "--origin", "https://c.example").returncode == 0
    after = await site_row(db, site_id)
    assert after["allowed_origins"] == ["https://c.example"] and after["sso_secret_enc"] == secret_before
    assert cli(storage, database, "site", "update", site_id, "--sso-secret-stdin",
               stdin="new-secret-0123456789-abcdefghijklmnop\n").returncode == 0
    assert (await site_row(db, site_id))["sso_secret_enc"] not in (None, secret_before)

    unknown = cli(storage, database, "site", "update", "no-such-site", "--name", "x")
    assert unknown.returncode == 1 and "not known" in unknown.stderr
    assert await db.fetchval("SELECT count(*) FROM sites WHERE id = 'no-such-site'") == 0


async def test_list_and_show_say_what_each_site_holds(storage, database, services, db, client):
    site = await make_site(services, db)
    reader = site.auth(site.sso_token(sub="lister"))
    for article in ("l-1", "l-2"):
        r = await client.post(f"/api/v1/articles/{article}/comments", params=site.q(), headers=reader,
                              json=article_body("hello"))
        assert r.status_code == 201, r.text

    listed = cli(storage, database, "site", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(row.split("\t") for row in listed.stdout.splitlines() if row.startswith(site.id + "\t"))
    assert line[1:6] == ["2", "2", "yes", "yes", "ok"]
    as_json = {s["id"]: s for s in json.loads(cli(storage, database, "site", "list", "--json").stdout)}
    assert as_json[site.id]["comments"] == 2 and as_json[site.id]["users"] == 1
    assert "sso_secret" not in json.dumps(as_json[site.id])

    shown = cli(storage, database, "site", "show", site.id)
    assert shown.returncode == 0, shown.stderr
    assert "2 comment(s) on 2 article(s), 1 reader(s)" in shown.stdout and site.origin in shown.stdout
    missing = cli(storage, database, "site", "show", "no-such-site")
    assert missing.returncode == 1 and "not known" in missing.stderr


async def test_delete_asks_refuses_while_comments_exist_and_when_forced_removes_everything(
        storage, database, services, db, client):
    site = await make_site(services, db)
    other = await make_site(services, db)
    readers = [site.auth(site.sso_token(sub=f"del-{i}")) for i in range(2)]
    ids = []
    for i, reader in enumerate(readers):
        r = await client.post("/api/v1/articles/del-art/comments", params=site.q(), headers=reader,
                              json=article_body(f"comment {i}"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["comment"]["id"])
    assert (await client.post(f"/api/v1/comments/{ids[0]}/votes", params=site.q(), headers=readers[1],
                              json={"value": 1})).status_code == 200
    assert (await client.post(f"/api/v1/comments/{ids[0]}/reports", params=site.q(), headers=readers[1],
                              json={"reason": "spam"})).status_code in (200, 201)
    admin = bearer(await staff_token(db, "admin", site.id))
    user_id = (await db.fetchval("SELECT author_id FROM comments WHERE id = $1", ids[1]))
    assert (await client.post(f"{API}/users/{user_id}/ban", params=site.q(), json={"duration_days": 1},
                              headers=admin)).status_code == 200
    assert (await client.post("/api/v1/troubleshoot/reports", params=site.q(),
                              json={"description": "it broke"})).status_code in (200, 201)
    r = await client.post("/api/v1/articles/keep/comments", params=other.q(),
                          headers=other.auth(other.sso_token(sub="keeper")), json=article_body("stay"))
    assert r.status_code == 201
    before, other_before = await rows_of(db, site.id), await rows_of(db, other.id)
    assert all(before.values()), before
    thread = await client.get("/api/v1/articles/del-art/comments", params=site.q())
    assert len(thread.json()["comments"]) == 2  # now cached

    # no terminal to ask and no --yes: nothing happens
    unasked = cli(storage, database, "site", "delete", site.id, "--force")
    assert unasked.returncode == 2 and "confirmation" in unasked.stderr
    # confirmed, but the site has comments and no --force
    refused = cli(storage, database, "site", "delete", site.id, "--yes")
    assert refused.returncode == 1 and "2 comment(s)" in refused.stderr
    # asked at a terminal, answered with something other than the id
    primary, secondary = os.openpty()
    try:
        os.write(primary, b"yes\n")
        wrong = cli(storage, database, "site", "delete", site.id, "--force", stdin=secondary)
    finally:
        os.close(primary)
        os.close(secondary)
    assert wrong.returncode == 1 and "not deleted" in wrong.stderr
    assert await rows_of(db, site.id) == before

    # asked at a terminal, confirmed with the id
    primary, secondary = os.openpty()
    try:
        os.write(primary, site.id.encode() + b"\n")
        done = cli(storage, database, "site", "delete", site.id, "--force", stdin=secondary)
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 0, done.stderr
    assert "deleted with 2 comment(s), 1 article(s) and 2 reader(s)" in done.stdout
    assert await rows_of(db, site.id) == dict.fromkeys(SITE_ROWS, 0)
    assert await rows_of(db, other.id) == other_before
    # the deletion itself is in the audit log, which is append-only
    details = await db.fetchval("SELECT details FROM moderation_actions WHERE site_id = $1 AND action = "
                                "'site_deleted'", site.id)
    assert details == {"articles": 1, "comments": 2, "users": 2, "forced": True}
    # the API no longer knows the site (its directory forgets it within its cache's lifetime)
    services.sites.forget(site.id)
    r = await client.get("/api/v1/articles/del-art/comments", params=site.q())
    assert r.status_code == 404 and r.json()["code"] == "unknown_site"
    # made again under the same id, it starts empty: nothing cached of the old site shows
    assert cli(storage, database, "site", "create", "--id", site.id, "--origin", site.origin).returncode == 0
    services.sites.forget(site.id)
    r = await client.get("/api/v1/articles/del-art/comments", params=site.q())
    assert r.status_code == 200 and r.json()["comments"] == []


async def test_a_site_without_comments_is_deleted_without_force(storage, database, db):
    site_id = new_id()
    assert cli(storage, database, "site", "create", "--id", site_id, "--origin",
               "https://empty.example").returncode == 0
    done = cli(storage, database, "site", "delete", site_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert await site_row(db, site_id) is None
    gone = cli(storage, database, "site", "delete", site_id, "--yes")
    assert gone.returncode == 1 and "not known" in gone.stderr


async def test_deleting_a_site_without_redis_says_how_long_its_cached_pages_may_last(storage, database, db,
                                                                                    services):
    site = await make_site(services, db)
    await seed_comment(services, db, site.id, status="published", reason=None)
    done = run_cli(storage, database, "site", "delete", site.id, "--force", "--yes",
                   COMMENTS_REDIS_URL="redis://127.0.0.1:1/0", COMMENTS_REDIS_PAGE_TTL="50",
                   COMMENTS_REDIS_COUNT_TTL="100")
    assert done.returncode == 0, done.stderr
    assert await site_row(db, site.id) is None
    # pages and counts (the longer, 100 s) are kept up to 20% past their time to live
    assert "Redis was not reached" in done.stderr and "within 120 s" in done.stderr, done.stderr


async def test_patching_site_settings_changes_only_the_settings_named(client, db, site):
    admin = bearer(await staff_token(db, "admin"))
    steps = [
        ({"report_threshold": 3}, {"report_threshold": 3}),
        ({"moderation": {"banned_words": ["grapefruit"], "hold_after_recent_rejections": 4}},
         {"moderation": {"banned_words": ["grapefruit"], "hold_after_recent_rejections": 4}}),
        ({"moderation": {"suspect_words": ["kumquat"]}},
         {"moderation": {"banned_words": ["grapefruit"], "hold_after_recent_rejections": 4,
                         "suspect_words": ["kumquat"]}}),
        ({"moderation": {"hold_after_recent_rejections": None}},
         {"moderation": {"banned_words": ["grapefruit"], "suspect_words": ["kumquat"]}}),
        ({"votes_from": "sso"}, {"votes_from": "sso"}),
    ]
    expected = dict(await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id))
    for patch, change in steps:
        r = await client.patch(f"{API}/sites/{site.id}", json=patch, headers=admin)
        assert r.status_code == 200, r.text
        expected.update(change)
        assert r.json()["settings"] == expected
        assert await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id) == expected


async def test_both_doors_change_settings_by_one_rule_and_log_it_alike(storage, database, client, db, site):
    """The admin API's PATCH and the CLI's `site update --settings` are one change (SiteAdmin.update):
    a setting sent as null goes back to its default, one not sent stays as it is, and each change is
    logged as site_updated with the settings before and after, by whoever made it."""
    admin = bearer(await staff_token(db, "admin", name="settings-admin"))
    start = dict(await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id))
    first = {"report_threshold": 3, "votes_from": "sso", "auto_close_days": 0,
             "moderation": {"banned_words": ["grapefruit"], "new_account_hold_first": 2}}
    r = await client.patch(f"{API}/sites/{site.id}", json=first, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {**start, **first}

    # the API: null puts report_threshold back to its default; votes_from, not sent, stays
    r = await client.patch(f"{API}/sites/{site.id}", json={"report_threshold": None}, headers=admin)
    assert r.status_code == 200, r.text
    after_api = {**start, "votes_from": "sso", "auto_close_days": 0,
                 "moderation": {"banned_words": ["grapefruit"], "new_account_hold_first": 2}}
    assert r.json()["settings"] == after_api
    assert await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id) == after_api

    # the CLI: the same rule, on the top level and inside the moderation object
    done = cli(storage, database, "site", "update", site.id, "--settings",
               json.dumps({"votes_from": None, "moderation": {"new_account_hold_first": None}}))
    assert done.returncode == 0, done.stderr
    after_cli = {**start, "auto_close_days": 0, "moderation": {"banned_words": ["grapefruit"]}}
    assert await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id) == after_cli

    # the whole moderation object back to the default policy, through the API
    r = await client.patch(f"{API}/sites/{site.id}", json={"moderation": None}, headers=admin)
    assert r.status_code == 200 and r.json()["settings"] == {**start, "auto_close_days": 0}
    # nothing sent, nothing changed, nothing logged
    assert (await client.patch(f"{API}/sites/{site.id}", json={}, headers=admin)).status_code == 200

    log = [dict(row) for row in await db.fetch(
        "SELECT action, actor_id, actor_name, details FROM moderation_actions WHERE site_id = $1 AND action LIKE "
        "'site%' ORDER BY id", site.id)]
    assert [(e["action"], e["actor_name"]) for e in log] == [
        ("site_updated", "settings-admin"), ("site_updated", "settings-admin"),
        ("site_updated", "operator (comments-service CLI)"), ("site_updated", "settings-admin")]
    assert [e["details"] for e in log] == [
        {"settings": [start, {**start, **first}]}, {"settings": [{**start, **first}, after_api]},
        {"settings": [after_api, after_cli]}, {"settings": [after_cli, {**start, "auto_close_days": 0}]}]


async def test_the_admin_api_manages_sites_by_the_same_rules(client, services, db):
    operator = bearer(await staff_token(db, "admin"))
    site_id = new_id()
    body = {"id": site_id, "name": "API Daily", "origins": ["https://API.example:443"], "guests": True,
            "sso_secret": "api-secret-0123456789-abcdefghijklmnop",
            "site_settings": {"moderation": {"banned_words": ["grapefruit"]}}}
    r = await client.post(f"{API}/sites", json=body, headers=operator)
    assert r.status_code == 201, r.text
    assert r.json()["origins"] == ["https://api.example"] and r.json()["sso"] is True
    assert "api-secret" not in r.text
    before = await site_row(db, site_id)
    again = await client.post(f"{API}/sites", json={**body, "name": "Other", "guests": False}, headers=operator)
    assert again.status_code == 409 and again.json()["code"] == "site_exists"
    assert await site_row(db, site_id) == before
    bad = await client.post(f"{API}/sites", json={**body, "id": new_id(), "site_settings": {"report_threshold": 0}},
                            headers=operator)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_site_settings"
    shapeless = await client.post(f"{API}/sites", json={**body, "id": new_id(), "site_settings": False},
                                  headers=operator)
    assert shapeless.status_code == 400 and shapeless.json()["code"] == "invalid_request"

    # a site's own admin sees and changes that site only, and makes or removes no site
    other = await make_site(services, db)
    own = bearer(await staff_token(db, "admin", site_id))
    listed = await client.get(f"{API}/sites", headers=own)
    assert [s["id"] for s in listed.json()] == [site_id]
    assert (await client.get(f"{API}/sites/{other.id}", headers=own)).status_code == 403
    assert (await client.patch(f"{API}/sites/{other.id}", json={"report_threshold": 2},
                               headers=own)).status_code == 403
    assert (await client.post(f"{API}/sites", json={**body, "id": new_id()}, headers=own)).status_code == 403
    assert (await client.delete(f"{API}/sites/{site_id}", params={"force": "true"},
                                headers=own)).status_code == 403
    moderator = bearer(await staff_token(db, "moderator"))
    assert (await client.delete(f"{API}/sites/{site_id}", headers=moderator)).status_code == 403
    assert (await client.get(f"{API}/sites", headers=operator)).json()  # the operator sees every site
    assert {s["id"] for s in (await client.get(f"{API}/sites", headers=operator)).json()} >= {site_id, other.id}

    reader = {"Authorization": f"Bearer {jwt_for(site_id)}"}
    r = await client.post("/api/v1/articles/api-art/comments", params={"site": site_id}, headers=reader,
                          json={"body": "hello", "article_url": "https://api.example/a", "article_title": "A"})
    assert r.status_code == 201, r.text
    thread = await client.get("/api/v1/articles/api-art/comments", params={"site": site_id})
    assert len(thread.json()["comments"]) == 1  # now cached
    held = await client.delete(f"{API}/sites/{site_id}", headers=operator)
    assert held.status_code == 409 and held.json()["code"] == "site_has_comments"
    assert (await rows_of(db, site_id))["comments"] == 1
    gone = await client.delete(f"{API}/sites/{site_id}", params={"force": "true"}, headers=operator)
    assert gone.status_code == 200, gone.text
    assert gone.json()["comments"] == 1 and await rows_of(db, site_id) == dict.fromkeys(SITE_ROWS, 0)
    assert (await client.get(f"{API}/sites/{site_id}", headers=operator)).status_code == 404

    # the same id made again starts empty: nothing cached of the old site shows
    assert (await client.post(f"{API}/sites", json=body, headers=operator)).status_code == 201
    thread = await client.get("/api/v1/articles/api-art/comments", params={"site": site_id})
    assert thread.status_code == 200 and thread.json()["comments"] == []


def jwt_for(site_id: str) -> str:
    from tests.support.tokens import sso_token

    return sso_token(site_id, "api-reader", "API Reader", secret="api-secret-0123456789-abcdefghijklmnop")


async def test_a_post_to_a_site_deleted_meanwhile_is_refused_not_a_500(services, db, client):
    """Another process deleted the site while this one still has it cached: the post's first
    write finds no site row, and the reader gets the catalogue's unknown_site, nothing stored."""
    site = await make_site(services, db)
    reader = site.auth(site.sso_token(sub="late"))
    r = await client.post("/api/v1/articles/first/comments", params=site.q(), headers=reader,
                          json=article_body("before"))
    assert r.status_code == 201, r.text  # the site is in this process's cache now
    await db.execute("DELETE FROM sites WHERE id = $1", site.id)
    r = await client.post("/api/v1/articles/second/comments", params=site.q(), headers=reader,
                          json=article_body("after"))
    assert r.status_code == 404 and r.json()["code"] == "unknown_site", r.text
    assert await rows_of(db, site.id) == dict.fromkeys(SITE_ROWS, 0)


async def test_a_short_sso_secret_or_a_site_id_with_a_line_break_is_refused(storage, database, client, db):
    """HS256 with a short key can be guessed from one reader token; and a site id must be refused
    whole: a final line break passes a "$"-anchored pattern and would reach the database's check."""
    operator = bearer(await staff_token(db, "admin"))
    body = {"id": new_id(), "name": "Weak", "origins": ["https://weak.example"], "sso_secret": "a"}
    short = await client.post(f"{API}/sites", json=body, headers=operator)
    assert short.status_code == 400 and "32 characters" in short.json()["detail"], short.text
    assert await site_row(db, body["id"]) is None
    site_id = new_id()
    made = cli(storage, database, "site", "create", "--id", site_id, "--origin", "https://weak.example",
               "--sso-secret-stdin", stdin="too-short\n")
    assert made.returncode != 0 and "32 characters" in made.stderr and await site_row(db, site_id) is None
    assert cli(storage, database, "site", "create", "--id", site_id, "--origin", "https://weak.example").returncode == 0
    weak = cli(storage, database, "site", "update", site_id, "--sso-secret-stdin", stdin="too-short\n")
    assert weak.returncode != 0 and (await site_row(db, site_id))["sso_secret_enc"] is None

    newline = await client.post(f"{API}/sites", json={**body, "id": new_id() + "\n", "sso_secret": None},
                                headers=operator)
    assert newline.status_code in (400, 422), newline.text
