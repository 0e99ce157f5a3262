"""A CDN in front of the public reads, through HTTP against the real app, PostgreSQL and Redis: the
caching headers of anonymous and signed-in answers, and the purge call a visible change sends, as a
real HTTP receiver on 127.0.0.1 gets it (the operator's URL, method, headers and body template, with
the changed article's surrogate key filled in). A purge endpoint that fails never fails a post."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote

import pytest
from prometheus_client import REGISTRY

from comments_service.services.cdn_purge import ATTEMPTS, article_key, site_key
from comments_service.settings import Settings, SettingsError
from tests.support.purge_receiver import WAIT_S, PurgeReceiver
from tests.support.seeding import seed_comment
from tests.support.servers import free_port
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

API = "/api/v1"


@pytest.fixture(scope="module")
async def receiver():
    found = await PurgeReceiver().start()
    yield found
    await found.stop()


@pytest.fixture(scope="module")
async def live(serve, receiver):
    async with serve(COMMENTS_CDN_PURGE_URL=f"http://127.0.0.1:{receiver.port}/purge/{{keys}}",
                     COMMENTS_CDN_PURGE_METHOD="PURGE",
                     COMMENTS_CDN_PURGE_HEADERS="Authorization: Bearer cdn-api-token; X-Zone: zone-1",
                     COMMENTS_CDN_PURGE_BODY='{"tags": {keys_json}}',
                     COMMENTS_CDN_S_MAXAGE="600", COMMENTS_CDN_STALE_WHILE_REVALIDATE="30") as running:
        yield running


@pytest.fixture(scope="module")
async def http(live):
    async with live.http() as client:
        yield client


@pytest.fixture
async def cdn_site(live, db):
    return await make_site(live.services, db)


@pytest.fixture(autouse=True)
def answering(receiver):
    receiver.status = 200


def failed() -> float:
    return REGISTRY.get_sample_value("comments_cdn_purges_total", {"outcome": "failed"}) or 0.0


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in ",".join(response.headers.get_list("vary")).split(",") if v.strip()}


async def test_anonymous_thread_pages_are_cacheable_by_article_and_site(http, cdn_site):
    r = await http.get(f"{API}/articles/story-1/comments", params=cdn_site.q(sort="newest"))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, max-age=2, s-maxage=600, stale-while-revalidate=30"
    keys = [article_key(cdn_site.id, "story-1"), site_key(cdn_site.id)]
    assert r.headers["surrogate-key"] == " ".join(keys)
    assert r.headers["cache-tag"] == ",".join(keys)
    assert {"origin", "authorization"} <= _vary(r)
    # keys are hashes: any article id (spaces, commas, quotes, non-Latin text) is one safe token
    odd = 'a b,c"d/é'
    r = await http.get(f"{API}/articles/{odd.replace('/', '%2F')}/comments", params=cdn_site.q())
    assert r.status_code == 200, r.text
    assert r.headers["surrogate-key"].split() == [article_key(cdn_site.id, odd), site_key(cdn_site.id)]
    assert article_key(cdn_site.id, odd).removeprefix("cs-a-").isalnum()


async def test_a_cross_origin_answer_varies_by_origin(http, cdn_site):
    r = await http.get(f"{API}/articles/story-1/comments", params=cdn_site.q(), headers={"Origin": cdn_site.origin})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == cdn_site.origin
    assert "origin" in _vary(r) and "surrogate-key" in r.headers
    # the same page without an Origin says so too: a cache keeps it apart from the CORS answers
    r = await http.get(f"{API}/articles/story-1/comments", params=cdn_site.q())
    assert "access-control-allow-origin" not in r.headers and "origin" in _vary(r)


async def test_a_signed_in_readers_page_is_private_and_names_no_keys(http, cdn_site):
    token = cdn_site.sso_token(sub="cdn-reader")
    r = await http.post(f"{API}/articles/story-2/comments", params=cdn_site.q(), json=article_body("Mine"),
                        headers=cdn_site.auth(token))
    assert r.status_code == 201, r.text
    r = await http.get(f"{API}/articles/story-2/comments", params=cdn_site.q(), headers=cdn_site.auth(token))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, max-age=0"
    assert "surrogate-key" not in r.headers and "cache-tag" not in r.headers


async def test_counts_carry_every_articles_key(http, cdn_site):
    ids = ["story-3", "story-4", "story-3"]
    expected = [article_key(cdn_site.id, "story-3"), article_key(cdn_site.id, "story-4"), site_key(cdn_site.id)]
    r = await http.get(f"{API}/counts", params=cdn_site.q(article_ids="\n".join(ids)))
    assert r.status_code == 200, r.text
    assert r.json() == {"counts": {"story-3": 0, "story-4": 0}}
    assert r.headers["cache-control"] == "public, max-age=2, s-maxage=600, stale-while-revalidate=30"
    assert r.headers["surrogate-key"].split() == expected
    assert {"origin", "authorization"} <= _vary(r)
    r = await http.post(f"{API}/counts", params=cdn_site.q(), json={"article_ids": ids})
    assert r.status_code == 200, r.text
    assert r.headers["surrogate-key"].split() == expected


async def test_the_widgets_site_answer_is_kept_per_origin_and_purged_with_the_site(http, cdn_site):
    r = await http.get(f"{API}/site", params=cdn_site.q())
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, max-age=300"  # its own lifetime, not the pages'
    assert r.headers["surrogate-key"].split() == [site_key(cdn_site.id)] and "origin" in _vary(r)


async def test_without_a_purge_call_no_keys_are_named(serve, db):
    # keys serve only to purge; the caching headers themselves stay
    async with serve() as other:
        site = await make_site(other.services, db)
        async with other.http() as client:
            for r in (await client.get(f"{API}/articles/story-9/comments", params=site.q()),
                      await client.get(f"{API}/counts", params=site.q(article_ids="story-9"))):
                assert r.status_code == 200, r.text
                assert "surrogate-key" not in r.headers and "cache-tag" not in r.headers
                assert "s-maxage=" in r.headers["cache-control"] and "origin" in _vary(r)


@pytest.mark.parametrize("article_ids", ["", "a\x01b", "\n".join(f"a{i}" for i in range(201)), "a\n\nb"])
async def test_a_bad_counts_query_is_refused(http, cdn_site, article_ids):
    r = await http.get(f"{API}/counts", params=cdn_site.q(article_ids=article_ids))
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


@pytest.mark.parametrize(("query", "status"), [
    ("article_ids=%ED%A0%80", 200), ("article_ids=%FF%FE", 200),  # not UTF-8: read as U+FFFD, an id like any
    ("article_ids=" + "x" * 201, 400), ("article_ids=a&article_ids=b", 400), ("nothing=1", 400)])
async def test_a_hostile_counts_query_is_answered_or_refused(http, cdn_site, query, status):
    r = await http.get(f"{API}/counts?site={cdn_site.id}&{query}")
    assert r.status_code == status, r.text
    assert ("surrogate-key" in r.headers) == (status == 200)


async def test_a_post_purges_its_article_with_the_operators_call(http, cdn_site, receiver):
    key = article_key(cdn_site.id, "story-5")
    r = await http.post(f"{API}/articles/story-5/comments", params=cdn_site.q(), json=article_body("Hello"),
                        headers=cdn_site.auth(cdn_site.sso_token(sub="poster")))
    assert r.status_code == 201, r.text
    [purge] = await receiver.wait_for(key)
    assert purge["method"] == "PURGE"
    assert unquote(purge["target"]).removeprefix("/purge/").split() == [key]
    assert purge["headers"]["authorization"] == "Bearer cdn-api-token"
    assert purge["headers"]["x-zone"] == "zone-1"
    assert json.loads(purge["body"]) == {"tags": [key]}
    assert site_key(cdn_site.id) not in purge["headers"]["surrogate-key"]  # the rest of the site stays cached


async def test_a_burst_of_posts_on_one_article_is_one_purge(http, cdn_site, receiver):
    key = article_key(cdn_site.id, "story-6")
    token = cdn_site.sso_token(sub="burst")
    answers = await asyncio.gather(*(
        http.post(f"{API}/articles/story-6/comments", params=cdn_site.q(), json=article_body(f"Post {i}"),
                  headers=cdn_site.auth(token)) for i in range(5)))
    assert [a.status_code for a in answers] == [201] * 5
    assert len(await receiver.wait_for(key)) >= 1
    # five commits within the pause before a purge: at most a couple of calls, not five
    assert len(receiver.with_key(key)) < 5


async def test_a_moderators_approval_purges_the_article(http, live, db, cdn_site, receiver):
    held = await seed_comment(live.services, db, cdn_site.id, article="story-7")
    key = article_key(cdn_site.id, "story-7")
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', cdn_site.id)}"}
    r = await http.post(f"{API}/moderation/comments/{held.id}/decision", params=cdn_site.q(),
                        json={"action": "approve"}, headers=mod)
    assert r.status_code == 200 and r.json()["outcome"] == "approved", r.text
    assert len(await receiver.wait_for(key)) == 1


async def test_a_delete_purges_the_article(http, cdn_site, receiver):
    key = article_key(cdn_site.id, "story-8")
    auth = cdn_site.auth(cdn_site.sso_token(sub="deleter"))
    r = await http.post(f"{API}/articles/story-8/comments", params=cdn_site.q(), json=article_body("Oops"),
                        headers=auth)
    assert r.status_code == 201, r.text
    await receiver.wait_for(key)
    r = await http.delete(f"{API}/comments/{r.json()['comment']['id']}", params=cdn_site.q(), headers=auth)
    assert r.status_code == 204, r.text
    assert len(await receiver.wait_for(key, count=2)) == 2



async def test_a_vote_purges_the_article_a_little_later(http, cdn_site, receiver):
    key = article_key(cdn_site.id, "story-v")
    r = await http.post(f"{API}/articles/story-v/comments", params=cdn_site.q(), json=article_body("Vote on me"),
                        headers=cdn_site.auth(cdn_site.sso_token(sub="voted")))
    assert r.status_code == 201, r.text
    await receiver.wait_for(key)
    r = await http.post(f"{API}/comments/{r.json()['comment']['id']}/votes", params=cdn_site.q(), json={"value": 1},
                        headers=cdn_site.auth(cdn_site.sso_token(sub="voter")))
    assert r.status_code == 200, r.text
    # scores only: the purge waits for the article's other votes (LAZY_S), then comes
    assert len(await receiver.wait_for(key, count=2)) == 2

async def test_a_failing_purge_endpoint_never_fails_a_post(http, cdn_site, receiver):
    receiver.status = 503
    failed_before = failed()
    key = article_key(cdn_site.id, "story-9")
    r = await http.post(f"{API}/articles/story-9/comments", params=cdn_site.q(), json=article_body("Still here"),
                        headers=cdn_site.auth(cdn_site.sso_token(sub="unlucky")))
    assert r.status_code == 201, r.text
    page = (await http.get(f"{API}/articles/story-9/comments", params=cdn_site.q())).json()
    assert [c["body_html"] for c in page["comments"]] == ["<p>Still here</p>"]
    # retried a little, then given up and counted
    assert len(await receiver.wait_for(key, count=ATTEMPTS)) == ATTEMPTS
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while failed() == failed_before and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert failed() == failed_before + 1


async def test_an_unreachable_purge_endpoint_never_fails_a_post(serve, db):
    # a port nobody listens on: every attempt is refused
    async with serve(COMMENTS_CDN_PURGE_URL=f"http://127.0.0.1:{free_port()}/",
                     COMMENTS_CDN_PURGE_TIMEOUT="0.5") as other:
        site = await make_site(other.services, db)
        async with other.http() as client:
            r = await client.post(f"{API}/articles/story-10/comments", params=site.q(),
                                  json=article_body("Posted anyway"), headers=site.auth(site.sso_token()))
            assert r.status_code == 201, r.text
            page = (await client.get(f"{API}/articles/story-10/comments", params=site.q())).json()
            assert page["article"]["comment_count"] == 1



def test_purge_settings_are_checked_without_repeating_a_token():
    cfg = Settings.from_env({"COMMENTS_CDN_PURGE_URL": "https://api.fastly.com/service/x/purge",
                             "COMMENTS_CDN_PURGE_HEADERS": "Fastly-Key: tok-1;\nX-A: b c"}).cdn
    assert cfg.purge_headers == (("Fastly-Key", "tok-1"), ("X-A", "b c"))
    for env, name in [({"COMMENTS_CDN_PURGE_HEADERS": "Fastly-Key tok-secret"}, "COMMENTS_CDN_PURGE_HEADERS"),
                      ({"COMMENTS_CDN_PURGE_HEADERS": "Bad Name: tok-secret"}, "COMMENTS_CDN_PURGE_HEADERS"),
                      ({"COMMENTS_CDN_PURGE_URL": "ftp://user:tok-secret@cdn"}, "COMMENTS_CDN_PURGE_URL"),
                      ({"COMMENTS_CDN_PURGE_METHOD": "ban"}, "COMMENTS_CDN_PURGE_METHOD"),
                      ({"COMMENTS_CDN_S_MAXAGE": "-1"}, "COMMENTS_CDN_S_MAXAGE")]:
        with pytest.raises(SettingsError) as err:
            Settings.from_env(env)
        assert name in str(err.value) and "tok-secret" not in str(err.value)
