"""Surges of new accounts through HTTP, with the scoring pipeline on (a real worker process): many
new accounts on one article start a surge that holds the next new account's comment
(``surge_premoderation``) but not an established reader's; moderators are alerted, the console's
route lists it, the audit log has it, and the notifier's sweep ends it."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as aioredis

from comments_service.cache import RedisGate
from comments_service.db import scoring as scoring_repo
from comments_service.db import surges as surge_repo
from comments_service.db.pool import create_pool
from comments_service.services.notification_links import NotificationLinks
from comments_service.services.notifications import Notifier
from comments_service.services.surge import Surges
from comments_service.settings import NotificationSettings
from tests.support.apps import scoring_app
from tests.support.scoring import NO_THRESHOLDS
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

SURGE = {"new_accounts": 3, "window_minutes": 10, "new_account_hours": 24, "cooldown_minutes": 5}


@pytest.fixture(scope="module")
async def api(storage, database, worker):
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="10000") as client:
        yield client


@pytest.fixture
async def pool(settings, database):
    made = await create_pool(settings.database, database)
    yield made
    await made.close()


async def surge_site(services, db):
    return await make_site(services, db, settings={
        "sso_staff_roles": True, "moderation": {**NO_THRESHOLDS["moderation"], "surge": SURGE}})


async def post(api, site, sub, text="The border crossing story is wrong about the dates.", article="brigaded"):
    response = await api.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                              json=article_body(text), headers=site.auth(site.sso_token(sub=sub)))
    assert response.status_code == 201, response.text
    return response.json()


async def reason(db, posted) -> str:
    return await db.fetchval("SELECT status_reason FROM comments WHERE id = $1", posted["comment"]["id"])


async def test_new_accounts_flooding_an_article_start_a_surge_that_holds_new_accounts_until_it_passes(
        api, services, db, settings, pool):
    site = await surge_site(services, db)
    mod = bearer(await staff_token(db, "moderator", site.id))
    r = await api.put("/api/v1/moderation/alerts", params=site.q(), headers=mod,
                      json={"email": "desk@news.example"})  # no alert chosen: a surge is told all the same
    assert r.status_code == 200, r.text
    # an established reader: an account made long ago
    await post(api, site, "veteran", "Hello from a long-time reader.", article="elsewhere")
    await db.execute("UPDATE users SET created_at = now() - interval '90 days' "
                     "WHERE site_id = $1 AND external_id = 'veteran'", site.id)

    # below the threshold nothing changes; the same account twice counts once
    for sub in ("fresh-1", "fresh-2", "fresh-2"):
        assert (await post(api, site, sub))["status"] == "published"
    assert await db.fetchval("SELECT surge_until FROM articles WHERE site_id = $1 AND external_id = 'brigaded'",
                             site.id) is None
    assert (await post(api, site, "fresh-3"))["status"] == "published"  # the third starts it
    row = await db.fetchrow("SELECT id, surge_started_at, surge_until > now() + interval '4 minutes' AS ahead "
                            "FROM articles WHERE site_id = $1 AND external_id = 'brigaded'", site.id)
    assert row["surge_started_at"] is not None and row["ahead"]

    held = await post(api, site, "fresh-4")
    assert held["status"] == "held" and "awaiting moderation" in held["message"]
    assert "surge" not in str(held)  # the rule that caught it is for moderators
    assert await reason(db, held) == "surge_premoderation"
    veteran = await post(api, site, "veteran", "I have read this paper for years; this piece is fair.")
    assert veteran["status"] == "published" and await reason(db, veteran) == "ok"
    # other articles are not in surge
    assert (await post(api, site, "fresh-5", article="quiet"))["status"] == "published"

    listed = await api.get("/api/v1/moderation/surges", params=site.q(), headers=mod)
    assert listed.status_code == 200, listed.text
    [surge] = listed.json()["surges"]
    assert surge["article_id"] == "brigaded" and surge["held"] == 1
    queue = await api.get("/api/v1/moderation/queue", params={**site.q(), "article_id": "brigaded"}, headers=mod)
    assert [it["comment"]["id"] for it in queue.json()["items"]] == [held["comment"]["id"]]

    audit = await db.fetch("SELECT action, actor_id, details FROM moderation_actions WHERE site_id = $1 "
                           "AND article_id = $2 ORDER BY id", site.id, row["id"])
    assert [(a["action"], a["actor_id"]) for a in audit] == [("surge_started", "system:surge")]
    assert audit[0]["details"]["new_accounts"] == 3
    r = await api.get("/api/v1/moderation/audit", params={**site.q(), "action": "surge_started"}, headers=mod)
    assert r.status_code == 200 and [e["action"] for e in r.json()["entries"]] == ["surge_started"], r.text

    # moderators are alerted through the notifier's fan-out
    links = NotificationLinks(services.keyring, settings.server.public_url, days=90)
    notifier = Notifier(pool, NotificationSettings(), links, None)
    while await notifier.fan_out_once():
        pass
    alerts = await db.fetch("SELECT recipient, payload FROM notification_deliveries WHERE site_id = $1 "
                            "AND kind = 'moderator_alert'", site.id)
    assert [(a["recipient"], a["payload"]["what"], a["payload"]["state"], a["payload"]["article_id"])
            for a in alerts] == [("desk@news.example", "surge", "started", "brigaded")]

    # quiet for the cooldown: the notifier's sweep ends it, audited and announced
    await db.execute("UPDATE articles SET surge_until = now() - interval '1 second' WHERE id = $1", row["id"])
    assert await Surges(pool, None, settings.redis.prefix).end_due() >= 1
    assert await db.fetchrow("SELECT surge_started_at, surge_until FROM articles WHERE id = $1", row["id"]) \
        == (None, None)
    assert [a["action"] for a in await db.fetch(
        "SELECT action FROM moderation_actions WHERE article_id = $1 ORDER BY id", row["id"])] \
        == ["surge_started", "surge_ended"]
    assert (await api.get("/api/v1/moderation/surges", params=site.q(), headers=mod)).json() == {"surges": []}
    while await notifier.fan_out_once():
        pass
    states = await db.fetch("SELECT payload->>'state' AS state FROM notification_deliveries WHERE site_id = $1 "
                            "AND kind = 'moderator_alert' ORDER BY id", site.id)
    assert [s["state"] for s in states] == ["started", "ended"]
    # the one held stays for a moderator; a new account's next comment is decided as usual
    assert (await post(api, site, "fresh-6"))["status"] == "published"


async def test_a_surge_holds_what_is_written_once_it_started_whichever_reaches_the_worker_first(db, pool):
    """The post that tips an article into a surge is counted while its own comment is stored, so
    the surge may start before or after the worker reads that comment: what it holds is decided by
    when a comment was written (posted or edited), not by which came first."""
    site_id = "s-surge-" + secrets.token_hex(3)
    await db.execute("INSERT INTO sites (id, name) VALUES ($1, $1)", site_id)
    article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                "VALUES ($1, 'tipped', 'https://news.example/t', 'Tipped') RETURNING id", site_id)
    author = await db.fetchval("INSERT INTO users (site_id, kind, external_id, display_name) "
                               "VALUES ($1, 'sso', 'newcomer', 'Newcomer') RETURNING id", site_id)

    async def comment() -> int:
        return await db.fetchval("INSERT INTO comments (article_id, author_id, body_markdown, body_html, status) "
                                 "VALUES ($1, $2, 'x', '<p>x</p>', 'pending_scoring') RETURNING id", article, author)

    tipping = await comment()  # stored, not yet scored, when the surge it tipped starts
    async with pool.acquire() as conn, conn.transaction():
        assert await surge_repo.start_or_extend(conn, article, 300, {"new_accounts": 3}) is not None
    during = await comment()
    async with pool.acquire() as conn:
        seen = await scoring_repo.contexts(conn, [tipping, during], 30)
    assert (seen[tipping].article_surge, seen[during].article_surge) == (False, True)

    await db.execute("UPDATE comments SET body_markdown = 'y', edited_at = now() WHERE id = $1", tipping)
    async with pool.acquire() as conn:
        assert (await scoring_repo.contexts(conn, [tipping], 30))[tipping].article_surge is True  # edited since
    await db.execute("UPDATE articles SET surge_until = now() - interval '1 second' WHERE id = $1", article)
    async with pool.acquire() as conn:
        assert (await scoring_repo.contexts(conn, [during], 30))[during].article_surge is False  # over


async def test_a_site_that_turns_the_rule_off_has_no_surge(api, services, db):
    site = await make_site(services, db, settings={
        "moderation": {**NO_THRESHOLDS["moderation"], "surge": {**SURGE, "enabled": False}}})
    for n in range(4):
        assert (await post(api, site, f"calm-{n}"))["status"] == "published"
    assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1 AND surge_started_at IS NOT NULL",
                             site.id) == 0


async def test_invalid_surge_settings_are_refused(api, services, db):
    site = await make_site(services, db)
    admin = bearer(await staff_token(db, "admin", site.id))
    for bad in ({"new_accounts": 1}, {"window_minutes": 0}, {"cooldown_minutes": "5"}, {"threshold": 5},
                {"enabled": "yes"}, [1]):
        r = await api.patch(f"/api/v1/moderation/sites/{site.id}", headers=admin,
                            json={"moderation": {"surge": bad}})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_site_settings"), (bad, r.text)
        assert "moderation.surge" in r.json()["detail"]
    r = await api.patch(f"/api/v1/moderation/sites/{site.id}", headers=admin,
                        json={"moderation": {"surge": {"new_accounts": 25, "cooldown_minutes": 60}}})
    assert r.status_code == 200, r.text


async def test_redis_down_skips_the_check_and_the_post_goes_on(services, db, pool, settings):
    site = await surge_site(services, db)
    article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                "VALUES ($1, 'down', 'https://news.example/down', 'Down') RETURNING id", site.id)
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    gate = RedisGate(dead)
    surges = Surges(pool, gate, settings.redis.prefix)
    for user in range(5):
        await surges.note(site.id, {"moderation": {"surge": SURGE}}, article, 10_000 + user, guest=True, since=None)
    assert gate.last_error is not None  # said in the log (RedisGate), not raised
    assert await db.fetchval("SELECT surge_until FROM articles WHERE id = $1", article) is None
    await dead.aclose()


async def test_guests_count_and_the_counter_stays_small_and_expires(db, pool, settings, storage):
    """Every guest identity is a new author; the article's set holds no more than the threshold,
    and both keys expire."""
    site_id = "s-surge-" + secrets.token_hex(3)
    await db.execute("INSERT INTO sites (id, name) VALUES ($1, $1)", site_id)
    article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                "VALUES ($1, 'guests', 'https://news.example/g', 'Guests') RETURNING id", site_id)
    client = aioredis.Redis.from_url(storage.redis_url)
    surges = Surges(pool, RedisGate(client), settings.redis.prefix)
    rules = {"moderation": {"surge": {**SURGE, "new_accounts": 5}}}
    for guest in range(40):
        await surges.note(site_id, rules, article, 50_000 + guest, guest=True, since=None)
    key = f"{settings.redis.prefix}surge:{{{article}}}"
    assert await client.zcard(key) == 5
    assert 0 < await client.pttl(key) <= SURGE["window_minutes"] * 60_000
    assert 0 < await client.ttl(f"{settings.redis.prefix}surge-on:{{{article}}}") <= 60
    row = await db.fetchrow("SELECT surge_started_at, surge_until FROM articles WHERE id = $1", article)
    assert row["surge_started_at"] is not None and row["surge_until"] is not None
    # started once, however many posts went on past the threshold
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE article_id = $1", article) == 1
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE kind = 'article.surge' AND subject_id = $1",
                             article) == 1
    await client.aclose()


async def test_one_address_posting_as_many_guests_is_one_new_author(db, pool, settings, storage):
    """Each guest post is a new guest identity, but forty of them from one address are one author:
    one script cannot put an article into premoderation on its own."""
    site_id = "s-surge-" + secrets.token_hex(3)
    await db.execute("INSERT INTO sites (id, name) VALUES ($1, $1)", site_id)
    article = await db.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                "VALUES ($1, 'one-address', 'https://news.example/o', 'One') RETURNING id", site_id)
    client = aioredis.Redis.from_url(storage.redis_url)
    surges = Surges(pool, RedisGate(client), settings.redis.prefix)
    rules = {"moderation": {"surge": {**SURGE, "new_accounts": 5}}}
    for guest in range(40):
        await surges.note(site_id, rules, article, 60_000 + guest, guest=True, since=None, address="203.0.113.7")
    assert await client.zcard(f"{settings.redis.prefix}surge:{{{article}}}") == 1
    assert await db.fetchval("SELECT surge_until FROM articles WHERE id = $1", article) is None
    await client.aclose()
