"""Several instances of the service side by side, as a production deployment runs them: two
`comments-service serve` processes on different ports and two `comments-service worker` processes,
all on one Redis Cluster (tests/support/redis_cluster.py) and one PostgreSQL primary with a streaming
replica (tests/support/pg_replica.py). Nothing ties a reader to the instance a writer used: a comment
posted on one is in the thread and on the live stream of the other, a moderator's decision on one is
seen on the other, and an instance that dies under load takes no accepted comment with it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.support.pg_replica import PgReplica, pg_replica  # noqa: F401  (the session fixture)
from tests.support.scoring import NO_THRESHOLDS, start_worker, wait_decided, wait_worker_ready
from tests.support.seeding import set_site_policy
from tests.support.servers import ServiceProcess
from tests.support.sites import SiteHandle, article_body, make_site
from tests.support.tokens import bearer, staff_token

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                                reason="a Redis Cluster needs redis-server and redis-cli on PATH")

# "at once": what a reader would call at once, however loaded the machine
AT_ONCE_S = 2.0
WAIT_S = 60.0  # how long a condition is polled before the test gives up (a slow, shared machine)
CIVIL = "The council approved the new cycle lanes on Tuesday."


@dataclass
class Fleet:
    one: ServiceProcess
    two: ServiceProcess
    workers: list[ServiceProcess]
    site: SiteHandle
    moderator: str


@pytest.fixture(scope="module")
async def primary(pg_replica: PgReplica) -> AsyncIterator[asyncpg.Connection]:  # noqa: F811
    from comments_service.db.pool import connect

    conn = await connect(pg_replica.primary_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def fleet(storage, services, redis_cluster, pg_replica, primary, tiny_detoxify,  # noqa: F811
                tmp_path_factory) -> AsyncIterator[Fleet]:
    logs = tmp_path_factory.mktemp("many-instances")
    shared = {"COMMENTS_DATABASE_URL": pg_replica.primary_url,
              "COMMENTS_DATABASE_REPLICA_URLS": pg_replica.replica_url,
              "COMMENTS_REDIS_URL": redis_cluster.url,
              "COMMENTS_REDIS_PREFIX": f"mi{secrets.token_hex(3)}:"}
    # a site whose comments the tiny model's scores never decide: civil ones publish
    site = await make_site(services, primary)
    await set_site_policy(primary, site.id, NO_THRESHOLDS)
    moderator = await staff_token(primary, "moderator", site.id)

    started: list[ServiceProcess] = []
    try:
        checkpoint, config_dir = tiny_detoxify
        workers = [start_worker(storage, logs, checkpoint, config_dir, name=f"worker{n}", **shared) for n in (1, 2)]
        started += workers
        # the API's POST waits for the decision generously: two workers share two slow cores
        env = storage.env(**shared, COMMENTS_SCORING="on", COMMENTS_DECISION_WAIT_MS="15000",
                          COMMENTS_LIVE_HEARTBEAT_SECONDS="0.5")
        apis = [ServiceProcess(env, log_path=logs / f"api{n}.log") for n in (1, 2)]
        for api in apis:
            started.append(api)
            await asyncio.to_thread(api.start, 90.0)
        for worker in workers:
            await wait_worker_ready(primary, worker)
        for api in apis:
            await replica_in_use(api)
        yield Fleet(apis[0], apis[1], workers, site, moderator)
    finally:
        for process in reversed(started):
            await asyncio.to_thread(process.stop)


async def replica_in_use(server: ServiceProcess) -> None:
    """Until the instance's readiness shows the replica well, so that its public reads go there."""
    deadline = time.monotonic() + WAIT_S
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            r = await http.get(f"{server.url}/health/ready")
            replicas = r.json().get("checks", {}).get("postgres:replicas", []) if r.status_code == 200 else []
            if [c["status"] for c in replicas] == ["pass"]:
                return
            assert time.monotonic() < deadline, f"{server.url} does not use the replica: {r.text}"
            await asyncio.sleep(0.2)


def new_article() -> str:
    return "many-" + secrets.token_hex(4)


async def post(http: httpx.AsyncClient, server: ServiceProcess, site: SiteHandle, article: str, text: str,
               sub: str = "reader-1") -> dict:
    r = await http.post(f"{server.url}/api/v1/articles/{article}/comments", params=site.q(),
                        json=article_body(text), headers=site.auth(site.sso_token(sub=sub)))
    assert r.status_code == 201, r.text
    return r.json()


async def thread_ids(http: httpx.AsyncClient, server: ServiceProcess, site: SiteHandle, article: str) -> list[int]:
    r = await http.get(f"{server.url}/api/v1/articles/{article}/comments", params=site.q())
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["comments"]]


async def soon_ids(http: httpx.AsyncClient, server: ServiceProcess, site: SiteHandle, article: str,
                   expected: list[int]) -> list[int]:
    """The thread as ``server`` reads it, read again for up to AT_ONCE_S until it is ``expected``: the
    other instance's first-level copy is retired by a message over the cluster, which can trail the
    write by a few milliseconds on a loaded machine."""
    deadline = time.monotonic() + AT_ONCE_S
    while (found := await thread_ids(http, server, site, article)) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return found


async def test_a_comment_posted_on_one_instance_is_in_the_others_thread_at_once(fleet: Fleet, primary):
    site, article = fleet.site, new_article()
    async with httpx.AsyncClient(timeout=30) as http:
        assert await thread_ids(http, fleet.two, site, article) == []  # the empty page, now cached there
        posted = await post(http, fleet.one, site, article, CIVIL)
        cid = posted["comment"]["id"]
        assert (await wait_decided(primary, [cid], WAIT_S))[cid] == "published"
        # the other instance's cached page is gone and its replica read is fenced
        assert await soon_ids(http, fleet.two, site, article, [cid]) == [cid]
        counted = await http.post(f"{fleet.two.url}/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert counted.status_code == 200 and counted.json()["counts"] == {article: 1}, counted.text


async def test_a_reader_streaming_from_one_instance_hears_of_a_comment_posted_on_the_other(fleet: Fleet, primary):
    site, article = fleet.site, new_article()
    async with httpx.AsyncClient(timeout=30) as http, \
            http.stream("GET", f"{fleet.two.url}/api/v1/articles/{article}/events", params=site.q(),
                        headers={"Origin": site.origin}) as stream:
        assert stream.status_code == 200
        lines = stream.aiter_lines()

        async def next_event() -> dict:
            async for line in lines:
                if line.startswith("data:"):
                    return json.loads(line[5:])
            raise AssertionError("the stream ended")

        assert await asyncio.wait_for(next_event(), WAIT_S) == {"type": "ready"}
        posted = await post(http, fleet.one, site, article, CIVIL, sub="streamed")
        cid = posted["comment"]["id"]

        async def published() -> dict:
            while (event := await next_event())["type"] != "comment.published":
                pass
            return event

        event = await asyncio.wait_for(published(), WAIT_S)
        assert event["comment_id"] == cid and event["parent_id"] is None
        assert (await wait_decided(primary, [cid], WAIT_S))[cid] == "published"


async def test_a_comment_approved_on_one_instance_appears_on_the_other(fleet: Fleet, primary):
    site, article = fleet.site, new_article()
    async with httpx.AsyncClient(timeout=30) as http:
        first = (await post(http, fleet.one, site, article, "Opening the discussion."))["comment"]["id"]
        assert (await wait_decided(primary, [first], WAIT_S))[first] == "published"
        await primary.execute("UPDATE articles SET premoderation = true WHERE site_id = $1 AND external_id = $2",
                              site.id, article)
        held = (await post(http, fleet.one, site, article, CIVIL, sub="held-author"))["comment"]["id"]
        assert (await wait_decided(primary, [held], WAIT_S))[held] == "held"
        assert await thread_ids(http, fleet.one, site, article) == [first]  # cached there without it

        r = await http.post(f"{fleet.two.url}/api/v1/moderation/comments/{held}/decision", params=site.q(),
                            json={"action": "approve"}, headers=bearer(fleet.moderator))
        assert r.status_code < 300, r.text
        assert await primary.fetchval("SELECT status FROM comments WHERE id = $1", held) == "published"
        assert await soon_ids(http, fleet.one, site, article, [first, held]) == [first, held]


@dataclass
class Attempt:
    instance: int
    body: str
    status: int | None = None  # the HTTP status, None when no answer came
    comment_id: int | None = None
    error: BaseException | None = None
    after_kill: bool = False  # started once instance 1 was known dead


async def test_killing_an_instance_under_load_loses_no_accepted_comment(fleet: Fleet, primary):
    site, article = fleet.site, new_article()
    attempts: list[Attempt] = []
    killed = asyncio.Event()
    stop = asyncio.Event()

    async def writer(task: int, http: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            instance = 1 + (task + n) % 2
            server = fleet.one if instance == 1 else fleet.two
            attempt = Attempt(instance, f"Load {task}-{n}: {CIVIL}", after_kill=killed.is_set())
            attempts.append(attempt)
            n += 1
            try:
                r = await http.post(f"{server.url}/api/v1/articles/{article}/comments", params=site.q(),
                                    json=article_body(attempt.body),
                                    headers=site.auth(site.sso_token(sub=f"load-{task}")))
            except httpx.HTTPError as exc:
                attempt.error = exc
                continue
            attempt.status = r.status_code
            if r.status_code == 201:
                attempt.comment_id = r.json()["comment"]["id"]

    # a connection per request: one pooled across the kill would fail for its own reasons
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        tasks = [asyncio.create_task(writer(t, http)) for t in range(4)]
        try:
            # until each instance has accepted a few, then the kill, then a while longer
            deadline = time.monotonic() + WAIT_S
            while sum(1 for a in attempts if a.status == 201 and a.instance == 1) < 3 \
                    or sum(1 for a in attempts if a.status == 201 and a.instance == 2) < 3:
                assert time.monotonic() < deadline, "the instances accepted too few posts"
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
                await asyncio.sleep(0.05)
            await asyncio.to_thread(fleet.one.kill)
            killed.set()
            deadline = time.monotonic() + WAIT_S
            while sum(1 for a in attempts if a.after_kill and a.instance == 2 and a.status == 201) < 4:
                assert time.monotonic() < deadline, "instance 2 stopped accepting posts"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*tasks)

        assert not fleet.one.running and fleet.two.running
        accepted = [a for a in attempts if a.status == 201]
        # every answer that came was a 201; a request instance 1 did not answer got no status at all
        assert all(a.status in (201, None) for a in attempts), [(a.instance, a.status) for a in attempts]
        assert all(a.instance == 1 for a in attempts if a.status is None)
        # instance 2 answered every request, before and after the kill
        assert all(a.status == 201 for a in attempts if a.instance == 2)
        # once it was dead, instance 1 refused the connection: nothing was sent, so nothing written
        refused = [a for a in attempts if a.after_kill and a.instance == 1]
        assert refused and all(isinstance(a.error, httpx.ConnectError) for a in refused), \
            [repr(a.error) for a in refused]
        # the only requests whose fate is unknown are those instance 1 held when it died
        unknown = {a.body for a in attempts if a.status is None and not a.after_kill}

        # every accepted comment is stored, whole, and ends decided by a worker
        rows = await primary.fetch(
            "SELECT c.id, c.body_markdown FROM comments c JOIN articles a ON a.id = c.article_id "
            "WHERE a.site_id = $1 AND a.external_id = $2", site.id, article)
        stored = {r["id"]: r["body_markdown"] for r in rows}
        for a in accepted:
            assert stored.get(a.comment_id) == a.body, (a.comment_id, a.body)
        # anything else stored is one the dying instance had in hand, complete as sent
        extra = set(stored) - {a.comment_id for a in accepted}
        assert {stored[i] for i in extra} <= unknown
        statuses = await wait_decided(primary, list(stored), WAIT_S)
        assert set(statuses.values()) == {"published"}, statuses

        # and the surviving instance shows all of them
        counted = await http.post(f"{fleet.two.url}/api/v1/counts", params=site.q(), json={"article_ids": [article]})
        assert counted.status_code == 200 and counted.json()["counts"] == {article: len(stored)}, counted.text
