"""Everything the API needs, built once per process by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis

from ..cache import Cache, RedisGate
from ..identity import Keyring
from ..ratelimit import RateLimiter
from ..settings import Settings
from .comments import CommentService
from .health import HealthMonitor
from .moderation import ModerationService
from .nudge import NudgeService
from .scoring import ScoringService
from .sites import SiteDirectory


@dataclass
class Services:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis | None
    gate: RedisGate
    cache: Cache
    limiter: RateLimiter
    keyring: Keyring
    sites: SiteDirectory
    comments: CommentService
    moderation: ModerationService
    scoring: ScoringService
    nudge: NudgeService
    health: HealthMonitor
