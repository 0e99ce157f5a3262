"""Reply emails as readers see them: opting in through the API, the email a reply brings (once it
is published, never for one's own), one email for a burst, the unsubscribe link, a guest's double
opt-in; and the delivery's faults: a mail server that is down, one that refuses, retries and the
dead letter. A real SMTP server (aiosmtpd) receives every message."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from comments_service.db.migrations import migrate
from comments_service.db.pool import connect, create_pool
from comments_service.services.notification_links import NotificationLinks
from comments_service.services.notifications import Notifier, retry_delay
from comments_service.services.smtp_sender import SmtpSender, parse_smtp_url
from comments_service.settings import NotificationSettings, Settings
from tests.support.seeding import seed_comment
from tests.support.smtp_server import SmtpSink, smtp_sink  # noqa: F401
from tests.support.tokens import staff_token

ARTICLE = "border-troops"


@pytest.fixture
async def notifier(services, settings, database, smtp_sink):  # noqa: F811
    """A notifier as `comments-service notifier` builds it, over a pool of this test's loop (the
    app's pool lives on the test client's own)."""
    cfg = NotificationSettings(reply_interval_seconds=600, retry_base_seconds=30, max_attempts=3)
    sender = SmtpSender(parse_smtp_url(smtp_sink.url))
    links = NotificationLinks(services.keyring, settings.server.public_url, days=cfg.link_days)
    pool = await create_pool(settings.database, database)
    yield Notifier(pool, cfg, links, sender)
    await sender.close()
    await pool.close()


async def run_once(notifier: Notifier) -> None:
    """What the notifier's loop does each turn, until nothing is due."""
    while await notifier.fan_out_once() or await notifier.deliver_once():
        pass


def article_of(site) -> dict:
    return {"article_url": f"{site.origin}/{ARTICLE}", "article_title": "Troops return to the border"}


async def post(client, site, token, body, parent_id=None) -> dict:
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(), headers=site.auth(token),
                          json={"body": body, "parent_id": parent_id, "article_url": f"{site.origin}/{ARTICLE}",
                                "article_title": "Troops return to the border"})
    assert r.status_code == 201, r.text
    return r.json()["comment"]


async def subscribe(client, site, token, **body) -> dict:
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(token),
                          json={"article_id": ARTICLE, **body})
    assert r.status_code == 201, r.text
    return r.json()


def to(sink: SmtpSink, address: str) -> list:
    return [m for m in sink.messages if m["To"] and address in m["To"]]


async def test_a_reply_brings_one_email_whose_links_open_it_and_stop_them(client, site, db, notifier,
                                                                          smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann", name="Ann", email="ann@example.org")
    bea = site.sso_token(sub="bea", name="Bea <script>", email="bea@example.org")
    mine = await post(client, site, ann, "Are they back for good?")
    sub = await subscribe(client, site, ann, comment_id=mine["id"])
    assert (sub["email"], sub["confirmed"], sub["scope"]) == ("ann@example.org", True, "comment")

    await post(client, site, ann, "Answering myself", parent_id=mine["id"])  # one's own reply: no email
    reply = await post(client, site, bea, "Until the spring, the ministry says.", parent_id=mine["id"])
    await run_once(notifier)
    [mail] = to(smtp_sink, "ann@example.org")
    assert to(smtp_sink, "bea@example.org") == []
    assert "Troops return to the border" in mail["Subject"]
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert f"{site.origin}/{ARTICLE}#comment-{reply['id']}" in html
    assert "Until the spring" in text and "Answering myself" not in text
    assert "<script>" not in html and "Bea &lt;script&gt;" in html
    assert mail["Message-ID"] and mail["Date"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")

    # the link works without signing in: a page first (mail scanners open links), then the one click
    page = await client.get(unsubscribe)
    assert page.status_code == 200 and "Unsubscribe" in page.text and "ann@example.org" in page.text
    assert (await client.get("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann))).json() != []
    done = await client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert (await client.get("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann))).json() == []

    await post(client, site, bea, "And one more thing", parent_id=mine["id"])
    await run_once(notifier)
    assert len(to(smtp_sink, "ann@example.org")) == 1
    # a link tampered with, or clicked again, changes nothing and says so
    assert (await client.post(unsubscribe)).status_code == 200
    assert (await client.get(unsubscribe[:-3] + "AAA")).status_code == 400


async def test_a_held_reply_is_announced_when_approved_and_a_rejected_one_never(client, services, site, db,
                                                                               notifier, smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann2", name="Ann", email="ann2@example.org")
    mine = await post(client, site, ann, "Where is the new post?")
    await subscribe(client, site, ann, comment_id=mine["id"])
    held = (await seed_comment(services, db, site.id, article=ARTICLE, status="held", parent_id=mine["id"],
                               body="held reply")).id
    await run_once(notifier)
    assert to(smtp_sink, "ann2@example.org") == []

    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    r = await client.post("/api/v1/moderation/decisions", params=site.q(), headers=mod,
                          json={"comment_ids": [held], "action": "approve"})
    assert r.status_code == 200, r.text
    await run_once(notifier)
    [mail] = to(smtp_sink, "ann2@example.org")
    assert "held reply" in mail.get_body(("plain",)).get_content()

    rejected = await seed_comment(services, db, site.id, article=ARTICLE, status="held", parent_id=mine["id"],
                                  body="rejected reply")
    await db.execute("UPDATE notification_subscriptions SET last_sent_at = NULL WHERE email = 'ann2@example.org'")
    r = await client.post("/api/v1/moderation/decisions", params=site.q(), headers=mod,
                          json={"comment_ids": [rejected.id], "action": "reject", "reason": "spam"})
    assert r.status_code == 200, r.text
    await run_once(notifier)
    assert len(to(smtp_sink, "ann2@example.org")) == 1


async def test_a_burst_of_replies_is_one_email_after_the_first(client, site, db, notifier,
                                                                smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann3", name="Ann", email="ann3@example.org")
    bea = site.sso_token(sub="bea3", name="Bea", email="bea3@example.org")
    await post(client, site, ann, "Opening the discussion")
    await subscribe(client, site, ann)  # everything new in the article
    await post(client, site, bea, "First")
    await run_once(notifier)
    assert len(to(smtp_sink, "ann3@example.org")) == 1
    for n in range(3):
        await post(client, site, bea, f"Burst {n}")
    await run_once(notifier)
    assert len(to(smtp_sink, "ann3@example.org")) == 1  # the next waits for the interval
    [waiting] = await db.fetch("SELECT payload, next_attempt_at - now() AS wait FROM notification_deliveries "
                               "WHERE recipient = 'ann3@example.org' AND state = 'queued'")
    assert len(waiting["payload"]["comment_ids"]) == 3 and waiting["wait"] > timedelta(minutes=9)
    # the interval has passed
    await db.execute("UPDATE notification_deliveries SET next_attempt_at = now() WHERE recipient = $1 "
                     "AND state = 'queued'", "ann3@example.org")
    await run_once(notifier)
    mails = to(smtp_sink, "ann3@example.org")
    assert len(mails) == 2
    text = mails[1].get_body(("plain",)).get_content()
    assert all(f"Burst {n}" in text for n in range(3))


async def test_a_guest_address_gets_nothing_but_a_confirmation_until_confirmed(client, site, db, notifier,
                                                                              smtp_sink) -> None:  # noqa: F811
    r = await client.post("/api/v1/articles/" + ARTICLE + "/comments", params=site.q(),
                          json={"body": "A guest asks", "author_name": "Guest", **article_of(site)})
    assert r.status_code == 201, r.text
    guest = r.json()["guest_token"]
    first = r.json()["comment"]
    sub = await subscribe(client, site, guest, comment_id=first["id"], email="Someone@Example.org")
    assert sub["confirmed"] is False and sub["email"] == "Someone@example.org"
    bea = site.sso_token(sub="bea4", name="Bea", email="bea4@example.org")
    await post(client, site, bea, "An answer before confirming", parent_id=first["id"])
    await run_once(notifier)
    [confirm] = to(smtp_sink, "Someone@example.org")
    assert "List-Unsubscribe" not in confirm
    link = next(line for line in confirm.get_body(("plain",)).get_content().split() if "/confirm?token=" in line)
    # asking again sends no second confirmation
    await subscribe(client, site, guest, comment_id=first["id"], email="Someone@Example.org")
    await run_once(notifier)
    assert len(to(smtp_sink, "Someone@example.org")) == 1

    assert (await client.get(link)).status_code == 200  # the page only asks
    assert (await client.post(link)).status_code == 200
    await post(client, site, bea, "An answer after confirming", parent_id=first["id"])
    await run_once(notifier)
    mails = to(smtp_sink, "Someone@example.org")
    assert len(mails) == 2 and "after confirming" in mails[1].get_body(("plain",)).get_content()
    assert "before confirming" not in mails[1].get_body(("plain",)).get_content()


@pytest.mark.parametrize("email, code", [("not-an-address", "invalid_email"), ("a@b", "invalid_email"),
                                         ("x@example.org\r\nBcc: y@example.org", "invalid_email")])
async def test_bad_subscriptions_are_refused_with_a_reason(client, site, email, code) -> None:
    ann = site.sso_token(sub="ann5", name="Ann", email="ann5@example.org")
    await post(client, site, ann, "Hello")
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann),
                          json={"article_id": ARTICLE, "email": email})
    assert r.status_code == 422 and r.json()["code"] == code
    anonymous = await client.post("/api/v1/me/notifications", params=site.q(), json={"article_id": ARTICLE})
    assert anonymous.status_code == 401
    no_email = site.sso_token(sub="ann6", name="Ann")
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(no_email),
                          json={"article_id": ARTICLE})
    assert r.status_code == 422 and r.json()["code"] == "email_required"


async def test_a_guest_cannot_have_us_write_to_many_addresses(client, site, db) -> None:
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                          json={"body": "A guest", "author_name": "Guest", **article_of(site)})
    guest = r.json()["guest_token"]
    for n in range(5):
        await subscribe(client, site, guest, email=f"victim{n}@example.org")
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(guest),
                          json={"article_id": ARTICLE, "comment_id": r.json()["comment"]["id"],
                                "email": "victim9@example.org"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert await db.fetchval("SELECT count(*) FROM notification_deliveries d JOIN notification_subscriptions s "
                             "ON s.id = d.subscription_id WHERE s.site_id = $1", site.id) == 5


async def test_a_mail_server_down_is_retried_and_a_refusal_is_given_up(client, site, db, notifier,
                                                                        smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann7", name="Ann", email="ann7@example.org")
    bea = site.sso_token(sub="bea7", name="Bea", email="bea7@example.org")
    await post(client, site, ann, "Opening")
    await subscribe(client, site, ann)
    smtp_sink.stop()
    await post(client, site, bea, "While the server is down")
    await run_once(notifier)
    row = await db.fetchrow("SELECT state, attempts, last_error, next_attempt_at > now() AS later "
                            "FROM notification_deliveries WHERE recipient = 'ann7@example.org'")
    assert (row["state"], row["attempts"], row["later"]) == ("queued", 1, True) and row["last_error"]
    smtp_sink.start()
    await db.execute("UPDATE notification_deliveries SET next_attempt_at = now() WHERE recipient = 'ann7@example.org'")
    await run_once(notifier)
    assert len(to(smtp_sink, "ann7@example.org")) == 1
    assert await db.fetchval("SELECT state FROM notification_deliveries WHERE recipient = 'ann7@example.org'") == "sent"

    # a permanent refusal (550) is not tried again
    smtp_sink.reject_rcpt.add("ann7@example.org")
    await db.execute("UPDATE notification_subscriptions SET last_sent_at = NULL WHERE email = 'ann7@example.org'")
    await post(client, site, bea, "Refused")
    await run_once(notifier)
    dead = await db.fetchrow("SELECT state, attempts, last_error FROM notification_deliveries "
                             "WHERE recipient = 'ann7@example.org' ORDER BY id DESC LIMIT 1")
    assert (dead["state"], dead["attempts"]) == ("dead", 1) and "550" in dead["last_error"]


def test_retries_back_off_with_jitter_up_to_an_hour() -> None:
    import random

    rng = random.Random(7)
    delays = [retry_delay(n, 30.0, rng=rng) for n in range(1, 12)]
    assert 15 <= delays[0] <= 30 and 30 <= delays[1] <= 60 and 60 <= delays[2] <= 120
    assert all(1800 <= d <= 3600 for d in delays[8:])
    assert len({round(retry_delay(3, 30.0), 6) for _ in range(20)}) > 1


async def test_a_site_sends_from_its_own_domain_and_never_as_another(client, site, db, notifier,
                                                                     smtp_sink) -> None:  # noqa: F811
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    bad = await client.patch(f"/api/v1/moderation/sites/{site.id}", params=site.q(), headers=admin,
                             json={"mail_from": "not an address\r\nBcc: x@example.org"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["key"] == "mail_from", bad.text
    own_domain = site.origin.removeprefix("https://")
    ann = site.sso_token(sub="ann8", name="Ann", email="ann8@example.org")
    bea = site.sso_token(sub="bea8", name="Bea", email="bea8@example.org")
    await post(client, site, ann, "Opening")
    await subscribe(client, site, ann)
    for sender, expected in ((f"comments@{own_domain}", f"comments@{own_domain}"),
                             ("security@bank.example", "comments@localhost.localdomain")):
        r = await client.patch(f"/api/v1/moderation/sites/{site.id}", params=site.q(), headers=admin,
                               json={"mail_from": sender})
        assert r.status_code == 200, r.text
        await db.execute("UPDATE notification_subscriptions SET last_sent_at = NULL WHERE email = 'ann8@example.org'")
        await post(client, site, bea, f"Hello from {sender}")
        await run_once(notifier)
        mail = to(smtp_sink, "ann8@example.org")[-1]
        assert expected in mail["From"]
        assert mail["Message-ID"].endswith(f"@{expected.partition('@')[2]}>")


async def test_an_article_url_with_odd_characters_still_links(client, db, site, notifier,
                                                               smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann9", name="Ann", email="ann9@example.org")
    r = await client.post("/api/v1/articles/caf%C3%A9/comments", params=site.q(), headers=site.auth(ann),
                          json={"body": "Opening", "article_url": f'{site.origin}/café?q="x"#top',
                                "article_title": "Café"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann),
                          json={"article_id": "café"})
    assert r.status_code == 201, r.text
    reply = await client.post("/api/v1/articles/caf%C3%A9/comments", params=site.q(),
                              headers=site.auth(site.sso_token(sub="bea9", name="Bea", email="bea9@example.org")),
                              json={"body": "Answer"})
    await run_once(notifier)
    [mail] = to(smtp_sink, "ann9@example.org")
    link = f"{site.origin}/caf%C3%A9?q=%22x%22#comment-{reply.json()['comment']['id']}"
    assert link in mail.get_body(("plain",)).get_content()


async def test_many_asking_for_one_address_cannot_flood_it(client, site) -> None:
    refused = None
    for n in range(8):
        r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                              json={"body": f"Guest {n}", "author_name": f"Guest {n}", **article_of(site)})
        guest = r.json()["guest_token"]
        r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(guest),
                              json={"article_id": ARTICLE, "email": "victim@example.org"})
        if r.status_code == 429:
            refused = n
            break
        assert r.status_code == 201, r.text
    assert refused == 5 and r.json()["code"] == "rate_limited"


async def test_without_a_mail_server_emails_wait_without_using_up_their_tries(client, site, db, services, settings,
                                                                             database) -> None:
    ann = site.sso_token(sub="ann10", name="Ann", email="ann10@example.org")
    await post(client, site, ann, "Opening")
    await subscribe(client, site, ann)
    await post(client, site, site.sso_token(sub="bea10", name="Bea", email="bea10@example.org"), "Hello")
    cfg = NotificationSettings()
    pool = await create_pool(settings.database, database)
    try:
        unconfigured = Notifier(pool, cfg, NotificationLinks(services.keyring, "http://x.example", days=90), None)
        await run_once(unconfigured)
    finally:
        await pool.close()
    row = await db.fetchrow("SELECT state, attempts FROM notification_deliveries WHERE recipient = 'ann10@example.org'")
    assert (row["state"], row["attempts"]) == ("queued", 0)


async def test_an_sso_readers_reply_emails_follow_their_new_address(client, site, db, notifier,
                                                                    smtp_sink) -> None:  # noqa: F811
    before = site.sso_token(sub="ann12", name="Ann", email="ann12@example.org")
    after = site.sso_token(sub="ann12", name="Ann", email="Ann12.New@Example.org")
    bea = site.sso_token(sub="bea12", name="Bea", email="bea12@example.org")
    mine = await post(client, site, before, "Opening")
    sub = await subscribe(client, site, before, comment_id=mine["id"])
    assert (sub["email"], sub["confirmed"]) == ("ann12@example.org", True)
    # her site now names another address; posting stores it, and leaves her subscription as it was
    await post(client, site, after, "Writing from my new address")
    assert await db.fetchval("SELECT email FROM notification_subscriptions WHERE id = $1",
                             sub["id"]) == "ann12@example.org"
    await post(client, site, bea, "A reply", parent_id=mine["id"])
    await run_once(notifier)
    [mail] = to(smtp_sink, "Ann12.New@example.org")
    assert to(smtp_sink, "ann12@example.org") == []
    assert "A reply" in mail.get_body(("plain",)).get_content()
    # the email's own unsubscribe link names the address it went to
    page = await client.get(mail["List-Unsubscribe"].strip("<>"))
    assert page.status_code == 200 and "Ann12.New@example.org" in page.text
    r = await client.get("/api/v1/me/notifications", params=site.q(), headers=site.auth(after))
    assert [(s["id"], s["email"], s["confirmed"]) for s in r.json()] == [(sub["id"], "Ann12.New@example.org", True)]


async def test_an_sso_readers_new_address_is_taken_when_they_look_or_subscribe(client, site, db, notifier,
                                                                               smtp_sink) -> None:  # noqa: F811
    before = site.sso_token(sub="ann13", name="Ann", email="ann13@example.org")
    after = site.sso_token(sub="ann13", name="Ann", email="ann13.new@example.org")
    bea = site.sso_token(sub="bea13", name="Bea", email="bea13@example.org")
    mine = await post(client, site, before, "Opening")
    on_comment = await subscribe(client, site, before, comment_id=mine["id"])
    elsewhere = await subscribe(client, site, before, comment_id=(await post(client, site, bea, "Bea's"))["id"],
                                email="ann13.elsewhere@example.org")
    assert elsewhere["confirmed"] is False
    # looking at her subscriptions with the new token moves the ones to her own address, and the
    # notifier, which sends to her stored address, agrees with it
    r = await client.get("/api/v1/me/notifications", params=site.q(), headers=site.auth(after))
    assert {s["id"]: s["email"] for s in r.json()} == {on_comment["id"]: "ann13.new@example.org",
                                                       elsewhere["id"]: "ann13.elsewhere@example.org"}
    await post(client, site, bea, "A reply", parent_id=mine["id"])
    await run_once(notifier)
    assert len(to(smtp_sink, "ann13.new@example.org")) == 1
    assert to(smtp_sink, "ann13@example.org") == []

    # subscribing with a token naming yet another address moves the others along
    latest = site.sso_token(sub="ann13", name="Ann", email="ann13.latest@example.org")
    article = await subscribe(client, site, latest)
    assert article["email"] == "ann13.latest@example.org"
    rows = await db.fetch("SELECT id, email, follows_sso FROM notification_subscriptions WHERE id = ANY($1::bigint[])",
                          [on_comment["id"], elsewhere["id"], article["id"]])
    assert {r["id"]: (r["email"], r["follows_sso"]) for r in rows} == {
        on_comment["id"]: ("ann13.latest@example.org", True),
        elsewhere["id"]: ("ann13.elsewhere@example.org", False),
        article["id"]: ("ann13.latest@example.org", True)}


async def test_an_sso_reader_whose_token_has_no_usable_address_keeps_the_last_one(client, site, db, notifier,
                                                                                  smtp_sink) -> None:  # noqa: F811
    before = site.sso_token(sub="ann14", name="Ann", email="ann14@example.org")
    bea = site.sso_token(sub="bea14", name="Bea", email="bea14@example.org")
    mine = await post(client, site, before, "Opening")
    await subscribe(client, site, before, comment_id=mine["id"])
    await post(client, site, site.sso_token(sub="ann14", name="Ann", email="not an address"), "Odd claims")
    await post(client, site, bea, "A reply", parent_id=mine["id"])
    await run_once(notifier)
    assert len(to(smtp_sink, "ann14@example.org")) == 1


async def test_a_dead_or_expired_confirmation_can_be_asked_for_again(client, site, db, settings, notifier,
                                                                      smtp_sink) -> None:  # noqa: F811
    network = {"X-Forwarded-For": "198.51.100.77"}  # the limiter's per-address count of its own
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(), headers=network,
                          json={"body": "A guest asks", "author_name": "Guest", **article_of(site)})
    assert r.status_code == 201, r.text
    guest, comment_id = r.json()["guest_token"], r.json()["comment"]["id"]
    address = "resend@example.org"

    async def ask() -> int:
        r = await client.post("/api/v1/me/notifications", params=site.q(), headers={**site.auth(guest), **network},
                              json={"article_id": ARTICLE, "comment_id": comment_id, "email": address})
        assert r.status_code == 201, r.text
        await run_once(notifier)
        return len(to(smtp_sink, address))

    # the mail server refuses the first for good: it dies, and asking again sends another
    smtp_sink.reject_rcpt.add(address)
    assert await ask() == 0
    [dead] = await db.fetch("SELECT id, state FROM notification_deliveries WHERE recipient = $1", address)
    assert dead["state"] == "dead"
    smtp_sink.reject_rcpt.discard(address)
    assert await ask() == 1
    assert await ask() == 1  # while that one's link works, asking again sends none
    # once its link has expired, another
    await db.execute("UPDATE notification_deliveries SET created_at = now() - make_interval(days => $2), "
                     "sent_at = now() - make_interval(days => $2) WHERE recipient = $1 AND id <> $3",
                     address, settings.notifications.link_days + 1, dead["id"])
    assert await ask() == 2
    # and no more than one sent again within an hour, even when that one died too
    await db.execute("UPDATE notification_deliveries SET state = 'dead' WHERE id = (SELECT max(id) "
                     "FROM notification_deliveries WHERE recipient = $1)", address)
    assert await ask() == 2
    # the link of the latest confirms the address
    link = next(line for line in to(smtp_sink, address)[-1].get_body(("plain",)).get_content().split()
                if "/confirm?token=" in line)
    assert (await client.post(link)).status_code == 200
    assert await db.fetchval("SELECT confirmed_at IS NOT NULL FROM notification_subscriptions WHERE email = $1",
                             address)


async def test_subscriptions_made_before_they_could_follow_an_address_are_backfilled(storage, tmp_path) -> None:
    migrations = Settings().database.migrations_dir
    earlier = tmp_path / "migrations"
    shutil.copytree(migrations, earlier)
    for later in earlier.glob("*.sql"):
        if int(later.name[:4]) >= 18:
            later.unlink()
    async with storage.own_database("follows") as url:
        conn = await connect(url)
        try:
            await migrate(conn, earlier)
            await conn.execute("INSERT INTO sites (id, name) VALUES ('s', 'S')")
            article = await conn.fetchval("INSERT INTO articles (site_id, external_id, url, title) "
                                          "VALUES ('s', 'a', 'https://s.example/a', 'A') RETURNING id")
            subs = {}
            for name, kind, user_email, sub_email in (("own", "sso", "Own@Example.org", "Own@example.org"),
                                                      ("other", "sso", "me@example.org", "typed@example.org"),
                                                      ("none", "sso", None, "typed2@example.org"),
                                                      ("guest", "guest", "g@example.org", "g@example.org")):
                user = await conn.fetchval("INSERT INTO users (site_id, kind, external_id, display_name, email) "
                                           "VALUES ('s', $1, $2, $2, $3) RETURNING id", kind, name, user_email)
                subs[name] = await conn.fetchval(
                    "INSERT INTO notification_subscriptions (site_id, user_id, scope, article_id, email, confirmed_at) "
                    "VALUES ('s', $1, 'article', $2, $3, now()) RETURNING id", user, article, sub_email)
            await migrate(conn, migrations)
            rows = await conn.fetch("SELECT id, follows_sso FROM notification_subscriptions")
            assert {r["id"]: r["follows_sso"] for r in rows} == {
                subs["own"]: True, subs["other"]: False, subs["none"]: False, subs["guest"]: False}
        finally:
            await conn.close()
