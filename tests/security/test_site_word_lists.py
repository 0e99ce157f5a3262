"""A site admin's moderation settings cannot stall the shared scoring worker: word lists are
bounded where settings are set, the matcher's work per text is bounded whatever the lists hold
(rows stored before the bounds included), and the worker decides off its event loop within a time
budget, so one site's lists never delay another site's comments or the worker's probes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from comments_service.domain import policy
from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
from comments_service.domain.wordlists import WordListTooCostly, find_term
from tests.integration.test_worker_probes import fallback_worker
from tests.support.servers import ServiceProcess, free_port
from tests.support.sites import article_body, make_site
from tests.support.tokens import bearer, staff_token

# entries that overlap themselves: after n "a"s every entry is alive at every slot up to n, so each
# character of the text below is a fresh state of ~1,800 positions
SELF_OVERLAPPING = ["a" * k + "b" for k in range(1, 60)]
CRAFTED_TEXT = ("a" * 60 + " ") * 160  # ~10 KB
# within every rule an entry must follow, yet overlapping itself through leet ("1" is both "i" and
# "l"): only the matcher's work budget bounds it
LEET_CHAIN = ["il" * 31 + c for c in "bcdefgh"]
LEET_TEXT = ("1" * 60 + " ") * 160


def test_matching_a_crafted_text_gives_up_instead_of_running_for_seconds():
    # the same list with the text's letters spaced out, and a leet chain ("i", "l", "1" overlap)
    # that no entry rule refuses
    for terms, text in ((tuple(SELF_OVERLAPPING), CRAFTED_TEXT), (tuple(LEET_CHAIN), LEET_TEXT)):
        with pytest.raises(WordListTooCostly):
            find_term(text, terms)
    held = decide(None, CRAFTED_TEXT, PolicyContext(),
                  PolicyConfig(banned_words=tuple(SELF_OVERLAPPING), fail_closed=False))
    assert (held.outcome, held.reason) == ("held", policy.WORD_LISTS_UNCHECKED)
    # ordinary matching is unaffected
    assert find_term("you absolute f u c k", PolicyConfig().suspect_words) == "fuck*"


def test_word_lists_and_thresholds_are_bounded_where_settings_are_set():
    def problem(moderation: dict) -> str:
        with pytest.raises(ValueError) as exc:
            PolicyConfig.from_site_settings({"moderation": moderation})
        return str(exc.value)

    assert "repeats a letter" in problem({"banned_words": SELF_OVERLAPPING})
    assert "more than 500" in problem({"suspect_words": [f"word{i}" for i in range(501)]})
    assert "longer than 64" in problem({"banned_words": ["x" + "yz" * 40]})
    assert "not a label" in problem({"thresholds": {f"label{i}": {"hold": 0.5} for i in range(3000)}})
    assert "not a label" in problem({"fallback_thresholds": {"x" * 5000: {"hold": 0.5}}})
    assert "not hold or reject" in problem({"thresholds": {"toxicity": {"hold": 0.5, "extra" * 100: 1}}})
    assert "0..10000" in problem({"new_account_hold_first": 10**30})
    # what real lists hold stays valid: doubled letters, phrases, leet-sharing letters, prefixes
    cfg = PolicyConfig.from_site_settings({"moderation": {
        "banned_words": ["kill yourself", "boo", "illicit*"] + [f"w{i}rd" for i in range(497)],
        "thresholds": {"threat": {"hold": 0.2}, "insult": None}}})
    assert decide(None, "k i l l   yourself", PolicyContext(), cfg).reason == policy.BANNED_WORD


@pytest.mark.asyncio(loop_scope="session")
async def test_admin_api_refuses_unbounded_moderation_settings(live_server, services, db):
    site = await make_site(services, db)
    admin = await staff_token(db, "admin", site.id)
    url = f"/api/v1/moderation/sites/{site.id}"
    refused = [
        {"banned_words": SELF_OVERLAPPING},
        {"suspect_words": [f"word{i}" for i in range(501)]},
        {"banned_words": ["q" + "wx" * 40]},
        {"thresholds": {f"l{i}": {} for i in range(3000)}},
        {"thresholds": {"x" * 5000: {"hold": 0.5}}},
        {"thresholds": {"toxicity": {"hold": 0.5, "note": "x"}}},
        {"hold_after_recent_rejections": 10**30},
    ]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        for moderation in refused:
            r = await http.patch(url, headers=bearer(admin), json={"moderation": moderation})
            assert r.status_code == 422, (list(moderation), r.status_code, r.text[:300])
            assert r.json()["code"] == "invalid_site_settings", r.text[:300]
        stored = await db.fetchval("SELECT settings FROM sites WHERE id = $1", site.id)
        assert "moderation" not in (stored or {}), "nothing of a refused patch is stored"
        r = await http.patch(url, headers=bearer(admin), json={"moderation": {
            "banned_words": ["spoiler", "kill yourself"], "thresholds": {"threat": {"hold": 0.2}}}})
        assert r.status_code == 200, r.text


@pytest.mark.asyncio(loop_scope="session")
async def test_stored_oversized_lists_do_not_stall_the_worker(storage, services, db, tmp_path):
    # rows written before the bounds existed: a list that only the matcher's budget bounds, and an
    # oversized self-overlapping one (refused, so the worker uses the default lists); another site
    # posts a plain comment behind their crafted ones
    crafted = await make_site(services, db)
    oversized = await make_site(services, db)
    other = await make_site(services, db)
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", crafted.id,
                     {"moderation": {"banned_words": LEET_CHAIN, "suspect_words": LEET_CHAIN}})
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", oversized.id,
                     {"moderation": {"banned_words": ["a" * (k % 500 + 1) + "b" for k in range(2000)]}})
    port = free_port()
    with fallback_worker(storage, tmp_path, port) as worker, \
            ServiceProcess(storage.env(COMMENTS_SCORING="on", COMMENTS_DECISION_WAIT_MS="0")) as api:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as http, \
                httpx.AsyncClient(base_url=worker.url, timeout=30) as probe:
            attacks = []
            for i, (site, text) in enumerate(((crafted, LEET_TEXT), (crafted, LEET_TEXT), (crafted, LEET_TEXT),
                                              (oversized, CRAFTED_TEXT))):
                r = await http.post("/api/v1/articles/x/comments", params=site.q(), json=article_body(text),
                                    headers=site.auth(site.sso_token(sub=f"attacker{i}")))
                assert r.status_code == 201, r.text
                attacks.append(r.json()["comment"]["id"])
            r = await http.post("/api/v1/articles/x/comments", params=other.q(),
                                json=article_body("hello from another site"), headers=other.auth(other.sso_token()))
            assert r.status_code == 201, r.text
            plain = r.json()["comment"]["id"]
            # before the bounds, each crafted comment took ~6 s of the worker's loop: the probe timed
            # out and the other site's comment waited ~19 s
            loop = asyncio.get_running_loop()
            started = loop.time()
            while True:
                live = await probe.get("/health/live", timeout=2.5)
                assert live.status_code == 200, live.text
                pending = await db.fetchval("SELECT count(*) FROM comments WHERE id = ANY($1::bigint[]) "
                                            "AND status = 'pending_scoring'", [int(i) for i in (*attacks, plain)])
                if not pending:
                    break
                assert loop.time() - started < 12, "comments were not decided in time"
                await asyncio.sleep(0.25)
            reasons = dict(await db.fetch("SELECT id, status_reason FROM comments WHERE id = ANY($1::bigint[])",
                                          [int(i) for i in attacks[:3]]))
            assert set(reasons.values()) == {policy.WORD_LISTS_UNCHECKED}, reasons
