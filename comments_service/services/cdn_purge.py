"""A CDN or caching proxy in front of the public reads: what anonymous thread pages and counts tell
shared caches, and the purge call that retires an article's cached answers after a visible change.

Every cacheable answer names the articles it shows in surrogate keys (``Surrogate-Key``, space-
separated, as Varnish setups and Fastly read it; ``Cache-Tag``, comma-separated, for Cloudflare):
one key per article and one per site. A key is a hash of the site and article id, so an article id
(any text but control characters) never reaches a header or a ban expression as it is. A signed-in
reader's answer is private and carries none of this: a shared cache must never hold a reader's own
view (their pending comments, their votes).

The purge call is operator configuration (COMMENTS_CDN_PURGE_*), never built from a request: its
URL, method, headers (a CDN's API token) and body are fixed at start, and only the keys are filled
in. Purges leave the request path: a change only marks its article's key, and one background task
per process sends the marked keys together after a short pause (a burst of posts on one article is
one call), in batches, a few calls at a time, each bounded by a timeout and retried a little. A
purge that fails for good is logged and counted (``comments_cdn_purges_total``); the change itself
has long committed, and the cached copies then age out after ``s-maxage``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from contextlib import suppress
from functools import lru_cache
from urllib.parse import quote

import httpx
from prometheus_client import Counter

from ..settings import CdnSettings
from ..shutdown import CLOSE_S, step, stop_task

log = logging.getLogger("comments_service.cdn")

PURGES = Counter("comments_cdn_purges_total",
                 "CDN purge calls by outcome (ok; retried: an attempt failed and another follows; failed: given up).",
                 ["outcome"])

# A change readers see should leave the CDN within a second: a short pause gathers a burst into one
# call, and lets the other API processes drop their in-process copies (pub/sub, well under a
# millisecond) before the CDN asks again.
COALESCE_S = 0.05
# Votes move only scores: their purge waits this long, so that a busy article's votes cost the CDN
# one purge in this time instead of one a vote.
LAZY_S = 5.0
ATTEMPTS = 3
RETRY_BASE_S = 0.25
# Keys waiting to be sent, at most: past this, the waiting article keys give way to their sites' keys
# (a bigger purge, but a bounded memory when the CDN is down during a flood of changes).
MAX_PENDING = 10_000
USER_AGENT = "comments_service-cdn-purge"


@lru_cache(maxsize=8_192)
def article_key(site_id: str, external_id: str) -> str:
    """The surrogate key of an article's cached answers (its thread pages, counts naming it)."""
    # surrogatepass: an article id is any text without control characters, lone surrogates included
    raw = f"{site_id}\0{external_id}".encode("utf-8", "surrogatepass")
    return "cs-a-" + hashlib.blake2b(raw, digest_size=8).hexdigest()


def site_key(site_id: str) -> str:
    """The surrogate key of every cached answer of a site (a site id is [a-z0-9_-])."""
    return "cs-s-" + site_id


class Cdn:
    """The headers of the public answers a shared cache may keep, and the purge hook. One per
    process (API or scoring worker); ``close()`` sends what is still marked, within a bound."""

    def __init__(self, settings: CdnSettings) -> None:
        self.settings = settings
        self.cache_control = (f"public, max-age=2, s-maxage={settings.s_maxage}, "
                              f"stale-while-revalidate={settings.stale_while_revalidate}").encode()
        self.enabled = settings.purge_url is not None
        self._due: dict[str, tuple[str, float]] = {}  # key -> (its site, when it is to be sent)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.purge_concurrency)
        self._client: httpx.AsyncClient | None = None
        # a thread page's headers, by (site, article): the hottest read's, made once per article
        self.page_headers = lru_cache(maxsize=16_384)(self._page_headers)
        # a list of articles' counts, by (site, ids): a front page's list is asked for by every reader.
        # Only short lists are kept (any reader may ask for any list): 1,024 of at most 2 KB of ids
        self._counts_headers = lru_cache(maxsize=1_024)(self._list_headers)

    # ---------------------------------------------------------------- headers

    def public_headers(self, site_id: str, external_ids: list[str]) -> list[tuple[bytes, bytes]]:
        """An anonymous answer's caching headers (Cache-Control included), naming its articles
        where a purge hook is configured. Vary: the allowed-origin header differs by Origin (a CDN
        must not hand one site's CORS answer to another origin), and a request with a reader's token
        must never get this shared copy."""
        if len(external_ids) <= 60 and sum(map(len, external_ids)) <= 2_000:
            return self._counts_headers(site_id, tuple(external_ids))
        return self._list_headers(site_id, tuple(external_ids))

    def _list_headers(self, site_id: str, external_ids: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
        if not self.enabled:
            # keys serve only to purge: without a purge hook, none (a counts answer's would cost the
            # server more than its body: uvicorn checks every header byte on its way out)
            return [(b"cache-control", self.cache_control), (b"vary", b"Origin, Authorization")]
        keys = list(dict.fromkeys(article_key(site_id, external_id) for external_id in external_ids))
        keys.append(site_key(site_id))
        return [(b"cache-control", self.cache_control), (b"surrogate-key", " ".join(keys).encode()),
                (b"cache-tag", ",".join(keys).encode()), (b"vary", b"Origin, Authorization")]

    def _page_headers(self, site_id: str, external_id: str) -> list[tuple[bytes, bytes]]:
        # a page is sent compressed where the request accepts it (http_encodings.py)
        return [(name, value + b", Accept-Encoding" if name == b"vary" else value)
                for name, value in self.public_headers(site_id, [external_id])]

    # ---------------------------------------------------------------- purging

    def purge(self, site_id: str, external_id: str, *, lazy: bool = False) -> None:
        """Mark an article's cached answers for purging; returns at once. ``lazy``: within LAZY_S
        (a vote) rather than at once."""
        if self.enabled:
            self._mark(article_key(site_id, external_id), site_id, LAZY_S if lazy else COALESCE_S)

    def purge_site(self, site_id: str) -> None:
        """Mark every cached answer of a site for purging (a change to the whole site)."""
        if self.enabled:
            self._mark(site_key(site_id), site_id, COALESCE_S)

    def _mark(self, key: str, site_id: str, delay: float) -> None:
        due = time.monotonic() + delay
        held = self._due.get(key)
        if held is None or held[1] > due:
            self._due[key] = (site_id, due)
        if len(self._due) > MAX_PENDING:
            self._collapse()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="cdn-purge")
        self._wake.set()

    def _collapse(self) -> None:
        sites: dict[str, float] = {}
        for site_id, due in self._due.values():
            sites[site_id] = min(due, sites.get(site_id, due))
        log.warning("cdn purge: too many keys waiting, purging whole sites", extra={"sites": len(sites)})
        self._due = {site_key(site_id): (site_id, due) for site_id, due in sites.items()}

    def _take_due(self, now: float) -> list[str]:
        ready = [key for key, (_, due) in self._due.items() if due <= now]
        for key in ready:
            del self._due[key]
        return ready

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            ready = self._take_due(now)
            if ready:
                await self._dispatch(ready)
                continue
            self._wake.clear()
            wait = min((due for _, due in self._due.values()), default=None)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), None if wait is None else max(0.0, wait - now))

    async def _dispatch(self, keys: list[str]) -> None:
        size = self.settings.purge_batch
        for start in range(0, len(keys), size):
            await self._slots.acquire()  # at most purge_concurrency calls in flight: the rest wait here
            task = asyncio.get_running_loop().create_task(self._send(keys[start:start + size]))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _send(self, keys: list[str]) -> None:
        try:
            for attempt in range(ATTEMPTS):
                error = await self._call(keys)
                if error is None:
                    PURGES.labels("ok").inc()
                    return
                retryable, reason = error
                if not retryable or attempt == ATTEMPTS - 1:
                    PURGES.labels("failed").inc()
                    log.warning("cdn purge failed", extra={"keys": len(keys), "error": reason,
                                                           "attempts": attempt + 1})
                    return
                PURGES.labels("retried").inc()
                await asyncio.sleep(RETRY_BASE_S * 4 ** attempt * (0.5 + random.random()))
        finally:
            self._slots.release()

    async def _call(self, keys: list[str]) -> tuple[bool, str] | None:
        """None on success, else (whether to retry, why)."""
        cfg = self.settings
        assert cfg.purge_url is not None
        if self._client is None:
            # no redirects and no proxy or netrc from the environment: the call goes where the
            # operator's URL says, and nowhere else
            self._client = httpx.AsyncClient(timeout=cfg.purge_timeout, follow_redirects=False, trust_env=False,
                                             limits=httpx.Limits(max_connections=cfg.purge_concurrency))
        joined = " ".join(keys)
        headers = {"User-Agent": USER_AGENT, "Surrogate-Key": joined, **dict(cfg.purge_headers)}
        body = None
        if cfg.purge_body is not None:
            body = cfg.purge_body.replace("{keys_json}", json.dumps(keys)).replace("{keys}", joined).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            response = await self._client.request(cfg.purge_method, cfg.purge_url.replace("{keys}", quote(joined)),
                                                  headers=headers, content=body)
        except httpx.HTTPError as exc:  # refused, reset, timed out: the endpoint may be back soon
            return True, type(exc).__name__
        if response.is_success:
            return None
        status = response.status_code
        return status == 429 or status >= 500, f"HTTP {status}"

    async def close(self) -> None:
        """Send what is marked (a change just made should still leave the CDN), then stop."""
        if self._task is not None:
            await stop_task("cdn: purge loop", self._task)
            self._task = None
        if self._due:
            keys = list(self._due)
            self._due.clear()
            await step("cdn: last purges", self._dispatch(keys), CLOSE_S)
        if self._sends:
            await step("cdn: purges in flight", asyncio.wait(set(self._sends)), CLOSE_S * 2)
        if self._client is not None:
            await step("cdn: HTTP client", self._client.aclose(), CLOSE_S)
            self._client = None
