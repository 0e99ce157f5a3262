"""The server's words in the reader's language: errors, a post's outcome message and the
troubleshooter, negotiated from the widget's ``lang`` parameter or ``Accept-Language``; the codes
stay the same in every language, and a language we lack (or garbage) answers in English."""

from __future__ import annotations

import pytest

from comments_service import i18n
from comments_service.errors import CATALOGUE
from tests.support.sites import article_body, make_site

GUESTS_RU_TITLE = "Этот сайт принимает комментарии только от вошедших читателей."


async def guest_challenge(client, site, **kwargs):
    """What the widget asks before a guest's first post, on a site that takes signed-in readers only."""
    return await client.get("/api/v1/challenge", **kwargs)


async def test_an_error_in_russian_by_the_widgets_lang_and_by_the_browsers_header(client, services, db):
    site = await make_site(services, db, guests=False)
    by_param = await guest_challenge(client, site, params=site.q(lang="ru"))
    by_header = await guest_challenge(client, site, params=site.q(),
                                 headers={"Accept-Language": "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"})
    for r in (by_param, by_header):
        assert r.status_code == 403
        body = r.json()
        assert body["code"] == "guests_not_allowed" and body["status"] == 403
        assert body["title"] == GUESTS_RU_TITLE == i18n.translate(CATALOGUE["guests_not_allowed"].message, "ru")
        assert body["detail"] == GUESTS_RU_TITLE
        assert r.headers["content-language"] == "ru" and "Accept-Language" in r.headers["vary"]
    # the widget's lang wins over the browser's
    fr = await guest_challenge(client, site, params=site.q(lang="fr"), headers={"Accept-Language": "ru"})
    assert fr.json()["code"] == "guests_not_allowed"
    assert fr.json()["title"] == "Ce site n’accepte que les commentaires de lecteurs connectés."


async def test_a_detail_with_specifics_becomes_the_translated_title_and_keeps_its_fields(client, site):
    token = site.sso_token()
    r = await client.post("/api/v1/articles/i18n/comments", params=site.q(lang="de"), headers=site.auth(token),
                          json=article_body("x" * 10_001))
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "body_too_long" and body["limit"] > 0
    assert body["title"] == body["detail"] == "Der Kommentar ist länger als erlaubt."
    english = await client.post("/api/v1/articles/i18n/comments", params=site.q(), headers=site.auth(token),
                                json=article_body("x" * 10_001))
    assert english.json()["detail"].startswith("The comment is 10001 characters")


async def test_the_middlewares_refusals_are_translated_too(client, site):
    r = await client.get("/api/v1/articles/a/comments", params=site.q(lang="uk"),
                         headers={"Origin": "https://copycat.example"})
    assert r.status_code == 403
    assert r.json()["code"] == "origin_not_allowed"
    assert r.json()["title"] == "Цьому джерелу не можна використовувати коментарі сайту."


@pytest.mark.parametrize("lang, header", [
    ("xx", None), (None, "zz-ZZ"), ("'; drop table--", "@@@, ;q=abc, ,,,"), ("pt-BR", "pt-BR,pt;q=0.9"),
    (None, "ru;q=0"), (None, "*"), ("x" * 300, "a-" * 2000), (None, ";q=1.5, de;q=nan"),
    (None, "en;q=0.1, " * 100 + "ru"),  # read only as far as a browser's header goes: the English ranges
])
async def test_a_language_we_lack_or_garbage_answers_in_english(client, services, db, lang, header):
    site = await make_site(services, db, guests=False)
    params = site.q(**({"lang": lang} if lang is not None else {}))
    r = await guest_challenge(client, site, params=params, headers={"Accept-Language": header} if header else {})
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "guests_not_allowed"
    assert r.json()["title"] == CATALOGUE["guests_not_allowed"].message
    assert r.headers["content-language"] == "en"


async def test_a_posts_outcome_message_in_arabic(client, services, db):
    site = await make_site(services, db, settings={"explain_decisions": True})
    r = await client.post("/api/v1/articles/i18n/comments", params=site.q(lang="ar"),
                          headers=site.auth(site.sso_token()), json=article_body("مرحبا بالجميع"))
    assert r.status_code == 201, r.text
    posted = r.json()
    assert posted["status"] == "published"
    assert posted["message"].startswith("نُشر تعليقك.")
    assert posted["judged_by"] == i18n.translate("Published without scoring: scoring is off on this service.", "ar")
    assert posted["judged_by"] in posted["message"]
    english = await client.post("/api/v1/articles/i18n/comments", params=site.q(),
                                headers=site.auth(site.sso_token()), json=article_body("Hello all"))
    assert english.json()["message"] == ("Your comment is published. Published without scoring: scoring is off on "
                                         "this service.")


async def test_the_troubleshooter_explains_in_french(client, site):
    r = await client.get("/api/v1/troubleshoot", params=site.q(article_id="no-such-article", lang="fr"),
                         headers={"Origin": "https://copycat.example"})
    assert r.status_code == 200
    checks = {c["id"]: c for c in r.json()["checks"]}
    origin = checks["origin"]
    assert origin["code"] == "origin_not_allowed" and origin["status"] == "problem"
    assert origin["title"] == "Adresse de la page"
    assert origin["explanation"] == i18n.translate(CATALOGUE["origin_not_allowed"].help, "fr")
    assert origin["explanation"].startswith("Les commentaires ne sont pas activés")
    assert checks["article"]["code"] == "article_not_found"
    assert checks["article"]["explanation"] == "Cet article n’a pas encore de fil de discussion. Le premier " \
                                               "commentaire l’ouvrira."
    assert checks["token"]["explanation"].startswith("Vous n’êtes pas connecté.")
    assert r.json()["version"] in checks["api"]["explanation"] and "joignable" in checks["api"]["explanation"]


async def test_the_code_table_the_widget_reads_follows_the_language(client, site):
    r = await client.get("/api/v1/troubleshoot/codes", params=site.q(lang="es"))
    codes = r.json()["codes"]
    assert codes.keys() == CATALOGUE.keys()
    assert codes["token_expired"]["status"] == 401
    assert codes["token_expired"]["help"].startswith("Tu sesión ha caducado.")


async def test_the_nudge_before_posting_speaks_the_readers_language(client, site):
    r = await client.post("/api/v1/toxicity/check", params=site.q(lang="tr"), json={"body": "kys"},
                          headers=site.auth(site.sso_token()))
    assert r.status_code == 200
    body = r.json()
    assert body["likely_rejected"] is True
    assert body["message"] == ("Yorumunuz topluluk kurallarımızı ihlal ediyor ve bu hâliyle yayımlanmayacak. "
                               "Yayımlamak için düzenleyin.")
