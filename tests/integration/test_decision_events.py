"""Which audit entries become a moderation.decision event in the outbox (migrations/0017): a
moderator's decision on a comment or a reader does, made through the API; administration (webhooks,
tokens, site and article settings, notes, featuring) is audited but announces nothing."""

from __future__ import annotations

from comments_service.domain.webhook_events import EVENT_TYPES
from tests.support.seeding import seed_comment, seed_reader
from tests.support.sites import SiteHandle
from tests.support.tokens import bearer, staff_token

API = "/api/v1/moderation"


async def decision_events(db, site: SiteHandle) -> list[tuple[str, int | None, int | None]]:
    rows = await db.fetch("SELECT payload FROM outbox WHERE site_id = $1 AND kind = 'moderation.decision' ORDER BY id",
                          site.id)
    return [(r["payload"]["action"], r["payload"]["comment_id"], r["payload"]["user_id"]) for r in rows]


async def audited(db, site: SiteHandle) -> list[str]:
    return [r["action"] for r in await db.fetch("SELECT action FROM moderation_actions WHERE site_id = $1 ORDER BY id",
                                                site.id)]


async def test_decisions_on_comments_and_readers_are_announced(client, services, db, site) -> None:
    assert "moderation.decision" in EVENT_TYPES
    mod = bearer(await staff_token(db, "moderator", site.id))
    approved = await seed_comment(services, db, site.id)
    rejected = await seed_comment(services, db, site.id)
    r = await client.post(f"{API}/decisions", params=site.q(), headers=mod,
                          json={"comment_ids": [approved.id], "action": "approve"})
    assert r.status_code == 200 and r.json()["succeeded"] == 1, r.text
    r = await client.post(f"{API}/comments/{rejected.id}/decision", params=site.q(), headers=mod,
                          json={"action": "reject", "reason": "spam"})
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/comments/{rejected.id}/decision", params=site.q(), headers=mod,
                          json={"action": "undo"})
    assert r.status_code == 200, r.text

    reader = await seed_reader(db, site.id)
    theirs = await seed_comment(services, db, site.id, author_id=reader)
    r = await client.post(f"{API}/users/{reader}/ban", params=site.q(), headers=mod,
                          json={"reason": "spam", "reject_existing": True})
    assert r.status_code == 200 and r.json()["rejected_comments"] == 1, r.text
    r = await client.delete(f"{API}/users/{reader}/ban", params=site.q(), headers=mod)
    assert r.status_code == 200, r.text
    r = await client.patch(f"{API}/users/{reader}", params=site.q(), headers=mod, json={"trusted": True})
    assert r.status_code == 200, r.text

    assert await decision_events(db, site) == [
        ("approve", approved.id, approved.author_id), ("reject", rejected.id, rejected.author_id),
        ("undo", rejected.id, rejected.author_id), ("ban", None, reader), ("reject", theirs.id, reader),
        ("unban", None, reader), ("trust", None, reader)]


async def test_administration_is_audited_but_not_announced(client, services, db, site) -> None:
    admin = bearer(await staff_token(db, "admin", site.id))
    r = await client.post(f"{API}/webhooks", params=site.q(), headers=admin,
                          json={"url": "https://hooks.example/in", "event_types": ["problem_report.created"]})
    assert r.status_code == 201, r.text
    r = await client.patch(f"{API}/sites/{site.id}", headers=admin, json={"name": "The Harbour Gazette"})
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/tokens", headers=admin, json={"name": "night desk", "role": "moderator",
                                                                "site_id": site.id})
    assert r.status_code == 201, r.text
    published = await seed_comment(services, db, site.id, article="harbour", status="published", reason=None)
    r = await client.patch(f"{API}/articles/harbour", params=site.q(), headers=admin, json={"comments_open": False})
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/comments/{published.id}/feature", params=site.q(), headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"{API}/users/{published.author_id}/notes", params=site.q(), headers=admin,
                          json={"text": "Writes from the harbour office."})
    assert r.status_code == 201, r.text

    # each was audited, so the trigger ran for each and chose to stay silent
    assert await audited(db, site) == ["webhook_created", "site_updated", "token_created", "article_settings",
                                       "feature", "note"]
    assert await decision_events(db, site) == []

    # and a decision after them still is announced
    r = await client.post(f"{API}/comments/{published.id}/decision", params=site.q(), headers=admin,
                          json={"action": "reject", "reason": "spam", "override": True})
    assert r.status_code == 200, r.text
    assert await decision_events(db, site) == [("reject", published.id, published.author_id)]
