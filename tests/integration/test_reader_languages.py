"""Readers hear from us in the language their widget asked in (its ``lang=``, else the browser's
Accept-Language), stored with what they asked for (migrations/0023): the confirmation and reply
emails, the pages their links open, and a notice's decision. A real SMTP server receives every
message; reason codes and the API's fields stay the same in every language."""

from __future__ import annotations

from tests.integration.test_notifications import ARTICLE, article_of, notifier, post, run_once, to  # noqa: F401
from tests.support.seeding import seed_comment
from tests.support.smtp_server import smtp_sink  # noqa: F401
from tests.support.tokens import staff_token


def plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def html(message) -> str:
    return message.get_body(("html",)).get_content()


async def test_a_reader_who_subscribed_in_russian_reads_every_email_and_page_in_russian(
        client, site, db, notifier, smtp_sink) -> None:  # noqa: F811
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                          json={"body": "Надолго ли они вернулись?", "author_name": "Гость", **article_of(site)})
    assert r.status_code == 201, r.text
    guest, first = r.json()["guest_token"], r.json()["comment"]
    # the widget sends its language with every call; the browser here says English
    r = await client.post("/api/v1/me/notifications", params={**site.q(), "lang": "ru"},
                          headers={**site.auth(guest), "Accept-Language": "en-US,en;q=0.9"},
                          json={"article_id": ARTICLE, "comment_id": first["id"], "email": "olga@example.org"})
    assert r.status_code == 201, r.text
    assert r.json()["confirmed"] is False and r.json()["scope"] == "comment"  # the fields are the same
    assert await db.fetchval("SELECT locale FROM notification_subscriptions WHERE id = $1", r.json()["id"]) == "ru"

    await run_once(notifier)
    [confirm] = to(smtp_sink, "olga@example.org")
    assert confirm["Subject"].startswith("Подтвердите адрес электронной почты для ")
    assert "Чтобы подтвердить, откройте эту ссылку:" in plain(confirm)
    assert '<html lang="ru">' in html(confirm) and "Подтвердить мой адрес" in html(confirm)
    link = next(word for word in plain(confirm).split() if "/confirm?token=" in word)

    # the page the link opens is Russian whatever the browser that opens it asks for
    page = await client.get(link, headers={"Accept-Language": "de"})
    assert page.status_code == 200 and page.headers["content-language"] == "ru"
    assert '<html lang="ru">' in page.text and "Подтвердите адрес" in page.text
    assert "Присылать письма на olga@example.org об ответах на ваш комментарий к" in page.text
    done = await client.post(link)
    assert done.status_code == 200 and "Подтверждено" in done.text

    bea = site.sso_token(sub="bea-ru", name="Беа <b>", email="bea-ru@example.org")
    await post(client, site, bea, "До весны, говорит министерство.", parent_id=first["id"])
    await run_once(notifier)
    confirm_again, digest = to(smtp_sink, "olga@example.org")
    assert digest["Subject"] == "Новый ответ на ваш комментарий к «Troops return to the border»"
    assert "Беа <b> пишет:\n  До весны, говорит министерство." in plain(digest).replace("\r\n", "\n")
    assert "Беа &lt;b&gt;" in html(digest) and "<b>" not in html(digest)
    assert "Отписаться от писем об ответах" in html(digest)
    unsubscribe = digest["List-Unsubscribe"].strip("<>")

    page = await client.get(unsubscribe)
    assert page.status_code == 200 and '<html lang="ru">' in page.text
    assert "Больше не присылать эти письма?" in page.text and ">Отписаться</button>" in page.text
    done = await client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "Вы отписались" in done.text
    # done before: the link no longer names a subscription, and the browser's language answers
    again = await client.post(unsubscribe, headers={"Accept-Language": "ar-EG,ar;q=0.9"})
    assert again.status_code == 200 and '<html lang="ar" dir="rtl">' in again.text
    assert "لن تصلك هذه الرسائل بعد الآن." in again.text


async def test_a_subscription_without_a_language_follows_the_browser_and_an_sso_reader_keeps_theirs(
        client, site, db, notifier, smtp_sink) -> None:  # noqa: F811
    ann = site.sso_token(sub="ann-fa", name="Ann", email="ann-fa@example.org")
    mine = await post(client, site, ann, "Are they back for good?")
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers={**site.auth(ann),
                                                                                "Accept-Language": "fa-IR"},
                          json={"article_id": ARTICLE, "comment_id": mine["id"]})
    assert r.status_code == 201 and r.json()["confirmed"] is True
    bea = site.sso_token(sub="bea-fa", name="Bea", email="bea-fa@example.org")
    await post(client, site, bea, "Until the spring.", parent_id=mine["id"])
    await run_once(notifier)
    [digest] = to(smtp_sink, "ann-fa@example.org")
    assert '<html lang="fa" dir="rtl">' in html(digest) and "لغو اشتراک ایمیل‌های پاسخ" in html(digest)
    # asking again without a language keeps the one stored
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann),
                          json={"article_id": ARTICLE, "comment_id": mine["id"]})
    assert await db.fetchval("SELECT locale FROM notification_subscriptions WHERE id = $1", r.json()["id"]) == "fa"

    # stored as nothing: the pages speak the language of the browser that opens them
    await db.execute("UPDATE notification_subscriptions SET locale = NULL WHERE id = $1", r.json()["id"])
    unsubscribe = digest["List-Unsubscribe"].strip("<>")
    page = await client.get(unsubscribe, headers={"Accept-Language": "uk,en;q=0.5"})
    assert '<html lang="uk">' in page.text and "Більше не надсилати ці листи?" in page.text
    english = await client.get(unsubscribe)
    assert '<html lang="en">' in english.text and "Stop these emails?" in english.text
    broken = await client.get(unsubscribe + "x", headers={"Accept-Language": "es"})
    assert broken.status_code >= 400 and "Este enlace no se puede usar" in broken.text

    # a reader who named no language at all is written to in the site's default language
    await db.execute("UPDATE sites SET settings = settings || '{\"default_language\": \"ru\"}' WHERE id = $1",
                     site.id)
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                          json={"body": "Who knows?", "author_name": "Guest", **article_of(site)})
    guest, comment = r.json()["guest_token"], r.json()["comment"]
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(guest),
                          json={"article_id": ARTICLE, "comment_id": comment["id"], "email": "cy@example.org"})
    assert r.status_code == 201, r.text
    assert await db.fetchval("SELECT locale FROM notification_subscriptions WHERE id = $1", r.json()["id"]) is None
    await run_once(notifier)
    [confirm] = to(smtp_sink, "cy@example.org")
    assert '<html lang="ru">' in html(confirm) and "Подтвердить мой адрес" in html(confirm)


async def test_dsa_answers_and_mails_reach_readers_in_their_language(
        client, services, db, site, notifier, smtp_sink) -> None:  # noqa: F811
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    # a notice filed from an Arabic page: its decision comes back in Arabic
    reported = await seed_comment(services, db, site.id, status="published", reason=None, body="A claim")
    address = f"nora-{site.id}@example.org"
    r = await client.post("/api/v1/notices", params={**site.q(), "lang": "ar"},
                          json={"comment_id": reported.id, "category": "defamation", "name": "Nora",
                                "explanation": "It says I committed a crime.", "email": address, "good_faith": True})
    assert r.status_code == 201, r.text
    receipt = r.json()
    notice_id = await db.fetchval("SELECT id FROM dsa_notices WHERE reference = $1", receipt["reference"])
    r = await client.post(f"/api/v1/moderation/notices/{notice_id}/decision", headers=mod,
                          json={"action": "keep", "explanation": "Fair <comment> on a public figure."})
    assert r.status_code == 200, r.text
    await run_once(notifier)
    [decision] = to(smtp_sink, address)
    assert decision["Subject"].endswith("قرار بشأن بلاغك " + receipt["reference"])
    assert "راجعنا التعليق الذي أبلغت عنه وقرّرنا إبقاءه منشورًا." in plain(decision)
    assert receipt["appeal_key"] in plain(decision) and "تشهير" in plain(decision)
    assert '<html lang="ar" dir="rtl">' in html(decision) and "Fair &lt;comment&gt;" in html(decision)

    # an author who subscribed in Russian: the statement of their removal is mailed in Russian, and
    # read in Russian where their widget asks in it
    writer = site.sso_token(sub="writer-ru", name="Olga", email=f"olga-{site.id}@example.org")
    mine = await post(client, site, writer, "Первый комментарий")
    r = await client.post("/api/v1/me/notifications", params={**site.q(), "lang": "ru"}, headers=site.auth(writer),
                          json={"article_id": ARTICLE, "comment_id": mine["id"]})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/moderation/comments/{mine['id']}/decision", headers=mod,
                          json={"action": "reject", "reason": "spam", "override": True})
    assert r.status_code == 200, r.text
    await run_once(notifier)
    [statement] = to(smtp_sink, f"olga-{site.id}@example.org")
    assert statement["Subject"].endswith("Почему мы ограничили ваш комментарий")
    assert "Мы удалили ваш комментарий: читатели его больше не видят." in plain(statement)
    assert "Причина: Спам или реклама" in plain(statement)

    r = await client.get("/api/v1/me/statements", params={**site.q(), "lang": "ru"}, headers=site.auth(writer))
    assert r.status_code == 200 and r.headers["content-language"] == "ru"
    [item] = r.json()["items"]
    assert (item["restriction"], item["reason_code"], item["source"]) == ("removal", "spam", "own_initiative")
    assert item["decision"] == "Ваш комментарий удалён: читатели его больше не видят."
    assert item["reason"] == "Спам или реклама" and "шести месяцев" in item["redress"]["internal"]
    # the troubleshooter, asked about that comment in Russian, shows the same statement in Russian
    r = await client.get("/api/v1/troubleshoot", params={**site.q(), "lang": "ru", "comment_id": mine["id"]},
                         headers=site.auth(writer))
    assert r.status_code == 200, r.text
    [check] = [c for c in r.json()["checks"] if c["id"] == "comment"]
    assert check["data"]["statement"]["decision"] == item["decision"]
    r = await client.post(f"/api/v1/me/statements/{item['id']}/appeal", params={**site.q(), "lang": "ru"},
                          headers=site.auth(writer), json={"explanation": "   "})
    # the code is the same in every language; the words are the reader's
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    assert r.json()["detail"] == "Пояснение пустое." and r.headers["content-language"] == "ru"
    r = await client.post(f"/api/v1/me/statements/{item['id']}/appeal", params={**site.q(), "lang": "ru"},
                          headers=site.auth(writer), json={"explanation": "Это не спам."})
    assert r.status_code == 201, r.text
    assert await db.fetchval("SELECT locale FROM dsa_appeals WHERE id = $1", r.json()["id"]) == "ru"
    other = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name='Other')}"}
    appeal_id = r.json()["id"]
    r = await client.post(f"/api/v1/moderation/appeals/{appeal_id}/decision", headers=other,
                          json={"outcome": "reverse", "explanation": "Не спам."})
    assert r.status_code == 200, r.text
    await run_once(notifier)
    appeal_mail = to(smtp_sink, f"olga-{site.id}@example.org")[-1]
    assert appeal_mail["Subject"].endswith("Решение по вашей жалобе")
    assert "Мы отменили своё решение: ограничение снято." in plain(appeal_mail)
