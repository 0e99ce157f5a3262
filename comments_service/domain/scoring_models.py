"""The scoring pipeline's data: a claimed job, what the policy needs to know about a comment waiting
for its decision, the queue's state, and what each worker reports about itself (the API processes
load no model, so health and diagnostics learn the model in use from these reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .structs import Struct


class Job(Struct, frozen=True):
    comment_id: int
    attempts: int


class ScoringContext(Struct, frozen=True):
    """A comment waiting for its decision and the facts the policy needs about it."""

    comment_id: int
    article_id: int
    parent_id: int | None
    text: str
    status: str
    edited_at: datetime | None
    author_id: int
    external_id: str
    article_premoderation: bool
    site_id: str
    site_settings: dict[str, Any]
    user_kind: str
    user_role: str
    user_trusted: bool
    user_premoderated: bool
    recent_rejections: int
    published: int
    author_banned: bool = False
    age_seconds: float = 0.0  # since the comment was posted, when the worker read it
    site_origins: tuple[str, ...] = ()  # links to these are the site's own (domain/policy link rules)
    in_campaign: bool = False  # the post path grouped it into a copy-paste campaign
    article_surge: bool = False  # the comment was written during its article's surge of new accounts
    author_age_seconds: float = 0.0  # since the author's account was made
    author_shadow_restricted: bool = False


class QueueStats(Struct, frozen=True):
    queued: int
    claimed: int
    expired_claims: int
    oldest_age_seconds: float
    retried: int
    scored_last_5m: int
    p50_seconds_last_5m: float
    p99_seconds_last_5m: float


class WorkerStatus(Struct):
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    model: dict[str, Any]  # the scorer's describe(), plus the worker's own facts
    is_fallback: bool
    jobs_scored: int = 0
    batches: int = 0
    latency_ms: dict[str, float] = {}
    throughput_per_min: float = 0.0
    heartbeat_at: datetime | None = None


def stored_scores(toxicity: object) -> dict[str, float] | None:
    """A comment's model scores by label, from its stored toxicity (flat, or under "scores")."""
    if not isinstance(toxicity, dict):
        return None
    nested = toxicity.get("scores")
    source: dict[str, object] = nested if isinstance(nested, dict) else toxicity
    scores = {k: float(v) for k, v in source.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return scores or None
