"""Liveness and readiness: the IETF health+json shape, 200 on pass/warn, 503 when PostgreSQL is
unreachable, and a short-lived cached result."""

from __future__ import annotations

import asyncio
import re

from tests.support.apps import other_app, scoring_app
from tests.support.seeding import clear_worker_status, seed_worker_status
from tests.support.servers import TcpProxy
from tests.support.tokens import bearer, staff_token

HEALTH_JSON = "application/health+json"
# what exception text carries: class names, errno, driver wording, the address it failed on
_EXCEPTION_TEXT = re.compile(r"Error|Exception|Errno|errno|refused|Connect|Timeout|timed out|127\.0\.0\.1|"
                             r"redis://|postgres(ql)?://", re.IGNORECASE)
CHECKS = {"postgres:responseTime", "redis:responseTime", "scoring:workers", "toxicity:model", "scoring:queueAge",
          "notifications:outbox", "notifications:deliveryAge"}


async def _fresh_ready(client):
    await asyncio.sleep(1.6)  # past the cached result of any earlier probe
    return await client.get("/health/ready")


async def test_live_answers_without_dependencies(client):
    r = await client.get("/health/live")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(HEALTH_JSON)
    assert r.json() == {"status": "pass"}


async def test_ready_reports_each_dependency(client, db):
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="detoxify-original@abc123")
    r = await _fresh_ready(client)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(HEALTH_JSON)
    body = r.json()
    assert body["status"] == "pass", body
    assert set(body["checks"]) == CHECKS
    pg = body["checks"]["postgres:responseTime"][0]
    assert pg["status"] == "pass" and pg["observedUnit"] == "ms" and pg["observedValue"] >= 0
    assert body["checks"]["redis:responseTime"][0]["status"] == "pass"
    assert body["checks"]["toxicity:model"][0]["observedValue"] == "detoxify-original@abc123"
    assert body["checks"]["scoring:queueAge"][0]["observedUnit"] == "s"


async def test_emails_due_long_ago_and_unsent_warn_that_the_notifier_is_not_keeping_up(client, db, site):
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="detoxify-original@abc123")
    key = f"health-probe:{site.id}"
    await db.execute("INSERT INTO notification_deliveries (site_id, channel, kind, recipient, idempotency_key, "
                     "next_attempt_at) VALUES ($1, 'email', 'reply_digest', 'a@example.org', $2, "
                     "now() - interval '20 minutes')", site.id, key)
    try:
        body = (await _fresh_ready(client)).json()
        late = body["checks"]["notifications:deliveryAge"][0]
        assert body["status"] == "warn" and late["status"] == "warn" and late["observedValue"] >= 1200
        assert "notifier" in late["output"]
    finally:
        await db.execute("DELETE FROM notification_deliveries WHERE idempotency_key = $1", key)
    body = (await _fresh_ready(client)).json()
    assert body["checks"]["notifications:deliveryAge"][0]["status"] == "pass" and body["status"] == "pass"


async def test_model_on_fallback_warns_but_stays_ready(client, db):
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="profanity-check-1.9 (fallback)", is_fallback=True,
                        reason="checkpoint not found")
    r = await _fresh_ready(client)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "warn"
    model = body["checks"]["toxicity:model"][0]
    assert model["status"] == "warn" and "fallback" in model["output"]
    assert "checkpoint not found" not in r.text  # the reason is for the admins' diagnostics


async def test_no_worker_warns(storage, db):
    await clear_worker_status(db)
    async with scoring_app(storage) as api:
        r = await api.get("/health/ready")
        assert r.status_code == 200
        assert r.json()["checks"]["scoring:workers"][0]["status"] == "warn"


async def test_result_is_cached_briefly(client, db):
    await clear_worker_status(db)
    first = await _fresh_ready(client)
    assert "toxicity:model" not in first.json()["checks"]  # no worker: nothing known of the model
    await seed_worker_status(db, model_id="detoxify-original@cached")
    again = await client.get("/health/ready")
    assert again.json() == first.json()  # served from the cached result: the new worker is not seen yet
    later = await _fresh_ready(client)
    assert later.json()["checks"]["toxicity:model"][0]["observedValue"] == "detoxify-original@cached"


async def test_redis_down_is_a_warning(storage, db):
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="detoxify-original@abc123")
    async with other_app(storage, COMMENTS_REDIS_URL="redis://127.0.0.1:1/0") as other:
        r = await other.get("/health/ready")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "warn"
        redis_check = body["checks"]["redis:responseTime"][0]
        assert redis_check["status"] == "warn" and "PostgreSQL" in redis_check["output"]


async def test_postgres_unreachable_fails_with_503(storage, database):
    proxy = TcpProxy(storage.database_url())
    url = await proxy.start()
    async with other_app(storage, COMMENTS_DATABASE_URL=url, COMMENTS_DATABASE_POOL_MIN="1") as other:
        assert (await other.get("/health/ready")).status_code == 200
        await proxy.cut()
        await asyncio.sleep(1.6)
        r = await other.get("/health/ready")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["status"] == "fail"
        assert body["checks"]["postgres:responseTime"][0]["status"] == "fail"
        assert_no_exception_text(r.text)
        live = await other.get("/health/live")
        assert live.status_code == 200


def assert_no_exception_text(text: str) -> None:
    found = _EXCEPTION_TEXT.search(text)
    assert found is None, f"{found.group(0)!r} in the public body: {text}"


async def test_ready_hides_the_failure_text_that_diagnostics_shows(serve, db):
    """The public probe says Redis is unreachable, never the exception; an unscoped admin gets it."""
    await clear_worker_status(db)
    await seed_worker_status(db, model_id="detoxify-original@abc123")
    admin = await staff_token(db, "admin")
    async with serve(COMMENTS_REDIS_URL="redis://127.0.0.1:1/0") as live, live.http() as http:
        r = await http.get("/health/ready")
        assert r.status_code == 200 and r.json()["checks"]["redis:responseTime"][0]["status"] == "warn"
        assert "unreachable" in r.json()["checks"]["redis:responseTime"][0]["output"]
        assert_no_exception_text(r.text)
        d = (await http.get("/api/v1/diagnostics", headers=bearer(admin))).json()
        assert d["redis"]["reachable"] is False and d["redis"]["error"]
