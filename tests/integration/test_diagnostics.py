"""Operator diagnostics: admin only, and each section reflects what actually happened."""

from __future__ import annotations

import asyncio

from comments_service import __version__
from tests.support.seeding import clear_worker_status, seed_worker_status
from tests.support.sites import article_body
from tests.support.tokens import bearer, staff_token


async def test_diagnostics_needs_an_admin(client, site, db):
    assert (await client.get("/api/v1/diagnostics")).status_code == 401
    moderator = await staff_token(db, "moderator")
    r = await client.get("/api/v1/diagnostics", headers=bearer(moderator))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    reader = site.sso_token(sub="reader-diag")
    r = await client.get("/api/v1/diagnostics", params=site.q(), headers=site.auth(reader))
    assert r.status_code == 403


async def test_diagnostics_report(client, services, site, db):
    admin = await staff_token(db, "admin")
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="detoxify-original@feed", latency_ms={"batch_p50": 12.5, "batch_p99": 40.0},
                        throughput=30.0, jobs=7)
    await seed_worker_status(db, model_id="profanity-check (fallback)", is_fallback=True, reason="no checkpoint",
                        latency_ms={"batch_p50": 2.0, "batch_p99": 55.0}, throughput=12.0, jobs=3)
    token = site.sso_token(sub="diag-writer")
    r = await client.post("/api/v1/articles/diag-art/comments", params=site.q(), headers=site.auth(token),
                          json=article_body("pending one"))
    comment_id = r.json()["comment"]["id"]
    await db.execute("UPDATE comments SET status = 'pending_scoring', created_at = now() - interval '90 seconds' "
                     "WHERE id = $1", comment_id)
    await client.get("/api/v1/articles/diag-art/comments", params=site.q())
    await client.get("/api/v1/articles/diag-art/comments", params=site.q())
    await client.get("/api/v1/comments/999999999/replies", params=site.q())  # a comment_not_found

    for _ in range(1000):  # after a PostgreSQL restart (tests/faults) it listens again within seconds
        if services.own_pending.listening:
            break
        await asyncio.sleep(0.01)
    r = await client.get("/api/v1/diagnostics", headers=bearer(admin))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["version"] == __version__
    assert d["migration_level"] == d["migrations_available"] >= 4
    assert d["uptime_seconds"] > 0
    assert d["postgres"]["reachable"] and d["postgres"]["round_trip_ms"] >= 0
    assert d["postgres"]["pool"]["max"] >= d["postgres"]["pool"]["size"] >= 1
    assert d["redis"]["configured"] and d["redis"]["reachable"]
    assert d["cache"]["hits"] >= 1 and d["cache"]["misses"] >= 1 and 0 < d["cache"]["hit_ratio"] < 1
    assert d["cache"]["signed_in_from_memory"] is True  # the process hears comments entering review
    assert d["queue"]["depth"]["pending_scoring"] >= 1
    assert d["queue"]["oldest_pending_seconds"] >= 89
    assert d["scoring"]["live_workers"] == 2
    assert d["scoring"]["throughput_per_min"] == 42.0 and d["scoring"]["jobs_scored"] == 10
    assert d["scoring"]["latency_ms"] == {"batch_p50": 12.5, "batch_p99": 55.0}
    assert d["model"]["model_id"] == "detoxify-original@feed" and d["model"]["is_fallback"] is False
    assert d["model"]["variant"] == "original" and d["model"]["load_seconds"] == 1.25
    assert d["errors_by_code"]["comment_not_found"]["total"] >= 1
    assert d["errors_by_code"]["comment_not_found"]["last_hour"] >= 1
    assert isinstance(d["rate_limit_rejections"], dict)
    # the notifier's work: events the outbox holds (this test's held comment wrote one) and deliveries
    notifications = d["notifications"]
    assert notifications["outbox_depth"] >= 1 and isinstance(notifications["deliveries"], dict)
    await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", comment_id)


async def test_diagnostics_says_why_the_model_is_on_fallback(client, db):
    admin = await staff_token(db, "admin")
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="profanity-check (fallback)", is_fallback=True, reason="checkpoint missing")
    d = (await client.get("/api/v1/diagnostics", headers=bearer(admin))).json()
    assert d["scope"] == "global"
    assert d["model"]["is_fallback"] is True and d["model"]["fallback_reason"] == "checkpoint missing"
    await clear_worker_status(db)
    d = (await client.get("/api/v1/diagnostics", headers=bearer(admin))).json()
    assert d["model"] is None and d["scoring"]["live_workers"] == 0
