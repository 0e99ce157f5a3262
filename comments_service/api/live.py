"""Live updates: Server-Sent Events per article, fed from Redis pub/sub.

One pattern subscription per process (not one Redis connection per reader): a reader task fans
each published event out to the local queues of the streams watching that article. Comment events
are rare next to reads, so receiving every article's events in every process costs little, and it
keeps the connection pool of the cache free however many readers hold a stream open.

When Redis is unreachable the endpoint answers 503 and the widget polls instead; when the
subscription breaks, every stream ends so that browsers reconnect (and fall back to polling while
Redis is away). Streams also end promptly on shutdown: uvicorn waits for open connections before
running lifespan shutdown, so a SIGTERM/SIGINT hook closes the streams first.

Streams hold a connection each, so they are bounded: per client address and per process (over
either cap the request gets 429 ``too_many_streams`` with Retry-After; a HEAD request asks the same
question without opening a stream, for the widget that EventSource cannot tell why it was refused),
and each one ends after a jittered lifetime with a ``retry`` hint, so that a stream from a closed
laptop or a hostile client does not hold its place for good and reconnections spread out.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import msgspec
import redis.asyncio as aioredis
from litestar import Controller, Litestar, Request, get, head
from litestar.di import NamedDependency, Provide
from litestar.response import ServerSentEventMessage, Stream
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from redis.exceptions import RedisError

from .. import i18n
from ..cache import Cache
from ..domain.limits import address_group
from ..domain.structs import Struct
from ..errors import CATALOGUE, ServiceUnavailable
from ..redis_cluster import NodeRotation, subscriber_from_url
from ..services.sites import SiteEntry
from ..settings import ServerSettings
from ..shutdown import stop_task
from .deps import client_ip, provide_site_entry
from .params import ArticlePath, checked_article_id
from .problems import PROBLEM_JSON, problem_bytes

log = logging.getLogger("comments_service.live")

_CLOSED = None  # queue sentinel: the stream must end
_LIFETIME = False  # queue sentinel: the stream's lifetime is over
QUEUE_SIZE = 256
FANOUT_SLICE = 200  # streams woken by an event before the process serves others (~6 ms of writes)
RETRY_MS = 3000  # what browsers wait before reconnecting a dropped stream
# a stream this process ends (it is stopping, or lost its subscription): reconnect soon, to another
# instance behind the balancer, spread over up to four times this so they do not all come at once
CLOSING_RETRY_MS = 250
REFUSED_RETRY_SECONDS = 30  # streams are long: a refused one waits for others to end


class _EventKind(Struct):
    # see domain.models.LiveEvent and services.publishing.LiveChange (an edit, delete or removal:
    # never an append, so the article's whole in-process copy goes); other fields are not needed here
    append: bool = False
    article_version: int | None = None


_event_kind = msgspec.json.Decoder(_EventKind)


def _kind(data: bytes) -> _EventKind:
    try:
        return _event_kind.decode(data)
    except msgspec.DecodeError:
        return _EventKind()  # not one of ours: drop everything, to be safe


# A reader's stream is sent as bytes made once: an event's frame is encoded when it arrives and the
# same bytes go to every stream of the article, and these never change.
READY_FRAME = ServerSentEventMessage(event="ready", data='{"type":"ready"}', retry=RETRY_MS).encode()
HEARTBEAT_FRAME = ServerSentEventMessage(comment="heartbeat", data=None).encode()
STREAM_HEADERS = {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


class LiveHub:
    """This process's one pattern subscription and the local streams it feeds."""

    def __init__(self, redis_url: str | None, pattern: str, connect_timeout: float = 1.0,
                 forget_local: Callable[[str, str, bool, None, int | None], None] | None = None,
                 bounds: ServerSettings = ServerSettings(), heartbeat: float = 15.0) -> None:
        self.redis_url = redis_url
        self.pattern = pattern
        self.connect_timeout = connect_timeout
        # an event can reach this process before the invalidation that preceded it (they arrive on
        # different connections): the article's in-process copy is dropped before readers hear of
        # it, so that the reload they make on the event cannot get the page from before it (after an
        # append, only what an append changes: the event says which it was)
        self.forget_local = forget_local
        self._streams: dict[str, set[asyncio.Queue]] = {}
        self._articles: dict[str, tuple[str, str]] = {}  # watched channel -> (site id, article id)
        self._reader: asyncio.Task | None = None
        self._client: aioredis.Redis | NodeRotation | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()
        self.closing = False
        self.bounds = bounds
        self.heartbeat = max(heartbeat, 0.01)  # seconds between a stream's heartbeats
        self.admitted = 0  # stream requests under way in this process
        self._admitted_from: dict[str | None, int] = {}

    @property
    def streams(self) -> int:
        return sum(len(queues) for queues in self._streams.values())

    def admit(self, ip: str | None) -> bool:
        """Take one of the process's stream places and one of ``ip``'s; False when either is full."""
        from_ip = self._admitted_from.get(ip, 0)
        # an address-less peer (a unix socket) is a proxy's: only the process cap applies to it
        if (ip is not None and from_ip >= self.bounds.live_max_per_ip) or self.admitted >= self.bounds.live_max_streams:
            return False
        self.admitted += 1
        self._admitted_from[ip] = from_ip + 1
        return True

    def release(self, ip: str | None) -> None:
        self.admitted -= 1
        left = self._admitted_from[ip] - 1
        if left:
            self._admitted_from[ip] = left
        else:
            del self._admitted_from[ip]

    def lifetime(self) -> float:
        """Seconds a new stream may last: spread over the last fifth of the maximum, so that streams
        opened together (a deploy, a popular article) do not all reconnect together."""
        return self.bounds.live_max_seconds * random.uniform(0.8, 1.0)

    async def _ensure_reader(self) -> None:
        async with self._lock:
            if self._reader is not None and not self._reader.done():
                return
            if not self.redis_url:
                raise ServiceUnavailable("Live updates need Redis, which is not configured; poll instead.")
            # pub/sub blocks on reads by design, so this client has no socket timeout of its own; on a
            # cluster, each attempt asks the next listed node (any node hears every publish)
            self._attempts += 1
            client = subscriber_from_url(self.redis_url, self._attempts, socket_connect_timeout=self.connect_timeout,
                                         health_check_interval=30)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await asyncio.wait_for(pubsub.psubscribe(self.pattern), self.connect_timeout * 2)
            except (TimeoutError, RedisError, OSError) as exc:
                await pubsub.aclose()
                await client.aclose()
                log.warning("live updates unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
                raise ServiceUnavailable("Live updates are unavailable right now; poll instead.") from None
            self._client = client
            self._reader = asyncio.create_task(self._read(client, pubsub), name="live-hub-reader")

    async def _read(self, client: aioredis.Redis | NodeRotation, pubsub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is None or message.get("type") != "pmessage":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else channel
                article = self._articles.get(channel)
                if article is not None and self.forget_local is not None:
                    kind = _kind(message["data"])
                    self.forget_local(*article, not kind.append, None, kind.article_version)
                queues = self._streams.get(channel)
                if queues:
                    frame = ServerSentEventMessage(data=message["data"]).encode()  # once for every stream
                    streams = list(queues)
                    for start in range(0, len(streams), FANOUT_SLICE):
                        if start:
                            # each stream woken writes its frame at once: requests that came in
                            # meanwhile go before the next slice, not after thousands of writes
                            await asyncio.sleep(0)
                        for queue in streams[start:start + FANOUT_SLICE]:
                            self._put(queue, frame)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("live subscription lost", extra={"error": f"{type(exc).__name__}: {exc}"})
        finally:
            self.end_all()
            try:
                await pubsub.aclose()
                await client.aclose()
            except (RedisError, OSError):
                pass
            self.end_all()  # streams that began while the subscription was closing

    @classmethod
    def _put(cls, queue: asyncio.Queue, item: bytes | bool) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            # a reader this far behind reconnects and reloads rather than stalling others (at
            # its lifetime's end, with that end's longer retry)
            cls._end(queue, _LIFETIME if item is _LIFETIME else _CLOSED)

    @staticmethod
    def _end(queue: asyncio.Queue, how: bool | None = _CLOSED) -> None:
        while True:
            try:
                queue.put_nowait(how)
                return
            except asyncio.QueueFull:
                queue.get_nowait()

    def end_all(self) -> None:
        for queues in self._streams.values():
            for queue in queues:
                self._end(queue)

    async def ready(self) -> None:
        if self.closing:
            raise ServiceUnavailable("The server is restarting; reconnect shortly.")
        await self._ensure_reader()

    @asynccontextmanager
    async def watch(self, channel: str, site_id: str, external_id: str) -> AsyncIterator[asyncio.Queue]:
        """A stream's queue: the article's event frames, HEARTBEAT_FRAME every ``heartbeat`` seconds,
        and at the end _LIFETIME (its lifetime is over) or _CLOSED (the process ends it). A timer of
        its own puts the heartbeats and the end in, so that waiting for an event costs the stream
        nothing but the wait."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._streams.setdefault(channel, set()).add(queue)
        self._articles[channel] = (site_id, external_id)
        if self.closing or self._reader is None or self._reader.done():
            # the process is stopping, or the subscription broke in between: end at once, the
            # browser reconnects (to another instance)
            self._end(queue)
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.lifetime()
        timer: asyncio.TimerHandle

        def arm() -> asyncio.TimerHandle:
            beat = loop.time() + self.heartbeat
            return loop.call_at(beat, tick) if beat < ends else loop.call_at(ends, self._put, queue, _LIFETIME)

        def tick() -> None:
            nonlocal timer
            self._put(queue, HEARTBEAT_FRAME)
            timer = arm()

        timer = arm()
        try:
            yield queue
        finally:
            timer.cancel()
            queues = self._streams.get(channel)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._streams[channel]
                    del self._articles[channel]

    def shutdown_soon(self) -> None:
        self.closing = True
        self.end_all()

    async def close(self) -> None:
        self.shutdown_soon()
        await stop_task("live hub: its Redis subscription reader", self._reader)


async def relay(queue: asyncio.Queue, ends: float, heartbeat: float,
                message: Callable[[Any], ServerSentEventMessage]) -> AsyncIterator[ServerSentEventMessage]:
    """A stream's body after its "ready": each queued item as ``message`` makes it, a heartbeat
    comment when quiet, until the queue says to end (``None``) or the loop time ``ends``; then a
    jittered ``retry`` (short when the process ends it: it is stopping), after which the browser
    reconnects and the page reloads what it missed."""
    loop = asyncio.get_running_loop()
    while (left := ends - loop.time()) > 0:
        try:
            item = await asyncio.wait_for(queue.get(), min(heartbeat, left))
        except TimeoutError:
            if loop.time() < ends:
                yield ServerSentEventMessage(comment="heartbeat", data=None)
            continue
        if item is _CLOSED:
            yield _farewell(lifetime_over=False)
            return
        yield message(item)
    yield _farewell(lifetime_over=True)


def _farewell(*, lifetime_over: bool) -> ServerSentEventMessage:
    """A stream's last message: the jittered ``retry`` its browser waits before reconnecting, short
    when the process ends it (it is stopping: another instance takes the stream)."""
    if lifetime_over:
        return ServerSentEventMessage(comment="lifetime over", data=None, retry=random.randint(RETRY_MS, 3 * RETRY_MS))
    return ServerSentEventMessage(comment="reconnect", data=None,
                                  retry=random.randint(CLOSING_RETRY_MS, 4 * CLOSING_RETRY_MS))


async def frames(queue: asyncio.Queue) -> AsyncIterator[bytes]:
    """A reader's stream after its "ready": the queue's frames as they are, until it says to end;
    then its farewell, after which the browser reconnects and the page reloads what it missed."""
    while True:
        item = await queue.get()
        if item.__class__ is not bytes:
            yield _farewell(lifetime_over=item is _LIFETIME).encode()
            return
        yield item


def provide_live_hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live_hub
    return hub


@contextmanager
def end_streams_on_signals(shutdown_soon: Callable[[], None], loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Streams end at once on SIGTERM/SIGINT: the server waits for open connections before it runs
    the lifespan's shutdown, so nothing later could end them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(sig, frame) -> None:
        loop.call_soon_threadsafe(shutdown_soon)
        before = previous.get(sig)
        if callable(before):
            before(sig, frame)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before)


@asynccontextmanager
async def live_lifespan(app: Litestar) -> AsyncIterator[None]:
    services = app.state.services
    hub = LiveHub(services.settings.redis.url, services.cache.channel("*", "*"),
                  forget_local=services.cache.forget_local, bounds=services.settings.server,
                  heartbeat=services.settings.comments.live_heartbeat_seconds)
    app.state.live_hub = hub
    with end_streams_on_signals(hub.shutdown_soon, asyncio.get_running_loop()):
        try:
            yield
        finally:
            await hub.close()


def hold_stream_place(app: ASGIApp) -> ASGIApp:
    """Route middleware: the whole request, from before its handler to after its last byte, holds a
    stream place. The stream's own generator may never start (a client gone at once), so it cannot
    be what gives the place back. The refusal is sent here rather than raised: an error raised in
    route middleware is answered outside the edge middleware, without its CORS headers, and the
    widget must be able to read the Retry-After."""

    async def admitted(scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        hub: LiveHub = request.app.state.live_hub
        ip = client_ip(request)
        ip = address_group(ip) if ip else None  # one subscriber's IPv6 block counts as one address
        if not hub.admit(ip):
            locale = i18n.scope_locale(scope)
            status, problem = problem_bytes("too_many_streams", locale=locale)
            start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": [
                (b"content-type", PROBLEM_JSON.encode()), (b"retry-after", str(REFUSED_RETRY_SECONDS).encode()),
                (b"vary", b"Accept-Language"), (b"content-language", i18n.problem_language(
                    "too_many_streams", CATALOGUE["too_many_streams"].message, locale).encode())]}
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "more_body": False,
                                           "body": b"" if request.method == "HEAD" else problem}
            await send(start)
            await send(body)
            return
        try:
            await app(scope, receive, send)
        finally:
            hub.release(ip)

    return admitted


class LiveController(Controller):
    path = "/api/v1"
    tags = ["live"]
    dependencies = {"site_entry": Provide(provide_site_entry),
                    "live_hub": Provide(provide_live_hub, sync_to_thread=False)}
    middleware = [hold_stream_place]

    @head("/articles/{article_id:str}/events", summary="Whether a live stream of the article would be accepted now",
          description="200 if a stream would open; otherwise the refusal a stream would get (429 or 503, with "
                      "Retry-After), which EventSource does not show to the page.")
    async def can_stream(self, live_hub: NamedDependency[LiveHub], site_entry: NamedDependency[SiteEntry],
                         article_id: ArticlePath) -> None:
        await live_hub.ready()

    @get("/articles/{article_id:str}/events", summary="Live events of an article (Server-Sent Events)")
    async def events(self, live_hub: NamedDependency[LiveHub], cache: NamedDependency[Cache],
                     site_entry: NamedDependency[SiteEntry], article_id: ArticlePath) -> Stream:
        article_id = checked_article_id(article_id)
        channel = cache.channel(site_entry.site.id, article_id)
        # connect before answering, so that "Redis is away" is a 503 the widget can see and poll
        await live_hub.ready()

        async def stream() -> AsyncIterator[bytes]:
            async with live_hub.watch(channel, site_entry.site.id, article_id) as queue:
                # "ready" follows the subscription: nothing published after it is missed
                yield READY_FRAME
                async for frame in frames(queue):
                    yield frame

        # Server-Sent Events, as litestar's ServerSentEvent sends them, from frames made once
        return Stream(stream(), media_type="text/event-stream", headers=STREAM_HEADERS)
