"""The statistics view's numbers from known data: automatic outcomes by posting day, moderators'
decisions (through the real decision routes, an undone one included) by decision day, the median
wait of held comments, reports, problem reports, the top reasons, and who may read them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import make_site
from tests.support.tokens import staff_token

API = "/api/v1/moderation"


def noon(days_ago: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days_ago), time(12), UTC)


async def seed(services, db, site_id, status, reason, days_ago, article="art-1"):
    return await seed_comment(services, db, site_id, status=status, reason=reason, created_at=noon(days_ago),
                              article=article)


async def report(db, comment_id, reason, days_ago, site_id):
    reporter = await seed_reader(db, site_id)
    await db.execute("INSERT INTO reports (comment_id, reporter_id, reason, created_at) VALUES ($1, $2, $3, $4)",
                     comment_id, reporter, reason, noon(days_ago))


async def test_stats_count_automatic_and_moderator_decisions_per_day(client, services, db, site):
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    # three days ago: a premoderated comment (approved, then the approval undone: held again), a deleted one
    pre = await seed(services, db, site.id, "held", "premoderation", 3)
    await seed(services, db, site.id, "deleted", "deleted_by_author", 3)
    # two days ago: three published, three held, one rejected by the policy
    pub = [await seed(services, db, site.id, "published", None, 2) for _ in range(3)]
    approved = await seed(services, db, site.id, "held", "toxicity_hold", 2)
    rejected = await seed(services, db, site.id, "held", "toxicity_hold", 2)
    await seed(services, db, site.id, "held", "suspect_word", 2)
    await seed(services, db, site.id, "rejected", "banned_word", 2)
    # readers' reports and a problem report
    await report(db, pub[0].id, "spam", 2, site.id)
    await report(db, pub[0].id, "offensive", 1, site.id)
    await report(db, pub[1].id, "spam", 1, site.id)
    await db.execute("INSERT INTO problem_reports (reference, site_id, description, troubleshoot, created_at) "
                     "VALUES ($1, $2, 'cannot post', '{}', $3)", f"ref-{site.id}", site.id, noon(1))
    # another site's numbers never mix in
    other = await make_site(services, db)
    await seed(services, db, other.id, "held", "toxicity_hold", 2)

    async def decide(comment_id, action, reason=None, override=False):
        body = {"action": action, "override": override} | ({"reason": reason} if reason else {})
        r = await client.post(f"{API}/comments/{comment_id}/decision", params=site.q(), json=body, headers=mod)
        assert r.status_code == 200, r.text

    await decide(approved.id, "approve")
    await decide(rejected.id, "reject", "spam")
    await decide(pub[2].id, "reject", "offensive", override=True)  # a published comment taken down: not a hold's wait
    await decide(pre.id, "approve")
    await decide(pre.id, "undo")
    r = await client.get(f"{API}/stats", params=site.q(days=7), headers=mod)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["days"] == 7 and len(stats["per_day"]) == 7
    today = datetime.now(UTC).date()
    assert stats["per_day"][-1]["date"] == today.isoformat()
    assert stats["per_day"][0]["date"] == (today - timedelta(days=6)).isoformat()
    by_day = {d["date"]: d for d in stats["per_day"]}

    def day(days_ago):
        row = dict(by_day[(today - timedelta(days=days_ago)).isoformat()])
        wait = row.pop("median_hold_to_decision_s")
        return row, wait

    zero = {"published_auto": 0, "published_by_moderators": 0, "held": 0, "rejected_auto": 0,
            "rejected_by_moderators": 0, "reports": 0, "problem_reports": 0}
    assert day(3) == ({**zero, "date": day(3)[0]["date"], "held": 1}, None)
    assert day(2) == ({**zero, "date": day(2)[0]["date"], "published_auto": 3, "held": 3, "rejected_auto": 1,
                       "reports": 1}, None)
    assert day(1) == ({**zero, "date": day(1)[0]["date"], "reports": 2, "problem_reports": 1}, None)
    today_row, wait = day(0)
    assert today_row == {**zero, "date": today.isoformat(), "published_by_moderators": 1, "rejected_by_moderators": 2}
    # both held comments waited from noon two days ago until now
    expected_wait = (datetime.now(UTC) - noon(2)).total_seconds()
    assert wait == pytest.approx(expected_wait, abs=60)
    assert stats["totals"] == {"published_auto": 3, "published_by_moderators": 1, "held": 4, "rejected_auto": 1,
                               "rejected_by_moderators": 2, "reports": 3, "problem_reports": 1,
                               "median_hold_to_decision_s": pytest.approx(expected_wait, abs=60)}
    top = stats["top_reasons"]
    assert [(e["reason"], e["count"], e["by"]) for e in top["held"]] == [
        ("toxicity_hold", 2, "automatic"), ("premoderation", 1, "automatic"), ("suspect_word", 1, "automatic")]
    assert [(e["reason"], e["count"], e["by"]) for e in top["rejected"]] == [
        ("banned_word", 1, "automatic"), ("offensive", 1, "moderators"), ("spam", 1, "moderators")]
    assert [(e["reason"], e["count"], e["label"]) for e in top["reported"]] == [
        ("spam", 2, "Spam"), ("offensive", 1, "Offensive or abusive")]
    assert set(stats["definitions"]) >= {"automatic", "by_moderators"}


async def test_median_wait_per_decision_day_from_the_audit_log(client, services, db, site):
    """Exact medians: decisions written as the decision route writes them, at chosen times."""
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    waits = {1: [600, 1800, 7200], 2: [60, 120]}  # seconds from posting to the decision, by decision day
    for days_ago, seconds in waits.items():
        for s in seconds:
            c = await seed(services, db, site.id, "held", "toxicity_hold", days_ago)
            decided = noon(days_ago) + timedelta(seconds=s)
            await db.execute("UPDATE comments SET status = 'published', status_reason = 'moderator_approved', "
                             "moderated_at = $2, moderated_by = 'token:1' WHERE id = $1", c.id, decided)
            await db.execute(
                "INSERT INTO moderation_actions (site_id, actor_id, actor_name, action, comment_id, user_id, "
                "article_id, before_status, after_status, details, created_at) "
                "VALUES ($1, 'token:1', 'Mo', 'approve', $2, $3, $4, 'held', 'published', $5, $6)",
                site.id, c.id, c.author_id, c.article_id,
                {"before_reason": "toxicity_hold", "before_moderated_at": None}, decided)
    r = await client.get(f"{API}/stats", params=site.q(days=30), headers=mod)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert len(stats["per_day"]) == 30
    by_day = {d["date"]: d for d in stats["per_day"]}
    today = datetime.now(UTC).date()
    one, two = by_day[(today - timedelta(days=1)).isoformat()], by_day[(today - timedelta(days=2)).isoformat()]
    assert (one["median_hold_to_decision_s"], one["published_by_moderators"], one["held"]) == (1800.0, 3, 3)
    assert (two["median_hold_to_decision_s"], two["published_by_moderators"], two["held"]) == (90.0, 2, 2)
    assert stats["totals"]["median_hold_to_decision_s"] == 600.0
    assert stats["totals"]["published_auto"] == 0  # approved by moderators, held by the policy


async def test_stats_period_bounds_and_who_may_read_them(client, services, db, site):
    mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    await seed(services, db, site.id, "published", None, 7)   # the day before a 7-day period starts
    await seed(services, db, site.id, "published", None, 6)
    r = await client.get(f"{API}/stats", params=site.q(), headers=mod)
    assert r.status_code == 200 and r.json()["totals"]["published_auto"] == 1
    r = await client.get(f"{API}/stats", params=site.q(days=8), headers=mod)
    assert r.json()["totals"]["published_auto"] == 2
    # a moderator of the site without naming it gets their own site
    r = await client.get(f"{API}/stats", headers=mod)
    assert r.status_code == 200 and r.json()["site_id"] == site.id
    for days in (6, 91, "x"):
        r = await client.get(f"{API}/stats", params=site.q(days=days), headers=mod)
        assert r.status_code == 400, r.text
    other = await make_site(services, db)
    other_mod = {"Authorization": f"Bearer {await staff_token(db, 'moderator', other.id)}"}
    r = await client.get(f"{API}/stats", params=site.q(), headers=other_mod)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    # an admin of every site names one
    admin = {"Authorization": f"Bearer {await staff_token(db, 'admin')}"}
    r = await client.get(f"{API}/stats", headers=admin)
    assert r.status_code == 400 and r.json()["code"] == "site_required"
