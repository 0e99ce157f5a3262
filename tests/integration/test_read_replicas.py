"""Read replicas against a real streaming replica (tests/support/pg_replica.py): the public reads
that miss the cache (thread pages, replies, counts) are answered by the replica; the poster's own
pending comments by the primary; a replica that lags (replay paused) or is stopped is skipped for the
primary and used again once it is well; no page ever misses a comment its reader could have seen
posted; no URL or password reaches the logs or the public probe."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import httpx
import pytest

from comments_service.settings import Settings, SettingsError
from tests.support.apps import LiveApp, live_app
from tests.support.pg_replica import PgReplica, pg_replica  # noqa: F401  (the session fixture)
from tests.support.sites import SiteHandle, article_body, make_site

PASSWORD = "replica-pass-" + secrets.token_hex(4)  # trust auth ignores it; it must appear nowhere
MAX_LAG = 1.0
WAIT_S = 45.0  # how long a condition is polled before the test gives up (a slow, shared machine)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
async def logged() -> AsyncIterator[Records]:
    handler = Records()
    logger = logging.getLogger("comments_service.replicas")
    level = logger.level
    logger.setLevel(logging.INFO)  # its "ok again" lines too (the test app logs from WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
async def live(storage, pg_replica: PgReplica, logged) -> AsyncIterator[LiveApp]:  # noqa: F811
    """The app over the private primary and its replica, served in the test's loop (the test
    reaches its services: their Redis and PostgreSQL connections live in this loop)."""
    replica_url = pg_replica.replica_url.replace("postgres@", f"postgres:{PASSWORD}@")
    async with live_app(storage, COMMENTS_DATABASE_URL=pg_replica.primary_url,
                        COMMENTS_DATABASE_REPLICA_URLS=replica_url,
                        COMMENTS_REPLICA_MAX_LAG=str(MAX_LAG), COMMENTS_METRICS_TOKEN=SCRAPE_TOKEN) as served:
        yield served


@pytest.fixture(scope="module")
async def app(live: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with live.http() as client:
        yield client


@pytest.fixture
async def primary(pg_replica: PgReplica) -> AsyncIterator[asyncpg.Connection]:  # noqa: F811
    from comments_service.db.pool import connect

    conn = await connect(pg_replica.primary_url)
    yield conn
    await conn.close()


@pytest.fixture
async def rsite(live, primary) -> SiteHandle:
    return await make_site(live.services, primary)


@pytest.fixture
async def replica_well_again(pg_replica: PgReplica):  # noqa: F811
    """Whatever a test did to the replica, the next one starts with it running and replaying."""
    yield
    if not pg_replica.replica_running():
        await asyncio.to_thread(pg_replica.start_replica)
    await until("the replica answers", lambda: pg_replica.on_replica("SELECT true"))
    await pg_replica.resume_replay()


SCRAPE_TOKEN = "replica-scrape-" + secrets.token_hex(8)


async def scraped(app, name: str) -> float:
    """The value /metrics gives the replica's series ``name``."""
    r = await app.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert r.status_code == 200, r.text
    [line] = [row for row in r.text.splitlines() if row.startswith(name + "{") and 'replica="1"' in row]
    return float(line.rsplit(" ", 1)[1])


async def until(what: str, check: Callable[[], Awaitable[object]]) -> object:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            value = await check()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


def replica_stats(live: LiveApp):
    [replica] = live.services.reads.views()
    return replica


def new_article() -> str:
    return "art-" + secrets.token_hex(4)


async def post(app, site, article, text, token=None):
    r = await app.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                       headers=site.auth(token or site.sso_token()))
    assert r.status_code == 201, r.text
    return r.json()


async def page(app, site, article, token=None):
    r = await app.get(f"/api/v1/articles/{article}/comments", params=site.q(),
                      headers=site.auth(token) if token else {})
    assert r.status_code == 200, r.text
    return r.json()


async def counts(app, site, *articles):
    r = await app.post("/api/v1/counts", params=site.q(), json={"article_ids": list(articles)})
    assert r.status_code == 200, r.text
    return r.json()["counts"]


async def caught_up(pg: PgReplica, primary) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    position = await primary.fetchval("SELECT pg_current_wal_insert_lsn()")
    await until("the replica to replay the latest write", lambda: pg.on_replica(
        "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", position))


async def ready_replica(app) -> dict:
    r = await app.get("/health/ready")
    assert r.status_code == 200, r.text
    return r.json()["checks"]["postgres:replicas"][0]


async def replica_state(app, status: str) -> dict:
    async def check():
        found = await ready_replica(app)
        return found if found["status"] == status else None
    return await until(f"readiness to show the replica {status}", check)  # type: ignore[return-value]


async def test_public_reads_are_served_by_the_replica(app, live, rsite, primary, pg_replica):  # noqa: F811
    article = new_article()
    root = await post(app, rsite, article, "first, written on the primary")
    second = await post(app, rsite, article, "second")
    r = await app.post(f"/api/v1/articles/{article}/comments", params=rsite.q(),
                       json=article_body("a reply", parent_id=root["comment"]["id"]),
                       headers=rsite.auth(rsite.sso_token()))
    assert r.status_code == 201, r.text
    await caught_up(pg_replica, primary)
    await replica_state(app, "pass")  # the probe has seen it caught up too (a busy machine lags a moment)
    before = replica_stats(live).reads

    thread = await page(app, rsite, article)
    assert [c["id"] for c in thread["comments"]] == [root["comment"]["id"], second["comment"]["id"]]
    after_thread = replica_stats(live).reads
    assert after_thread > before  # the page (and its header) came from the replica

    replies = await app.get(f"/api/v1/comments/{root['comment']['id']}/replies", params=rsite.q())
    assert replies.status_code == 200 and len(replies.json()["replies"]) == 1
    after_replies = replica_stats(live).reads
    assert after_replies > after_thread

    assert await counts(app, rsite, article, "never-commented") == {article: 3, "never-commented": 0}
    assert replica_stats(live).reads > after_replies

    # and PostgreSQL says so: the replica ran the page's statement for this article
    async def logged_there() -> bool:
        return f"'{article}'" in pg_replica.replica_log()
    await until("the replica's log to show the read", logged_there)


async def test_a_quiet_primary_after_a_wal_switch_still_reads_from_the_replica(
        app, live, rsite, primary, pg_replica, replica_well_again):  # noqa: F811
    """After a WAL switch (archive_timeout, a backup) a quiet primary's insert position sits past
    the new segment's page header, where replay never goes until the next write: the fence must not
    send every read to the primary after a wait."""
    article = new_article()
    await post(app, rsite, article, "before the switch")
    await primary.execute("SELECT pg_switch_wal()")
    await caught_up(pg_replica, primary)
    await replica_state(app, "pass")
    fallbacks, reads = replica_stats(live).fallbacks, replica_stats(live).reads
    assert len((await page(app, rsite, article))["comments"]) == 1
    assert replica_stats(live).reads > reads and replica_stats(live).fallbacks == fallbacks


async def test_the_poster_sees_their_pending_comment_and_nobody_misses_a_fresh_one(
        app, live, rsite, primary, pg_replica, replica_well_again):  # noqa: F811
    article = new_article()
    await post(app, rsite, article, "opens the article")
    await caught_up(pg_replica, primary)
    await page(app, rsite, article)  # cached from the replica

    await pg_replica.pause_replay()
    poster = rsite.sso_token(sub="poster", name="Poster")
    held = (await post(app, rsite, article, "awaiting a moderator", token=poster))["comment"]
    # held, as the scoring pipeline leaves a comment for a moderator (invisible to everyone else)
    await primary.execute("UPDATE comments SET status = 'held' WHERE id = $1", held["id"])
    await primary.execute("UPDATE articles SET comment_count = comment_count - 1 WHERE site_id = $1 "
                          "AND external_id = $2", rsite.id, article)
    await live.services.cache.bump(rsite.id, article)
    own = await page(app, rsite, article, token=poster)
    assert [c["id"] for c in own["own_pending"]] == [held["id"]] and own["own_pending"][0]["status"] == "held"
    assert held["id"] not in [c["id"] for c in own["comments"]]
    public = await page(app, rsite, article)
    assert held["id"] not in [c["id"] for c in public["comments"]] and public["own_pending"] == []

    # the replica has not replayed this one: the primary answers, and the page shows it
    fresh = new_article()
    published = await post(app, rsite, fresh, "published while the replica is paused")
    reads, primary_reads = replica_stats(live).reads, live.services.reads.primary_reads
    assert [c["id"] for c in (await page(app, rsite, fresh))["comments"]] == [published["comment"]["id"]]
    assert await counts(app, rsite, fresh) == {fresh: 1}
    assert replica_stats(live).reads == reads and live.services.reads.primary_reads >= primary_reads + 2


async def test_a_lagging_replica_is_skipped_until_it_catches_up(app, live, rsite, primary, pg_replica,  # noqa: F811
                                                                replica_well_again):
    await caught_up(pg_replica, primary)
    await replica_state(app, "pass")
    await pg_replica.pause_replay()
    article = new_article()
    first = await post(app, rsite, article, "written while replay is paused")
    lagging = await replica_state(app, "warn")
    assert lagging["componentId"] == "replica-1" and lagging["observedValue"] >= MAX_LAG
    assert "primary" in lagging["output"]
    # and the operator's metrics say so
    assert await scraped(app, "comments_db_replica_usable") == 0
    assert await scraped(app, "comments_db_replica_lag_seconds") >= MAX_LAG

    primary_reads, reads = live.services.reads.primary_reads, replica_stats(live).reads
    assert [c["id"] for c in (await page(app, rsite, article))["comments"]] == [first["comment"]["id"]]
    assert live.services.reads.primary_reads > primary_reads
    assert replica_stats(live).reads == reads  # skipped, not even tried

    await pg_replica.resume_replay()
    await replica_state(app, "pass")
    assert await scraped(app, "comments_db_replica_usable") == 1
    second = await post(app, rsite, article, "written after it caught up")
    await caught_up(pg_replica, primary)
    reads = replica_stats(live).reads
    body = await page(app, rsite, article)
    assert [c["id"] for c in body["comments"]] == [first["comment"]["id"], second["comment"]["id"]]
    assert replica_stats(live).reads > reads


async def test_a_stopped_replica_is_skipped_and_rejoins_when_restarted(app, live, rsite, primary, pg_replica,  # noqa: F811
                                                                        replica_well_again, logged):
    article = new_article()
    first = await post(app, rsite, article, "before the replica stops")
    await asyncio.to_thread(pg_replica.stop_replica)
    # at once, whether or not the probe has noticed yet: the primary answers what the replica cannot
    second = await post(app, rsite, article, "while it is down")
    body = await page(app, rsite, article)
    assert [c["id"] for c in body["comments"]] == [first["comment"]["id"], second["comment"]["id"]]
    assert await counts(app, rsite, article) == {article: 2}
    down = await replica_state(app, "warn")
    assert "unreachable" in down["output"]
    probe = (await app.get("/health/ready")).text
    assert str(pg_replica.replica_port) not in probe and "postgresql://" not in probe and PASSWORD not in probe

    third = await post(app, rsite, article, "still down")
    assert len((await page(app, rsite, article))["comments"]) == 3

    await asyncio.to_thread(pg_replica.start_replica)
    await replica_state(app, "pass")
    await caught_up(pg_replica, primary)
    reads = replica_stats(live).reads
    fresh = new_article()
    assert await counts(app, rsite, fresh) == {fresh: 0}
    assert replica_stats(live).reads > reads
    assert third["comment"]["id"] in [c["id"] for c in (await page(app, rsite, article))["comments"]]

    said = [r for r in logged.records if r.getMessage() == "read replica state"]
    assert {getattr(r, "state", None) for r in said} >= {"down", "ok"}
    for record in said:
        text = f"{record.getMessage()} {record.__dict__}"
        assert PASSWORD not in text and "postgresql://" not in text


def test_replica_urls_are_read_without_repeating_their_passwords():
    env = {"COMMENTS_DATABASE_REPLICA_URLS": "postgresql://u:pw1@a:5432/db, postgresql://u:pw2@b1,b2:5433/db",
           "COMMENTS_REPLICA_MAX_LAG": "2.5"}
    database = Settings.from_env(env).database
    assert database.replica_urls == ("postgresql://u:pw1@a:5432/db", "postgresql://u:pw2@b1,b2:5433/db")
    assert database.replica_max_lag == 2.5
    assert Settings.from_env({}).database.replica_urls == ()
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"COMMENTS_DATABASE_REPLICA_URLS": "postgresql://u:pw@a/db mysql://u:secret9@b/db"})
    assert "entry 2" in str(bad.value) and "secret9" not in str(bad.value)
    with pytest.raises(SettingsError):
        Settings.from_env({"COMMENTS_REPLICA_MAX_LAG": "0"})


def test_a_fence_just_past_a_page_header_is_the_page_boundary():
    from comments_service.db.replicas import _past_page_header

    segment = 16 * 1024 * 1024
    assert _past_page_header(3 * segment + 40) == 3 * segment  # a segment's long header
    assert _past_page_header(3 * segment + 5 * 8192 + 24) == 3 * segment + 5 * 8192  # a page's short one
    assert _past_page_header(3 * segment + 5 * 8192 + 200) == 3 * segment + 5 * 8192 + 200  # records: as is
