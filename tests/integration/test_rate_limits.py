"""Rate limits per user and per IP for posting, editing and voting, through HTTP from 127.0.0.1.

Each test runs its own server with its own limits and its own Redis key prefix, so that the
per-IP allowance of 127.0.0.1 is not shared between tests.

When Redis is unreachable the limiter falls back to the same GCRA limits kept in process memory
(``comments_service.ratelimit._LocalGCRA``): a subject over its allowance is still refused with
429, Retry-After and ``rate_limited``. The cost of that choice: with N API processes a subject may
get up to N times its allowance while Redis is away (each process counts alone), and the
in-process state is not merged back when Redis returns (Redis' own state takes over again). We
prefer that to refusing every write (Redis is not the system of record) or to no limit at all.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from tests.support.limits import limits_env
from tests.support.servers import free_port
from tests.support.sites import article_body, make_site

ACTIONS = ("post", "edit", "vote")



class Reader:
    def __init__(self, http, site, sub: str) -> None:
        self.http, self.site, self.sub = http, site, sub
        self.headers = site.auth(site.sso_token(sub=sub, name=sub))

    async def post(self, article: str, text: str = "hello"):
        return await self.http.post(f"/api/v1/articles/{article}/comments", params=self.site.q(),
                                    json=article_body(text), headers=self.headers)

    async def edit(self, comment_id: int):
        return await self.http.patch(f"/api/v1/comments/{comment_id}", params=self.site.q(),
                                     json={"body": "edited " + secrets.token_hex(2)}, headers=self.headers)

    async def vote(self, comment_id: int):
        return await self.http.post(f"/api/v1/comments/{comment_id}/votes", params=self.site.q(),
                                    json={"value": 1}, headers=self.headers)


def assert_limited(response, action: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    problem = response.json()
    assert problem["code"] == "rate_limited"
    assert problem["retry_after"] == int(response.headers["retry-after"])
    assert action in problem["detail"]


async def attempts(action: str, readers: list[Reader], author: Reader, article: str) -> list:
    """One ``action`` by each reader in turn; comments to edit or vote on are made beforehand."""
    if action == "post":
        return [await r.post(article) for r in readers]
    if action == "edit":
        own = {}
        for r in dict.fromkeys(readers):
            own[r] = [(await r.post(article)).json()["comment"]["id"] for _ in range(readers.count(r))]
        return [await r.edit(own[r].pop()) for r in readers]
    targets = [(await author.post(article)).json()["comment"]["id"] for _ in readers]
    return [await r.vote(c) for r, c in zip(readers, targets, strict=True)]


@pytest.mark.parametrize("action", ACTIONS)
async def test_per_user_limit(serve, storage, db, action):
    async with serve(**limits_env(storage, **{f"{action}_user": "3600:2"})) as live, live.http() as http:
        site = await make_site(live.services, db)
        me, other, author = Reader(http, site, "me"), Reader(http, site, "other"), Reader(http, site, "author")
        article = "rl-" + secrets.token_hex(3)
        responses = await attempts(action, [me, me, me], author, article)
        assert [r.status_code for r in responses[:2]] == [200 if action != "post" else 201] * 2
        assert_limited(responses[2], action)
        # another user from the same address is not affected
        later = await attempts(action, [other], author, article)
        assert later[0].status_code in (200, 201), later[0].text


@pytest.mark.parametrize("action", ACTIONS)
async def test_per_ip_limit(serve, storage, db, action):
    async with serve(**limits_env(storage, **{f"{action}_ip": "3600:3"})) as live, live.http() as http:
        site = await make_site(live.services, db)
        readers = [Reader(http, site, f"reader-{i}") for i in range(4)]
        responses = await attempts(action, readers, Reader(http, site, "author"), "rl-" + secrets.token_hex(3))
        assert all(r.status_code in (200, 201) for r in responses[:3]), [r.text for r in responses]
        assert_limited(responses[3], action)


async def test_parallel_burst_gets_exactly_the_allowance(serve, storage, db):
    allowed, n = 5, 24
    async with serve(**limits_env(storage, post_user=f"3600:{allowed}")) as live, live.http() as http:
        site = await make_site(live.services, db)
        me = Reader(http, site, "burst")
        article = "burst-" + secrets.token_hex(3)
        responses = await asyncio.gather(*(me.post(article, f"comment {i}") for i in range(n)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [201] * allowed + [429] * (n - allowed)
        thread = await http.get(f"/api/v1/articles/{article}/comments", params=site.q(limit=100))
        assert len(thread.json()["comments"]) == allowed


async def test_in_process_fallback_when_redis_is_down(serve, storage, db):
    """Redis unreachable: the same limits hold, counted in this process; reads and writes still work."""
    env = limits_env(storage, post_user="3600:2", vote_ip="3600:3")
    env["COMMENTS_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    async with serve(**env) as live, live.http() as http:
        site = await make_site(live.services, db)
        me = Reader(http, site, "me")
        article = "fallback-" + secrets.token_hex(3)
        responses = [await me.post(article) for _ in range(3)]
        assert [r.status_code for r in responses[:2]] == [201, 201]
        assert_limited(responses[2], "post")
        mine = [r.json()["comment"]["id"] for r in responses[:2]]
        votes = [await Reader(http, site, f"voter-{i}").vote(mine[i % 2]) for i in range(4)]
        assert [v.status_code for v in votes[:3]] == [200] * 3
        assert_limited(votes[3], "vote")
        thread = await http.get(f"/api/v1/articles/{article}/comments", params=site.q())
        assert thread.status_code == 200
        assert sorted(c["score"] for c in thread.json()["comments"]) == [1, 2]
        assert live.services.gate.last_error is not None
