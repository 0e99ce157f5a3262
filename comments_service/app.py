"""create_app(settings) -> Litestar: the one place where everything is wired together."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from . import __version__
from .api.comments import PublicCommentsController
from .api.diagnostics import DIAGNOSTICS_ROUTES, metrics_listener
from .api.health import HEALTH_ROUTES
from .api.live import LiveController, live_lifespan
from .api.moderation import ModerationController
from .api.middleware import EdgeMiddleware
from .api.pages import PAGE_ROUTES, SwaggerPage
from .api.problems import EXCEPTION_HANDLERS
from .api.troubleshoot import TROUBLESHOOT_CONTROLLERS
from .api.reports import ReportsController
from .api.toxicity import ToxicityController
from .cache import Cache, RedisGate
from .db.pool import create_pool
from .identity import Keyring
from .ratelimit import RateLimiter
from .runtime import secret_key
from .services.comments import CommentService
from .services.container import Services
from .services.health import HealthMonitor
from .services.moderation import ModerationService
from .services.nudge import NudgeService
from .services.scoring import ScoringService
from .services.sites import SiteDirectory
from .services.write_guard import WriteGuard
from .settings import Settings

log = logging.getLogger("comments_service.app")


def redis_client(settings: Settings) -> aioredis.Redis | None:
    if not settings.redis.url:
        return None
    timeout = settings.redis.socket_timeout
    return aioredis.Redis.from_url(settings.redis.url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                   health_check_interval=5, max_connections=64)


async def build_services(settings: Settings) -> Services:
    if not settings.database.url:
        raise RuntimeError("COMMENTS_DATABASE_URL is not set (the run command sets it for the embedded server)")
    pool = await create_pool(settings.database, settings.database.url)
    client = redis_client(settings)
    gate = RedisGate(client)
    cache = Cache(gate, settings.redis)
    if client is not None and settings.redis.local_cache:
        cache.enable_local(settings.redis.url, settings.redis.socket_timeout)
    limiter = RateLimiter(gate, settings.redis.prefix, settings.limits)
    keyring = Keyring(secret_key(settings))
    sites = SiteDirectory(pool, keyring)
    guard = WriteGuard()
    comments = CommentService(pool, cache, limiter, keyring, settings.comments, guard)
    moderation = ModerationService(pool, cache, limiter, sites, comments, guard)
    comments.article_view = moderation.article_view
    scoring = ScoringService(pool, comments, settings)
    if settings.scoring.enabled:
        scoring.install()
    nudge = NudgeService(limiter, settings.comments)
    return Services(settings=settings, pool=pool, redis=client, gate=gate, cache=cache, limiter=limiter,
                    keyring=keyring, sites=sites, comments=comments, moderation=moderation, scoring=scoring, nudge=nudge,
                    health=HealthMonitor(pool, client, gate, settings))


async def close_services(services: Services) -> None:
    await services.cache.close()
    await services.scoring.close()
    services.nudge.close()
    if services.redis is not None:
        await services.redis.aclose()
    await services.pool.close()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        # everything allocated so far (modules, pools, compiled schemas) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stall every
        # request in flight for tens of milliseconds under load
        gc.collect()
        gc.freeze()
        log.info("api started", extra={"version": __version__, "redis": bool(services.redis)})
        try:
            yield
        finally:
            await close_services(services)

    return Litestar(
        route_handlers=[PublicCommentsController, ModerationController, ReportsController, ToxicityController,
                        LiveController, *PAGE_ROUTES, *HEALTH_ROUTES, *DIAGNOSTICS_ROUTES, *TROUBLESHOOT_CONTROLLERS],
        lifespan=[lifespan, live_lifespan, metrics_listener],
        middleware=[EdgeMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.comments.max_request_bytes,
        openapi_config=OpenAPIConfig(title="comments_service", version=__version__, path="/schema",
                                     render_plugins=[SwaggerPage()]),
        logging_config=None,
        debug=False,
    )
