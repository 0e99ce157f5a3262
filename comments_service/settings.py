"""Typed settings, read once from ``COMMENTS_*`` environment variables.

Settings are grouped by concern. Every value is converted and checked here so that a bad value
stops the start with a message naming the variable, instead of failing later somewhere deep.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from .domain.limits import DEFAULT_LIMITS, Limit, parse_limits
from .domain.structs import Struct
from .toxicity.config import ToxicitySettings

PREFIX = "COMMENTS_"
REPO_ROOT = Path(__file__).resolve().parent.parent
_Group = TypeVar("_Group", bound=Struct)


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


class ServerSettings(Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None  # API processes; None ("auto"): server.api_processes decides by the machine
    log_level: str = "INFO"
    log_json: bool = True
    public_url: str = "http://127.0.0.1:8000"
    # serve the demo article at /demo (and send / there); `run` turns it on. Off, / is a landing page
    demo: bool = False
    # connection bounds (server.py): uvicorn's own limits plus the deadlines and header cap it lacks
    max_connections: int = 6000  # open connections and requests per process; beyond, uvicorn answers 503
    keep_alive_seconds: int = 5  # an idle keep-alive connection between requests
    header_timeout_seconds: float = 10.0  # a request's headers, from its first byte (or the connection's start)
    body_timeout_seconds: float = 30.0  # a request's whole body, from the end of its headers
    max_header_bytes: int = 32 * 1024  # the request line and headers together
    # addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-For is believed;
    # empty: the peer address is the client's
    trusted_proxies: str = ""
    # live-update streams (api/live.py): per client address and per process, and each one's lifetime
    live_max_per_ip: int = 20
    live_max_streams: int = 5000
    live_max_seconds: float = 3600.0
    # /metrics on its own listener (every API process binds it with SO_REUSEPORT) instead of the
    # public port, which then answers 404 there; keep the host internal
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # "all": a line per request; "errors": only requests answered 400 and up (logs.access)
    access_log: str = "all"
    # the scoring worker's own probe and metrics listener (workers/probe_server.py); off when None
    worker_port: int | None = None
    worker_host: str = "127.0.0.1"
    # the local run's mailbox (dev_mailbox.py): `run` sets it when no SMTP server is configured, and
    # a demo server then lists what was sent at /dev/mail
    dev_mail_dir: str | None = None
    # anonymous reads of cached thread pages and counts answered in front of the framework
    # (api/fast_reads.py); off, the route handlers answer them, with the same bytes and headers
    fast_reads: bool = True


class DatabaseSettings(Struct, frozen=True):
    url: str | None = None
    pool_min: int = 2
    pool_max: int = 10
    command_timeout: float = 10.0
    data_dir: str = str(REPO_ROOT / ".data")
    migrations_dir: str = str(REPO_ROOT / "migrations")
    # serve and worker apply pending migrations at start (under an advisory lock, so replicas may
    # start together); off: they only check that none is pending and refuse to start otherwise
    migrate_on_start: bool = True
    # streaming replicas for the public reads that miss the cache (db/replicas.py); none: the primary
    # serves every read
    replica_urls: tuple[str, ...] = ()
    # seconds a replica may trail the primary before its reads go to the primary until it catches up
    replica_max_lag: float = 5.0


class RedisSettings(Struct, frozen=True):
    url: str | None = None
    prefix: str = "cs:"
    socket_timeout: float = 0.05
    # in-process first-level copy of hot pages and counts, invalidated over pub/sub (local_cache.py)
    local_cache: bool = True
    # seconds a cached page / count is kept (each spread by +-20%)
    page_ttl: int = 300
    count_ttl: int = 600
    # seconds an article's version keys live after a write bumped them (and the global epoch after
    # its last read); longer than what is cached under them, or those entries become unreachable
    # early. Version keys that reads alone created (any reader can name a made-up article) live
    # max(page_ttl, count_ttl) after their last read instead.
    version_ttl: int = 86_400


class CommentSettings(Struct, frozen=True):
    max_body_chars: int = 10_000
    max_request_bytes: int = 64 * 1024
    max_depth: int = 6
    edit_window_seconds: int = 900
    page_size: int = 20
    replies_per_comment: int = 5
    reply_levels: int = 3
    guest_token_ttl_days: int = 365
    live_heartbeat_seconds: float = 15.0  # keeps proxies from closing idle live-update streams
    # guests solve a proof of work before posting (services/guest_challenge.py); the test env turns it off
    guest_challenge: bool = True
    # repeats refused and copy campaigns held (services/repeats.py); the test env turns it off
    repeat_checks: bool = True


class ScoringSettings(Struct, frozen=True):
    """The scoring pipeline. Off: new comments publish at once, unscored."""

    enabled: bool = True
    decision_wait_ms: int = 300  # how long a POST waits for the worker's decision before "pending"
    lease_seconds: float = 30.0  # a claimed job whose worker died is taken over after this
    poll_seconds: float = 1.0  # workers also wake on NOTIFY; polling covers missed wake-ups and sweeps
    max_attempts: int = 5  # a comment whose scoring failed this often is held for a moderator
    recent_rejection_days: int = 7  # the window of "recent rejections" the policy counts
    model_retry_seconds: float = 10.0  # first retry of a failed model load; doubles up to 10 min
    # scoring is background work: on a shared machine the API's readers get the CPU first
    worker_nice: int = 10


class SecuritySettings(Struct, frozen=True):
    # required outside the embedded run (secret_keys.secret_key): every process must hold the same key
    secret_key: str | None = None
    # the key being rotated away from: still opens SSO secrets and verifies guest tokens, never seals or signs
    secret_key_previous: str | None = None
    # when set, /metrics answers only "Authorization: Bearer <metrics_token>"
    metrics_token: str | None = None


class ConsoleSettings(Struct, frozen=True):
    """The moderator console's sign-in sessions (services/staff_sessions.py)."""

    idle_minutes: int = 30  # a session unused this long has ended
    session_hours: int = 12  # and every session ends this long after sign-in, used or not


class NotificationSettings(Struct, frozen=True):
    """Email and webhooks (services/notifications.py, `comments-service notifier`)."""

    smtp_url: str | None = None  # smtp://user:pass@host:587?starttls=required, smtps://host:465; None: no email
    mail_from: str = "comments@localhost.localdomain"  # a site's own (its settings' mail_from) comes first
    reply_interval_seconds: int = 600  # at most one reply email per subscription this often: a burst is one email
    max_attempts: int = 8  # a delivery that failed this often is given up (dead)
    # a webhook's: about a day of retries (the hourly cap from the 8th), as long as an endpoint may
    # fail before it is disabled
    webhook_max_attempts: int = 30
    retry_base_seconds: float = 30.0  # the first retry's delay, doubled on each (with jitter) up to an hour
    lease_seconds: float = 60.0  # a claimed delivery whose notifier died is taken over after this
    poll_seconds: float = 2.0  # the notifier also wakes on NOTIFY outbox
    batch: int = 200  # deliveries claimed at once
    concurrency: int = 20  # sends in flight at once
    smtp_connections: int = 4  # SMTP connections side by side (each carries one message at a time)
    link_days: int = 90  # how long an unsubscribe or confirmation link stays good
    outbox_ready_warn: int = 10_000  # /health/ready warns with more events or deliveries waiting
    # webhook endpoints in private networks (RFC 1918, CGNAT, ULA): off, as such an address is
    # usually the service's own infrastructure (SSRF)
    webhooks_allow_private: bool = False
    webhooks_allow_http_loopback: bool = False  # http://127.0.0.1 and localhost: tests and local development only


class PrivacySettings(Struct, frozen=True):
    """How long personal data is kept (services/privacy.Retention, run by the notifier; PRIVACY.md)."""

    ip_retention_days: int = 30  # comments' addresses and problem reports' user agents
    problem_report_retention_days: int = 90  # problem reports' text, checks and reader
    retention_batch: int = 1000  # rows one statement clears (its locks last that long)
    retention_max_batches: int = 1000  # per field and sweep; the next sweep goes on


class CdnSettings(Struct, frozen=True):
    """A CDN or caching proxy in front of the public reads (services/cdn_purge.py)."""

    # seconds a shared cache may keep an anonymous thread page or count (browsers keep them 2 s)
    s_maxage: int = 2
    # seconds past that a shared cache may answer with its stale copy while it fetches a new one
    stale_while_revalidate: int = 10
    # the purge call after a visible change; None: no purge. "{keys}" in it: the surrogate keys
    # (space-separated, percent-encoded). Operator configuration, never built from a request.
    purge_url: str | None = None
    purge_method: str = "POST"
    # "Name: value" headers of the purge call (";" or newlines between them): a CDN's API token
    purge_headers: tuple[tuple[str, str], ...] = ()
    # the purge call's body, "{keys_json}" (a JSON array of the keys) and "{keys}" replaced; None: none
    purge_body: str | None = None
    purge_timeout: float = 3.0  # seconds, one attempt
    purge_concurrency: int = 4  # purge calls in flight at once, per process
    purge_batch: int = 30  # keys per call (Cloudflare takes at most 30 tags a call)


class Settings(Struct, frozen=True):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    comments: CommentSettings = CommentSettings()
    security: SecuritySettings = SecuritySettings()
    scoring: ScoringSettings = ScoringSettings()
    console: ConsoleSettings = ConsoleSettings()
    notifications: NotificationSettings = NotificationSettings()
    privacy: PrivacySettings = PrivacySettings()
    cdn: CdnSettings = CdnSettings()
    toxicity: ToxicitySettings = msgspec.field(default_factory=ToxicitySettings)
    limits: dict[str, dict[str, Limit]] = msgspec.field(default_factory=lambda: DEFAULT_LIMITS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            server=_group(env, ServerSettings, {
                "HOST": ("host", str),
                "PORT": ("port", _port),
                "WORKERS": ("workers", _auto_or_positive_int),
                "LOG_LEVEL": ("log_level", _log_level),
                "LOG_JSON": ("log_json", _bool),
                "PUBLIC_URL": ("public_url", _url(("http", "https"))),
                "DEMO": ("demo", _bool),
                "MAX_CONNECTIONS": ("max_connections", _positive_int),
                "KEEP_ALIVE_SECONDS": ("keep_alive_seconds", _positive_int),
                "HEADER_TIMEOUT_SECONDS": ("header_timeout_seconds", _positive_float),
                "BODY_TIMEOUT_SECONDS": ("body_timeout_seconds", _positive_float),
                "MAX_HEADER_BYTES": ("max_header_bytes", _positive_int),
                "TRUSTED_PROXIES": ("trusted_proxies", _networks),
                "LIVE_MAX_PER_IP": ("live_max_per_ip", _positive_int),
                "LIVE_MAX_STREAMS": ("live_max_streams", _positive_int),
                "LIVE_MAX_SECONDS": ("live_max_seconds", _positive_float),
                "METRICS_PORT": ("metrics_port", _port),
                "METRICS_HOST": ("metrics_host", str),
                "ACCESS_LOG": ("access_log", _access_log),
                "WORKER_PORT": ("worker_port", _port),
                "WORKER_HOST": ("worker_host", str),
                "DEV_MAIL_DIR": ("dev_mail_dir", str),
                "FAST_READS": ("fast_reads", _bool),
            }),
            database=_with_replicas(env, _group(env, DatabaseSettings, {
                "DATABASE_URL": ("url", _url(("postgres", "postgresql"))),
                "DATABASE_POOL_MIN": ("pool_min", _positive_int),
                "DATABASE_POOL_MAX": ("pool_max", _positive_int),
                "DATABASE_COMMAND_TIMEOUT": ("command_timeout", _positive_float),
                "DATA_DIR": ("data_dir", str),
                "MIGRATIONS_DIR": ("migrations_dir", str),
                "MIGRATE_ON_START": ("migrate_on_start", _bool),
                "REPLICA_MAX_LAG": ("replica_max_lag", _positive_float),
            })),
            redis=_group(env, RedisSettings, {
                "REDIS_URL": ("url", _redis_url),
                "REDIS_PREFIX": ("prefix", _redis_prefix),
                "REDIS_TIMEOUT": ("socket_timeout", _positive_float),
                "REDIS_LOCAL_CACHE": ("local_cache", _bool),
                "REDIS_PAGE_TTL": ("page_ttl", _positive_int),
                "REDIS_COUNT_TTL": ("count_ttl", _positive_int),
                "REDIS_VERSION_TTL": ("version_ttl", _positive_int),
            }),
            comments=_group(env, CommentSettings, {
                "MAX_BODY_CHARS": ("max_body_chars", _positive_int),
                "MAX_REQUEST_BYTES": ("max_request_bytes", _positive_int),
                "MAX_DEPTH": ("max_depth", _positive_int),
                "EDIT_WINDOW_SECONDS": ("edit_window_seconds", _non_negative_int),
                "PAGE_SIZE": ("page_size", _positive_int),
                "REPLIES_PER_COMMENT": ("replies_per_comment", _non_negative_int),
                "REPLY_LEVELS": ("reply_levels", _positive_int),
                "LIVE_HEARTBEAT_SECONDS": ("live_heartbeat_seconds", _positive_float),
                "GUEST_CHALLENGE": ("guest_challenge", _bool),
                "REPEAT_CHECKS": ("repeat_checks", _bool),
            }),
            security=_group(env, SecuritySettings, {
                "SECRET_KEY": ("secret_key", _secret),
                "SECRET_KEY_PREVIOUS": ("secret_key_previous", _secret),
                "METRICS_TOKEN": ("metrics_token", _metrics_token),
            }),
            scoring=_group(env, ScoringSettings, {
                "SCORING": ("enabled", _bool),
                "DECISION_WAIT_MS": ("decision_wait_ms", _non_negative_int),
                "SCORING_LEASE_SECONDS": ("lease_seconds", _positive_float),
                "SCORING_POLL_SECONDS": ("poll_seconds", _positive_float),
                "SCORING_MAX_ATTEMPTS": ("max_attempts", _positive_int),
                "SCORING_RECENT_REJECTION_DAYS": ("recent_rejection_days", _positive_int),
                "SCORING_MODEL_RETRY_SECONDS": ("model_retry_seconds", _positive_float),
                "SCORING_WORKER_NICE": ("worker_nice", _non_negative_int),
            }),
            console=_group(env, ConsoleSettings, {
                "CONSOLE_IDLE_MINUTES": ("idle_minutes", _positive_int),
                "CONSOLE_SESSION_HOURS": ("session_hours", _positive_int),
            }),
            notifications=_group(env, NotificationSettings, {
                "SMTP_URL": ("smtp_url", _url(("smtp", "smtps"))),
                "MAIL_FROM": ("mail_from", _mail_address),
                "REPLY_INTERVAL_SECONDS": ("reply_interval_seconds", _non_negative_int),
                "NOTIFY_MAX_ATTEMPTS": ("max_attempts", _positive_int),
                "WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", _positive_int),
                "NOTIFY_RETRY_BASE_SECONDS": ("retry_base_seconds", _positive_float),
                "NOTIFY_LEASE_SECONDS": ("lease_seconds", _positive_float),
                "NOTIFY_POLL_SECONDS": ("poll_seconds", _positive_float),
                "NOTIFY_BATCH": ("batch", _positive_int),
                "NOTIFY_CONCURRENCY": ("concurrency", _positive_int),
                "SMTP_CONNECTIONS": ("smtp_connections", _positive_int),
                "NOTIFY_LINK_DAYS": ("link_days", _positive_int),
                "WEBHOOKS_ALLOW_PRIVATE": ("webhooks_allow_private", _bool),
                "WEBHOOKS_ALLOW_HTTP_LOOPBACK": ("webhooks_allow_http_loopback", _bool),
            }),
            privacy=_group(env, PrivacySettings, {
                "IP_RETENTION_DAYS": ("ip_retention_days", _positive_int),
                "PROBLEM_REPORT_RETENTION_DAYS": ("problem_report_retention_days", _positive_int),
            }),
            cdn=_with_purge_call(env, _group(env, CdnSettings, {
                "CDN_S_MAXAGE": ("s_maxage", _non_negative_int),
                "CDN_STALE_WHILE_REVALIDATE": ("stale_while_revalidate", _non_negative_int),
                "CDN_PURGE_METHOD": ("purge_method", _http_method),
                "CDN_PURGE_BODY": ("purge_body", str),
                "CDN_PURGE_TIMEOUT": ("purge_timeout", _positive_float),
                "CDN_PURGE_CONCURRENCY": ("purge_concurrency", _positive_int),
                "CDN_PURGE_BATCH": ("purge_batch", _positive_int),
            })),
            toxicity=_toxicity(env),
            limits=_one(env, "RATE_LIMITS", parse_limits, DEFAULT_LIMITS),
        )


def _group(env: Mapping[str, str], struct: type[_Group], fields: dict[str, tuple[str, Callable[[str], Any]]]) -> _Group:
    values: dict[str, Any] = {}
    for suffix, (field, convert) in fields.items():
        name = PREFIX + suffix
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[field] = convert(raw)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{name}={raw!r} is invalid: {exc}") from None
    group = struct(**values)
    if isinstance(group, ServerSettings) and group.live_max_streams >= group.max_connections:
        # streams hold connections: below the connection cap, a refused stream is told when to retry
        raise SettingsError(f"{PREFIX}LIVE_MAX_STREAMS must be below {PREFIX}MAX_CONNECTIONS")
    if isinstance(group, DatabaseSettings) and group.pool_min > group.pool_max:
        raise SettingsError(f"{PREFIX}DATABASE_POOL_MIN must not exceed {PREFIX}DATABASE_POOL_MAX")
    if isinstance(group, RedisSettings) and group.version_ttl <= max(group.page_ttl, group.count_ttl):
        raise SettingsError(f"{PREFIX}REDIS_VERSION_TTL must exceed {PREFIX}REDIS_PAGE_TTL and {PREFIX}REDIS_COUNT_TTL")
    return group


def _with_replicas(env: Mapping[str, str], group: DatabaseSettings) -> DatabaseSettings:
    """COMMENTS_DATABASE_REPLICA_URLS: PostgreSQL URLs separated by commas or spaces. Read apart
    from _group because its message repeats the value, and these carry passwords."""
    name = f"{PREFIX}DATABASE_REPLICA_URLS"
    urls: list[str] = []
    # a multi-host URL (postgresql://a,b/db) has commas of its own: a piece that does not start a
    # URL belongs to the one before it
    for piece in env.get(name, "").replace(",", " ,").split():
        part = piece.removeprefix(",")
        if "://" in part:
            urls.append(part)
        elif part and urls and piece.startswith(","):
            urls[-1] += piece
        elif part:
            raise SettingsError(f"{name} is invalid: each entry must be a URL starting with postgresql://")
    for number, url in enumerate(urls, start=1):
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ("postgres", "postgresql") or not rest:
            raise SettingsError(f"{name} is invalid: entry {number} must be a URL starting with postgresql://")
    return msgspec.structs.replace(group, replica_urls=tuple(urls)) if urls else group


def _with_purge_call(env: Mapping[str, str], group: CdnSettings) -> CdnSettings:
    """COMMENTS_CDN_PURGE_URL, and COMMENTS_CDN_PURGE_HEADERS: "Name: value" pairs separated by ";"
    or newlines. Read apart from _group because its message repeats the value, and these may carry
    API tokens."""
    url = env.get(f"{PREFIX}CDN_PURGE_URL") or None
    if url is not None:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest or not url.isprintable() or " " in url:
            raise SettingsError(f"{PREFIX}CDN_PURGE_URL is invalid: must be a URL starting with http:// or https://")
        group = msgspec.structs.replace(group, purge_url=url)
    name = f"{PREFIX}CDN_PURGE_HEADERS"
    headers: list[tuple[str, str]] = []
    for number, part in enumerate((p for p in env.get(name, "").replace("\n", ";").split(";") if p.strip()), 1):
        key, sep, value = part.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", key) or not value.isprintable():
            raise SettingsError(f"{name} is invalid: entry {number} must be 'Name: value' (printable, one line)")
        headers.append((key, value))
    return msgspec.structs.replace(group, purge_headers=tuple(headers)) if headers else group


def _http_method(raw: str) -> str:
    if not re.fullmatch(r"[A-Z]{3,16}", raw):
        raise ValueError("must be an HTTP method in capitals (POST, PURGE, BAN)")
    return raw


def _one(env: Mapping[str, str], suffix: str, convert: Callable[[str], Any], default: Any) -> Any:
    name = PREFIX + suffix
    raw = env.get(name)
    if not raw:
        return default
    try:
        return convert(raw)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{name}={raw!r} is invalid: {exc}") from None


def _toxicity(env: Mapping[str, str]) -> ToxicitySettings:
    try:
        return ToxicitySettings.from_env(env)
    except ValueError as exc:  # the message names the COMMENTS_TOXICITY_* variable
        raise SettingsError(str(exc)) from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _auto_or_positive_int(raw: str) -> int | None:
    return None if raw.strip().lower() == "auto" else _positive_int(raw)


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a port number between 1 and 65535")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _access_log(raw: str) -> str:
    mode = raw.strip().lower()
    if mode not in {"all", "errors"}:
        raise ValueError("must be all or errors")
    return mode


def _secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters")
    return raw


def _mail_address(raw: str) -> str:
    from .domain.email_addresses import normalise

    address = normalise(raw)
    if address is None:
        raise ValueError("must be a plain email address (name@example.org)")
    return address


def _metrics_token(raw: str) -> str:
    if len(raw) < 16 or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise ValueError("must be at least 16 printable ASCII characters without spaces")
    return raw


def _networks(raw: str) -> str:
    import ipaddress

    # normalised ("10.0.0.1/8" -> "10.0.0.0/8"): uvicorn reads its forwarded_allow_ips strictly and
    # would take a loose network for a literal that never matches, trusting no proxy at all
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    return ",".join(str(ipaddress.ip_network(part, strict=False)) for part in parts)  # ValueError names it


def _redis_url(raw: str) -> str:
    # redis+cluster://host:port,host:port names a Redis Cluster by some of its nodes (redis_cluster.py)
    from .redis_cluster import check_url, is_cluster_url

    return check_url(raw) if is_cluster_url(raw) else _url(("redis", "rediss", "unix", "redis+cluster",
                                                           "rediss+cluster"))(raw)


def _redis_prefix(raw: str) -> str:
    if "{" in raw or "}" in raw:
        # the keys' hash tags must be the first braces in a key (redis_cluster.py)
        raise ValueError("must not contain { or }")
    return raw


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        scheme, sep, rest = raw.partition("://")
        if not sep or scheme.lower() not in schemes or not rest:
            raise ValueError(f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
        return raw

    return convert
