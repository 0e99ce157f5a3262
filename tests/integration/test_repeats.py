"""Repeats and copy-paste campaigns through HTTP (services/repeats.py, services/campaigns.py): an
author's repeated text is refused; the same text from several authors is held as a campaign that
moderators decide in one action; with Redis away, posting goes on unchecked."""

from __future__ import annotations

import pytest

from tests.support.apps import other_app, scoring_app
from tests.support.scoring import NO_THRESHOLDS
from tests.support.seeding import seed_comment, set_site_policy
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token

ON = {"COMMENTS_REPEAT_CHECKS": "on"}
REPORT = ("The convoy crossed at dawn, the border guards said, and the villages on the other side were "
          "told to expect more soldiers before the end of the month.")
# the same text as a copy campaign sends it: a word changed, different case and punctuation
VARIANTS = [
    "Visit the real story behind the border troops, the media hides it! Share this everywhere before "
    "they delete it, the truth about the soldiers is out.",
    "visit the REAL story behind the border troops, the media hides it!! Share this everywhere before "
    "they delete it, the truth about the soldiers is out",
    "Visit the real story behind the border troops, the media hides it. Share this everywhere before "
    "they remove it, the truth about the soldiers is out!",
    "Visit the real story behind the border troops: the media hides it! Share this everywhere before "
    "they delete it - the truth about these soldiers is out.",
]


@pytest.fixture(scope="module")
async def api(storage, database):
    async with other_app(storage, **ON) as client:
        yield client


async def post(api, site, text, sub="reader-1", article="a1", **extra):
    return await api.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text, **extra),
                          headers=site.auth(site.sso_token(sub=sub, name=f"Reader {sub}")))


async def test_an_author_posting_the_same_text_again_is_refused_with_a_clear_message(api, services, db):
    site = await make_site(services, db)
    assert (await post(api, site, REPORT)).status_code == 201
    again = await post(api, site, REPORT)
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "repeat_post"
    assert problem["detail"] == "You already posted this comment a moment ago."
    # nearly the same: case, punctuation and one word changed; and on another article of the site
    nearly = REPORT.upper().replace("dawn", "sunrise").replace(",", "")
    refused = await post(api, site, nearly, article="a2")
    assert refused.status_code == 409 and refused.json()["code"] == "repeat_post"
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 1
    # a different comment by the same author, and the same comment by someone else, are fine
    assert (await post(api, site, "I was there last spring; the road was closed for weeks.")).status_code == 201
    assert (await post(api, site, REPORT, sub="reader-2")).status_code == 201


async def test_short_texts_repeat_only_when_the_words_are_the_same(api, services, db):
    site = await make_site(services, db)
    assert (await post(api, site, "Thank you for this report.")).status_code == 201
    assert (await post(api, site, "thank you, for this REPORT!")).json()["code"] == "repeat_post"
    assert (await post(api, site, "Thank you for this update.")).status_code == 201


async def test_a_post_refused_for_another_reason_is_no_repeat_when_sent_again(api, services, db):
    site = await make_site(services, db)
    missing_parent = await post(api, site, REPORT, parent_id=2**31)
    assert missing_parent.status_code == 400 and missing_parent.json()["code"] == "parent_not_found"
    assert (await post(api, site, REPORT)).status_code == 201


async def test_the_site_sets_the_window_and_can_switch_the_check_off(api, services, db):
    site = await make_site(services, db)
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    bad = await api.patch(f"/api/v1/moderation/sites/{site.id}",
                          json={"moderation": {"repeats": {"window_minutes": -1}}}, headers=admin)
    assert bad.status_code == 422 and "moderation.repeats.window_minutes" in bad.text
    off = await api.patch(f"/api/v1/moderation/sites/{site.id}",
                          json={"moderation": {"repeats": {"window_minutes": 0}}}, headers=admin)
    assert off.status_code == 200, off.text
    assert (await post(api, site, REPORT)).status_code == 201
    assert (await post(api, site, REPORT)).status_code == 201


async def test_guests_repeat_by_their_address(serve, services, db):
    site = await make_site(services, db)
    async with serve(**ON) as live, live.http() as http:
        first = await http.post("/api/v1/articles/a1/comments", params=site.q(),
                                json=article_body(REPORT, author_name="Guest One"))
        assert first.status_code == 201, first.text
        # a new guest name is a new guest identity, but the same address
        again = await http.post("/api/v1/articles/a1/comments", params=site.q(),
                                json=article_body(REPORT, author_name="Guest Two"))
        assert again.status_code == 409 and again.json()["code"] == "repeat_post"


async def test_with_redis_away_posting_goes_on_without_the_checks(storage, database, services, db):
    site = await make_site(services, db)
    # nothing listens on port 1: every Redis call fails at once
    async with other_app(storage, COMMENTS_REDIS_URL="redis://127.0.0.1:1/0", **ON) as away:
        assert (await post(away, site, REPORT)).status_code == 201
        assert (await post(away, site, REPORT)).status_code == 201
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 2


# ------------------------------------------------------------------ campaigns (scored)
@pytest.fixture(scope="module")
async def scored(storage, database, worker):
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="10000", **ON) as client:
        yield client


async def test_a_copy_campaign_is_held_grouped_and_rejected_with_its_authors_in_one_action(scored, services, db):
    site = await make_site(services, db)
    await set_site_policy(db, site.id, NO_THRESHOLDS)
    posted = []
    for i, text in enumerate(VARIANTS):
        response = await post(scored, site, text, sub=f"brigade-{i}", article=f"story-{i % 2}")
        assert response.status_code == 201, response.text
        posted.append(response.json())
    # two authors are a coincidence; the third makes it a campaign, and every later one joins it
    assert [p["status"] for p in posted] == ["published", "published", "held", "held"]
    assert "other accounts posted nearly the same text" not in posted[2]["message"]  # thresholds stay hidden
    ids = [p["comment"]["id"] for p in posted]
    rows = await db.fetch("SELECT id, campaign_id, status, status_reason FROM comments WHERE id = ANY($1) "
                          "ORDER BY id", ids)
    campaign = rows[0]["campaign_id"]
    assert campaign is not None and {r["campaign_id"] for r in rows} == {campaign}
    # the two published before it was a campaign went to the queue with it, out of their threads
    assert {(r["status"], r["status_reason"]) for r in rows} == {("held", "copy_campaign")}
    audit = await db.fetch("SELECT comment_id, actor_id, before_status, after_status FROM moderation_actions "
                           "WHERE site_id = $1 AND action = 'campaign_hold' ORDER BY comment_id", site.id)
    assert [tuple(a) for a in audit] == [(i, "system:campaign", "published", "held") for i in ids[:2]]
    for article in ("story-0", "story-1"):
        thread = (await scored.get(f"/api/v1/articles/{article}/comments", params=site.q())).json()
        assert thread["comments"] == [] and thread["article"]["comment_count"] == 0
    # an unrelated comment of the same moment is not drawn in
    other = await post(scored, site, REPORT, sub="bystander")
    assert other.json()["status"] == "published"
    assert await db.fetchval("SELECT campaign_id FROM comments WHERE id = $1", other.json()["comment"]["id"]) is None

    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id, name='Mo')}"}
    queue = (await scored.get("/api/v1/moderation/queue", params=site.q(state="held"), headers=mod)).json()
    assert sorted(i["comment"]["id"] for i in queue["items"]) == sorted(ids)
    assert {i["comment"]["campaign_id"] for i in queue["items"]} == {campaign}
    listed = (await scored.get("/api/v1/moderation/campaigns", params=site.q(), headers=mod)).json()["campaigns"]
    assert [(c["id"], c["comments"], c["waiting"], c["published"], c["authors"]) for c in listed] == [
        (campaign, 4, 4, 0, 4)]
    assert listed[0]["sample"].startswith("Visit the real story")

    # a moderator of another site cannot see or decide it
    stranger_site = await make_site(services, db)
    stranger = {"Authorization": f"Bearer {await staff_token(db, 'moderator', stranger_site.id)}"}
    assert (await scored.post(f"/api/v1/moderation/campaigns/{campaign}/decision",
                              json={"action": "reject"}, headers=stranger)).status_code == 404

    decided = await scored.post(f"/api/v1/moderation/campaigns/{campaign}/decision",
                                json={"action": "reject", "reason": "spam", "ban_authors": True}, headers=mod)
    assert decided.status_code == 200, decided.text
    body = decided.json()
    # the campaign's original (perhaps a reader's comment the others copied) is left to decide alone
    assert body["comments"]["succeeded"] == 3 and body["comments"]["failed"] == 0
    assert ids[0] not in {r["comment_id"] for r in body["comments"]["results"]}
    assert len(body["banned"]) == 3 and posted[0]["user"]["id"] not in body["banned"]
    statuses = await db.fetch("SELECT status FROM comments WHERE id = ANY($1) ORDER BY id", ids)
    assert [r["status"] for r in statuses] == ["held", "rejected", "rejected", "rejected"]
    assert await db.fetchval("SELECT count(*) FROM bans WHERE site_id = $1", site.id) == 3
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE site_id = $1 AND action = 'reject'",
                             site.id) == 3
    assert (await scored.get("/api/v1/moderation/campaigns", params=site.q(), headers=mod)).json()["campaigns"] == []


async def aged_reader(db, site, sub: str) -> None:
    """A reader whose account was made a month ago."""
    await db.execute("INSERT INTO users (site_id, kind, external_id, display_name, created_at) "
                     "VALUES ($1, 'sso', $2, $2, now() - interval '30 days')", site.id, sub)


@pytest.mark.parametrize(("copiers", "copy_statuses"), [
    ("fresh", ["published", "held"]),  # new accounts: a campaign at the third text
    ("aged", ["published", "held", "held"]),  # accounts a month old, three of them: enough to hold copies
])
async def test_copying_a_readers_comment_neither_takes_it_down_nor_gets_its_author_banned(
        scored, services, db, copiers, copy_statuses):
    site = await make_site(services, db)
    await set_site_policy(db, site.id, NO_THRESHOLDS)
    await aged_reader(db, site, "regular")
    for i in range(len(copy_statuses)):
        if copiers == "aged":
            await aged_reader(db, site, f"{copiers}-{i}")
    original = (await post(scored, site, VARIANTS[0], sub="regular")).json()
    assert original["status"] == "published"
    copies = [(await post(scored, site, text, sub=f"{copiers}-{i}")).json()
              for i, text in enumerate(VARIANTS[1:1 + len(copy_statuses)])]
    assert [c["status"] for c in copies] == copy_statuses
    status, campaign = await db.fetchrow("SELECT status, campaign_id FROM comments WHERE id = $1",
                                         original["comment"]["id"])
    assert status == "published" and campaign is not None  # grouped with them, but still up
    # a moderator rejects the whole campaign, banning its authors: the reader is not among them
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    decided = (await scored.post(f"/api/v1/moderation/campaigns/{campaign}/decision",
                                 json={"action": "reject", "ban_authors": True}, headers=mod)).json()
    assert decided["comments"]["succeeded"] == len(copy_statuses)
    assert await db.fetchval("SELECT status FROM comments WHERE id = $1", original["comment"]["id"]) == "published"
    assert original["user"]["id"] not in decided["banned"] and len(decided["banned"]) == len(copy_statuses)


async def test_a_campaign_of_older_accounts_takes_their_copies_down_once_enough_of_them_copied(scored, services,
                                                                                                 db):
    """Aged accounts are what a spammer runs short of: once as many other older accounts as make a
    campaign wrote copies of a text, an older account's published copy goes to the queue too; the
    original, the first text written, never does (copies come after it)."""
    site = await make_site(services, db)
    await set_site_policy(db, site.id, NO_THRESHOLDS)
    for i in range(4):
        await aged_reader(db, site, f"aged-{i}")
    ids = []
    for i, text in enumerate(VARIANTS):
        posted = (await post(scored, site, text, sub=f"aged-{i}")).json()
        ids.append(posted["comment"]["id"])
        statuses = await db.fetch("SELECT status FROM comments WHERE id = ANY($1) ORDER BY id", ids)
        if i == 2:  # a campaign now, but the second copy has only two other older copiers
            assert [r["status"] for r in statuses] == ["published", "published", "held"]
    assert [r["status"] for r in statuses] == ["published", "held", "held", "held"]
    assert await db.fetchval("SELECT array_agg(comment_id) FROM moderation_actions WHERE site_id = $1 "
                             "AND action = 'campaign_hold'", site.id) == [ids[1]]


async def test_with_scoring_off_a_campaign_post_answers_what_it_stored(api, services, db):
    site = await make_site(services, db)
    for i, text in enumerate(VARIANTS):
        r = await post(api, site, text, sub=f"unscored-{i}")
        assert r.status_code == 201, r.text
        answered = r.json()
        stored = await db.fetchval("SELECT status FROM comments WHERE id = $1", answered["comment"]["id"])
        assert answered["status"] == stored == "published", (i, answered["status"], stored)
    # no policy runs without scoring, but the campaign still sends its earlier copies to the queue
    rows = await db.fetch("SELECT status FROM comments c JOIN users u ON u.id = c.author_id WHERE c.site_id = $1 "
                          "ORDER BY c.id", site.id)
    assert [r["status"] for r in rows] == ["held", "held", "held", "published"]


async def test_a_growing_campaign_finds_a_copy_its_band_lookup_missed(scored, services, db):
    site = await make_site(services, db)
    await set_site_policy(db, site.id, NO_THRESHOLDS)
    ids = [(await post(scored, site, text, sub=f"brigade-{i}")).json()["comment"]["id"]
           for i, text in enumerate(VARIANTS[:3])]
    # a copy published unseen, as one whose bands met none of the others' is (by a new reader)
    slipped = await seed_comment(services, db, site.id, article="a1", status="published", reason="ok",
                                 body=VARIANTS[3])
    fourth = (await post(scored, site, VARIANTS[0] + " Again.", sub="brigade-4")).json()
    assert fourth["status"] == "held"
    campaign = await db.fetchval("SELECT campaign_id FROM comments WHERE id = $1", ids[0])
    row = await db.fetchrow("SELECT status, status_reason, campaign_id FROM comments WHERE id = $1", slipped.id)
    assert tuple(row) == ("held", "copy_campaign", campaign)
    thread = (await scored.get("/api/v1/articles/a1/comments", params=site.q())).json()
    assert thread["comments"] == []


async def test_approving_a_campaign_publishes_only_what_the_campaign_held(api, services, db):
    site = await make_site(services, db)
    campaign = await db.fetchval("INSERT INTO spam_campaigns (site_id, signature) VALUES ($1, 'sig') RETURNING id",
                                 site.id)
    copy = await seed_comment(services, db, site.id, reason="copy_campaign", body="A copy")
    toxic = await seed_comment(services, db, site.id, reason="toxicity_hold", body="A copy, and an insult")
    await db.execute("UPDATE comments SET campaign_id = $1 WHERE id = ANY($2::bigint[])", campaign, [copy.id, toxic.id])
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    decided = await api.post(f"/api/v1/moderation/campaigns/{campaign}/decision", json={"action": "approve"},
                             headers=mod)
    assert decided.status_code == 200, decided.text
    assert [r["comment_id"] for r in decided.json()["comments"]["results"]] == [copy.id]
    statuses = dict(await db.fetch("SELECT id, status FROM comments WHERE id = ANY($1::bigint[])", [copy.id, toxic.id]))
    assert statuses == {copy.id: "published", toxic.id: "held"}
    refused = await api.post(f"/api/v1/moderation/campaigns/{campaign}/decision",
                             json={"action": "approve", "ban_authors": True}, headers=mod)
    assert refused.status_code == 400
