"""Lua script calls to one Redis over a lean connection of their own.

Every post runs two scripts (the repeat check and the cache bump, each one round trip) on the same
event loop that answers the hot reads, so their cost is paid by every reader waiting behind them.
Through redis-py a script call costs ~125 µs of this process's CPU (its connection pool, retry
wrapper, timeouts and parser); here it costs ~50 µs: one connection per process
that every caller shares, commands packed by hiredis and written as they come, replies parsed by
hiredis and handed to the callers in the order they asked (Redis answers one connection in order).

Scope: EVALSHA only (falling back to loading the script when a server does not know it, as after a
restart or SCRIPT FLUSH), to a ``redis://`` or ``unix://`` URL. Everything else, every call over TLS
(``rediss://``, whose certificate options redis-py reads from the URL) and every call to a Redis
Cluster stays with redis-py (redis_cluster.py). Failures look like redis-py's, so ``RedisGate``
treats them alike: a reply error is a ``ResponseError``, a lost or refused connection a
``ConnectionError``, a reply later than the socket timeout a ``TimeoutError``. A timeout or a lost
connection fails every call waiting on that connection and closes it (what is still to come on it
could belong to anyone); the next call opens a new one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import socket
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

NAME = "comments_service:scripts"


def _pack(parts: tuple[Any, ...]) -> bytes:
    try:
        return hiredis.pack_command(parts)
    except TypeError as exc:  # redis-py refuses such an argument with a DataError (a RedisError)
        raise DataError(f"Invalid input for a Redis command: {exc}") from exc


class _Replies(asyncio.Protocol):
    """One connection: requests written in order, replies matched to them in the same order."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError)
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader, waiting = self.reader, self.waiting
        try:
            reader.feed(data)
            while (reply := reader.gets()) is not False:
                future = waiting.popleft()
                if future.done():  # its caller gave up (cancelled): the reply is dropped
                    continue
                if isinstance(reply, ResponseError):
                    future.set_exception(NoScriptError(str(reply)) if str(reply).startswith("NOSCRIPT")
                                         else reply)
                else:
                    future.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:  # garbage, or a reply nobody asked for
            self.fail(RedisConnectionError(f"Redis protocol error: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(RedisConnectionError(f"Connection to Redis lost: {exc}" if exc else "Connection to Redis closed"))

    def fail(self, exc: BaseException) -> None:
        """Every waiting call fails with ``exc``; the connection is closed and never used again.
        Also when its event loop has ended (a test client's, or an earlier ``asyncio.run``): its
        waiters are gone with it, and the connection is shut down directly."""
        if self.lost is None:
            self.lost = exc
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                with contextlib.suppress(RuntimeError):  # a closed loop cannot run their callbacks
                    future.set_exception(exc)
        transport = self.transport
        if transport is not None and not transport.is_closing():
            try:
                transport.abort()
            except RuntimeError:  # its loop has ended: end the connection itself (the transport,
                # when collected, closes the descriptor)
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError, TypeError):  # uvloop's stand-in refuses
                        sock.shutdown(socket.SHUT_RDWR)

    def send(self, command: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        if self.lost is not None:
            future.set_exception(self.lost)
            return future
        assert self.transport is not None
        self.transport.write(command)
        self.waiting.append(future)
        return future


def serves(url: str | None) -> bool:
    """Whether a :class:`ScriptConnection` can take the script calls for ``url``."""
    return bool(url) and url.partition("://")[0].lower() in ("redis", "unix")  # type: ignore[union-attr]


class ScriptConnection:
    """Script calls to the Redis at ``url`` (a ``redis://`` or ``unix://`` URL, as redis-py reads
    it: user, password and database included; see :func:`serves`)."""

    def __init__(self, url: str, *, socket_timeout: float | None, connect_timeout: float | None) -> None:
        if not serves(url):
            raise ValueError("script connections take redis:// and unix:// URLs")
        options = parse_url(url)
        self._host = options.get("host", "localhost")
        self._port = int(options.get("port", 6379))
        self._path: str | None = options.get("path")  # set for unix:// URLs only
        self._setup: list[bytes] = []
        password, username = options.get("password"), options.get("username")
        if password is not None:
            self._setup.append(_pack(("AUTH", username, password) if username else ("AUTH", password)))
        if int(options.get("db", 0) or 0):
            self._setup.append(_pack(("SELECT", int(options["db"]))))
        # named, so that an operator's CLIENT LIST tells it from redis-py's pool (a proxy that
        # refuses CLIENT commands refuses only the name: see _handshake)
        self._name = _pack(("CLIENT", "SETNAME", NAME))
        self._closed = False
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Task[_Replies] | None = None

    def script(self, source: str) -> LeanScript:
        return LeanScript(self, source)

    async def evalsha(self, sha: str, source: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        command = _pack(("EVALSHA", sha, len(keys), *keys, *args))
        try:
            return await self._call(command)
        except NoScriptError:
            # a server that restarted, failed over or flushed its scripts: EVAL loads it again
            return await self._call(_pack(("EVAL", source, len(keys), *keys, *args)))

    async def _call(self, command: bytes) -> Any:
        if self._closed:
            raise RedisConnectionError("The script connection is closed")
        replies, loop = self._replies, asyncio.get_running_loop()
        if replies is None or replies.lost is not None or self._loop is not loop:
            replies = await self._connected()
        future = replies.send(command, loop)
        if self.socket_timeout is None:
            return await future
        timer = loop.call_later(self.socket_timeout, self._expire, replies, future)
        try:
            return await future
        finally:
            timer.cancel()

    @staticmethod
    def _expire(replies: _Replies, future: asyncio.Future[Any]) -> None:
        if not future.done():
            replies.fail(RedisTimeoutError("Timeout reading from Redis"))

    async def _connected(self) -> _Replies:
        """The open connection, opened now when there is none. The attempt is a task of its own,
        shared by every caller meanwhile: a caller that goes away (a reader who left) does not end
        it for the others."""
        loop = asyncio.get_running_loop()
        opening = self._connecting
        if opening is None or opening.done() or self._loop is not loop:
            self._drop()
            self._loop = loop
            opening = self._connecting = loop.create_task(self._open())
            opening.add_done_callback(_retrieved)
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if opening.cancelled() and not (task is not None and task.cancelling()):
                # the attempt was called off (close()), not this caller: a Redis failure to it
                raise RedisConnectionError("The script connection closed while connecting") from None
            raise

    async def _open(self) -> _Replies:
        try:
            replies = await asyncio.wait_for(self._handshake(), self.connect_timeout)
        except (OSError, TimeoutError, RedisError) as exc:
            raise RedisConnectionError(f"Error connecting to Redis: {type(exc).__name__}: {exc}") from exc
        if self._closed or self._connecting is not asyncio.current_task():
            # closed, or replaced by another loop's attempt, while the handshake ran
            replies.fail(RedisConnectionError("The script connection is closed"))
            raise RedisConnectionError("The script connection is closed")
        self._replies = replies
        return replies

    async def _handshake(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._path is not None:
            _, replies = await loop.create_unix_connection(_Replies, self._path)
        else:
            _, replies = await loop.create_connection(_Replies, self._host, self._port)
        try:
            for command in self._setup:  # AUTH, SELECT: an error ends the attempt
                await replies.send(command, loop)
            with contextlib.suppress(ResponseError):
                await replies.send(self._name, loop)
        except BaseException:
            replies.fail(RedisConnectionError("Connection to Redis closed"))
            raise
        return replies

    def close(self) -> None:
        """For good: every call waiting fails, and later calls fail at once (the API's shutdown)."""
        self._closed = True
        self._drop()

    def _drop(self) -> None:
        replies, self._replies = self._replies, None
        if replies is not None:
            replies.fail(RedisConnectionError("Connection to Redis closed"))
        opening, self._connecting = self._connecting, None
        if opening is not None and not opening.done() and self._loop is _running_loop():
            opening.cancel()  # an attempt still under way would open a connection nobody closes


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _retrieved(task: asyncio.Task[Any]) -> None:
    # a failed attempt whose callers all went away is no "exception never retrieved"
    if not task.cancelled():
        task.exception()


class LeanScript:
    """One Lua script, called as redis-py's registered scripts are: ``await script(keys=, args=)``."""

    __slots__ = ("connection", "script", "sha")

    def __init__(self, connection: ScriptConnection, source: str) -> None:
        self.connection = connection
        self.script = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return self.connection.evalsha(self.sha, self.script, keys, args)
