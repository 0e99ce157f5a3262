"""Comments routed by their language through HTTP, with a real `comments-service worker` (the tiny
offline detoxify checkpoint: an English model, and no multilingual one): a Russian comment is held
(``language_unscored``) on a site whose ``languages.other`` is "hold", and judged by the word
lists alone on one that keeps the default ("word_lists"); English and texts with no letters are
scored by the model as before; moderators see the language in the queue."""

from __future__ import annotations

import pytest

from tests.support.apps import scoring_app
from tests.support.scoring import NO_THRESHOLDS
from tests.support.seeding import set_site_policy
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

RUSSIAN = "Опять перебросили войска на границу, а местным жителям никто ничего не объясняет."
# a Russian insult the English model would not read: on the site's own banned list
RUSSIAN_BANNED = "Автор статьи дебил, граница тут вообще ни при чём."


@pytest.fixture(scope="module")
async def api(storage, database, worker):
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="10000") as client:
        yield client


async def site_with(services, db, languages: dict | None, **moderation):
    site = await make_site(services, db)
    policy = {**NO_THRESHOLDS["moderation"], **moderation}
    if languages is not None:
        policy["languages"] = languages
    await set_site_policy(db, site.id, {"moderation": policy})
    return site


async def post(api, site, text, sub="reader-1", article="border"):
    response = await api.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                              json=article_body(text), headers=site.auth(site.sso_token(sub=sub)))
    assert response.status_code == 201, response.text
    return response.json()


async def decision(db, comment_id):
    return await db.fetchrow("SELECT status, status_reason, toxicity, toxicity_model, decision_detail "
                             "FROM comments WHERE id = $1", comment_id)


async def test_a_russian_comment_is_held_where_the_site_holds_unscored_languages(api, services, db):
    site = await site_with(services, db, {"other": "hold", "multilingual": True})
    posted = await post(api, site, RUSSIAN)
    # the site enables the multilingual model, but no worker has one: the "other" rule decides
    assert posted["status"] == "held" and "awaiting moderation" in posted["message"]
    assert "language_unscored" not in str(posted)  # the reason code is for moderators
    row = await decision(db, posted["comment"]["id"])
    # the configured model's scores are kept, for moderators: they could only have held it
    assert row["status_reason"] == "language_unscored" and row["toxicity"] is not None
    assert row["decision_detail"]["language"] == "ru" and row["decision_detail"]["language_unscored"] is True
    assert row["decision_detail"]["language_confidence"] >= 0.5

    # moderators see why and in which language, in the queue and among the reason codes
    mod = bearer(await staff_token(db, "moderator", site.id, name="Mo"))
    queue = (await api.get("/api/v1/moderation/queue", params=site.q(state="held"), headers=mod)).json()
    [item] = queue["items"]
    assert item["comment"]["status_reason"] == "language_unscored"
    assert item["comment"]["language"] == "ru" and item["comment"]["language_confidence"] >= 0.5
    codes = (await api.get("/api/v1/moderation/reason-codes", headers=mod)).json()
    assert "language_unscored" in {c["code"] for c in codes["hold"]}

    # an English comment on the same site is scored by the model as before
    english = await post(api, site, "Three civilians were killed near the border post, officials said.", sub="en")
    assert english["status"] == "published"
    row = await decision(db, english["comment"]["id"])
    assert row["status_reason"] == "ok" and row["toxicity"] is not None
    assert row["decision_detail"]["language"] == "en" and "language_unscored" not in row["decision_detail"]


async def test_a_russian_comment_is_judged_by_the_word_lists_alone_by_default(api, services, db):
    site = await site_with(services, db, None, banned_words=["дебил*"])
    posted = await post(api, site, RUSSIAN)
    assert posted["status"] == "published"
    row = await decision(db, posted["comment"]["id"])
    # published: no word list matched, and the English model's scores, which may only hold it, are low
    assert row["status_reason"] == "ok" and row["toxicity"] is not None
    assert row["decision_detail"] == {"language": "ru", "language_confidence": row["decision_detail"][
        "language_confidence"], "language_unscored": True}

    # English abuse with a Russian paragraph after it is read by the English model all the same
    mixed = await post(api, site, "You are a worthless idiot and everyone here hates you. " + RUSSIAN * 3, sub="mixed")
    row = await decision(db, mixed["comment"]["id"])
    assert row["toxicity"] is not None and "language_unscored" not in row["decision_detail"], row
    assert row["decision_detail"]["language"] == "ru"

    banned = await post(api, site, RUSSIAN_BANNED, sub="troll")
    assert banned["status"] == "rejected" and banned["reason_category"] == "rejected_language"
    row = await decision(db, banned["comment"]["id"])
    assert row["status_reason"] == "banned_word" and row["decision_detail"]["term"] == "дебил*"
    assert row["decision_detail"]["language"] == "ru"


async def test_english_and_letterless_comments_are_scored_as_before(api, services, db):
    site = await site_with(services, db, {"other": "hold"})
    for text in ("Is the bridge at Panj open to trucks again this week?", "+1 👍👍", "!!! 100% ???", "😡😡😡"):
        posted = await post(api, site, text, sub="plain")
        assert posted["status"] == "published", (text, posted)
        row = await decision(db, posted["comment"]["id"])
        assert row["status_reason"] == "ok" and row["toxicity"] is not None, text
        assert "language_unscored" not in (row["decision_detail"] or {}), text
    # a text with no letters has no language: nothing stored about one
    letterless = await post(api, site, "12:45 23.05.2026", sub="plain")
    row = await decision(db, letterless["comment"]["id"])
    assert row["decision_detail"] is None or "language" not in row["decision_detail"]


async def test_hostile_texts_never_stop_the_worker(api, services, db):
    site = await site_with(services, db, {"other": "hold"})
    texts = ("Пoгрaничники oпять ничeгo нe cдeлaли, a нaрoд cтрaдaeт.",  # Latin look-alikes in Russian
             "Тhе trооps аrе bаck аt thе bоrdеr аgаin and nobody explains why.",  # Cyrillic in English
             "граница " * 600, "\u200f\u202e" + "ب" * 2000, "x\u0301" * 1500)
    outcomes = []
    for i, text in enumerate(texts):
        posted = await post(api, site, text, sub=f"hostile-{i}", article="hostile")
        row = await decision(db, posted["comment"]["id"])
        outcomes.append((row["status"], row["status_reason"], (row["decision_detail"] or {}).get("language")))
    assert outcomes[0] == ("held", "language_unscored", "ru")
    assert outcomes[1][:2] == ("published", "ok") and outcomes[1][2] == "en"
    assert all(status in ("published", "held") for status, _, _ in outcomes), outcomes
    # and the worker goes on deciding
    after = await post(api, site, "The ceasefire held through the night, the ministry said.", sub="after")
    assert after["status"] == "published"
