"""GET /metrics: Prometheus text, per route template, cache and limit counters, queue depth, and the
worker-facing functions aggregated across processes through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import httpx
import pytest

from tests.support.apps import other_app
from tests.support.sites import article_body


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m[2] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m[3])
    return None


SCRAPE_TOKEN = "scrape-" + "s" * 24
SCRAPER = {"Authorization": f"Bearer {SCRAPE_TOKEN}"}


async def test_metrics_by_route_template_cache_and_queue(storage, site):
    article = "metrics-article-8812"
    async with other_app(storage, COMMENTS_METRICS_TOKEN=SCRAPE_TOKEN) as client:
        await by_route_template_cache_and_queue(client, site, article)


async def by_route_template_cache_and_queue(client, site, article):
    before = (await client.get("/metrics", headers=SCRAPER)).text
    hits_before = sample(before, "comments_cache_hits_total") or 0.0
    for _ in range(3):
        assert (await client.get(f"/api/v1/articles/{article}/comments", params=site.q())).status_code == 200
    r = await client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    route = "/api/v1/articles/{article_id}/comments"
    assert sample(text, "comments_http_requests_total", method="GET", route=route, status="200") >= 3
    assert sample(text, "comments_http_request_duration_seconds_count", method="GET", route=route) >= 3
    assert article not in text  # raw paths never become labels
    assert sample(text, "comments_cache_hits_total") >= hits_before + 2
    assert sample(text, "comments_cache_misses_total") >= 1
    assert sample(text, "comments_queue_depth", status="pending_scoring") is not None
    assert sample(text, "comments_queue_depth", status="held") is not None
    for state in ("queued", "retrying", "sent", "dead"):
        assert sample(text, "comments_notifications", channel="email", state=state) is not None
    assert sample(text, "comments_outbox_depth") is not None
    assert sample(text, "comments_notification_oldest_due_seconds") is not None


async def test_error_codes_and_rate_limit_rejections_are_counted(storage, site, database):
    async with other_app(storage, COMMENTS_RATE_LIMITS="post.user=600:1,post.ip=0:1",
                         COMMENTS_METRICS_TOKEN=SCRAPE_TOKEN) as limited:
        token = site.sso_token(sub="metrics-fast")
        before = (await limited.get("/metrics", headers=SCRAPER)).text
        rejected_before = sample(before, "comments_rate_limit_rejections_total", action="post") or 0.0
        codes_before = sample(before, "comments_errors_total", code="rate_limited") or 0.0
        for expected in (201, 429):
            r = await limited.post("/api/v1/articles/m-art/comments", params=site.q(), headers=site.auth(token),
                                   json=article_body("fast"))
            assert r.status_code == expected
        text = (await limited.get("/metrics", headers=SCRAPER)).text
        assert sample(text, "comments_rate_limit_rejections_total", action="post") == rejected_before + 1
        assert sample(text, "comments_errors_total", code="rate_limited") == codes_before + 1


def test_worker_functions_aggregate_across_processes(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                              timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("""
        from comments_service import metrics
        metrics.observe_scoring_batch(size=8, seconds=0.2)
        metrics.observe_decision("held", "toxicity_hold", waited_seconds=1.5)
    """)
    run("""
        from comments_service import metrics
        metrics.observe_scoring_batch(size=4, seconds=0.1)
        metrics.observe_decision("published", "ok", waited_seconds=0.3)
        metrics.observe_decision("published", "ok")
    """)
    text = run("""
        import sys
        from comments_service import metrics
        sys.stdout.write(metrics.render().decode())
    """)
    assert sample(text, "comments_scoring_batch_size_count") == 2
    assert sample(text, "comments_scoring_batch_size_sum") == 12
    assert sample(text, "comments_decisions_total", outcome="published", reason="ok") == 2
    assert sample(text, "comments_decisions_total", outcome="held", reason="toxicity_hold") == 1
    assert sample(text, "comments_scoring_wait_seconds_count") == 2


def unknown_route_answer(r: httpx.Response) -> tuple:
    body = r.json()
    body.pop("request_id", None)
    return r.status_code, r.headers["content-type"], body


async def test_without_token_or_port_only_this_machine_may_scrape(serve):
    async with serve() as live, live.http() as http:
        r = await http.get("/metrics")  # from 127.0.0.1
        assert r.status_code == 200 and "comments_http_requests_total" in r.text
        unknown = unknown_route_answer(await http.get("/no-such-route"))
        assert unknown[0] == 404
        # a reverse proxy on this machine connects from loopback too: what it forwards is not local
        for header in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                       {"Forwarded": "for=203.0.113.9"}, {"X-Forwarded-For": "127.0.0.1"}):
            r = await http.get("/metrics", headers=header)
            assert unknown_route_answer(r) == unknown, header
            assert "comments_http_requests_total" not in r.text


async def test_peers_other_than_loopback_get_the_unknown_route_answer(serve):
    """Any address but loopback, and peers that are no address at all (unix sockets, in-process
    clients), are refused like a route that does not exist; loopback in any spelling is served.
    The app runs in this loop (``serve``), so the peer can be set on an in-process transport."""
    async with serve() as live:
        def at(peer):
            transport = httpx.ASGITransport(app=live.app, client=(peer, 4321) if peer else None)
            return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

        for peer in ("203.0.113.9", "10.0.0.8", "::ffff:192.0.2.1", "2001:db8::1", "testclient", None):
            async with at(peer) as http:
                unknown = unknown_route_answer(await http.get("/no-such-route"))
                r = await http.get("/metrics")
                assert unknown_route_answer(r) == unknown and unknown[0] == 404, peer
                assert "comments_http_requests_total" not in r.text
        for peer in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
            async with at(peer) as http:
                r = await http.get("/metrics")
                assert r.status_code == 200 and "comments_http_requests_total" in r.text, peer


async def test_a_metrics_token_is_required_when_set(serve):
    token = "scrape-" + "k" * 24
    async with serve(COMMENTS_METRICS_TOKEN=token) as live, live.http() as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"},
                        {"Authorization": f"Bearer {token}x"}, {"Authorization": f"Basic {token}"}):
            r = await http.get("/metrics", headers=headers)
            assert r.status_code == 401 and r.json()["code"] == "metrics_token_required", headers
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert "comments_http_requests_total" not in r.text
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "comments_http_requests_total" in r.text


async def test_metrics_on_their_own_port(serve):
    from tests.support.servers import free_port

    port = free_port()
    async with serve(COMMENTS_METRICS_PORT=str(port)) as live, live.http() as http:
        r = await http.get("/metrics")
        assert r.status_code == 404 and "comments_http_requests_total" not in r.text
        assert (await http.get("/health/live")).status_code == 200
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as internal:
            r = await internal.get("/metrics")
            assert r.status_code == 200 and "comments_http_requests_total" in r.text
            assert r.headers["content-type"].startswith("text/plain")
            assert (await internal.get("/api/v1/diagnostics")).status_code == 404
    # the listener closes with the app
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_the_metrics_port_and_token_together(serve):
    from tests.support.servers import free_port

    port, token = free_port(), "scrape-" + "t" * 24
    async with (serve(COMMENTS_METRICS_PORT=str(port), COMMENTS_METRICS_TOKEN=token),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as internal):
        assert (await internal.get("/metrics")).status_code == 401
        r = await internal.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "comments_http_requests_total" in r.text


def test_a_short_metrics_token_stops_the_start():
    from comments_service.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="COMMENTS_METRICS_TOKEN"):
        Settings.from_env({"COMMENTS_METRICS_TOKEN": "short"})
