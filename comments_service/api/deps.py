"""What handlers are given: the app's services (one dependency provider each), the site a request
names, the reader making it, and the client's address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.types import Scope

from ..cache import Cache
from ..errors import DomainError
from ..identity import Identity, verify_bearer_token
from ..services.article_moderation import ArticleModeration
from ..services.campaigns import Campaigns
from ..services.comments import Actor, CommentService
from ..services.diagnostics import DiagnosticsService
from ..services.dsa import Dsa
from ..services.featuring import Featuring
from ..services.health import HealthMonitor
from ..services.moderation_events import ModerationEvents
from ..services.moderation_queue import ModerationQueue
from ..services.moderation_settings import ModerationSettings
from ..services.moderation_stats import AuditStats
from ..services.moderator_alerts import ModeratorAlerts
from ..services.notifications import Subscriptions
from ..services.nudge import NudgeService
from ..services.people import People
from ..services.policy_trial import PolicyTrial
from ..services.privacy import DataRights
from ..services.problem_reports import ProblemReports
from ..services.reader_reports import ReaderReports
from ..services.site_admin import SiteAdmin
from ..services.sites import SiteEntry
from ..services.staff_sessions import StaffSessions
from ..services.staff_tokens import StaffTokens
from ..services.surge import Surges
from ..services.troubleshoot import Troubleshooter
from ..services.user_moderation import UserModeration
from ..services.webhooks import Webhooks
from ..settings import Settings
from ..wiring import ApiServices
from .middleware import SITE_ENTRY, SITE_ID
from .params import SiteParam


def services_of(connection: ASGIConnection) -> ApiServices:
    """The app's services, taken by hand. Handlers are given theirs by dependency injection
    (ServiceProviders); this is for what injection does not reach (guards, route middleware,
    providers) and for the three hottest routes (a thread page, a post, counts), where injecting a
    service and the site measured more per request than taking them here (BENCHMARKS.md,
    bench/edge_cost.py --compare-di)."""
    services: ApiServices = connection.app.state.services
    return services


class ServiceProviders:
    """The app-level dependency providers: each returns one service of the app's ``ApiServices``,
    under the name handlers give their parameter. The app's lifespan hands them the services it
    builds (``serve``). They take no arguments, so Litestar has nothing to parse for them per request."""

    services: ApiServices

    def serve(self, services: ApiServices) -> None:
        self.services = services

    def settings(self) -> Settings:
        return self.services.settings

    def cache(self) -> Cache:
        return self.services.cache

    def comments(self) -> CommentService:
        return self.services.comments

    def reader_reports(self) -> ReaderReports:
        return self.services.reader_reports

    def moderation_queue(self) -> ModerationQueue:
        return self.services.moderation_queue

    def user_moderation(self) -> UserModeration:
        return self.services.user_moderation

    def moderation_events(self) -> ModerationEvents:
        return self.services.moderation_events

    def people(self) -> People:
        return self.services.people

    def moderation_settings(self) -> ModerationSettings:
        return self.services.moderation_settings

    def audit_stats(self) -> AuditStats:
        return self.services.audit_stats

    def article_moderation(self) -> ArticleModeration:
        return self.services.article_moderation

    def nudge(self) -> NudgeService:
        return self.services.nudge

    def health(self) -> HealthMonitor:
        return self.services.health

    def troubleshooter(self) -> Troubleshooter:
        return self.services.troubleshooter

    def problem_reports(self) -> ProblemReports:
        return self.services.problem_reports

    def diagnostics(self) -> DiagnosticsService:
        return self.services.diagnostics

    def featuring(self) -> Featuring:
        return self.services.featuring

    def staff_sessions(self) -> StaffSessions:
        return self.services.staff_sessions

    def site_admin(self) -> SiteAdmin:
        return self.services.site_admin

    def policy_trial(self) -> PolicyTrial:
        return self.services.policy_trial

    def staff_tokens(self) -> StaffTokens:
        return self.services.staff_tokens

    def subscriptions(self) -> Subscriptions:
        return self.services.subscriptions

    def moderator_alerts(self) -> ModeratorAlerts:
        return self.services.moderator_alerts

    def webhooks(self) -> Webhooks:
        return self.services.webhooks

    def data_rights(self) -> DataRights:
        return self.services.data_rights

    def dsa(self) -> Dsa:
        return self.services.dsa

    def surges(self) -> Surges:
        return self.services.surges

    def campaigns(self) -> Campaigns:
        return self.services.campaigns

    def dependencies(self) -> dict[str, Provide]:
        names = ("settings", "cache", "comments", "reader_reports", "moderation_queue", "user_moderation", "people",
                 "moderation_settings", "audit_stats", "article_moderation", "nudge", "health", "troubleshooter",
                 "problem_reports", "diagnostics",
                 "staff_sessions", "featuring", "site_admin", "policy_trial", "staff_tokens", "subscriptions",
                 "moderator_alerts", "moderation_events", "webhooks", "data_rights", "dsa", "surges",
                 "campaigns")
        return {name: Provide(getattr(self, name), sync_to_thread=False) for name in names}


async def site_entry_of(request: Request) -> SiteEntry:
    """The site the request names, resolved once per request: the entry the edge's CORS check used,
    when it made one (api/middleware.py)."""
    state = request.scope["state"]
    entry: SiteEntry | None = state.get(SITE_ENTRY)
    if entry is None:
        entry = state[SITE_ENTRY] = await services_of(request).sites.get(state.get(SITE_ID))
    return entry


async def provide_site_entry(request: Request, site: SiteParam = None) -> SiteEntry:
    # ``site`` is declared for the API's schema and validation; its value is the one the edge read
    return await site_entry_of(request)


async def reader_of(request: Request) -> tuple[SiteEntry, Actor]:
    """The site a reader's request names and the reader making it. Handlers take these from the
    request through here rather than as injected parameters: Litestar resolves two or more
    independent injected values in an anyio task group, which measured +125-130 µs a request on
    this machine against +7 µs for one (BENCHMARKS.md, "Architecture"); each handler's one injected
    value is then its service."""
    entry = await site_entry_of(request)
    return entry, actor_of(request, entry)


def raw_header(request: Request, name: bytes) -> str | None:
    """A request header (``name`` in lower case) straight from the ASGI headers: building Litestar's
    Headers object costs more than the read."""
    return next((v.decode("latin-1") for k, v in request.scope["headers"] if k == name), None)


def bearer_token(request: Request) -> str | None:
    header = raw_header(request, b"authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("token_invalid", "The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def identify(services: ApiServices, entry: SiteEntry, token: str | None) -> Identity | None:
    if token is None:
        return None
    return verify_bearer_token(services.keyring, token, entry.site.id, entry.sso_secret, entry.sso)


def actor_of(request: Request, site_entry: SiteEntry) -> Actor:
    identity = identify(services_of(request), site_entry, bearer_token(request))
    return Actor(identity=identity, ip=client_ip(request))


def client_ip(connection: ASGIConnection) -> str | None:
    """The peer address, normalised, when it is one (unix sockets and test clients have none): the
    one reading of the client's address for rate limits, bans, stream caps and /metrics."""
    return scope_client_ip(connection.scope)


def scope_client_ip(scope: Scope) -> str | None:
    """client_ip() of a request not yet routed (api/fast_reads.py)."""
    client = scope.get("client")
    return _normalised_ip(client[0]) if client else None


@lru_cache(maxsize=4096)
def _normalised_ip(host: str) -> str | None:
    try:
        # an IPv6 scope ("fe80::1%eth0") names the listener's interface, not the client: left on,
        # one client would count as one per interface, and PostgreSQL's inet refuses it
        addr = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None
    # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; they are IPv4 clients everywhere
    return str(addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr)
