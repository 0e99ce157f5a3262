"""Real `comments-service worker` processes: concurrency, a worker killed mid-batch, and a
model that cannot load (fallback, fail closed, retry)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time

import pytest

from comments_service.toxicity.config import DEFAULT_BACKEND, MODEL_ID_PREFIXES
from tests.support.apps import scoring_app
from tests.support.scoring import NO_THRESHOLDS, start_worker, wait_decided, wait_worker_ready
from tests.support.seeding import clear_worker_status, set_site_policy
from tests.support.sites import article_body, make_site

# ~9,000 characters: several 512-token windows per comment, so that a batch takes long enough
# for the test to catch the worker in the middle of it
LONG = " ".join(["The council met again to discuss the budget for the new bridge and the flood defences."] * 100)

DEFAULT_MODEL_PREFIX = MODEL_ID_PREFIXES[DEFAULT_BACKEND]  # onnx-int8-detoxify- by default


@pytest.fixture
async def scored_site(services, db):
    site = await make_site(services, db)
    await set_site_policy(db, site.id, NO_THRESHOLDS)
    return site


async def post_many(storage, site, texts: list[str], article: str) -> list[int]:
    ids = []
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="0") as api:
        for n, text in enumerate(texts):
            response = await api.post(f"/api/v1/articles/{article}/comments", params=site.q(),
                                      json=article_body(text), headers=site.auth(site.sso_token(sub=f"r{n % 7}")))
            assert response.status_code == 201 and response.json()["status"] == "pending_scoring", response.text
            ids.append(response.json()["comment"]["id"])
    return ids


async def jobs_of(db, ids: list[int]) -> dict[int, dict]:
    rows = await db.fetch("SELECT comment_id, state, attempts, claimed_by FROM scoring_jobs "
                          "WHERE comment_id = ANY($1::bigint[])", ids)
    return {r["comment_id"]: dict(r) for r in rows}


async def assert_counts_consistent(db, site_id: str, article: str) -> None:
    # on_published ran exactly once per published comment: the stored count equals the rows
    count, published = await db.fetchrow(
        "SELECT a.comment_count, (SELECT count(*) FROM comments c WHERE c.article_id = a.id "
        "AND c.status = 'published') FROM articles a WHERE a.site_id = $1 AND a.external_id = $2", site_id, article)
    assert count == published


async def test_two_workers_share_a_backlog_without_scoring_any_comment_twice(storage, scored_site, db,
                                                                             tiny_detoxify, tmp_path):
    workers = [start_worker(storage, tmp_path, *tiny_detoxify, name=f"w{i}", COMMENTS_TOXICITY_BATCH_SIZE="4")
               for i in range(2)]
    try:
        ready = [await wait_worker_ready(db, w) for w in workers]
        # frozen while the backlog builds, then released together: both contend for the same rows
        for w in workers:
            w.process.send_signal(signal.SIGSTOP)
        texts = [f"Comment number {n} about the election." if n % 5 else f"What an idiot, take {n}."
                 for n in range(80)]
        ids = await post_many(storage, scored_site, texts, "two")
        for w in workers:
            w.process.send_signal(signal.SIGCONT)
        statuses = await wait_decided(db, ids)
        jobs = await jobs_of(db, ids)
        assert {j["state"] for j in jobs.values()} == {"done"}
        assert {j["attempts"] for j in jobs.values()} == {1}, "a comment was claimed (and scored) twice"
        by_worker = {w["worker_id"]: sum(1 for j in jobs.values() if j["claimed_by"] == w["worker_id"])
                     for w in ready}
        assert sum(by_worker.values()) == len(ids) and all(by_worker.values()), by_worker
        assert sorted(statuses.values()).count("held") == 16
        await assert_counts_consistent(db, scored_site.id, "two")
    finally:
        for w in workers:
            w.process.send_signal(signal.SIGCONT)
            assert w.stop() == 0, w.logs()[-2000:]


async def test_a_worker_killed_mid_batch_loses_nothing(storage, scored_site, db, tiny_detoxify, tmp_path):
    ids = await post_many(storage, scored_site, [f"{n}. {LONG}" for n in range(24)], "kill")
    env = {"COMMENTS_TOXICITY_BATCH_SIZE": "8", "COMMENTS_SCORING_LEASE_SECONDS": "2"}
    stranded: list[int] = []
    victim = None
    for _ in range(5):  # until the worker is caught holding a claim it has not completed
        victim = start_worker(storage, tmp_path, *tiny_detoxify, name="victim", **env)
        pattern = f"%:{victim.pid}:%"
        deadline = time.monotonic() + 120
        while not stranded and time.monotonic() < deadline and victim.process.poll() is None:
            held = await db.fetchval("SELECT count(*) FROM scoring_jobs WHERE state = 'claimed' "
                                     "AND claimed_by LIKE $1", pattern)
            if held:
                victim.process.send_signal(signal.SIGSTOP)
                stranded = [r["comment_id"] for r in await db.fetch(
                    "SELECT comment_id FROM scoring_jobs WHERE state = 'claimed' AND claimed_by LIKE $1", pattern)]
                if not stranded:
                    victim.process.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.005)
        victim.kill()
        if stranded:
            break
    assert stranded, "never caught the worker mid-batch"
    assert all(s == "pending_scoring" for s in (await wait_status(db, stranded)).values())

    rescuer = start_worker(storage, tmp_path, *tiny_detoxify, name="rescuer", **env)
    try:
        rescuer_id = (await wait_worker_ready(db, rescuer))["worker_id"]
        statuses = await wait_decided(db, ids)
        assert set(statuses.values()) == {"published"}
        jobs = await jobs_of(db, ids)
        assert {j["state"] for j in jobs.values()} == {"done"}
        for comment_id in stranded:  # the killed worker's claims expired and the rescuer took them
            assert jobs[comment_id]["claimed_by"] == rescuer_id and jobs[comment_id]["attempts"] >= 2
        assert await db.fetchval("SELECT count(*) FROM comments WHERE id = ANY($1::bigint[]) "
                                 "AND (toxicity_model IS NULL OR status_reason IS NULL)", ids) == 0
        await assert_counts_consistent(db, scored_site.id, "kill")
        assert "expired scoring claims released" in rescuer.logs()
    finally:
        assert rescuer.stop() == 0, rescuer.logs()[-2000:]


async def wait_status(db, ids: list[int]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, status FROM comments WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r["status"] for r in rows}


async def test_model_unavailable_holds_says_why_and_recovers(storage, scored_site, db, tiny_detoxify, tmp_path,
                                                            settings):
    from comments_service.db.pool import create_pool
    from comments_service.services.scoring import ScoringService

    checkpoint, config_dir = tiny_detoxify
    missing = tmp_path / "models" / "detoxify.ckpt"
    # workers an earlier test killed still count as live for a while: only this one may report
    await clear_worker_status(db)
    worker = start_worker(storage, tmp_path, str(missing), config_dir, name="nomodel",
                          COMMENTS_SCORING_MODEL_RETRY_SECONDS="1", COMMENTS_TOXICITY_MISSING_MODEL="fallback")
    try:
        status = await wait_worker_ready(db, worker)
        assert status["is_fallback"] is True and status["model"]["fallback_reason"]
        assert "UNAVAILABLE" in worker.logs() and "fallback" in worker.logs()
        pool = await create_pool(settings.database, settings.database.url)
        try:
            report = await ScoringService(pool, None, settings.scoring).status()
        finally:
            await pool.close()
        assert report.model.known and report.model.is_fallback and report.model.fallback_reason

        async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="10000") as api:
            async def post(text: str) -> dict:
                response = await api.post("/api/v1/articles/nm/comments", params=scored_site.q(),
                                           json=article_body(text), headers=scored_site.auth(scored_site.sso_token()))
                assert response.status_code == 201
                return response.json()

            held = await post("A civil comment the fallback cannot vouch for.")
            assert held["status"] == "held"
            row = await db.fetchrow("SELECT status_reason, toxicity_model FROM comments WHERE id = $1",
                                    held["comment"]["id"])
            assert row["status_reason"] == "model_unavailable" and "fallback" in row["toxicity_model"]
            assert (await post("k y s"))["status"] == "rejected"  # obvious abuse still stays out

            # the model appears: the worker's retry loads it and comments publish again
            missing.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(checkpoint, str(missing) + ".part")
            os.replace(str(missing) + ".part", missing)
            deadline = time.monotonic() + 120
            while await db.fetchval("SELECT is_fallback FROM worker_status WHERE pid = $1", worker.pid):
                assert time.monotonic() < deadline, worker.logs()[-3000:]
                await asyncio.sleep(0.5)
            published = await post("Another civil comment, now with the model back.")
            assert published["status"] == "published"
            assert (await db.fetchval("SELECT toxicity_model FROM comments WHERE id = $1",
                                      published["comment"]["id"])).startswith(DEFAULT_MODEL_PREFIX)
    finally:
        assert worker.stop() == 0, worker.logs()[-2000:]
