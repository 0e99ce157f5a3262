"""A reader's data rights through the API: the export of everything held about them, erasure by the
reader (SSO or guest token) and by a site's admin, in both of a site's erasure modes; what an
erasure keeps (other readers' replies in place, vote totals, reports without their reporter,
moderators' notes, an audit entry naming nobody) and the cached pages it retires; and the refusals,
which change nothing."""

from __future__ import annotations

import pytest

from tests.support.sites import make_site
from tests.support.tokens import staff_token

ARTICLE = "privacy-article"
DATA = "/api/v1/me/data"
ERASE = {"confirm": "erase"}


def article_fields(site) -> dict:
    return {"article_url": f"{site.origin}/{ARTICLE}", "article_title": "Who owns your words"}


async def post(client, site, token, body, parent_id=None, **extra) -> dict:
    r = await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=site.q(),
                          headers=site.auth(token) if token else {},
                          json={"body": body, "parent_id": parent_id, **article_fields(site), **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def thread(client, site) -> dict:
    r = await client.get(f"/api/v1/articles/{ARTICLE}/comments", params=site.q())
    assert r.status_code == 200, r.text
    return r.json()


def flat(comments: list[dict]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for c in comments:
        out[c["id"]] = c
        out.update(flat(c.get("replies", [])))
    return out


async def export(client, site, token) -> dict:
    r = await client.get(DATA, params=site.q(), headers=site.auth(token))
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    return r.json()


async def erase(client, site, token, body=ERASE):
    return await client.request("DELETE", DATA, params=site.q(), headers=site.auth(token) if token else {},
                                json=body)


async def snapshot(db, user_id: int) -> tuple:
    """Everything an erasure would change about a reader, to show a refusal changed nothing."""
    return (await db.fetchrow("SELECT display_name, email FROM users WHERE id = $1", user_id),
            await db.fetch("SELECT id, status, body_markdown FROM comments WHERE author_id = $1 ORDER BY id", user_id),
            await db.fetchval("SELECT count(*) FROM votes WHERE user_id = $1", user_id),
            await db.fetchval("SELECT count(*) FROM reports WHERE reporter_id = $1", user_id),
            await db.fetchval("SELECT count(*) FROM notification_subscriptions WHERE user_id = $1", user_id),
            await db.fetchval("SELECT count(*) FROM moderation_actions WHERE action = 'user_erased' AND user_id = $1",
                              user_id))


async def ann_with_history(client, site, db) -> dict:
    """Ann: a comment Bea replied to, one nobody answered, a vote and a report on Bea's comments, a
    subscription, a problem report, a held comment, a moderator's note about her; Bea's page cached."""
    ann = site.sso_token(sub="ann", name="Ann Example", email="ann@example.org")
    bea = site.sso_token(sub="bea", name="Bea", email="bea@example.org")
    answered = (await post(client, site, ann, "Ann's question, answered"))["comment"]
    alone = (await post(client, site, ann, "Ann's remark nobody answered"))["comment"]
    reply = (await post(client, site, bea, "Bea's answer", parent_id=answered["id"]))["comment"]
    beas_own = (await post(client, site, bea, "Bea's own thought"))["comment"]
    ann_id = await db.fetchval("SELECT author_id FROM comments WHERE id = $1", answered["id"])
    await db.execute("UPDATE comments SET author_ip = '198.51.100.7' WHERE author_id = $1", ann_id)
    held = await db.fetchval(
        "INSERT INTO comments (article_id, author_id, body_markdown, body_html, status, status_reason, author_ip) "
        "SELECT article_id, author_id, 'Ann held text', '<p>Ann held text</p>', 'held', 'toxicity_hold', "
        "'198.51.100.7' FROM comments WHERE id = $1 RETURNING id", answered["id"])
    r = await client.post(f"/api/v1/comments/{reply['id']}/votes", params=site.q(), headers=site.auth(ann),
                          json={"value": 1})
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/comments/{beas_own['id']}/reports", params=site.q(), headers=site.auth(ann),
                          json={"reason": "spam", "note": "Ann thinks this is spam"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/me/notifications", params=site.q(), headers=site.auth(ann),
                          json={"article_id": ARTICLE, "comment_id": answered["id"]})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/troubleshoot/reports", params=site.q(),
                          headers={**site.auth(ann), "User-Agent": "AnnBrowser/1.0"},
                          json={"description": "Ann cannot post", "article_id": ARTICLE})
    assert r.status_code == 201, r.text
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    r = await client.post(f"/api/v1/moderation/users/{ann_id}/notes", params=site.q(), headers=mod,
                          json={"text": "Ann argues a lot"})
    assert r.status_code == 201, r.text
    page = await thread(client, site)  # cached now: an erasure must retire it
    assert flat(page["comments"])[answered["id"]]["author"]["name"] == "Ann Example"
    return {"ann": ann, "bea": bea, "ann_id": ann_id, "answered": answered["id"], "alone": alone["id"],
            "reply": reply["id"], "beas_own": beas_own["id"], "held": held,
            "count_before": page["article"]["comment_count"]}


async def test_the_export_holds_everything_about_the_reader_and_nothing_of_others(client, site, db) -> None:
    h = await ann_with_history(client, site, db)
    data = await export(client, site, h["ann"])
    assert data["profile"] == {"user_id": h["ann_id"], "name": "Ann Example", "kind": "sso",
                               "email": "ann@example.org", "role": "reader",
                               "created_at": data["profile"]["created_at"]}
    by_id = {c["id"]: c for c in data["comments"]}
    assert set(by_id) == {h["answered"], h["alone"], h["held"]}
    assert by_id[h["held"]]["status"] == "held" and by_id[h["held"]]["body_markdown"] == "Ann held text"
    assert by_id[h["answered"]]["article"]["id"] == ARTICLE and by_id[h["answered"]]["ip"] == "198.51.100.7"
    assert [(v["comment_id"], v["value"]) for v in data["votes"]] == [(h["reply"], 1)]
    assert [(r["comment_id"], r["reason"], r["note"]) for r in data["reports"]] == [
        (h["beas_own"], "spam", "Ann thinks this is spam")]
    assert [(s["comment_id"], s["email"]) for s in data["subscriptions"]] == [(h["answered"], "ann@example.org")]
    [problem] = data["problem_reports"]
    assert problem["description"] == "Ann cannot post" and problem["user_agent"] == "AnnBrowser/1.0"
    assert data["truncated"] == [] and data["limit"] == 10_000
    # the statement of reasons her automatically held comment has (EU DSA), as the widget shows it
    # her: which staff member decided stays with the site
    assert [(st["comment_id"], st["restriction"], st["automated_decision"]) for st in data["statements"]] == [
        (h["held"], "visibility_restriction", True)]
    assert "decided_by" not in data["statements"][0]
    # moderators' notes are the site's records, and other readers' words are theirs
    assert "Ann argues a lot" not in str(data) and "Bea's answer" not in str(data)
    assert "bea@example.org" not in str(data)

    # a signed-in reader of whom nothing is stored gets what their token says, and empty lists
    fresh = await export(client, site, site.sso_token(sub="newcomer", name="New", email="new@example.org"))
    assert fresh["profile"]["user_id"] is None and fresh["profile"]["email"] == "new@example.org"
    assert fresh["comments"] == [] and fresh["votes"] == []

    # no token: 401, and another site's token: refused too
    assert (await client.get(DATA, params=site.q())).status_code == 401
    assert (await client.get(DATA, params=site.q(), headers={"Authorization": "Bearer nonsense"})).status_code == 401


async def test_erasure_tombstones_the_readers_comments_and_keeps_the_sites_records(client, site, db) -> None:
    h = await ann_with_history(client, site, db)
    before = await snapshot(db, h["ann_id"])

    # refusals change nothing: no confirmation, a wrong one, no token
    for body in (None, {}, {"confirm": "yes"}):
        r = await erase(client, site, h["ann"], body)
        assert r.status_code == 400 and r.json()["code"] == "erasure_not_confirmed", r.text
    r = await erase(client, site, None)
    assert r.status_code == 401 and r.json()["code"] == "auth_required", r.text
    r = await erase(client, site, h["ann"], {"confirm": "erase", "also": 1})
    assert 400 <= r.status_code < 500, r.text
    assert await snapshot(db, h["ann_id"]) == before

    r = await erase(client, site, h["ann"])
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    receipt = r.json()
    assert receipt == {"user_id": h["ann_id"], "mode": "tombstone", "comments_tombstoned": 3, "comments_removed": 0,
                       "votes_removed": 1, "reports_unlinked": 1, "subscriptions_removed": 1,
                       "problem_reports_cleared": 1, "articles_refreshed": 1}

    # the cached page went: Bea's reply keeps its place under a tombstone, the lone comment left the count
    page = await thread(client, site)
    shown = flat(page["comments"])
    assert shown[h["answered"]]["deleted"] is True and shown[h["answered"]]["author"] is None
    assert shown[h["answered"]]["body_html"] == ""
    assert shown[h["reply"]]["body_html"].startswith("<p>Bea's answer")
    assert h["alone"] not in shown
    assert page["article"]["comment_count"] == h["count_before"] - 2
    assert "Ann" not in str(page)
    # the vote Ann gave still counts; her row of it is gone
    assert shown[h["reply"]]["upvotes"] == 1
    rows = await db.fetch("SELECT status, status_reason, body_markdown, body_html, author_ip FROM comments "
                          "WHERE author_id = $1", h["ann_id"])
    assert {tuple(r) for r in rows} == {("deleted", "erased", "", "", None)}
    assert await db.fetchrow("SELECT display_name, email FROM users WHERE id = $1", h["ann_id"]) == (
        "[deleted]", None)
    report = await db.fetchrow("SELECT reporter_id, reason FROM reports WHERE comment_id = $1", h["beas_own"])
    assert report == (None, "spam")
    assert await db.fetchval("SELECT count(*) FROM notification_subscriptions WHERE user_id = $1", h["ann_id"]) == 0
    problem = await db.fetchrow("SELECT user_id, description, user_agent FROM problem_reports WHERE site_id = $1",
                                site.id)
    assert problem == (None, "", None)
    # moderators' notes stay: the site's records
    assert await db.fetchval("SELECT body FROM moderator_notes WHERE user_id = $1", h["ann_id"]) == "Ann argues a lot"
    [audit] = await db.fetch("SELECT * FROM moderation_actions WHERE action = 'user_erased' AND site_id = $1",
                             site.id)
    assert audit["user_id"] == h["ann_id"] and audit["actor_id"] == f"user:{h['ann_id']}"
    assert "Ann" not in str(dict(audit)) and "ann@" not in str(dict(audit)) and "198.51" not in str(dict(audit))

    # again: nothing more to change, and the export shows only what is left
    again = (await erase(client, site, h["ann"])).json()
    assert again["comments_tombstoned"] == again["votes_removed"] == again["subscriptions_removed"] == 0
    data = await export(client, site, h["ann"])
    assert data["votes"] == data["reports"] == data["subscriptions"] == data["problem_reports"] == []
    assert {c["body_markdown"] for c in data["comments"]} == {""}


async def test_a_site_that_removes_keeps_only_the_tombstones_replies_need(client, services, db) -> None:
    site = await make_site(services, db, settings={"erasure": "remove"})
    cy = site.sso_token(sub="cy", name="Cy")
    dee = site.sso_token(sub="dee", name="Dee")
    answered = (await post(client, site, cy, "Cy asks"))["comment"]["id"]
    dees = (await post(client, site, dee, "Dee answers", parent_id=answered))["comment"]["id"]
    chain = (await post(client, site, cy, "Cy muses"))["comment"]["id"]
    own_reply = (await post(client, site, cy, "Cy answers himself", parent_id=chain))["comment"]["id"]
    alone = (await post(client, site, cy, "Cy again"))["comment"]["id"]
    await thread(client, site)

    r = await erase(client, site, cy)
    assert r.status_code == 200, r.text
    assert (r.json()["mode"], r.json()["comments_removed"]) == ("remove", 3)
    left = {row["id"] for row in await db.fetch("SELECT id FROM comments WHERE site_id = $1", site.id)}
    assert left == {answered, dees}
    assert {chain, own_reply, alone}.isdisjoint(left)
    page = await thread(client, site)
    shown = flat(page["comments"])
    assert shown[answered]["deleted"] is True and shown[dees]["author"]["name"] == "Dee"
    assert page["article"]["comment_count"] == 1  # Dee's reply


async def test_a_guest_erases_with_their_token(client, site, db) -> None:
    posted = await post(client, site, None, "A guest's words", author_name="Visitor Name")
    token = posted["guest_token"]
    data = await export(client, site, token)
    assert data["profile"]["kind"] == "guest" and data["profile"]["name"] == "Visitor Name"
    assert [c["body_markdown"] for c in data["comments"]] == ["A guest's words"]
    r = await erase(client, site, token)
    assert r.status_code == 200 and r.json()["comments_tombstoned"] == 1, r.text
    data = await export(client, site, token)
    assert data["profile"]["name"] == "[deleted]" and data["comments"][0]["body_markdown"] == ""


@pytest.mark.parametrize("who, status, code", [
    ("moderator", 403, "forbidden"),
    ("admin of another site", 403, "forbidden"),
    ("reader", 403, "forbidden"),
    ("nobody", 401, "auth_required"),
])
async def test_only_the_sites_admins_erase_for_a_reader(client, services, site, db, who, status, code) -> None:
    other = await make_site(services, db)
    ann = site.sso_token(sub="ann-admin", name="Ann", email="ann@example.org")
    await post(client, site, ann, "Ann's comment")
    ann_id = await db.fetchval("SELECT id FROM users WHERE site_id = $1 AND external_id = 'ann-admin'", site.id)
    before = await snapshot(db, ann_id)
    headers = {
        "moderator": {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"},
        "admin of another site": {"Authorization": f"Bearer {await staff_token(db, 'admin', other.id)}"},
        "reader": site.auth(ann),
        "nobody": {},
    }[who]
    r = await client.request("DELETE", f"/api/v1/moderation/users/{ann_id}/data", params=site.q(), headers=headers,
                             json=ERASE)
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert await snapshot(db, ann_id) == before


async def test_an_admin_erases_a_reader_of_their_site(client, services, site, db) -> None:
    other = await make_site(services, db)
    ann = site.sso_token(sub="ann-by-email", name="Ann", email="ann@example.org")
    await post(client, site, ann, "Ann's comment")
    ann_id = await db.fetchval("SELECT id FROM users WHERE site_id = $1 AND external_id = 'ann-by-email'", site.id)
    stranger = other.sso_token(sub="stranger", name="Stranger")
    await client.post(f"/api/v1/articles/{ARTICLE}/comments", params=other.q(), headers=other.auth(stranger),
                      json={"body": "elsewhere", **article_fields(other)})
    stranger_id = await db.fetchval("SELECT id FROM users WHERE site_id = $1 AND external_id = 'stranger'", other.id)
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    url = "/api/v1/moderation/users/{}/data"
    before = await snapshot(db, ann_id)

    r = await client.request("DELETE", url.format(ann_id), params=site.q(), headers=admin, json={"confirm": "no"})
    assert r.status_code == 400 and r.json()["code"] == "erasure_not_confirmed", r.text
    # another site's reader, named with this site: as if there were none
    other_before = await snapshot(db, stranger_id)
    r = await client.request("DELETE", url.format(stranger_id), params=site.q(), headers=admin, json=ERASE)
    assert r.status_code == 404 and r.json()["code"] == "user_not_found", r.text
    r = await client.request("DELETE", url.format(2**62), params=site.q(), headers=admin, json=ERASE)
    assert r.status_code == 404 and r.json()["code"] == "user_not_found", r.text
    assert await snapshot(db, stranger_id) == other_before and await snapshot(db, ann_id) == before

    r = await client.request("DELETE", url.format(ann_id), params=site.q(), headers=admin, json=ERASE)
    assert r.status_code == 200 and r.json()["comments_tombstoned"] == 1, r.text
    audit = await db.fetchrow("SELECT actor_id, details FROM moderation_actions WHERE action = 'user_erased' "
                              "AND user_id = $1", ann_id)
    assert audit["actor_id"].startswith("token:") and audit["details"]["mode"] == "tombstone"
    assert (await db.fetchrow("SELECT display_name, email FROM users WHERE id = $1", ann_id)) == ("[deleted]", None)
    # the reader's own token still reaches what is left, which is nothing of theirs
    data = await export(client, site, ann)
    assert data["profile"]["name"] == "[deleted]" and data["profile"]["email"] is None


async def test_a_long_history_is_cut_at_the_limit_and_says_so(client, site, db) -> None:
    token = site.sso_token(sub="prolific", name="Prolific")
    first = (await post(client, site, token, "the first of many"))["comment"]["id"]
    # unscored comments: no event, queue or statement triggers, so ten thousand are quick to make
    await db.execute(
        "INSERT INTO comments (article_id, author_id, body_markdown, body_html, status) "
        "SELECT article_id, author_id, 'more ' || n, '<p>more</p>', 'pending_scoring' "
        "FROM comments, generate_series(1, 10000) AS n WHERE id = $1", first)
    data = await export(client, site, token)
    assert data["limit"] == 10_000 and len(data["comments"]) == 10_000
    assert data["truncated"] == ["comments"]
    assert first not in {c["id"] for c in data["comments"]}  # the newest are kept


async def test_the_erasure_setting_takes_its_two_values_only(client, site, db) -> None:
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin', site.id)}"}
    r = await client.patch(f"/api/v1/moderation/sites/{site.id}", params=site.q(), headers=admin,
                           json={"erasure": "shred"})
    # refused by the body's schema, as any setting of the wrong value is
    assert r.status_code == 400 and r.json()["code"] == "invalid_request", r.text
    r = await client.patch(f"/api/v1/moderation/sites/{site.id}", params=site.q(), headers=admin,
                           json={"erasure": "remove"})
    assert r.status_code == 200 and r.json()["settings"]["erasure"] == "remove", r.text
    token = site.sso_token(sub="setting-reader", name="Sam")
    await post(client, site, token, "soon gone")
    assert (await erase(client, site, token)).json()["mode"] == "remove"


async def test_the_export_is_rate_limited_per_reader(client, site) -> None:
    """Each export reads up to tens of thousands of rows: five in a row, then the reader waits
    (the default data_export limit, which the test environment leaves on)."""
    reader = site.sso_token(sub="curious", name="Curious")
    for _ in range(5):
        await export(client, site, reader)
    r = await client.get(DATA, params=site.q(), headers=site.auth(reader))
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    # another reader is not held back by the first
    await export(client, site, site.sso_token(sub="other", name="Other"))


async def test_erasure_drops_what_still_waits_to_be_sent_about_the_reader(client, site, db) -> None:
    """Emails to their address and webhook calls carrying their comments, queued before the
    erasure, would otherwise go out with their address, name and words after it."""
    h = await ann_with_history(client, site, db)
    await db.execute(
        "INSERT INTO notification_deliveries (site_id, channel, kind, recipient, idempotency_key, payload) VALUES "
        "($1, 'email', 'statement', 'Ann@Example.org', 'statement:ann', '{}'::jsonb), "
        "($1, 'email', 'statement', 'bea@example.org', 'statement:bea', '{}'::jsonb), "
        "($1, 'webhook', 'comment.published', '1', 'webhook:1:ann', jsonb_build_object('data', "
        "  jsonb_build_object('comment_id', $2::bigint, 'author_name', 'Ann Example'))), "
        "($1, 'webhook', 'comment.published', '1', 'webhook:1:bea', jsonb_build_object('data', "
        "  jsonb_build_object('comment_id', $3::bigint, 'author_name', 'Bea')))",
        site.id, h["alone"], h["beas_own"])
    sent = await db.fetchval("INSERT INTO notification_deliveries (site_id, channel, kind, recipient, "
                             "idempotency_key, payload, state) VALUES ($1, 'email', 'statement', "
                             "'ann@example.org', 'statement:ann:old', '{}'::jsonb, 'sent') RETURNING id", site.id)
    r = await erase(client, site, h["ann"])
    assert r.status_code == 200, r.text
    left = {row["idempotency_key"] for row in await db.fetch(
        "SELECT idempotency_key FROM notification_deliveries WHERE site_id = $1 AND (idempotency_key LIKE "
        "'statement:%' OR idempotency_key LIKE 'webhook:1:%')", site.id)}
    assert left == {"statement:bea", "webhook:1:bea", "statement:ann:old"}
    assert await db.fetchval("SELECT state FROM notification_deliveries WHERE id = $1", sent) == "sent"
