"""Guests' proof of work over HTTP (services/guest_challenge.py): a guest post needs a solved
challenge, once; the honeypot field refuses a post and stores nothing; signed-in readers need none;
a busy address gets harder challenges. The test env switches the challenge off; these turn it on."""

from __future__ import annotations

import secrets

from comments_service.domain import challenges
from comments_service.domain.challenges import Challenge
from comments_service.services import guest_challenge
from tests.support.apps import other_app
from tests.support.sites import article_body, make_site

API = "/api/v1"
ON = {"COMMENTS_GUEST_CHALLENGE": "on"}
PROXIED = {**ON, "COMMENTS_TRUSTED_PROXIES": "127.0.0.1/32"}
# the difficulty test asks from one address more often than its rate limit lets a reader
UNLIMITED = {**PROXIED, "COMMENTS_RATE_LIMITS": "challenge.ip=0:1"}


def an_address() -> str:
    """A public address of its own (TEST-NET-3 is too small to keep tests apart): its counters are fresh."""
    return f"100.{secrets.randbelow(60) + 64}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def solved(http, site, headers=None) -> str:
    r = await http.get(f"{API}/challenge", params=site.q(), headers=headers or {})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    c = Challenge(**r.json())
    number = challenges.solve(c)
    assert number is not None
    return challenges.encode_solution(c, number)


async def test_a_guest_post_needs_a_solution_that_counts_once(services, db, storage):
    site = await make_site(services, db)
    article = f"{API}/articles/pow-1/comments"
    async with other_app(storage, **ON) as http:
        missing = await http.post(article, params=site.q(), json=article_body("hi", author_name="Guest"))
        assert missing.status_code == 400 and missing.json()["code"] == "challenge_required", missing.text

        payload = await solved(http, site)
        posted = await http.post(article, params=site.q(),
                                 json=article_body("hi", author_name="Guest", challenge=payload))
        assert posted.status_code == 201, posted.text

        replayed = await http.post(article, params=site.q(),
                                   json=article_body("again", author_name="Guest", challenge=payload))
        assert replayed.status_code == 409 and replayed.json()["code"] == "challenge_used", replayed.text

        # a returning guest (their guest token) pays too: one solution does not buy a token that posts at will
        guest = site.auth(posted.json()["guest_token"])
        again = await http.post(article, params=site.q(), headers=guest, json=article_body("more"))
        assert again.status_code == 400 and again.json()["code"] == "challenge_required"
        paid = await http.post(article, params=site.q(), headers=guest,
                               json=article_body("more", challenge=await solved(http, site)))
        assert paid.status_code == 201, paid.text

        # another site's solution, or garbage: refused in the catalogue's words
        other = await make_site(services, db)
        theirs = await solved(http, other)
        wrong_site = await http.post(article, params=site.q(),
                                     json=article_body("x", author_name="Guest", challenge=theirs))
        assert wrong_site.status_code == 400 and wrong_site.json()["code"] == "challenge_invalid"
        garbage = await http.post(article, params=site.q(),
                                  json=article_body("x", author_name="Guest", challenge="bm90IGl0"))
        assert garbage.status_code == 400 and garbage.json()["code"] == "challenge_invalid"

        page = (await http.get(article, params=site.q())).json()
        assert [c["body_html"] for c in page["comments"]] == ["<p>hi</p>", "<p>more</p>"]


async def test_signed_in_readers_need_no_challenge(services, db, storage):
    site = await make_site(services, db)
    async with other_app(storage, **ON) as http:
        r = await http.post(f"{API}/articles/pow-2/comments", params=site.q(),
                            headers=site.auth(site.sso_token()), json=article_body("signed in"))
        assert r.status_code == 201, r.text


async def test_the_honeypot_refuses_and_stores_nothing(services, db, storage):
    site = await make_site(services, db)
    async with other_app(storage, **ON) as http:
        before = await db.fetchval("SELECT count(*) FROM comments")
        for headers, extra in (({}, {"author_name": "Bot", "challenge": await solved(http, site)}),
                               (site.auth(site.sso_token()), {})):
            r = await http.post(f"{API}/articles/pow-3/comments", params=site.q(), headers=headers,
                                json=article_body("buy now", website="https://spam.example", **extra))
            assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
            assert "website" not in r.text.lower() and "honeypot" not in r.text.lower()
        assert await db.fetchval("SELECT count(*) FROM comments") == before
        assert await db.fetchval("SELECT count(*) FROM articles WHERE site_id = $1", site.id) == 0
        # empty, as a person leaves it: no refusal
        r = await http.post(f"{API}/articles/pow-3/comments", params=site.q(),
                            json=article_body("hello", author_name="Person", website="",
                                              challenge=await solved(http, site)))
        assert r.status_code == 201, r.text


async def test_the_route_answers_only_where_guests_may_comment(services, db, storage, client):
    closed = await make_site(services, db, guests=False)
    site = await make_site(services, db)
    async with other_app(storage, **ON) as http:
        r = await http.get(f"{API}/challenge", params=closed.q())
        assert r.status_code == 403 and r.json()["code"] == "guests_not_allowed"
        # the thread tells the widget so, and it does not ask (nor log the 403 as a page error)
        for where, expected in ((closed, False), (site, True)):
            thread = await http.get(f"{API}/articles/pow-guests/comments", params=where.q())
            assert thread.json()["article"]["guest_commenting"] is expected
        r = await http.get(f"{API}/challenge")
        assert r.status_code == 400 and r.json()["code"] == "site_required"
    # switched off (the test env): the widget is told none is needed, and guests post without
    r = await client.get(f"{API}/challenge", params=site.q())
    assert r.status_code == 204 and not r.content
    r = await client.post(f"{API}/articles/pow-4/comments", params=site.q(), json=article_body("x", author_name="G"))
    assert r.status_code == 201, r.text


async def test_difficulty_rises_for_a_busy_address_and_its_network(services, db, serve):
    site = await make_site(services, db)
    busy, neighbour = an_address(), None
    base = guest_challenge.BASE_MAXNUMBER
    async with serve(**UNLIMITED) as live, live.http() as http:
        async def maxnumber(ip: str) -> int:
            r = await http.get(f"{API}/challenge", params=site.q(), headers={"X-Forwarded-For": ip})
            assert r.status_code == 200, r.text
            return r.json()["maxnumber"]

        asked = guest_challenge.ADDRESS_FREE + 2 * guest_challenge.ADDRESS_STEP + 1
        seen = [await maxnumber(busy) for _ in range(asked)]
        assert seen[0] == base and seen[guest_challenge.ADDRESS_FREE - 1] == base
        assert seen[guest_challenge.ADDRESS_FREE] == 2 * base
        assert seen[-1] == 8 * base, seen
        # a guest post counts too
        payload = await solved(http, site, {"X-Forwarded-For": busy})
        r = await http.post(f"{API}/articles/pow-5/comments", params=site.q(), headers={"X-Forwarded-For": busy},
                            json=article_body("busy", author_name="Busy", challenge=payload))
        assert r.status_code == 201, r.text
        assert await maxnumber(busy) == 8 * base

        # a neighbour on the same /24 is not yet slowed by one busy address ...
        prefix = busy.rsplit(".", 1)[0]
        neighbour = f"{prefix}.{(int(busy.rsplit('.', 1)[1]) % 250) + 2}"
        assert await maxnumber(neighbour) == base
        # ... but a network that asks a lot is, however many addresses it spreads over
        for i in range(guest_challenge.NETWORK_FREE):
            await maxnumber(f"{prefix}.{i % 250 + 1}")
        assert await maxnumber(neighbour) >= 2 * base
        # capped
        for _ in range(guest_challenge.ADDRESS_STEP * (guest_challenge.MAX_DOUBLINGS + 1)):
            last = await maxnumber(busy)
        assert last == base << guest_challenge.MAX_DOUBLINGS
        # an address elsewhere still gets the normal level
        assert await maxnumber(an_address()) == base
        # what the counting leaves in Redis goes by itself
        redis, prefix = live.services.redis, live.services.settings.redis.prefix
        keys = [k async for k in redis.scan_iter(match=f"{prefix}pow:*")]
        ttls = [await redis.ttl(k) for k in keys]
        assert keys and all(0 < ttl <= guest_challenge.TTL_SECONDS for ttl in ttls), ttls


async def test_asking_for_challenges_is_rate_limited_per_address(services, db, serve):
    site = await make_site(services, db)
    busy = an_address()
    async with serve(**PROXIED) as live, live.http() as http:
        codes = [(await http.get(f"{API}/challenge", params=site.q(), headers={"X-Forwarded-For": busy})).status_code
                 for _ in range(25)]
        assert codes[:20] == [200] * 20 and codes[-1] == 429, codes
        refused = await http.get(f"{API}/challenge", params=site.q(), headers={"X-Forwarded-For": busy})
        assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
        # another address is not held up by it
        assert (await http.get(f"{API}/challenge", params=site.q(),
                               headers={"X-Forwarded-For": an_address()})).status_code == 200


async def test_a_solution_is_good_only_from_the_network_that_asked(services, db, serve):
    site = await make_site(services, db)
    asker = an_address()
    elsewhere = f"{(int(asker.split('.')[0]) % 200) + 11}.{asker.split('.', 1)[1]}"
    async with serve(**PROXIED) as live, live.http() as http:
        payload = await solved(http, site, {"X-Forwarded-For": asker})
        body = article_body("farmed elsewhere", author_name="Farm", challenge=payload)
        r = await http.post(f"{API}/articles/pow-net/comments", params=site.q(), json=body,
                            headers={"X-Forwarded-For": elsewhere})
        assert r.status_code == 400 and r.json()["code"] == "challenge_invalid", r.text
        # a neighbour on the same /24 (a carrier's pool, a new lease) may spend it
        neighbour = f"{asker.rsplit('.', 1)[0]}.{(int(asker.rsplit('.', 1)[1]) % 250) + 2}"
        r = await http.post(f"{API}/articles/pow-net/comments", params=site.q(), json=body,
                            headers={"X-Forwarded-For": neighbour})
        assert r.status_code == 201, r.text


async def test_a_replay_is_refused_while_redis_is_down(services, db, storage):
    site = await make_site(services, db)
    async with other_app(storage, **ON, COMMENTS_REDIS_URL="redis://127.0.0.1:1/0") as http:
        payload = await solved(http, site)
        body = article_body("no redis", author_name="Guest", challenge=payload)
        first = await http.post(f"{API}/articles/pow-6/comments", params=site.q(), json=body)
        assert first.status_code == 201, first.text
        replayed = await http.post(f"{API}/articles/pow-6/comments", params=site.q(), json=body)
        assert replayed.status_code == 409 and replayed.json()["code"] == "challenge_used", replayed.text
