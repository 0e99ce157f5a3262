"""create_app(settings) -> Litestar: the HTTP application, its routes, middleware and lifespans; its
services come from the composition root (wiring.build_api)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from . import __version__, logs
from .api.article_paths import EncodedSlashes
from .api.comments import PublicCommentsController
from .api.deps import ServiceProviders
from .api.dev_mail import dev_mail_routes
from .api.diagnostics import DIAGNOSTICS_ROUTES, metrics_listener
from .api.dsa import DsaModerationController, MyStatementsController, NoticesController
from .api.fast_reads import FastReads
from .api.health import HEALTH_ROUTES
from .api.live import LiveController, live_lifespan
from .api.middleware import EdgeMiddleware
from .api.moderation import ModerationController
from .api.moderation_admin import AdminController
from .api.moderation_alerts import ModeratorAlertsController
from .api.moderation_articles import ArticleModerationController
from .api.moderation_audit import AuditStatsController
from .api.moderation_campaigns import CampaignsController
from .api.moderation_featured import FeaturedController
from .api.moderation_live import ModerationLiveController, moderation_live_lifespan
from .api.moderation_people import PeopleController
from .api.moderation_surges import SurgesController
from .api.moderation_webhooks import WebhooksController
from .api.notifications import MyNotificationsController, NotificationLinksController
from .api.pages import SwaggerPage, page_routes
from .api.privacy import MyDataController, UserDataController
from .api.problem_reports import ProblemReportsController
from .api.problems import EXCEPTION_HANDLERS
from .api.staff_session import StaffSessionController
from .api.troubleshoot import TroubleshootController, TroubleshootSiteController
from .settings import Settings
from .wiring import build_api, close_api

log = logging.getLogger("comments_service.app")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    if not logging.root.handlers:
        # a process of `serve --workers N` is a fresh interpreter (uvicorn spawns it): without this
        # its access log and info lines would go nowhere
        logs.configure(settings.server.log_level, settings.server.log_json, settings.server.access_log)
    providers = ServiceProviders()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_api(settings)
        app.state.services = services
        providers.serve(services)
        # everything allocated so far (modules, pools, compiled schemas) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise stall every
        # request in flight for tens of milliseconds under load
        gc.collect()
        gc.freeze()
        log.info("api started", extra={"version": __version__, "redis": bool(services.redis)})
        try:
            yield
        finally:
            # requests are done (uvicorn waited for them); each step from here is bounded
            log.info("api stopping")
            await close_api(services)
            log.info("api stopped")

    app = Litestar(
        route_handlers=[PublicCommentsController, ModerationController, ProblemReportsController, LiveController,
                        MyNotificationsController, NotificationLinksController, ModeratorAlertsController,
                        TroubleshootController, TroubleshootSiteController, StaffSessionController,
                        *page_routes(settings.server.demo),
                        *(dev_mail_routes(settings.server.dev_mail_dir)
                          if settings.server.demo and settings.server.dev_mail_dir else []),
                        PeopleController, AuditStatsController, FeaturedController, CampaignsController,
                        AdminController,
                        ModerationLiveController, ArticleModerationController, WebhooksController, *HEALTH_ROUTES,
                        *DIAGNOSTICS_ROUTES, MyDataController, UserDataController,
                        NoticesController, MyStatementsController, DsaModerationController, SurgesController],
        dependencies=providers.dependencies(),
        lifespan=[lifespan, live_lifespan, moderation_live_lifespan, metrics_listener],
        middleware=[EdgeMiddleware],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.comments.max_request_bytes,
        openapi_config=OpenAPIConfig(title="comments_service", version=__version__, path="/schema",
                                     render_plugins=[SwaggerPage()]),
        logging_config=None,
        debug=False,
    )
    # before routing, which app-level middleware comes after: article ids may hold encoded slashes
    # and the public-read fast path in front of both (it reads encoded slashes itself)
    app.asgi_handler = FastReads(app, EncodedSlashes(app.asgi_handler))
    return app
