"""Bans, suspensions and closed articles hold on every write a reader can make; votes and reports
count only from readers with standing; guests cannot be minted at will; someone else's hidden
comment answers exactly as a missing one. Through HTTP, on real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comments_service.db import scoring as scoring_repo
from tests.support.limits import limits_env
from tests.support.seeding import seed_comment
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1"


@pytest.fixture
async def mod(db, site):
    return {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}


async def post(client, site, token, article="guarded", text="Hello"):
    r = await client.post(f"{API}/articles/{article}/comments", params=site.q(), json=article_body(text),
                          headers=site.auth(token))
    assert r.status_code == 201, r.text
    return r.json()


async def vote(client, site, comment_id, value, headers):
    return await client.post(f"{API}/comments/{comment_id}/votes", params=site.q(), json={"value": value},
                             headers=headers)


async def report(client, site, comment_id, headers):
    return await client.post(f"{API}/comments/{comment_id}/reports", params=site.q(), json={"reason": "spam"},
                             headers=headers)


async def ban(client, site, mod, user_id, **extra):
    r = await client.post(f"{API}/moderation/users/{user_id}/ban", params=site.q(), json={"reason": "abuse", **extra},
                          headers=mod)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("suspended", [False, True], ids=["ban", "suspension"])
async def test_a_banned_reader_can_neither_edit_nor_vote_nor_report(client, db, site, mod, suspended):
    troll, other = site.sso_token(sub="troll-" + str(suspended)), site.sso_token(sub="other-" + str(suspended))
    mine = await post(client, site, troll, text="Mine")
    theirs = await post(client, site, other, text="Theirs")
    earlier = await post(client, site, other, text="Voted before the ban")
    r = await vote(client, site, earlier["comment"]["id"], 1, site.auth(troll))
    assert r.status_code == 200, r.text
    held = await seed_comment(client.app.state.services, db, site.id, article="guarded", status="held",
                              author_id=mine["user"]["id"], body="held text")
    until = (datetime.now(UTC) + timedelta(days=2)).isoformat() if suspended else None
    await ban(client, site, mod, mine["user"]["id"], **({"until": until} if until else {}))

    for comment_id in (mine["comment"]["id"], held.id):
        r = await client.patch(f"{API}/comments/{comment_id}", params=site.q(), json={"body": "new words"},
                               headers=site.auth(troll))
        assert (r.status_code, r.json()["code"]) == (403, "user_banned"), r.text
    r = await vote(client, site, theirs["comment"]["id"], 1, site.auth(troll))
    assert (r.status_code, r.json()["code"]) == (403, "user_banned"), r.text
    r = await report(client, site, theirs["comment"]["id"], site.auth(troll))
    assert (r.status_code, r.json()["code"]) == (403, "user_banned"), r.text

    # taking back a vote cast before the ban stays possible: it only undoes what counted
    r = await vote(client, site, earlier["comment"]["id"], 0, site.auth(troll))
    assert r.status_code == 200 and r.json()["score"] == 0, r.text

    # nothing of it was written
    assert await db.fetchval("SELECT body_markdown FROM comments WHERE id = $1", held.id) == "held text"
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", held.id) == "held"
    assert await db.fetchval("SELECT count(*) FROM votes WHERE comment_id = $1", theirs["comment"]["id"]) == 0
    assert await db.fetchval("SELECT count(*) FROM reports WHERE comment_id = $1", theirs["comment"]["id"]) == 0
    # taking one's own words down stays allowed unless the site says otherwise
    r = await client.delete(f"{API}/comments/{mine['comment']['id']}", params=site.q(), headers=site.auth(troll))
    assert r.status_code == 204, r.text


async def test_a_site_may_keep_banned_readers_from_deleting(client, services, db, mod):
    site = await make_site(services, db, settings={"banned_may_delete": False})
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    troll = site.sso_token(sub="troll")
    mine = await post(client, site, troll)
    await ban(client, site, mod, mine["user"]["id"])
    r = await client.delete(f"{API}/comments/{mine['comment']['id']}", params=site.q(), headers=site.auth(troll))
    assert (r.status_code, r.json()["code"]) == (403, "user_banned"), r.text
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", mine["comment"]["id"]) == "published"


async def test_a_closed_article_takes_no_edits_or_votes_but_deletes_and_reports(client, db, site, mod):
    author, reader = site.sso_token(sub="author"), site.sso_token(sub="reader")
    mine = await post(client, site, author, article="closing")
    r = await client.patch(f"{API}/moderation/articles/closing", params=site.q(), json={"comments_open": False},
                           headers=mod)
    assert r.status_code == 200, r.text
    comment_id = mine["comment"]["id"]
    r = await client.patch(f"{API}/comments/{comment_id}", params=site.q(), json={"body": "changed"},
                           headers=site.auth(author))
    assert (r.status_code, r.json()["code"]) == (403, "article_closed"), r.text
    r = await vote(client, site, comment_id, 1, site.auth(reader))
    assert (r.status_code, r.json()["code"]) == (403, "article_closed"), r.text
    r = await report(client, site, comment_id, site.auth(reader))
    assert r.status_code == 201, r.text
    r = await client.delete(f"{API}/comments/{comment_id}", params=site.q(), headers=site.auth(author))
    assert r.status_code == 204, r.text


async def guest_post(client, site, name, article="standing"):
    r = await client.post(f"{API}/articles/{article}/comments", params=site.q(),
                          json=article_body(f"Hello from {name}", author_name=name))
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_throwaway_guest_cannot_vote_or_report_until_published(client, db, site):
    target = await post(client, site, site.sso_token(sub="writer"), article="standing")
    target_id = target["comment"]["id"]
    # a guest whose only comment is held has no standing yet
    guest = await guest_post(client, site, "Throwaway")
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", guest["comment"]["id"])
    headers = site.auth(guest["guest_token"])
    r = await vote(client, site, target_id, 1, headers)
    assert (r.status_code, r.json()["code"]) == (403, "standing_required"), r.text
    r = await report(client, site, target_id, headers)
    assert (r.status_code, r.json()["code"]) == (403, "standing_required"), r.text
    assert await db.fetchval("SELECT score FROM comments WHERE id = $1", target_id) == 0

    # a comment published just now is not standing yet: a guest minted for the vote must wait
    await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", guest["comment"]["id"])
    r = await vote(client, site, target_id, 1, headers)
    assert (r.status_code, r.json()["code"]) == (403, "standing_required"), r.text

    # once it has stood for the site's while (an hour by default), their vote counts
    await db.execute("UPDATE comments SET created_at = now() - interval '61 minutes' WHERE id = $1",
                     guest["comment"]["id"])
    r = await vote(client, site, target_id, 1, headers)
    assert r.status_code == 200 and r.json()["score"] == 1, r.text


@pytest.mark.parametrize(("site_settings", "guest_may"), [({"votes_from": "anyone"}, True),
                                                     ({"established_after_minutes": 0}, True),
                                                     ({"votes_from": "sso"}, False)])
async def test_sites_choose_whose_votes_count(client, services, db, site_settings, guest_may):
    site = await make_site(services, db, settings=site_settings)
    target = await post(client, site, site.sso_token(sub="writer"), article="standing")
    guest = await guest_post(client, site, "Guest")  # published at once: scoring is off here
    r = await vote(client, site, target["comment"]["id"], 1, site.auth(guest["guest_token"]))
    assert r.status_code == (200 if guest_may else 403), r.text
    r = await vote(client, site, target["comment"]["id"], 1, site.auth(site.sso_token(sub="signed-in")))
    assert r.status_code == 200, r.text


async def test_one_address_cannot_mint_guests_at_will(serve, storage, services, db):
    site = await make_site(services, db)
    async with serve(**limits_env(storage, guest_ip="60:5")) as live, live.http() as http:
        statuses = []
        for n in range(12):
            r = await http.post(f"{API}/articles/mint/comments", params=site.q(),
                                json=article_body(f"Guest {n} here", author_name=f"G{n}"))
            statuses.append(r.status_code)
        assert statuses[:5] == [201] * 5, statuses
        assert set(statuses[5:]) == {429}, statuses
        assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) > 0
    assert await db.fetchval("SELECT count(*) FROM users WHERE site_id = $1 AND kind = 'guest'", site.id) == 5


@pytest.mark.parametrize("status", ["held", "pending_scoring", "rejected"])
async def test_someone_elses_hidden_comment_answers_as_a_missing_one(client, db, site, status):
    hidden = await seed_comment(client.app.state.services, db, site.id, status=status, article="oracle")
    prober = site.auth(site.sso_token(sub="prober"))
    await post(client, site, site.sso_token(sub="prober"), article="oracle")  # the prober is a known reader
    for method, kwargs in (("patch", {"json": {"body": "x"}}), ("delete", {})):
        hidden_answer = await getattr(client, method)(f"{API}/comments/{hidden.id}", params=site.q(), headers=prober,
                                                      **kwargs)
        missing_answer = await getattr(client, method)(f"{API}/comments/{hidden.id + 10_000_000}", params=site.q(),
                                                       headers=prober, **kwargs)
        assert hidden_answer.status_code == missing_answer.status_code == 404
        assert ({k: v for k, v in hidden_answer.json().items() if k != "request_id"}
                == {k: v for k, v in missing_answer.json().items() if k != "request_id"})


async def test_the_scoring_decision_never_publishes_a_banned_authors_comment(client, db, site, mod):
    author = site.sso_token(sub="pending-author")
    first = await post(client, site, author, article="scored")
    pending = await seed_comment(client.app.state.services, db, site.id, status="pending_scoring", reason=None,
                                 author_id=first["user"]["id"], article="scored")
    await ban(client, site, mod, first["user"]["id"])
    written = await scoring_repo.decide(db, pending.id, status="published", reason="ok", scores=None,
                                        model_id="m", detail=None, edited_at=pending.edited_at)
    assert written is False
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", pending.id) == "pending_scoring"
    contexts = await scoring_repo.contexts(db, [pending.id], 7)
    assert contexts[pending.id].author_banned is True


# Readers' addresses as a trusted proxy on this machine forwards them (public addresses: a ban
# never reaches a private one, which every reader shows behind an untrusted proxy)
TROLL_AT, NEIGHBOUR_V6_AT, ELSEWHERE_AT = "81.2.69.160", "2a00:1450:4001:80b::200e", "81.2.69.161"


async def test_a_banned_guest_cannot_come_back_as_a_new_guest(serve, services, db):
    site = await make_site(services, db)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    async with serve(COMMENTS_TRUSTED_PROXIES="127.0.0.1/32") as live, live.http() as http:
        async def as_guest(name: str, token: str | None = None, at: str = TROLL_AT):
            return await http.post(f"{API}/articles/return/comments", params=site.q(),
                                   json=article_body(f"{name} speaking", author_name=name),
                                   headers={"X-Forwarded-For": at, **(site.auth(token) if token else {})})
        first = await as_guest("Troll")
        assert first.status_code == 201, first.text
        other = await as_guest("Neighbour")  # another guest from the same address, made before the ban
        r = await http.post(f"{API}/moderation/users/{first.json()['user']['id']}/ban", params=site.q(),
                            json={"reason": "abuse"}, headers=mod)
        assert r.status_code == 200, r.text
        guests_before = await db.fetchval("SELECT count(*) FROM users WHERE site_id = $1 AND kind = 'guest'", site.id)
        for attempt in (await as_guest("Troll again"), await as_guest("Neighbour", other.json()["guest_token"])):
            assert (attempt.status_code, attempt.json()["code"]) == (403, "user_banned"), attempt.text
        assert await db.fetchval("SELECT count(*) FROM users WHERE site_id = $1 AND kind = 'guest'",
                                 site.id) == guests_before
        # signed-in readers at that address are not guests and are not caught by it
        r = await http.post(f"{API}/articles/return/comments", params=site.q(), json=article_body("Signed in"),
                            headers={"X-Forwarded-For": TROLL_AT, **site.auth(site.sso_token(sub="neighbour-sso"))})
        assert r.status_code == 201, r.text
        # guests elsewhere are not
        assert (await as_guest("Elsewhere", at=ELSEWHERE_AT)).status_code == 201


async def test_a_guest_ban_reaches_the_whole_ipv6_block_but_never_a_private_address(serve, services, db):
    site = await make_site(services, db)
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    async with serve(COMMENTS_TRUSTED_PROXIES="127.0.0.1/32") as live, live.http() as http:
        async def as_guest(name: str, at: str):
            return await http.post(f"{API}/articles/v6/comments", params=site.q(),
                                   json=article_body(f"{name} speaking", author_name=name),
                                   headers={"X-Forwarded-For": at})
        troll = await as_guest("Troll", NEIGHBOUR_V6_AT)
        behind_proxy = await as_guest("Proxied", "10.1.2.3")  # what an untrusted proxy's readers all show
        for user in (troll, behind_proxy):
            r = await http.post(f"{API}/moderation/users/{user.json()['user']['id']}/ban", params=site.q(),
                                json={"reason": "abuse"}, headers=mod)
            assert r.status_code == 200, r.text
        same_block = await as_guest("Troll again", "2a00:1450:4001:80b:ffff::1")
        assert (same_block.status_code, same_block.json()["code"]) == (403, "user_banned"), same_block.text
        assert (await as_guest("Next block", "2a00:1450:4001:80c::1")).status_code == 201
        assert (await as_guest("Colleague", "10.1.2.3")).status_code == 201
