"""The composition root: the one place that builds services, each from the collaborators its
constructor names. The API, the scoring worker and the CLI each have a builder here and build only
what they use; nothing else in the package constructs a service or assigns one service to another."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import asyncpg
import redis.asyncio as aioredis

from .cache import Cache, RedisGate
from .db.pool import create_command_pool, create_pool
from .db.replicas import ReadPools
from .identity import Keyring
from .ratelimit import RateLimiter
from .redis_cluster import client_from_url
from .redis_scripts import ScriptConnection, serves
from .secret_keys import keyring as service_keyring
from .secret_keys import secret_key
from .services.admission import Admission, PublishNow
from .services.api_tokens import ApiTokens
from .services.article_moderation import ArticleModeration
from .services.article_view import ArticleView
from .services.campaigns import Campaigns
from .services.cdn_purge import Cdn
from .services.comments import CommentService
from .services.demo_seed import DemoSeeder
from .services.diagnostics import DiagnosticsService
from .services.dsa import Dsa
from .services.export import Exporter, Restorer
from .services.featuring import Featuring
from .services.guest_challenge import GuestChallenge
from .services.health import HealthMonitor
from .services.importer import Importer, pseudonym_key
from .services.moderation_events import ModerationEvents
from .services.moderation_queue import ModerationQueue
from .services.moderation_settings import ModerationSettings
from .services.moderation_stats import AuditStats
from .services.moderator_alerts import ModeratorAlerts
from .services.notification_links import NotificationLinks
from .services.notifications import Notifier, Subscriptions
from .services.nudge import NudgeService
from .services.own_pending import OwnPending
from .services.people import People
from .services.policy_trial import PolicyTrial, TrialChannel
from .services.privacy import DataRights, Retention
from .services.problem_reports import ProblemReports
from .services.publishing import Publisher
from .services.reader_reports import ReaderReports
from .services.readers import Readers
from .services.repeats import RepeatGuard
from .services.schema import Schema
from .services.scoring import ScoringService
from .services.scoring_admission import DecisionWaiter, ScoreFirst
from .services.site_admin import SiteAdmin
from .services.site_secrets import SecretRotation
from .services.sites import SiteDirectory
from .services.smtp_sender import SmtpPool, parse_smtp_url
from .services.staff_sessions import StaffSessions
from .services.staff_tokens import StaffTokens
from .services.surge import Surges
from .services.troubleshoot import Troubleshooter
from .services.user_moderation import UserModeration
from .services.webhook_sender import WebhookSender
from .services.webhooks import Webhooks
from .services.write_guard import WriteGuard
from .services.wxr_export import WxrExporter
from .settings import Settings
from .shutdown import CLOSE_S, close_pool, step


def redis_client(settings: Settings) -> aioredis.Redis | None:
    # typed as one Redis: a RedisCluster answers every call the services make alike
    if not settings.redis.url:
        return None
    timeout = settings.redis.socket_timeout
    # a redis+cluster:// URL gives a cluster client (redis_cluster.py), which the code uses alike
    return client_from_url(settings.redis.url, socket_timeout=timeout,  # type: ignore[return-value]
                           socket_connect_timeout=timeout, health_check_interval=5, max_connections=64)


def _script_connection(settings: Settings) -> ScriptConnection | None:
    """The API's Lua scripts go over a lean connection of their own where Redis is one server
    without TLS (redis_scripts.py): each post runs two on the loop that answers the hot reads."""
    url = settings.redis.url
    if not serves(url):
        return None
    timeout = settings.redis.socket_timeout
    return ScriptConnection(url, socket_timeout=timeout, connect_timeout=timeout)  # type: ignore[arg-type]


async def _pool(settings: Settings) -> asyncpg.Pool:
    if not settings.database.url:
        raise RuntimeError("COMMENTS_DATABASE_URL is not set (the run command sets it for the embedded server)")
    return await create_pool(settings.database, settings.database.url)


async def _read_pools(settings: Settings, pool: asyncpg.Pool) -> ReadPools:
    """The API's public reads that miss the cache: on the replicas, if any (db/replicas.py)."""
    reads = ReadPools(pool, settings.database)
    await reads.start()
    return reads


# A dataclass, not a Struct: it holds live pools, clients and services, never data to encode.
@dataclass
class ApiServices:
    """Everything the API's handlers use, built once per process by the app's lifespan."""

    settings: Settings
    pool: asyncpg.Pool
    reads: ReadPools
    redis: aioredis.Redis | None
    gate: RedisGate
    cache: Cache
    cdn: Cdn
    limiter: RateLimiter
    keyring: Keyring
    sites: SiteDirectory
    readers: Readers
    publisher: Publisher
    admission: Admission
    comments: CommentService
    # None: signed-in readers are answered by the route handler only (no first-level cache or fast path)
    own_pending: OwnPending | None
    reader_reports: ReaderReports
    moderation_queue: ModerationQueue
    moderation_events: ModerationEvents
    user_moderation: UserModeration
    people: People
    moderation_settings: ModerationSettings
    article_moderation: ArticleModeration
    audit_stats: AuditStats
    scoring: ScoringService
    nudge: NudgeService
    health: HealthMonitor
    api_tokens: ApiTokens
    staff_sessions: StaffSessions
    problem_reports: ProblemReports
    troubleshooter: Troubleshooter
    diagnostics: DiagnosticsService
    featuring: Featuring
    campaigns: Campaigns
    site_admin: SiteAdmin
    policy_trial: PolicyTrial
    staff_tokens: StaffTokens
    subscriptions: Subscriptions
    webhooks: Webhooks
    moderator_alerts: ModeratorAlerts
    data_rights: DataRights
    dsa: Dsa
    surges: Surges


def _webhooks(settings: Settings, pool: asyncpg.Pool, keyring: Keyring) -> Webhooks:
    """The admins' webhooks and the notifier's webhook channel: the URL check when an endpoint is
    saved and the sender's own use the same options."""
    cfg = settings.notifications
    sender = WebhookSender(allow_private=cfg.webhooks_allow_private,
                           allow_http_loopback=cfg.webhooks_allow_http_loopback)
    return Webhooks(pool, keyring, sender, allow_private=cfg.webhooks_allow_private,
                    allow_http_loopback=cfg.webhooks_allow_http_loopback)


async def build_api(settings: Settings) -> ApiServices:
    keyring = service_keyring(settings)  # first: a missing key stops the start before any connection
    pool = await _pool(settings)
    reads = await _read_pools(settings, pool)
    client = redis_client(settings)
    gate = RedisGate(client, scripts=_script_connection(settings))
    cache = Cache(gate, settings.redis)
    if client is not None and settings.redis.url and settings.redis.local_cache:
        cache.enable_local(settings.redis.url, settings.redis.socket_timeout)
    limiter = RateLimiter(gate, settings.redis.prefix, settings.limits)
    sites = SiteDirectory(pool, keyring)
    policy = WriteGuard()
    readers = Readers(pool, policy)
    cdn = Cdn(settings.cdn)
    publisher = Publisher(pool, cache, ArticleView(sites), cdn)
    admission: Admission = (ScoreFirst(pool, DecisionWaiter(settings.database.url or ""), settings.scoring)
                            if settings.scoring.enabled else PublishNow())
    surges = Surges(pool, gate, settings.redis.prefix)
    own_pending = None
    if cache.local is not None and settings.server.fast_reads and settings.database.url:
        own_pending = OwnPending(settings.database.url)
        own_pending.start()
    challenges = GuestChallenge(gate, settings.redis.prefix, keyring, enabled=settings.comments.guest_challenge)
    comments = CommentService(pool, cache, limiter, keyring, settings.comments, policy=policy, admission=admission,
                              readers=readers, publisher=publisher, challenges=challenges,
                              repeats=RepeatGuard(gate, settings.redis.prefix, keyring.derived_keys("repeats")[0],
                                                  enabled=settings.comments.repeat_checks),
                              surges=surges if settings.scoring.enabled else None, reads=reads,
                              own_pending=own_pending)
    moderation_queue = ModerationQueue(pool, sites, publisher)
    moderation_events = ModerationEvents(pool, settings.database.url or "", sites, moderation_queue,
                                         heartbeat_seconds=settings.comments.live_heartbeat_seconds,
                                         max_stream_seconds=settings.server.live_max_seconds)
    nudge = NudgeService(limiter, settings.comments)
    user_moderation = UserModeration(pool, moderation_queue, publisher)
    scoring = ScoringService(pool, publisher, settings.scoring)
    health = HealthMonitor(pool, client, scoring, replicas=reads)
    problem_reports = ProblemReports(pool)
    dsa = Dsa(pool, sites, limiter, readers, keyring, moderation_queue, user_moderation, publisher)
    troubleshooter = Troubleshooter(pool, sites, keyring, readers, user_moderation, policy, limiter, health,
                                    problem_reports, dsa)
    diagnostics = DiagnosticsService(pool, client, gate, cache, limiter, health, scoring,
                                     settings.database.migrations_dir, own_pending=own_pending)
    api_tokens = ApiTokens(pool)
    staff_sessions = StaffSessions(pool, limiter, keyring, sites, api_tokens, settings.console)
    site_admin = SiteAdmin(pool, sites, cache, cdn)
    links = NotificationLinks(keyring, settings.server.public_url, days=settings.notifications.link_days)
    return ApiServices(
        settings=settings, pool=pool, reads=reads, redis=client, gate=gate, cache=cache, cdn=cdn, limiter=limiter,
        keyring=keyring,
        sites=sites, readers=readers, publisher=publisher, admission=admission, comments=comments,
        own_pending=own_pending,
        reader_reports=ReaderReports(pool, limiter, readers, policy), moderation_queue=moderation_queue,
        moderation_events=moderation_events,
        user_moderation=user_moderation, people=People(pool),
        moderation_settings=ModerationSettings(pool, sites, publisher, site_admin),
        article_moderation=ArticleModeration(pool, sites),
        audit_stats=AuditStats(pool),
        scoring=scoring, nudge=nudge, health=health, api_tokens=api_tokens, staff_sessions=staff_sessions,
        problem_reports=problem_reports, troubleshooter=troubleshooter, diagnostics=diagnostics,
        featuring=Featuring(pool, publisher), campaigns=Campaigns(pool, moderation_queue, user_moderation),
        site_admin=site_admin, staff_tokens=StaffTokens(pool, sites),
        subscriptions=Subscriptions(pool, readers, limiter, links, settings.notifications),
        webhooks=_webhooks(settings, pool, keyring),
        moderator_alerts=ModeratorAlerts(pool, links),
        data_rights=DataRights(pool, sites, publisher, limiter),
        dsa=dsa, surges=surges,
        policy_trial=PolicyTrial(sites, TrialChannel(client, settings.redis.prefix), nudge, limiter, scoring,
                                 max_body_chars=settings.comments.max_body_chars,
                                 fail_closed=settings.toxicity.fail_closed,
                                 edit_window_seconds=settings.comments.edit_window_seconds))


async def close_api(services: ApiServices) -> None:
    """Every step is bounded and named in the log (shutdown.py): the process exits within seconds
    however its connections fare."""
    await services.cache.close()
    if services.own_pending is not None:
        await services.own_pending.close()
    await services.admission.close()
    await services.moderation_events.close()
    await services.cdn.close()
    services.nudge.close()
    if services.gate.scripts is not None:
        services.gate.scripts.close()
    if services.redis is not None:
        await step("api: Redis client", services.redis.aclose(), CLOSE_S)
    await services.reads.close()
    await close_pool("api: PostgreSQL pool", services.pool)


# A dataclass, not a Struct: it holds live pools, clients and services, never data to encode.
@dataclass
class WorkerServices:
    """What a scoring worker uses: the queue and decisions (ScoringService) and, through its
    publisher, the cache versions and live events a publication changes; the health monitor answers
    its own probe port (workers/probe_server.py). No local page cache, rate limits or nudge: a
    worker serves no reader."""

    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis | None
    cache: Cache
    cdn: Cdn
    scoring: ScoringService
    health: HealthMonitor
    # admins' "try a text" reaches the worker's model here (services/policy_trial.py)
    trials: TrialChannel


async def build_worker(settings: Settings) -> WorkerServices:
    keyring = service_keyring(settings)  # first: a missing key stops the start before any connection
    pool = await _pool(settings)
    client = redis_client(settings)
    cache = Cache(RedisGate(client), settings.redis)
    sites = SiteDirectory(pool, keyring)
    cdn = Cdn(settings.cdn)
    publisher = Publisher(pool, cache, ArticleView(sites), cdn)
    scoring = ScoringService(pool, publisher, settings.scoring)
    return WorkerServices(settings=settings, pool=pool, redis=client, cache=cache, cdn=cdn, scoring=scoring,
                          health=HealthMonitor(pool, client, scoring),
                          trials=TrialChannel(client, settings.redis.prefix))


async def close_worker(services: WorkerServices) -> None:
    """Bounded like close_api."""
    await services.cdn.close()
    await services.cache.close()
    if services.redis is not None:
        await step("worker: Redis client", services.redis.aclose(), CLOSE_S)
    await close_pool("worker: PostgreSQL pool", services.pool)


@dataclass
class NotifierServices:
    """What the notifier uses: the pool, the SMTP client (None without COMMENTS_SMTP_URL) and the
    notifier over them."""

    settings: Settings
    pool: asyncpg.Pool
    sender: SmtpPool | None
    webhooks: Webhooks
    notifier: Notifier
    retention: Retention
    surges: Surges  # its sweep ends surges whose time is up


async def build_notifier(settings: Settings) -> NotifierServices:
    keyring = service_keyring(settings)  # first: a missing key stops the start before any connection
    pool = await _pool(settings)
    cfg = settings.notifications
    sender = SmtpPool(parse_smtp_url(cfg.smtp_url), cfg.smtp_connections) if cfg.smtp_url else None
    links = NotificationLinks(keyring, settings.server.public_url, days=cfg.link_days)
    webhooks = _webhooks(settings, pool, keyring)
    notifier = Notifier(pool, cfg, links, sender, database_url=settings.database.url, channels=[webhooks])
    return NotifierServices(settings=settings, pool=pool, sender=sender, webhooks=webhooks, notifier=notifier,
                            retention=Retention(pool, settings.privacy),
                            surges=Surges(pool, None, settings.redis.prefix))


async def close_notifier(services: NotifierServices) -> None:
    if services.sender is not None:
        await step("notifier: SMTP connections", services.sender.close(), CLOSE_S)
    await step("notifier: webhook connections", services.webhooks.sender.close(), CLOSE_S)
    await close_pool("notifier: PostgreSQL pool", services.pool)


# A plain class, not a Struct or dataclass: it holds a live pool and services, and makes some of
# them on first use.
class CliServices:
    """What the CLI's commands use, over a command's pool (db.pool.create_command_pool: one
    connection, no statement timeout). The services that need the secret key are made on first
    use, so that `migrate`, `export` and the token commands never read or create the key file."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self.schema = Schema(pool, settings.database.migrations_dir)
        self.api_tokens = ApiTokens(pool)
        self.exporter = Exporter(pool)
        self.redis: aioredis.Redis | None = None

    @cached_property
    def sites(self) -> SiteDirectory:
        return SiteDirectory(self.pool, service_keyring(self.settings))

    @cached_property
    def cache(self) -> Cache | None:
        """With Redis configured, what a command changes retires the cached pages it touches at once."""
        self.redis = redis_client(self.settings)
        return Cache(RedisGate(self.redis), self.settings.redis) if self.redis is not None else None

    @cached_property
    def cdn(self) -> Cdn:
        """A CDN's copies of what a command changes are purged as the API purges them: the calls
        go out when the command ends (close_cli), so a deleted site or an import shows at once."""
        return Cdn(self.settings.cdn)

    @cached_property
    def site_admin(self) -> SiteAdmin:
        return SiteAdmin(self.pool, self.sites, self.cache, self.cdn)

    @cached_property
    def importer(self) -> Importer:
        return Importer(self.pool, self.cache, pseudonym_key(secret_key(self.settings)),
                        max_depth=self.settings.comments.max_depth, cdn=self.cdn)

    @cached_property
    def wxr_exporter(self) -> WxrExporter:
        return WxrExporter(self.pool)

    @cached_property
    def demo(self) -> DemoSeeder:
        return DemoSeeder(self.pool, self.sites)

    @cached_property
    def restorer(self) -> Restorer:
        return Restorer(self.pool, self.sites.keyring, self.cache, self.cdn)

    @cached_property
    def secret_rotation(self) -> SecretRotation:
        return SecretRotation(self.pool, self.sites.keyring)


async def build_cli(settings: Settings) -> CliServices:
    if not settings.database.url:
        raise RuntimeError("COMMENTS_DATABASE_URL is not set (the CLI sets it for the embedded server)")
    return CliServices(settings, await create_command_pool(settings.database.url))


async def close_cli(services: CliServices) -> None:
    cdn = services.__dict__.get("cdn")  # made by the commands that use the site admin or the importer
    if cdn is not None:
        await cdn.close()
    if services.redis is not None:
        await step("cli: Redis client", services.redis.aclose(), CLOSE_S)
    await close_pool("cli: PostgreSQL pool", services.pool)
