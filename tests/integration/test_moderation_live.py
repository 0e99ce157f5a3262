"""The moderators' live queue (Server-Sent Events) and presence, against the app served over TCP
(streams need a real socket; requests really run at once), PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from comments_service.db import articles as article_repo
from comments_service.domain.policy import Decision
from comments_service.services.scoring import Verdict
from tests.support.seeding import seed_comment, seed_reader
from tests.support.servers import ServiceProcess
from tests.support.sites import make_site
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"


class Stream:
    """The events of one open stream, read as they come (by a task of its own, so that a wait that
    times out loses nothing)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.retry: int | None = None
        self.ended = False
        self._events: asyncio.Queue[tuple[str, dict] | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        event, data = "message", []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    continue
                if line == "":
                    if data:
                        await self._events.put((event, json.loads("\n".join(data))))
                    event, data = "message", []
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                elif field == "retry":
                    self.retry = int(value)
        finally:
            await self._events.put(None)

    def close(self) -> None:
        self._reader.cancel()

    async def next(self, timeout: float = 5.0) -> tuple[str, dict]:
        item = await asyncio.wait_for(self._events.get(), timeout)
        if item is None:
            self.ended = True
            raise EOFError("the stream ended")
        return item

    async def until(self, event: str, timeout: float = 5.0, **match) -> dict:
        """The next ``event`` whose data has ``match``; events before it are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            name, data = await self.next(max(0.01, deadline - time.monotonic()))
            if name == event and all(data.get(k) == v for k, v in match.items()):
                return data

    async def events_within(self, seconds: float) -> list[tuple[str, dict]]:
        seen = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                seen.append(await self.next(left))
            except TimeoutError:
                break
        return seen


@asynccontextmanager
async def stream(http: httpx.AsyncClient, headers: dict, site: str | None) -> AsyncIterator[Stream]:
    params = {"site": site} if site else {}
    async with http.stream("GET", f"{API}/events", params=params, headers=headers) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        opened = Stream(response)
        try:
            assert await opened.next() == ("ready", {"type": "ready"})
            assert opened.retry is not None
            yield opened
        finally:
            opened.close()


@pytest.fixture
async def live(serve):
    async with serve(COMMENTS_SCORING="on", COMMENTS_DECISION_WAIT_MS="0",
                     COMMENTS_LIVE_HEARTBEAT_SECONDS="0.5") as running:
        yield running


async def _staff(db, role: str, site_id: str | None, name: str) -> dict:
    return bearer(await staff_token(db, role, site_id, name))


async def test_a_held_comment_reaches_the_stream_and_its_decision_says_who(live, db):
    services = live.services
    site = await make_site(services, db)
    ana = await _staff(db, "moderator", site.id, "Ana")
    bea = await _staff(db, "moderator", site.id, "Bea")
    record = await article_repo.get_or_create(db, site.id, "premod", "https://news.example/premod", "Premod")
    await db.execute("UPDATE articles SET premoderation = true WHERE id = $1", record["id"])
    async with live.http() as http, stream(http, ana, site.id) as events:
        assert await events.until("counts") == {"held": 0, "reported": 0, "cap": 1000}
        posted = await http.post("/api/v1/articles/premod/comments", params=site.q(), json={
            "body": "Hold me, please", "author_name": "Guest", "article_url": "https://news.example/premod",
            "article_title": "Premod"})
        assert posted.status_code == 201, posted.text
        comment_id = posted.json()["comment"]["id"]
        assert posted.json()["status"] == "pending_scoring"
        # the scoring worker's write: claim the job, decide (premoderation holds), apply
        jobs = await services.scoring.claim("live-test-worker", 100, 30)
        assert comment_id in [j.comment_id for j in jobs]
        contexts = await services.scoring.contexts([comment_id], 30)
        assert contexts[comment_id].article_premoderation
        await services.scoring.apply("live-test-worker", "test-model", [Verdict(
            context=contexts[comment_id], decision=Decision(outcome="held", reason="premoderation"))])
        await db.execute("UPDATE scoring_jobs SET state = 'queued', claimed_by = NULL, claim_expires_at = NULL "
                         "WHERE claimed_by = 'live-test-worker' AND state = 'claimed'")

        assert await events.until("queue:new") == {"comment_id": comment_id, "site_id": site.id, "state": "held",
                                                   "article_id": "premod"}
        assert (await events.until("counts"))["held"] == 1

        decided = await http.post(f"{API}/comments/{comment_id}/decision", json={"action": "approve"}, headers=bea)
        assert decided.status_code == 200, decided.text
        event = await events.until("queue:decided")
        assert event.pop("decided_at")
        assert event == {"comment_id": comment_id, "site_id": site.id, "state": "held", "outcome": "approved",
                         "status": "published", "decided_by": "Bea", "decided_by_id": decided.json()["decided_by"]}
        assert (await events.until("counts"))["held"] == 0


async def test_a_pick_or_pin_by_another_moderator_reaches_the_consoles_of_its_site(live, db):
    services = live.services
    site = await make_site(services, db)
    other = await make_site(services, db)
    ana = await _staff(db, "moderator", site.id, "Ana")
    bea = await _staff(db, "moderator", site.id, "Bea")
    outsider = await _staff(db, "moderator", other.id, "Out")
    comment = await seed_comment(services, db, site.id, article="picks", status="published")
    async with live.http() as http, stream(http, ana, site.id) as events, \
            stream(http, outsider, other.id) as elsewhere:
        featured = await http.post(f"{API}/comments/{comment.id}/feature", params=site.q(), headers=bea)
        assert featured.status_code == 200, featured.text
        assert await events.until("featured") == {"site_id": site.id, "article_id": "picks",
                                                  "comment_id": comment.id, "featured": True, "pinned": False}
        pinned = await http.put(f"{API}/articles/picks/pin", params=site.q(), headers=bea,
                                json={"comment_id": comment.id})
        assert pinned.status_code == 200, pinned.text
        assert (await events.until("featured", pinned=True))["comment_id"] == comment.id
        assert [name for name, _ in await elsewhere.events_within(1.0) if name == "featured"] == []


async def test_reports_and_a_ban_with_reject_all_move_the_queues_live(live, db):
    services = live.services
    site = await make_site(services, db)
    mod = await _staff(db, "moderator", site.id, "Mo")
    author = await seed_reader(db, site.id, name="Troll")
    shown = await seed_comment(services, db, site.id, article="rep", status="published", reason=None,
                               author_id=author)
    held = [await seed_comment(services, db, site.id, article="rep", author_id=author) for _ in range(2)]
    async with live.http() as http, stream(http, mod, site.id) as events:
        assert await events.until("counts") == {"held": 2, "reported": 0, "cap": 1000}
        reported = await http.post(f"/api/v1/comments/{shown.id}/reports", params=site.q(), json={"reason": "spam"},
                                   headers=site.auth(site.sso_token(sub="flagger")))
        assert reported.status_code == 201, reported.text
        assert await events.until("queue:new") == {"comment_id": shown.id, "site_id": site.id, "state": "reported",
                                                   "article_id": "rep"}
        assert (await events.until("counts"))["reported"] == 1

        banned = await http.post(f"{API}/users/{author}/ban", json={"duration_days": 1, "reject_existing": True},
                                 headers=mod)
        assert banned.status_code == 200, banned.text
        decided = {}
        while len(decided) < 3:
            event = await events.until("queue:decided")
            decided[event["comment_id"]] = (event["state"], event["outcome"], event["decided_by"])
        assert decided == {shown.id: ("reported", "rejected", "Mo"),
                           held[0].id: ("held", "rejected", "Mo"), held[1].id: ("held", "rejected", "Mo")}
        assert await events.until("counts", held=0) == {"held": 0, "reported": 0, "cap": 1000}


async def test_a_moderator_hears_only_their_own_sites(live, db):
    services = live.services
    site, other = await make_site(services, db), await make_site(services, db)
    mod = await _staff(db, "moderator", site.id, "Ours")
    admin = await _staff(db, "admin", None, "Everywhere")
    async with live.http() as http:
        refused = await http.get(f"{API}/events", params={"site": other.id}, headers=mod)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert (await http.get(f"{API}/events", params={"site": site.id})).status_code == 401
        async with stream(http, mod, site.id) as ours, stream(http, admin, None) as everywhere:
            theirs = await seed_comment(services, db, other.id)
            assert await everywhere.until("queue:new", comment_id=theirs.id) == {
                "comment_id": theirs.id, "site_id": other.id, "state": "held", "article_id": "art-1"}
            mine = await seed_comment(services, db, site.id)
            seen = []
            while True:
                name, data = await ours.next()
                seen.append((name, data))
                if name == "queue:new":
                    break
            # the other site's comment came first, and never reached this moderator
            assert data == {"comment_id": mine.id, "site_id": site.id, "state": "held", "article_id": "art-1"}
            assert all(d.get("site_id") in (None, site.id) for _, d in seen)
            assert all(d.get("comment_id") != theirs.id for _, d in seen)
            # presence on the other site's comment is refused, and nobody here hears of it
            looked = await http.post(f"{API}/presence", json={"comment_id": theirs.id}, headers=mod)
            assert looked.status_code == 403 and looked.json()["code"] == "forbidden"


async def test_counts_follow_a_burst_at_most_once_a_second(live, db):
    services = live.services
    site = await make_site(services, db)
    mod = await _staff(db, "moderator", site.id, "Counter")
    async with live.http() as http, stream(http, mod, site.id) as events:
        assert (await events.until("counts"))["held"] == 0
        for _ in range(6):
            await seed_comment(services, db, site.id, article="burst")
        seen = await events.events_within(1.6)
        assert [name for name, _ in seen].count("queue:new") == 6
        counts = [data for name, data in seen if name == "counts"]
        assert 1 <= len(counts) <= 2, seen
        if counts[-1]["held"] != 6:
            assert (await events.until("counts"))["held"] == 6


async def test_presence_shows_who_else_looks_at_a_comment(live, db):
    services = live.services
    site = await make_site(services, db)
    ana = await _staff(db, "moderator", site.id, "Ana")
    bea = await _staff(db, "moderator", site.id, "Bea")
    held = await seed_comment(services, db, site.id)
    async with live.http() as http, stream(http, bea, site.id) as bea_events:
        looked = await http.post(f"{API}/presence", params=site.q(), json={"comment_id": held.id}, headers=ana)
        assert looked.status_code == 200, looked.text
        assert looked.json() == {"comment_id": held.id, "site_id": site.id, "viewers": []}
        assert await bea_events.until("presence") == {"comment_id": held.id, "site_id": site.id,
                                                      "viewers": ["Ana"]}
        # Bea opens it too: she is told Ana is there; a console that connects now hears of both
        looked = await http.post(f"{API}/presence", params=site.q(), json={"comment_id": held.id}, headers=bea)
        assert looked.json()["viewers"] == ["Ana"]
        async with stream(http, ana, site.id) as ana_events:
            assert await ana_events.until("presence") == {"comment_id": held.id, "site_id": site.id,
                                                          "viewers": ["Bea"]}
        # Ana's console closed: she looks at nothing any more
        assert await bea_events.until("presence", viewers=[]) == {"comment_id": held.id, "site_id": site.id,
                                                                  "viewers": []}
        missing = await http.post(f"{API}/presence", json={"comment_id": 2**62}, headers=ana)
        assert missing.status_code == 404 and missing.json()["code"] == "comment_not_found"
        bad = await http.post(f"{API}/presence", json={"comment_id": "x", "extra": 1}, headers=ana)
        assert bad.status_code == 400
        cleared = await http.post(f"{API}/presence", params=site.q(), json={"comment_id": None}, headers=bea)
        assert cleared.json() == {"comment_id": None, "site_id": site.id, "viewers": []}


async def test_two_moderators_deciding_at_once_get_one_decision_and_who_made_it(live, db):
    services = live.services
    site = await make_site(services, db)
    ana = await _staff(db, "moderator", site.id, "Ana")
    bea = await _staff(db, "moderator", site.id, "Bea")
    async with live.http() as http:
        for second in ({"action": "approve"}, {"action": "reject", "reason": "spam"}):
            held = await seed_comment(services, db, site.id, article="race")
            url = f"{API}/comments/{held.id}/decision"
            a, b = await asyncio.gather(http.post(url, json={"action": "approve"}, headers=ana),
                                        http.post(url, json=second, headers=bea))
            assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE comment_id = $1", held.id) == 1
            winner_name = await db.fetchval("SELECT actor_name FROM moderation_actions WHERE comment_id = $1", held.id)
            winner, loser = (a, b) if winner_name == "Ana" else (b, a)
            assert winner.status_code == 200 and winner.json()["changed"] is True, winner.text
            assert winner.json()["decided_by_name"] == winner_name
            if loser.status_code == 200:  # the same decision: nothing to do, and who did it
                assert loser.json()["outcome"] == "unchanged"
                assert loser.json()["decided_by_name"] == winner_name
                assert loser.json()["decided_by"] == winner.json()["decided_by"]
            else:
                assert loser.status_code == 409 and loser.json()["code"] == "already_decided"
                assert f"decided by {winner_name}" in loser.json()["detail"]


async def test_streams_are_bounded_per_address_and_in_time(serve, services, db):
    site = await make_site(services, db)
    async with serve(COMMENTS_LIVE_MAX_PER_IP="2", COMMENTS_LIVE_MAX_SECONDS="1.5") as running:
        mod = await _staff(db, "moderator", site.id, "Capped")
        async with running.http() as http, stream(http, mod, site.id) as first, stream(http, mod, site.id):
            refused = await http.get(f"{API}/events", params=site.q(), headers=mod)
            assert refused.status_code == 429 and refused.json()["code"] == "too_many_streams"
            assert int(refused.headers["retry-after"]) > 0
            started = time.monotonic()
            with pytest.raises(EOFError):
                while True:
                    await first.next(timeout=5)
            assert time.monotonic() - started < 3
            assert first.retry is not None and first.retry >= 3000


async def test_open_streams_end_promptly_when_the_server_stops(storage, database, services, db):
    site = await make_site(services, db)
    mod = await _staff(db, "moderator", site.id, "Night shift")
    with ServiceProcess(storage.env()) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http, stream(http, mod, site.id) as events:
            await events.until("counts")
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            # the server ends the stream; it does not wait on it until its graceful timeout
            with pytest.raises(EOFError):
                while True:
                    await events.next(timeout=5)
            assert time.monotonic() - started < 5
