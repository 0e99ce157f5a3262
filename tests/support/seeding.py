"""Rows put straight into the database to arrange a test, independent of the paths under test:
comments in any state (without the scoring pipeline), readers, worker reports, site policies."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import asyncpg

from comments_service.db import articles as article_repo
from comments_service.db import comments as comment_repo
from comments_service.db import users as user_repo
from comments_service.db import worker_status
from comments_service.domain.models import CommentRow
from comments_service.domain.scoring_models import WorkerStatus


async def seed_reader(db: asyncpg.Connection, site_id: str, sub: str | None = None, name: str = "Reader") -> int:
    """An SSO reader of the site; returns the user id."""
    return await user_repo.ensure_sso_user(db, site_id, sub or "u-" + secrets.token_hex(4), name, None, "reader")


async def seed_comment(services, db: asyncpg.Connection, site_id: str, *, article: str = "art-1",
                       status: str = "held", reason: str | None = "toxicity_hold", author_id: int | None = None,
                       parent_id: int | None = None, body: str = "A comment", scores: dict | None = None,
                       created_at: datetime | None = None) -> CommentRow:
    record = await article_repo.get_or_create(db, site_id, article, f"https://news.example/{article}",
                                              f"Article {article}")
    if author_id is None:
        author_id = await seed_reader(db, site_id)
    parent = await comment_repo.get(db, parent_id) if parent_id else None
    row, _ = await comment_repo.insert(db, article_id=record["id"], parent=parent, author_id=author_id,
                                       body_markdown=body, body_html=f"<p>{body}</p>", status=status,
                                       status_reason=reason, author_ip=None)
    if scores is not None:
        await db.execute("UPDATE comments SET toxicity = $2, toxicity_model = 'test-model' WHERE id = $1",
                         row.id, scores)
    if created_at is not None:
        await db.execute("UPDATE comments SET created_at = $2 WHERE id = $1", row.id, created_at)
    # a published comment's insert moves the counts; tests seed before reading, so no cached page
    # needs retiring
    return await comment_repo.get(db, row.id)


async def seed_worker_status(db: asyncpg.Connection, *, model_id: str, is_fallback: bool = False,
                             reason: str | None = None, latency_ms: dict | None = None, throughput: float = 0.0,
                             jobs: int = 0) -> str:
    """Writes a worker_status row exactly as a scoring worker does; returns the worker id."""
    worker_id = "w-" + secrets.token_hex(4)
    await worker_status.report(db, WorkerStatus(
        worker_id=worker_id, hostname="test-host", pid=4242, started_at=datetime.now(UTC),
        model={"model_id": model_id, "backend": "fallback" if is_fallback else "detoxify",
               "variant": "profanity-check" if is_fallback else "original",
               "source": "fallback" if is_fallback else "local", "load_seconds": 1.25,
               "fallback_reason": reason},
        is_fallback=is_fallback, jobs_scored=jobs, batches=jobs, latency_ms=latency_ms or {},
        throughput_per_min=throughput))
    return worker_id


async def clear_worker_status(db: asyncpg.Connection) -> None:
    await db.execute("DELETE FROM worker_status")


async def set_site_policy(db: asyncpg.Connection, site_id: str, settings: dict) -> None:
    """Replace the site's settings (its moderation policy among them) in place."""
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", site_id, settings)
