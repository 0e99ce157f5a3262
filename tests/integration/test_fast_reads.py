"""Public reads of thread pages and counts, the same on every path that answers them.

Three servers answer the same assertions: the real server with its own HTTP protocol, which writes
the fast path's answers itself (server.py, ``protocol``); the same app through plain ASGI, where the
fast path is a layer in front of the framework (api/fast_reads.py, ``asgi``: uvicorn's own protocol,
as under any other ASGI server); and the real server with the fast path off, where the route
handlers answer (``handlers``). Each test reads a page twice, so that the second read finds it held
in the process and, on the first two, is answered by the fast path (which the test checks).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
from collections.abc import AsyncIterator

import brotli
import httpx
import pytest

from tests.support.apps import live_app
from tests.support.listeners import cut_own_pending
from tests.support.seeding import seed_comment
from tests.support.sites import NEWS_ORIGIN, article_body, make_site
from tests.support.tokens import bearer, staff_token

SLOW_OK = {"COMMENTS_REDIS_TIMEOUT": "2"}  # see test_cache.py: correctness, not timeouts


@pytest.fixture(scope="module", params=["protocol", "asgi", "handlers"])
async def path(request, serve, storage):
    if request.param == "protocol":
        context = serve(**SLOW_OK)
    elif request.param == "asgi":
        context = live_app(storage, asgi_only=True, **SLOW_OK)
    else:
        context = serve(**SLOW_OK, COMMENTS_FAST_READS="false")
    async with context as live:
        live.kind = request.param
        yield live


@pytest.fixture
async def http(path) -> AsyncIterator[httpx.AsyncClient]:
    # no automatic Accept-Encoding: each test says what it accepts
    async with path.http(headers={"Accept-Encoding": "identity"}) as client:
        yield client


@pytest.fixture
async def site(path, db):
    return await make_site(path.services, db)


def fast_answers(live) -> int:
    """Requests the fast path answered: under ``protocol``, only those the server's protocol wrote
    itself count (its ASGI layer must not be what answered them there)."""
    fast = live.app.asgi_handler
    return fast.written if live.kind == "protocol" else fast.answered - fast.written


async def read_twice(http, live, url: str, **kwargs) -> tuple[httpx.Response, httpx.Response]:
    """The first read fills the cache; the second is answered from it (by the fast path where it runs)."""
    first = await http.get(url, **kwargs)
    for _ in range(50):
        before = fast_answers(live)
        second = await http.get(url, **kwargs)
        if live.kind == "handlers" or fast_answers(live) > before:
            return first, second
        await asyncio.sleep(0.05)  # the process's copy may still be filling from Redis
    raise AssertionError("a page read twice should be answered by the fast path the second time")


def article() -> str:
    return "fast-" + secrets.token_hex(4)


async def post(http, site, article_id: str, text: str, sub: str = "reader-1") -> dict:
    response = await http.post(f"/api/v1/articles/{article_id}/comments", params=site.q(),
                               json=article_body(text), headers=site.auth(site.sso_token(sub=sub)))
    assert response.status_code == 201, response.text
    return response.json()["comment"]


def page_url(site, article_id: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"site": site.id, **params}.items())
    return f"/api/v1/articles/{article_id}/comments?{query}"


async def test_a_cached_page_is_answered_with_its_headers(http, path, site):
    a = article()
    await post(http, site, a, "first")
    # as the widget asks (its language in every request)
    first, second = await read_twice(http, path, page_url(site, a, sort="oldest", lang="ru"),
                                     headers={"X-Request-Id": "reader-quoted-1234"})
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"].startswith("public, max-age=2, s-maxage=")
        assert response.headers["vary"] == "Origin, Authorization, Accept-Encoding"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-request-id"] == "reader-quoted-1234"
        assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(response.content)
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert [c["body_html"] for c in second.json()["comments"]] == ["<p>first</p>"]
    # a request id that is not well-formed is replaced, on either path
    _, bad = await read_twice(http, path, page_url(site, a), headers={"X-Request-Id": "no spaces allowed"})
    assert len(bad.headers["x-request-id"]) == 32


async def test_a_page_is_sent_compressed_once_as_the_reader_accepts(http, path, site):
    a = article()
    for i in range(30):  # well over the size under which nothing is compressed
        await post(http, site, a, f"comment number {i} with a few words to make the page longer", sub=f"r{i}")
    _, plain = await read_twice(http, path, page_url(site, a))
    tags = {plain.headers["etag"]}
    for accepted, coding, decode in (("gzip, deflate, br, zstd", "br", brotli.decompress),
                                     ("gzip", "gzip", gzip.decompress),
                                     ("br;q=0, gzip;q=0.5", "gzip", gzip.decompress)):
        _, response = await read_twice(http, path, page_url(site, a), headers={"Accept-Encoding": accepted})
        async with http.stream("GET", page_url(site, a), headers={"Accept-Encoding": accepted}) as streamed:
            sent = b"".join([chunk async for chunk in streamed.aiter_raw()])  # as it came, not decoded
        assert response.headers["content-encoding"] == streamed.headers["content-encoding"] == coding, accepted
        assert int(streamed.headers["content-length"]) == len(sent) < len(plain.content)
        assert decode(sent) == plain.content == response.content
        assert "Accept-Encoding" in response.headers["vary"]
        tags.add(response.headers["etag"])
    assert len(tags) == 3  # one tag per representation: plain, gzip, br


async def test_if_none_match_answers_304_for_any_encoding_of_the_same_page(http, path, site):
    a = article()
    await post(http, site, a, "x " * 600)
    _, plain = await read_twice(http, path, page_url(site, a))
    _, brotli_page = await read_twice(http, path, page_url(site, a), headers={"Accept-Encoding": "br"})
    plain_tag, brotli_tag = plain.headers["etag"], brotli_page.headers["etag"]
    # each answered with the tag of the copy the client holds, whatever it would be sent now
    for held, tag in ((plain_tag, plain_tag), (brotli_tag, brotli_tag), (f"W/{plain_tag}", plain_tag),
                      (f'"other", {plain_tag}', plain_tag), ("*", plain_tag)):
        _, response = await read_twice(http, path, page_url(site, a), headers={"If-None-Match": held,
                                                                              "Origin": NEWS_ORIGIN})
        assert response.status_code == 304, held
        assert response.content == b""
        assert response.headers["etag"] == tag, held
        assert response.headers["cache-control"].startswith("public")
        assert response.headers["access-control-allow-origin"] == NEWS_ORIGIN
    # a list given in two header lines is one list
    _, response = await read_twice(http, path, page_url(site, a),
                                   headers=[("If-None-Match", '"other"'), ("If-None-Match", plain_tag)])
    assert response.status_code == 304
    # a new comment changes the page, and with it the tag: the old one gets the whole page
    await post(http, site, a, "second")
    _, response = await read_twice(http, path, page_url(site, a), headers={"If-None-Match": plain.headers["etag"]})
    assert response.status_code == 200 and response.headers["etag"] != plain.headers["etag"]
    assert len(response.json()["comments"]) == 2


async def test_cors_is_answered_per_site_and_origin(http, path, site, db):
    a = article()
    await post(http, site, a, "hello")
    _, allowed = await read_twice(http, path, page_url(site, a), headers={"Origin": site.origin})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == site.origin
    assert allowed.headers["access-control-expose-headers"] == "x-request-id, retry-after"
    assert "Origin" in allowed.headers.get_list("vary")
    before = fast_answers(path)
    refused = await http.get(page_url(site, a), headers={"Origin": "https://elsewhere.example"})
    assert refused.status_code == 403 and refused.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers
    # another site's page is not this origin's to read, though it is held
    other = await make_site(path.services, db)
    await post(http, other, a, "other site's")
    await read_twice(http, path, page_url(other, a))
    crossed = await http.get(page_url(other, a), headers={"Origin": site.origin})
    assert crossed.status_code == 403
    twice = await http.get(page_url(site, a), headers=[("Origin", site.origin), ("Origin", site.origin)])
    assert twice.status_code == 400
    assert fast_answers(path) == before + (1 if path.kind != "handlers" else 0)  # other's second read alone


async def test_a_post_and_a_moderators_decision_show_at_once(http, path, site, db):
    a = article()
    await post(http, site, a, "one")
    await read_twice(http, path, page_url(site, a))
    await post(http, site, a, "two")
    response = await http.get(page_url(site, a))
    assert [c["body_html"] for c in response.json()["comments"]] == ["<p>one</p>", "<p>two</p>"]
    await read_twice(http, path, page_url(site, a))
    held = await seed_comment(path.services, db, site.id, article=a)
    mod = bearer(await staff_token(db, "moderator", site.id))
    decided = await http.post(f"/api/v1/moderation/comments/{held.id}/decision", params=site.q(),
                              json={"action": "approve"}, headers=mod)
    assert decided.status_code == 200, decided.text
    response = await http.get(page_url(site, a))
    assert held.id in [c["id"] for c in response.json()["comments"]]
    counts = await http.get("/api/v1/counts", params={"site": site.id, "article_ids": a})
    assert counts.json() == {"counts": {a: 3}}


async def test_counts_are_answered_from_the_process_and_revalidated(http, path, site):
    a, b = article(), article()
    await post(http, site, a, "one")
    # one count in Redis and one not: every path answers in the order asked, so with the same tag
    await http.get("/api/v1/counts", params={"site": site.id, "article_ids": a})
    first, second = await read_twice(http, path, f"/api/v1/counts?site={site.id}&article_ids={b}%0A{a}")
    assert first.content == second.content == f'{{"counts":{{"{b}":0,"{a}":1}}}}'.encode()
    assert first.headers["etag"] == second.headers["etag"]
    url = f"/api/v1/counts?site={site.id}&article_ids={a}%0A{b}%0A{a}"
    first, second = await read_twice(http, path, url, headers={"Origin": site.origin})
    for response in (first, second):
        assert response.json() == {"counts": {a: 1, b: 0}}
        assert response.headers["cache-control"].startswith("public, max-age=2")
        assert response.headers["access-control-allow-origin"] == site.origin
        assert response.headers["etag"] == first.headers["etag"]
    _, unchanged = await read_twice(http, path, url, headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    await post(http, site, b, "one for b")
    response = await http.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert response.status_code == 200 and response.json() == {"counts": {a: 1, b: 1}}


async def test_anything_unusual_is_answered_by_the_handlers(http, path, site):
    a = article()
    await post(http, site, a, "one")
    await read_twice(http, path, page_url(site, a))
    before = fast_answers(path)
    answers = {
        "repeated site": await http.get(f"/api/v1/articles/{a}/comments?site={site.id}&site={site.id}"),
        "no site": await http.get(f"/api/v1/articles/{a}/comments"),
        "limit 0": await http.get(page_url(site, a, limit=0)),
        "limit 101": await http.get(page_url(site, a, limit=101)),
        "sort": await http.get(page_url(site, a, sort="best")),
        "bad cursor": await http.get(page_url(site, a, cursor="nonsense")),
        "unknown site": await http.get(page_url(type("S", (), {"id": "nosuchsite"})(), a)),
        "counts without ids": await http.get(f"/api/v1/counts?site={site.id}"),
        "too many ids": await http.get("/api/v1/counts", params={
            "site": site.id, "article_ids": "\n".join(f"x{i}" for i in range(201))}),
    }
    # an encoded slash is no separator: these name no route (held or not, the article "a" is not theirs)
    for odd in (f"/api/v1/articles/{a}%2Fcomments?site={site.id}", f"/api/v1/articles%2F{a}/comments?site={site.id}",
                f"/api/v1%2Farticles/{a}/comments?site={site.id}", f"/api/v1%2Fcounts?site={site.id}&article_ids={a}"):
        answers[odd] = await http.get(odd)
    assert {name: r.status_code for name, r in answers.items() if not name.startswith("/")} == {
        "repeated site": 400, "no site": 400, "limit 0": 400, "limit 101": 400, "sort": 400, "bad cursor": 400,
        "unknown site": 404, "counts without ids": 400, "too many ids": 400}
    assert {r.status_code for name, r in answers.items() if name.startswith("/")} == {404}
    for name, response in answers.items():
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert response.headers["x-request-id"], name
    # an unknown parameter and a signed-in reader: the handlers answer, with the same page
    extra = await http.get(page_url(site, a, utm_source="feed"))
    signed_in = await http.get(page_url(site, a), headers=site.auth(site.sso_token(sub="someone")))
    assert extra.status_code == signed_in.status_code == 200
    assert signed_in.headers["cache-control"] == "private, max-age=0" and signed_in.content == extra.content
    assert fast_answers(path) == before


async def test_a_readers_own_pending_comment_reaches_that_reader_only(http, path, site, db):
    a = article()
    await post(http, site, a, "published")
    await read_twice(http, path, page_url(site, a))
    pending = await post(http, site, a, "awaiting a moderator", sub="writer")
    # held, as the moderation pipeline would leave it (invisible to others)
    await db.execute("UPDATE comments SET status = 'held' WHERE id = $1", pending["id"])
    await db.execute("UPDATE articles SET comment_count = comment_count - 1 WHERE site_id = $1 AND external_id = $2",
                     site.id, a)
    await path.services.cache.bump(site.id, a)
    own = await http.get(page_url(site, a), headers=site.auth(site.sso_token(sub="writer")))
    assert [c["id"] for c in own.json()["own_pending"]] == [pending["id"]]
    assert own.headers["cache-control"] == "private, max-age=0"
    _, public = await read_twice(http, path, page_url(site, a))
    assert public.json()["own_pending"] == [] and public.headers["etag"] != own.headers["etag"]
    assert pending["id"] not in [c["id"] for c in public.json()["comments"]]


async def test_the_fast_path_counts_in_metrics_and_the_access_log(http, path, site, caplog):
    a = article()
    await post(http, site, a, "one")
    await read_twice(http, path, page_url(site, a))
    route = 'route="/api/v1/articles/{article_id}/comments"'

    async def served() -> float:
        text = (await http.get("/metrics")).text
        lines = [line for line in text.splitlines() if line.startswith("comments_http_requests_total{")
                 and route in line and 'status="200"' in line and 'method="GET"' in line]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = await served()
    with caplog.at_level("INFO", logger="comments_service.access"):
        response = await http.get(page_url(site, a), headers={"X-Request-Id": "quoted-by-a-reader-42"})
    assert response.status_code == 200
    assert await served() == before + 1
    assert any("quoted-by-a-reader-42" in r.getMessage() and "/api/v1/articles/{article_id}/comments 200"
               in r.getMessage() for r in caplog.records)


async def test_counts_keep_their_rate_limit_on_the_fast_path(serve, db):
    async with serve(**SLOW_OK, COMMENTS_RATE_LIMITS="counts.ip=60:3") as live, \
            live.http(headers={"Accept-Encoding": "identity"}) as http:
        site = await make_site(live.services, db)
        url = f"/api/v1/counts?site={site.id}&article_ids=a%0Ab"
        live.kind = "protocol"
        refused_before = live.services.limiter.rejections.get("counts", 0)
        statuses = [(await http.get(url)).status_code for _ in range(6)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429, 429]
        assert live.app.asgi_handler.answered >= 1  # the second and third were held, and answered in front
        assert live.services.limiter.rejections["counts"] == refused_before + 3  # each refusal counted once
        refused = await http.get(url)
        assert refused.headers["retry-after"] and refused.json()["code"] == "rate_limited"


async def test_keep_alive_pipelining_and_http_1_0_on_the_servers_protocol(serve, db):
    async with serve(**SLOW_OK, COMMENTS_KEEP_ALIVE_SECONDS="1") as live:
        live.kind = "protocol"
        site = await make_site(live.services, db)
        a = article()
        async with live.http() as http:
            await post(http, site, a, "one")
            await read_twice(http, live, page_url(site, a))
        host, port = live.url.removeprefix("http://").split(":")
        request = f"GET {page_url(site, a)} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        reader, writer = await asyncio.open_connection(host, int(port))
        before = fast_answers(live)
        writer.write(request * 3)  # pipelined: answered in order
        for _ in range(3):
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            assert head.startswith("HTTP/1.1 200 OK\r\n")
            length = int(next(line.split(":")[1] for line in head.split("\r\n") if line.startswith("content-length")))
            assert json.loads(await reader.readexactly(length))["comments"][0]["body_html"] == "<p>one</p>"
        assert fast_answers(live) == before + 3
        # an idle keep-alive connection is closed after the keep-alive time, as uvicorn closes its own
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""
        writer.close()
        before = fast_answers(live)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request.replace(b"HTTP/1.1", b"HTTP/1.0"))
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # closed after the answer
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close\r\n" in answer
        assert fast_answers(live) == before + 1
        writer.close()
        # nothing after a request that closes the connection is read: here, a vote sent with it
        comment_id = json.loads(answer.partition(b"\r\n\r\n")[2])["comments"][0]["id"]
        vote = json.dumps({"value": 1}).encode()
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + (
            f"POST /api/v1/comments/{comment_id}/votes?site={site.id} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {site.sso_token(sub='voter')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(vote)}\r\n\r\n").encode() + vote)
        answer = await asyncio.wait_for(reader.read(), timeout=10)
        assert answer.count(b"HTTP/1.1 ") == 1 and b"connection: close\r\n" in answer
        writer.close()
        async with live.http() as http:
            response = await http.get(page_url(site, a), headers={"Accept-Encoding": "identity"})
        assert response.json()["comments"][0]["score"] == 0
        # a path that is not ASCII: refused as uvicorn refuses it, the connection closed
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /api/v1/articles/\xff/comments?site=x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), timeout=10)).startswith(b"HTTP/1.1 400 ")
        writer.close()


async def listening(live) -> None:
    """A signed-in reader's view is answered from memory only once the process hears the database
    (services/own_pending.py); with the fast path off, nothing listens."""
    own_pending = live.services.own_pending
    if live.kind == "handlers":
        assert own_pending is None
    else:
        assert await own_pending.wait_listening(10)


async def test_a_signed_in_reader_with_nothing_awaiting_review_is_answered_by_the_fast_path(http, path, site):
    a = article()
    await post(http, site, a, "one", sub="writer-3")
    await listening(path)
    auth = site.auth(site.sso_token(sub="reader-3"))
    public = await http.get(page_url(site, a))
    before = fast_answers(path)
    first = await http.get(page_url(site, a), headers=auth)
    assert fast_answers(path) == before  # not yet known: the handler looks and answers
    _, second = await read_twice(http, path, page_url(site, a), headers=auth)
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=0"
        assert response.headers["vary"] == "Authorization, Accept-Encoding"
        assert response.content == public.content and response.headers["etag"] == public.headers["etag"]
    # a token sent twice, one this process has not verified, or one of another kind: the handlers
    before = fast_answers(path)
    twice = await http.get(page_url(site, a), headers=[("Authorization", auth["Authorization"])] * 2)
    other = await http.get(page_url(site, a), headers=site.auth(site.sso_token(sub="reader-3", expires_in=600)))
    basic = await http.get(page_url(site, a), headers={"Authorization": "Basic cmVhZGVyOnB3"})
    assert (twice.status_code, other.status_code, basic.status_code) == (400, 200, 401)
    assert fast_answers(path) == before


async def test_a_signed_in_readers_comment_held_anywhere_reaches_them_at_once(http, path, site, db):
    a = article()
    await post(http, site, a, "published", sub="writer-4")
    await listening(path)
    auth = site.auth(site.sso_token(sub="writer-4"))
    others = site.auth(site.sso_token(sub="reader-4"))
    _, known = await read_twice(http, path, page_url(site, a), headers=auth)
    await read_twice(http, path, page_url(site, a), headers=others)
    # their next comment held by the scoring worker, another process: the public page does not
    # change (nothing retires it), and only the database's notification tells this process
    writer = await db.fetchval("SELECT id FROM users WHERE site_id = $1 AND kind = 'sso' AND external_id = $2",
                               site.id, "writer-4")
    held = await seed_comment(path.services, db, site.id, article=a, status="held", author_id=writer)
    if path.kind != "handlers":
        for _ in range(500):
            if not path.services.own_pending.known_clear(site.id, a, "s:writer-4"):
                break
            await asyncio.sleep(0.01)
    before = fast_answers(path)
    own = await http.get(page_url(site, a), headers=auth)
    assert [c["id"] for c in own.json()["own_pending"]] == [held.id]
    assert own.json()["comments"] == known.json()["comments"]
    assert fast_answers(path) == before
    # another reader's view is the public one, still answered from memory
    _, theirs = await read_twice(http, path, page_url(site, a), headers=others)
    assert theirs.content == known.content


async def test_signed_in_readers_go_through_the_handlers_while_the_database_is_not_heard(http, path, site, db):
    if path.kind == "handlers":
        pytest.skip("the handlers answer every signed-in reader: nothing to stop")
    a = article()
    await post(http, site, a, "one", sub="writer-5")
    await listening(path)
    auth = site.auth(site.sso_token(sub="reader-5"))
    await read_twice(http, path, page_url(site, a), headers=auth)
    own_pending = path.services.own_pending
    await cut_own_pending(db, own_pending)
    before = fast_answers(path)
    response = await http.get(page_url(site, a), headers=auth)
    assert response.status_code == 200 and fast_answers(path) == before
    # heard again: the handler looks once more, then memory answers
    assert await own_pending.wait_listening(10)
    await read_twice(http, path, page_url(site, a), headers=auth)
