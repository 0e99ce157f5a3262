"""Prometheus metrics for the API and the scoring workers, and the in-process error record.

Multi-process safe: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before the process starts, as
prometheus-client requires) every API and worker process writes its samples to files there and
:func:`render` aggregates them all, so a scrape of any one API process sees the whole fleet on
this machine. Without it, the default in-process registry is exposed.

Worker-facing functions (call them from the scoring worker)::

    metrics.observe_scoring_batch(size=len(batch), seconds=model_seconds)
    metrics.observe_decision(outcome="held", reason="toxicity_hold", waited_seconds=now - created_at)
    window = metrics.ScoringWindow(); window.add(batch_size, seconds); window.percentiles()
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter("comments_http_requests_total", "HTTP requests by route template and status.",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("comments_http_request_duration_seconds", "HTTP request latency by route template.",
                         ["method", "route"],
                         buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CACHE_HITS = Counter("comments_cache_hits_total", "Thread page and count reads served from Redis.")
CACHE_MISSES = Counter("comments_cache_misses_total", "Thread page and count reads that went to PostgreSQL.")
RATE_LIMITED = Counter("comments_rate_limit_rejections_total", "Requests refused by a rate limit.", ["action"])
ERRORS = Counter("comments_errors_total", "Problem responses by error code.", ["code"])
# Database state, not process state: set at scrape time; the most recent writer wins across processes.
QUEUE_DEPTH = Gauge("comments_queue_depth", "Comments waiting, by status (pending_scoring, held).", ["status"],
                    multiprocess_mode="mostrecent")
QUEUE_OLDEST = Gauge("comments_queue_oldest_pending_seconds", "Age of the oldest comment waiting for scoring.",
                     multiprocess_mode="mostrecent")
NOTIFICATIONS = Gauge("comments_notifications", "Notification deliveries by channel and state (queued, retrying: "
                      "queued after a failed attempt, sent, dead).", ["channel", "state"],
                      multiprocess_mode="mostrecent")
OUTBOX_DEPTH = Gauge("comments_outbox_depth", "Outbox events not yet fanned out into deliveries.",
                     multiprocess_mode="mostrecent")
NOTIFICATION_OLDEST_DUE = Gauge("comments_notification_oldest_due_seconds",
                                "How long the oldest due delivery has waited to be sent.",
                                multiprocess_mode="mostrecent")
# this API process's view of each read replica (db/replicas.py), by its number in the configured list
REPLICA_LAG = Gauge("comments_db_replica_lag_seconds", "How far a read replica's replay is behind the primary.",
                    ["replica"], multiprocess_mode="max")
REPLICA_USABLE = Gauge("comments_db_replica_usable", "1 while a read replica serves reads, 0 while it is skipped.",
                       ["replica"], multiprocess_mode="min")
REPLICA_READS = Gauge("comments_db_replica_reads", "Reads this process sent to a replica, by who answered "
                      "(replica, or primary: behind the fence or failed).", ["replica", "answered_by"],
                      multiprocess_mode="livesum")
SCORING_BATCH_SECONDS = Histogram("comments_scoring_batch_seconds", "Model time per scoring batch.",
                                  buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
SCORING_BATCH_SIZE = Histogram("comments_scoring_batch_size", "Comments per scoring batch.",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
SCORING_WAIT = Histogram("comments_scoring_wait_seconds", "From posting to the scoring decision.",
                         buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))
DECISIONS = Counter("comments_decisions_total", "Scoring decisions by outcome and reason.", ["outcome", "reason"])
# Set by a worker at each scrape of its own port; one series per worker process when multi-process.
WORKER_MODEL_FALLBACK = Gauge("comments_worker_model_fallback",
                              "1 while this scoring worker scores with the fallback, 0 with the real model.",
                              multiprocess_mode="liveall")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def bearer_allowed(expected: str | None, authorization: bytes | None) -> bool:
    """Whether a scrape's Authorization header carries the metrics token (any scrape when none is set)."""
    if expected is None:
        return True
    # digests of equal length: the comparison takes the same time whatever was sent
    sent = hashlib.sha256(authorization or b"").digest()
    return hmac.compare_digest(sent, hashlib.sha256(b"Bearer " + expected.encode()).digest())


# a reverse proxy on this machine connects from loopback too; what it forwards is not local
_FORWARDED = frozenset((b"forwarded", b"x-forwarded-for", b"x-real-ip"))


def local_peer(peer: str | None, header_names: Iterable[bytes]) -> bool:
    """A loopback peer (127.0.0.0/8, ::1; ``peer`` an IP address with IPv4-mapped ones unmapped) with
    no proxy's forwarding header among ``header_names`` (lowercase). A peer that is no IP address (a
    unix socket, an in-process client) is not local: a proxy may sit behind a socket too."""
    if peer is None or not ipaddress.ip_address(peer).is_loopback:
        return False
    return not any(name in _FORWARDED for name in header_names)


def scrape_refusal(expected: str | None, authorization: bytes | None, peer: str | None,
                   header_names: Iterable[bytes]) -> str | None:
    """Why a scrape of ``/metrics`` is refused (an error code), or None when it may be answered.
    With a token set, only that bearer token (401 otherwise); with none, this machine only, and
    everyone else gets the unknown route's 404, as if there were no metrics to ask for."""
    if expected is None:
        return None if local_peer(peer, header_names) else "not_found"
    return None if bearer_allowed(expected, authorization) else "metrics_token_required"


def render() -> bytes:
    """The exposition text: every process's samples when multi-process, else this process's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# ---------------------------------------------------------------- API side
_REQUEST_SERIES: dict[tuple[str, str, int], tuple] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    # labels() hashes and locks on every call; the few (method, route, status) series are kept
    series = _REQUEST_SERIES.get((method, route, status))
    if series is None:
        series = _REQUEST_SERIES[(method, route, status)] = (
            HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
    series[0].inc()
    series[1].observe(seconds)


def set_queue(depths: dict[str, int], oldest_pending_seconds: float | None) -> None:
    for status, depth in depths.items():
        QUEUE_DEPTH.labels(status).set(depth)
    QUEUE_OLDEST.set(oldest_pending_seconds or 0.0)


def set_replicas(views: list) -> None:
    """The read replicas as db/replicas.ReadPools.views() last found them."""
    for v in views:
        name = str(v.number)
        REPLICA_LAG.labels(name).set(v.lag_seconds or 0.0)
        REPLICA_USABLE.labels(name).set(1 if v.state == "ok" else 0)
        REPLICA_READS.labels(name, "replica").set(v.reads)
        REPLICA_READS.labels(name, "primary").set(v.fallbacks)


def set_notifications(by_state: dict[tuple[str, str], int], outbox: int, oldest_due_seconds: float | None) -> None:
    for channel in ("email", "webhook"):
        for state in ("queued", "retrying", "sent", "dead"):
            NOTIFICATIONS.labels(channel, state).set(by_state.get((channel, state), 0))
    OUTBOX_DEPTH.set(outbox)
    NOTIFICATION_OLDEST_DUE.set(oldest_due_seconds or 0.0)


class CounterSync:
    """Cache.stats and RateLimiter.rejections are plain per-process counters owned by their modules;
    this forwards their growth to Prometheus after each request instead of reaching into them."""

    def __init__(self) -> None:
        # high-water marks per app instance (keyed by its cache stats): several apps in one
        # process (tests, benchmarks) must not hide each other's growth
        self._marks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._last = 0.0
        self._lock = threading.Lock()

    def sync(self, cache_stats, rejections: dict[str, int], force: bool = False) -> None:
        # scrapes come seconds apart: forwarding twice a second is as good as on every request
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        with self._lock:
            self._sync(cache_stats, rejections)

    def _sync(self, cache_stats, rejections: dict[str, int]) -> None:
        marks = self._marks.get(cache_stats)
        if marks is None:
            marks = self._marks[cache_stats] = {"hits": 0, "misses": 0, "rejections": {}}
        if cache_stats.hits > marks["hits"]:
            CACHE_HITS.inc(cache_stats.hits - marks["hits"])
            marks["hits"] = cache_stats.hits
        if cache_stats.misses > marks["misses"]:
            CACHE_MISSES.inc(cache_stats.misses - marks["misses"])
            marks["misses"] = cache_stats.misses
        seen_rejections = marks["rejections"]
        for action, count in list(rejections.items()):
            seen = seen_rejections.get(action, 0)
            if count > seen:
                RATE_LIMITED.labels(action).inc(count - seen)
                seen_rejections[action] = count


COUNTER_SYNC = CounterSync()


# ---------------------------------------------------------------- worker side
def observe_scoring_batch(size: int, seconds: float) -> None:
    SCORING_BATCH_SIZE.observe(size)
    SCORING_BATCH_SECONDS.observe(seconds)


def observe_decision(outcome: str, reason: str, waited_seconds: float | None = None) -> None:
    DECISIONS.labels(outcome, reason).inc()
    if waited_seconds is not None:
        SCORING_WAIT.observe(max(0.0, waited_seconds))


class ScoringWindow:
    """The worker's recent batches, for the percentiles and throughput it reports in worker_status."""

    def __init__(self, seconds: float = 300.0, max_items: int = 5000) -> None:
        self.seconds = seconds
        self._items: deque[tuple[float, int, float]] = deque(maxlen=max_items)

    def add(self, size: int, seconds: float) -> None:
        self._items.append((time.monotonic(), size, seconds))

    def _recent(self) -> list[tuple[float, int, float]]:
        cutoff = time.monotonic() - self.seconds
        while self._items and self._items[0][0] < cutoff:
            self._items.popleft()
        return list(self._items)

    def percentiles(self) -> dict[str, float]:
        latencies = sorted(s * 1000 for _, _, s in self._recent())
        if not latencies:
            return {}
        return {f"p{p}": round(percentile(latencies, p), 2) for p in (50, 95, 99)}

    def throughput_per_min(self) -> float:
        items = self._recent()
        if not items:
            return 0.0
        span = max(time.monotonic() - items[0][0], 1.0)
        return round(sum(n for _, n, _ in items) * 60.0 / min(span, self.seconds), 2)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, min(len(sorted_values), math.ceil(p / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


# ---------------------------------------------------------------- recent errors
class ErrorRecord:
    """Problem responses by code in this process: totals since start and the last hour's."""

    def __init__(self, window_seconds: float = 3600.0, max_events: int = 10_000) -> None:
        self.window_seconds = window_seconds
        self.totals: dict[str, int] = {}
        self.last_seen: dict[str, float] = {}
        self._events: deque[tuple[float, str]] = deque(maxlen=max_events)
        self._lock = threading.Lock()

    def record(self, code: str) -> None:
        now = time.time()
        with self._lock:
            self.totals[code] = self.totals.get(code, 0) + 1
            self.last_seen[code] = now
            self._events.append((now, code))
        ERRORS.labels(code).inc()

    def recent(self) -> dict[str, int]:
        cutoff = time.time() - self.window_seconds
        counts: dict[str, int] = {}
        with self._lock:
            for at, code in self._events:
                if at >= cutoff:
                    counts[code] = counts.get(code, 0) + 1
        return counts


ERROR_RECORD = ErrorRecord()


def record_error(code: str) -> None:
    ERROR_RECORD.record(code)
