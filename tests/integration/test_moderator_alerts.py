"""Moderators' email alerts as a moderator sees them: set through the moderation API, an email for
each problem report, one when a comment's reports reach the threshold (once), a digest of the held
queue only while something waits, and a link in each that turns them off without signing in."""

from __future__ import annotations

import pytest

from comments_service.db.pool import create_pool
from comments_service.services.notification_links import NotificationLinks
from comments_service.services.notifications import Notifier
from comments_service.services.smtp_sender import SmtpSender, parse_smtp_url
from comments_service.settings import NotificationSettings
from tests.support.seeding import seed_comment
from tests.support.smtp_server import SmtpSink, smtp_sink  # noqa: F401
from tests.support.tokens import staff_token

API = "/api/v1/moderation/alerts"


@pytest.fixture
async def notifier(services, settings, database, smtp_sink):  # noqa: F811
    cfg = NotificationSettings()
    sender = SmtpSender(parse_smtp_url(smtp_sink.url))
    pool = await create_pool(settings.database, database)
    yield Notifier(pool, cfg, NotificationLinks(services.keyring, settings.server.public_url, days=90), sender)
    await sender.close()
    await pool.close()


async def run_once(notifier: Notifier) -> None:
    while await notifier.fan_out_once() or await notifier.deliver_once():
        pass


def to(sink: SmtpSink, address: str) -> list:
    return [m for m in sink.messages if address in str(m["To"])]


async def test_a_moderator_sets_alerts_and_gets_them(client, services, db, site, notifier,
                                                      smtp_sink) -> None:  # noqa: F811
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    assert (await client.get(API, params=site.q(), headers=mod)).json() is None
    r = await client.put(API, params=site.q(), headers=mod, json={
        "email": "desk@news.example", "problem_reports": True, "report_threshold": 2, "held_digest_minutes": 5})
    assert r.status_code == 200, r.text
    assert r.json()["report_threshold"] == 2
    assert (await client.get(API, params=site.q(), headers=mod)).json()["email"] == "desk@news.example"

    # a problem report: one email
    reader = site.sso_token(sub="r1", name="Reader")
    await seed_comment(services, db, site.id, status="published", reason=None, article="a1")
    r = await client.post("/api/v1/troubleshoot/reports", params=site.q(), headers=site.auth(reader),
                          json={"description": "The reply button does nothing", "article_id": "a1"})
    assert r.status_code in (200, 201), r.text
    await run_once(notifier)
    alerts = to(smtp_sink, "desk@news.example")
    assert any("problem" in m["Subject"].lower() for m in alerts)

    # reports reaching the threshold: one email, not one per report after
    target = await seed_comment(services, db, site.id, status="published", reason=None, article="a1")
    for n in range(4):
        token = site.sso_token(sub=f"reporter{n}", name=f"R{n}")
        r = await client.post(f"/api/v1/comments/{target.id}/reports", params=site.q(), headers=site.auth(token),
                              json={"reason": "offensive"})
        assert r.status_code in (200, 201), r.text
    before = len(to(smtp_sink, "desk@news.example"))
    await run_once(notifier)
    report_mails = [m for m in to(smtp_sink, "desk@news.example")[before:] if "report" in m["Subject"].lower()]
    assert len(report_mails) == 1

    # the held queue's digest: sent while something waits
    await seed_comment(services, db, site.id, article="a1")  # held
    # the digest's interval has come round since the queue was last looked at (empty then: no email)
    await db.execute("UPDATE moderator_alerts SET last_digest_at = now() - interval '6 minutes' WHERE site_id = $1",
                     site.id)
    before = len(to(smtp_sink, "desk@news.example"))
    await run_once(notifier)
    digest = to(smtp_sink, "desk@news.example")[before:]
    assert len(digest) == 1 and "/moderation" in digest[0].get_body(("plain",)).get_content()
    await run_once(notifier)  # not again before its interval
    assert len(to(smtp_sink, "desk@news.example")) == before + 1

    # the stop link works without signing in
    stop = digest[0]["List-Unsubscribe"].strip("<>")
    assert (await client.post(stop)).status_code == 200
    assert (await client.get(API, params=site.q(), headers=mod)).json() is None


async def test_alerts_are_a_moderators_own_and_checked(client, db, site) -> None:
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    r = await client.put(API, params=site.q(), headers=mod, json={"email": "not an address"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_email"
    r = await client.put(API, params=site.q(), headers=mod, json={"email": "a@news.example", "held_digest_minutes": 1})
    assert r.status_code == 400
    assert (await client.get(API, params=site.q())).status_code == 401


async def test_a_revoked_moderators_alerts_stop_even_those_already_queued(client, services, db, site, notifier,
                                                                         smtp_sink) -> None:  # noqa: F811
    leaving_name = f"leaving-{site.id}"
    leaving = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name=leaving_name)}"}
    staying = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    for headers, email in ((leaving, f"gone-{site.id}@news.example"), (staying, f"here-{site.id}@news.example")):
        r = await client.put(API, params=site.q(), headers=headers,
                             json={"email": email, "problem_reports": True, "held_digest_minutes": 5})
        assert r.status_code == 200, r.text
    gone, here = f"gone-{site.id}@news.example", f"here-{site.id}@news.example"

    async def problem_report(sub: str) -> None:
        r = await client.post("/api/v1/troubleshoot/reports", params=site.q(),
                              headers=site.auth(site.sso_token(sub=sub, name="Reader")),
                              json={"description": "The reply button does nothing"})
        assert r.status_code in (200, 201), r.text

    # queued for both before the revocation
    await problem_report("p1")
    while await notifier.fan_out_once():
        pass
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE recipient = $1 AND state = 'queued'",
                             gone) == 1

    token_id = await db.fetchval("SELECT id FROM api_tokens WHERE name = $1", leaving_name)
    r = await client.delete(f"/api/v1/moderation/tokens/{token_id}", headers=admin)
    assert r.status_code == 200, r.text
    assert (await client.get(API, params=site.q(), headers=leaving)).status_code == 401
    await run_once(notifier)
    assert len(to(smtp_sink, here)) == 1
    assert to(smtp_sink, gone) == []

    # nor is anything new queued for them: another problem report, and the held queue's digest
    await problem_report("p2")
    await seed_comment(services, db, site.id, article="a1")  # held
    await db.execute("UPDATE moderator_alerts SET last_digest_at = now() - interval '6 minutes' WHERE site_id = $1",
                     site.id)
    await run_once(notifier)
    assert len(to(smtp_sink, here)) == 3  # the two problem reports and the digest
    assert to(smtp_sink, gone) == []
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries WHERE recipient = $1", gone) == 1
