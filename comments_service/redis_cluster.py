"""Redis or a Redis Cluster behind one URL, and what a cluster asks of our keys.

``COMMENTS_REDIS_URL=redis+cluster://host:port,host:port`` (``rediss+cluster://`` for TLS; user and
password as in a ``redis://`` URL, the same for every node) names a Redis Cluster by some of its
nodes: the client (redis-py's ``RedisCluster``) learns the rest, follows slot moves and failovers.
Any other ``redis://``, ``rediss://`` or ``unix://`` URL is one Redis, as before.

In a cluster a Lua script may only touch keys passed in KEYS, all in one hash slot. Every key
therefore carries a hash tag (the part between the first ``{`` and the next ``}`` picks the slot):
``{site}`` for a site's keys, ``{network}`` for an address and its network, and for an article's
keys the tag of one of 1024 buckets (:func:`article_key`), so that the cache keeps one epoch per
bucket, in its slot, and an outage's end bumps 1024 keys rather than one per slot. :func:`tag`
escapes what would end a tag early, so hostile ids cannot split one subject's keys over two slots.
The key prefix (``COMMENTS_REDIS_PREFIX``) must hold no braces.

Classic pub/sub is broadcast over the whole cluster: a PUBLISH on any node reaches subscribers on
every node, so subscribers (the first-level cache, live updates) hold a plain connection to one
node and move to the next listed node when it fails (:class:`NodeRotation`).
"""

from __future__ import annotations

import asyncio
import binascii
import itertools
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from .redis_scripts import LeanScript

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

Client = aioredis.Redis | RedisCluster


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and url.partition("://")[0].lower() in CLUSTER_SCHEMES  # type: ignore[union-attr]


def cluster_nodes(url: str) -> tuple[str, list[tuple[str, int]], dict[str, Any]]:
    """(scheme of one node, the listed nodes, credentials) of a ``redis+cluster://`` URL."""
    scheme, _, rest = url.partition("://")
    scheme = CLUSTER_SCHEMES[scheme.lower()]
    netloc, _, _ = rest.partition("/")
    creds: dict[str, Any] = {}
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, sep, password = userinfo.partition(":")
        if sep:
            creds["password"] = unquote(password)
        if user:
            creds["username"] = unquote(user)
    nodes = []
    for hostport in netloc.split(","):
        parts = urlsplit(f"//{hostport}")
        if not parts.hostname:
            raise ValueError("a redis+cluster:// URL lists host:port pairs separated by commas")
        nodes.append((parts.hostname, parts.port or 6379))
    return scheme, nodes, creds


def check_url(raw: str) -> str:
    """Settings' check of a cluster URL: every listed node is a host:port."""
    cluster_nodes(raw)
    return raw


def client_from_url(url: str, **kwargs: Any) -> Client:
    """The client for ``url``: a cluster client for ``redis+cluster://``, else a plain one."""
    if not is_cluster_url(url):
        return aioredis.Redis.from_url(url, **kwargs)
    scheme, nodes, creds = cluster_nodes(url)
    kwargs.pop("health_check_interval", None)
    # one retry, at once: time spent retrying inside the client (ten times, backing off, by default)
    # is a request stalled for seconds while a master is down; RedisGate skips Redis for a moment
    # instead, and the next call after it finds the promoted replica (the failed call asked the
    # client to refresh its view of the slots)
    kwargs.setdefault("retry", Retry(NoBackoff(), 1))
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes],
                        ssl=scheme == "rediss", **creds, **kwargs)


class NodeRotation:
    """Pub/sub over a cluster: one plain connection at a time, to the next listed node each time a
    subscriber (re)connects, so that one failed node does not end the subscriptions for good."""

    def __init__(self, url: str, start: int = 0, **kwargs: Any) -> None:
        scheme, nodes, creds = cluster_nodes(url)
        self._clients = [aioredis.Redis(host=host, port=port, ssl=scheme == "rediss", **creds, **kwargs)
                         for host, port in nodes]
        self._turn = itertools.islice(itertools.cycle(self._clients), start % len(self._clients), None)

    def node(self) -> aioredis.Redis:
        return next(self._turn)

    def pubsub(self, **kwargs: Any) -> aioredis.client.PubSub:
        return self.node().pubsub(**kwargs)

    async def publish(self, channel: str, message: bytes) -> int:
        return await self.node().publish(channel, message)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def subscriber_from_url(url: str, start: int = 0, **kwargs: Any) -> aioredis.Redis | NodeRotation:
    """A client for PUBLISH/SUBSCRIBE: plain for one Redis, a :class:`NodeRotation` for a cluster
    (its first connection to the ``start``-th listed node)."""
    if is_cluster_url(url):
        return NodeRotation(url, start, **kwargs)
    return aioredis.Redis.from_url(url, **kwargs)


def tag(*parts: str) -> str:
    """A hash tag naming ``parts``: ``{a:b}``; ``}`` (which would end it) and ``%`` escaped, so that
    distinct ids stay distinct keys and every key of one id lands in one slot."""
    body = ":".join(parts)
    if "}" in body or "%" in body:
        body = body.replace("%", "%25").replace("}", "%7D")
    return "{" + body + "}"


BUCKETS = 1024  # article buckets, in slots 0, 16, 32...: spread over the masters like all slots
_BUCKET_TAGS: list[str] = []


def bucket_tags() -> list[str]:
    """The hash tag of each bucket (``{.....}``, seven characters)."""
    if not _BUCKET_TAGS:
        _BUCKET_TAGS.extend(slot_tag(bucket * (16384 // BUCKETS)) for bucket in range(BUCKETS))
    return _BUCKET_TAGS


def article_key(site_id: str, external_id: str) -> str:
    """``{bucket}site:article``: what an article's keys hold after their kind. The ids follow the
    tag, so any character in them is fine; the bucket is a hash of them."""
    ident = f"{site_id}:{external_id}"
    bucket = (binascii.crc_hqx(ident.encode("utf-8", "surrogatepass"), 0) & 0x3FFF) * BUCKETS // 16384
    return bucket_tags()[bucket] + ident


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


# ------------------------------------------------------------------ a key in any chosen slot
# CRC16 (XMODEM, Redis Cluster's) of equal-length messages is linear over XOR: a four-character tag
# whose characters are 0x40 plus a nibble reaches every 16-bit value, so each slot has a tag found
# by solving a 16x16 system instead of searching.
def _crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0)


_BASE = b"@@@@@"
_BASIS: list[tuple[int, int]] = []  # (crc contribution reduced to a pivot form, nibble bits)


def _basis() -> list[tuple[int, int]]:
    if not _BASIS:
        rows: list[tuple[int, int]] = []
        zero = _crc16(_BASE)
        for bit in range(4 * len(_BASE)):
            delta = bytearray(_BASE)
            delta[bit // 4] |= 1 << (bit % 4)
            vector, combo = _crc16(bytes(delta)) ^ zero, 1 << bit
            for pivot_vector, pivot_combo in rows:
                if vector ^ pivot_vector < vector:
                    vector, combo = vector ^ pivot_vector, combo ^ pivot_combo
            if vector:
                rows.append((vector, combo))
                rows.sort(reverse=True)
        _BASIS[:] = rows
    return _BASIS


def slot_tag(slot: int) -> str:
    """A hash tag (``{....}``) whose keys live in ``slot``."""
    target = (_crc16(_BASE) ^ slot) & 0xFFFF  # top two bits: 0
    combo = 0
    for vector, bits in _basis():
        if target ^ vector < target:
            target, combo = target ^ vector, combo ^ bits
    if target:
        raise AssertionError("CRC16 basis incomplete")
    chars = bytes(0x40 | ((combo >> (4 * i)) & 0xF) for i in range(len(_BASE)))
    return "{" + chars.decode() + "}"


# ------------------------------------------------------------------ many script calls at once
async def run_scripts(client: Client, script: Any, calls: Sequence[tuple[list[str], list[Any]]]) -> list[Any]:
    """Each (keys, args) of ``calls`` run by ``script``, in one pipeline (a cluster's sends each
    node its share at once). A node that does not know the script yet (a new or promoted one) is
    given it, and the calls it refused are sent again."""
    if len(calls) == 1:
        keys, args = calls[0]
        return [await script(keys=keys, args=args)]
    if isinstance(script, LeanScript):  # one server, one connection: the calls are pipelined on it
        return list(await asyncio.gather(*(script(keys=keys, args=args) for keys, args in calls)))
    results: list[Any] = [None] * len(calls)
    todo = list(range(len(calls)))
    for attempt in range(2):
        pipe = client.pipeline(transaction=False)
        for i in todo:
            await script(keys=calls[i][0], args=calls[i][1], client=pipe)
        answers = await pipe.execute(raise_on_error=False)
        missing = []
        for i, answer in zip(todo, answers, strict=True):
            if isinstance(answer, NoScriptError) and attempt == 0:
                missing.append(i)
            elif isinstance(answer, Exception):
                raise answer
            else:
                results[i] = answer
        if not missing:
            return results
        await client.script_load(script.script)
        todo = missing
    return results


def in_slots(keys: Iterable[str]) -> int:
    """The slot of keys that must share one (a check for tests and assertions)."""
    from redis.crc import key_slot

    slots = {key_slot(k.encode()) for k in keys}
    if len(slots) != 1:
        raise ValueError(f"keys over several slots: {sorted(slots)}")
    return slots.pop()
