"""Abuse: rate limits under a concurrent burst, vote and report stuffing, pathological markdown, and
the request size cap for chunked bodies, all through real HTTP servers.

- Bursts run against a real uvicorn (the ``serve`` fixture) with real limits; requests really
  run concurrently and come from 127.0.0.1, so per-IP limits apply.
- The chunked-body test speaks raw HTTP/1.1 over a socket to a `comments-service serve` process:
  the in-process test client cannot stream.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc

import pytest

from comments_service.domain.render import render_markdown
from tests.support.limits import limits_env
from tests.support.sites import article_body, make_site

# Benchmark (bench/RESULTS_reliability.md, "Pathological markdown"): the slowest 10,000-character
# input of PATHOLOGICAL below rendered in 0.15 s (open brackets) on the 2-core CI-class box, peak
# traced memory 4.6 MB. The budgets are 10x / ~3.5x that, so a loaded machine passes and a
# quadratic regression (100x at this size) fails.
BENCH_WORST_RENDER_S = 0.15
RENDER_BUDGET_S = 10 * BENCH_WORST_RENDER_S
RENDER_MEMORY_BUDGET_BYTES = 16 * 1024 * 1024
N = 10_000  # the body limit in characters
PATHOLOGICAL = {
    "nested_quotes": ">" * N,
    "nested_lists": "".join("  " * i + "- x\n" for i in range(400))[:N],
    "open_brackets": "[" * N,
    "unclosed_links": "[a](" * (N // 4),
    "emphasis_runs": "*a_" * (N // 3),
    "nested_emphasis": "*" * (N // 2 - 1) + "a" + "*" * (N // 2),
    "backticks": "`" * N,
    "entities": "&#106;" * (N // 6),
    "images": "![a](b)" * (N // 7),
    "angles": "<" * N,
    "nested_links": "[" * 3000 + "a" + "](b)" * 1500,
    "mixed": ("> - *[![x](javascript:y)](z)* `c` \n") * (N // 36),
}



async def comment_count(db, site_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id "
                             "WHERE a.site_id = $1", site_id)


def assert_limited(response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == "rate_limited"


@pytest.mark.parametrize("burst", [3, 5])
async def test_per_user_limit_holds_under_a_parallel_burst(serve, storage, services, db, burst):
    site = await make_site(services, db)
    async with serve(**limits_env(storage, post_user=f"60:{burst}")) as live, live.http() as http:
        headers = site.auth(site.sso_token(sub="burster", name="Burster"))
        results = await asyncio.gather(*(
            http.post("/api/v1/articles/burst/comments", params=site.q(), json=article_body(f"post {i}"),
                      headers=headers) for i in range(20)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == burst, codes
    for r in results:
        if r.status_code != 201:
            assert_limited(r)
    assert await comment_count(db, site.id) == burst


async def test_per_ip_limit_holds_across_many_users(serve, storage, services, db):
    site = await make_site(services, db)
    async with serve(**limits_env(storage, post_ip="60:4")) as live, live.http() as http:
        results = await asyncio.gather(*(
            http.post("/api/v1/articles/burst-ip/comments", params=site.q(), json=article_body(f"post {i}"),
                      headers=site.auth(site.sso_token(sub=f"user-{i}", name=f"User {i}"))) for i in range(16)))
    codes = [r.status_code for r in results]
    assert codes.count(201) == 4, codes
    for r in results:
        if r.status_code != 201:
            assert_limited(r)
    assert await comment_count(db, site.id) == 4


async def _target_comment(http, site) -> int:
    r = await http.post("/api/v1/articles/stuff/comments", params=site.q(), json=article_body("vote on me"),
                        headers=site.auth(site.sso_token(sub="author", name="Author")))
    assert r.status_code == 201, r.text
    return r.json()["comment"]["id"]


@pytest.mark.parametrize("values", [[1] * 50, [-1] * 50, [1, -1] * 25])
async def test_one_reader_cannot_stuff_votes(serve, storage, services, db, values):
    site = await make_site(services, db)
    async with serve() as live, live.http() as http:
        comment_id = await _target_comment(http, site)
        voter = site.auth(site.sso_token(sub="stuffer", name="Stuffer"))
        results = await asyncio.gather(*(
            http.post(f"/api/v1/comments/{comment_id}/votes", params=site.q(), json={"value": v}, headers=voter)
            for v in values))
        assert all(r.status_code in (200, 429) for r in results), [r.text for r in results if r.status_code >= 300]
        page = (await http.get("/api/v1/articles/stuff/comments", params=site.q())).json()
    row = await db.fetchrow("SELECT score, upvotes, downvotes FROM comments WHERE id = $1", comment_id)
    votes = await db.fetchval("SELECT count(*) FROM votes WHERE comment_id = $1", comment_id)
    assert votes == 1
    assert row["upvotes"] + row["downvotes"] == 1 and row["score"] in (-1, 1), dict(row)
    if len(set(values)) == 1:
        assert row["score"] == values[0]
    served = next(c for c in page["comments"] if c["id"] == comment_id)
    assert served["score"] == row["score"]


async def test_one_reader_cannot_stuff_reports(serve, storage, services, db):
    site = await make_site(services, db)
    async with serve() as live, live.http() as http:
        comment_id = await _target_comment(http, site)
        reporter = site.auth(site.sso_token(sub="reporter", name="Reporter"))
        results = await asyncio.gather(*(
            http.post(f"/api/v1/comments/{comment_id}/reports", params=site.q(), json={"reason": "spam"},
                      headers=reporter) for _ in range(20)))
    codes = [r.status_code for r in results]
    if codes.count(404) == len(codes):
        pytest.skip("no report route in this build")
    assert codes.count(201) == 1, codes
    assert all(c in (201, 409, 429) for c in codes), codes
    assert await db.fetchval("SELECT count(*) FROM reports WHERE comment_id = $1", comment_id) == 1
    assert await db.fetchval("SELECT open_reports FROM comments WHERE id = $1", comment_id) == 1


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.parametrize("images", [False, True])
def test_pathological_markdown_renders_in_bounded_time_and_memory(name, images):
    text = PATHOLOGICAL[name][:N]
    best = float("inf")
    for _ in range(3):  # the best of three: other processes share the CPU
        started = time.perf_counter()
        html = render_markdown(text, allow_images=images)
        best = min(best, time.perf_counter() - started)
    assert best < RENDER_BUDGET_S, f"{name}: {best:.3f}s (budget {RENDER_BUDGET_S}s)"
    tracemalloc.start()
    try:
        render_markdown(text, allow_images=images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < RENDER_MEMORY_BUDGET_BYTES, f"{name}: peak {peak / 1e6:.1f} MB"
    assert len(html) < 40 * N


async def test_deep_markdown_posts_through_the_api(client, site):
    for name in ("nested_quotes", "nested_lists", "open_brackets"):
        resp = await client.post("/api/v1/articles/patho/comments", params=site.q(),
                                 json=article_body(PATHOLOGICAL[name][:N], author_name="G"))
        assert resp.status_code == 201, resp.text


def _raw_chunked_post(port: int, path: str, chunks: list[bytes], extra_headers: str = "") -> tuple[int, bytes]:
    """POST with Transfer-Encoding: chunked over a raw socket; the status line and body of the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                      f"Transfer-Encoding: chunked\r\nConnection: close\r\n{extra_headers}\r\n").encode())
        try:
            for chunk in chunks:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the whole body went out: that is allowed
        data = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


async def test_size_cap_holds_for_chunked_bodies(live_server, services, db):
    site = await make_site(services, db)
    path = f"/api/v1/articles/chunked/comments?site={site.id}"
    port = live_server.port
    # control: a small chunked body is read and accepted
    small = json.dumps(article_body("chunked but small", author_name="Chunky")).encode()
    status, _ = await asyncio.to_thread(_raw_chunked_post, port, path, [small[:10], small[10:]])
    assert status == 201
    before = await comment_count(db, site.id)
    # 200 KB in 4 KB chunks, no Content-Length: the 64 KB cap must still hold
    payload = json.dumps(article_body("a" * 200_000, author_name="Chunky")).encode()
    chunks = [payload[i:i + 4096] for i in range(0, len(payload), 4096)]
    status, body = await asyncio.to_thread(_raw_chunked_post, port, path, chunks)
    assert status == 413, body[:500]
    text = body if body.startswith(b"{") else _dechunk(body)
    assert json.loads(text)["code"] == "request_too_large"
    assert await comment_count(db, site.id) == before
    # and the server is still healthy afterwards
    status, _ = await asyncio.to_thread(_raw_chunked_post, port, path, [small])
    assert status == 201
