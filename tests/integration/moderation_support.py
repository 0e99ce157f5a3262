"""Seeding for the moderation tests: comments in a given state straight through the repositories
(independent of the scoring pipeline), and moderator API tokens as the CLI creates them."""

from __future__ import annotations

import secrets
from datetime import datetime

import asyncpg

from comments_service.db import articles as article_repo
from comments_service.db import comments as comment_repo
from comments_service.db import tokens as token_repo
from comments_service.db import users as user_repo
from comments_service.domain.models import CommentRow
from comments_service.identity import new_api_token


async def make_token(db: asyncpg.Connection, role: str = "moderator", site_id: str | None = None,
                     name: str | None = None) -> str:
    token, digest = new_api_token()
    await token_repo.create(db, name or f"{role}-{secrets.token_hex(3)}", role, site_id, digest)
    return token


async def reader(db: asyncpg.Connection, site_id: str, sub: str | None = None, name: str = "Reader") -> int:
    return await user_repo.ensure_sso_user(db, site_id, sub or "u-" + secrets.token_hex(4), name, None, "reader")


async def seed_comment(services, db: asyncpg.Connection, site_id: str, *, article: str = "art-1",
                       status: str = "held", reason: str | None = "toxicity_hold", author_id: int | None = None,
                       parent_id: int | None = None, body: str = "A comment", scores: dict | None = None,
                       created_at: datetime | None = None) -> CommentRow:
    record = await article_repo.get_or_create(db, site_id, article, f"https://news.example/{article}",
                                              f"Article {article}")
    if author_id is None:
        author_id = await reader(db, site_id)
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
