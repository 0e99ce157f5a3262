"""Surges of new accounts on one article (the site setting ``moderation.surge``, domain/policy.SurgeRules).

A brigade shows as many fresh accounts commenting on one article at once. The post path counts, per
article, the distinct new authors (guests, and accounts younger than ``new_account_hours``) of the
last ``window_minutes`` in Redis: one sorted set per article, trimmed to the threshold's size and
expiring with the window, updated and read by one script call (lua/surge.lua), only for new authors.
When the count reaches ``new_accounts`` the article's ``surge_until`` is set in PostgreSQL
(``cooldown_minutes`` ahead; the start audited as ``surge_started`` and announced in the outbox, so
moderators with alerts get an email); while the surge goes on, the post path moves ``surge_until``
on at most once a minute per article (a mark with a TTL, set by the same script, throttles it). The
scoring worker holds new authors' comments on an article in surge (``surge_premoderation``). The
notifier's sweep, every minute, ends surges whose ``surge_until`` passed: columns cleared,
``surge_ended`` audited and announced.

Only where the scoring pipeline runs: without it no policy decides comments, and a surge would hold
nothing. Redis down or slow: the check is skipped (RedisGate logs it) and the post goes on, so a
surge is then neither started nor prolonged; one in force still holds until its time is up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..cache import RedisGate, lua
from ..db import surges as repo
from ..domain.limits import address_group
from ..domain.policy import SurgeRules
from ..domain.structs import Struct
from .staff_scope import StaffLike, one_site

log = logging.getLogger("comments_service.surge")

# the post path moves a surge's end on at most this often per article
BUMP_EVERY_S = 60
# surges ended per statement of a sweep
END_BATCH = 200
# the most articles in surge the console lists
MAX_LISTED = 100
# accounts whose creation time the process remembers (it never changes): a reply by a signed-in
# reader, which reads no posting context, asks the database once per author, not once per post
MAX_REMEMBERED = 50_000


class ArticleSurge(Struct, frozen=True):
    article_id: str  # the site's own id of the article
    title: str
    url: str
    started_at: datetime
    until: datetime
    held: int  # new authors' comments held for it, waiting


class SurgeList(Struct, frozen=True):
    surges: list[ArticleSurge]


class Surges:
    def __init__(self, pool: asyncpg.Pool, gate: RedisGate | None, prefix: str) -> None:
        self.pool = pool
        self.gate = gate
        self.prefix = prefix
        self._rules: dict[str, tuple[Any, SurgeRules]] = {}
        self._since: dict[int, datetime] = {}
        self._script = gate.register_script(lua("surge")) if gate is not None else None

    def rules(self, site_id: str, settings: Mapping[str, Any]) -> SurgeRules:
        moderation = settings.get("moderation")
        raw = moderation.get("surge") if isinstance(moderation, Mapping) else None
        cached = self._rules.get(site_id)
        if cached is not None and cached[0] == raw:
            return cached[1]
        rules = SurgeRules.of_site(settings)
        self._rules[site_id] = (raw, rules)
        return rules

    # ------------------------------------------------------------ the post path
    def counts(self, site_id: str, settings: Mapping[str, Any], author_id: int, *, guest: bool,
               since: datetime | None) -> bool:
        """Whether a post by this author is worth a :meth:`note`: the rule on, Redis there, and the
        author a guest, a new account, or one whose age is not known yet (here or in what this
        process remembers). Answered without I/O, so that the busiest post, an older reader's,
        starts nothing."""
        rules = self.rules(site_id, settings)
        if not rules.enabled or self.gate is None or not self.gate.available:
            return False
        if guest:
            return True
        since = since or self._since.get(author_id)
        if since is None:
            return True
        return rules.new_author(guest=False, account_age_seconds=(datetime.now(UTC) - since).total_seconds())

    async def note(self, site_id: str, settings: Mapping[str, Any], article_id: int, author_id: int, *,
                   guest: bool, since: datetime | None, address: str | None = None) -> None:
        """A comment was stored: counts its author if new, and starts or prolongs the article's
        surge at the threshold. ``since``: when the author's account was made, where the caller
        read it (None: asked here, for an account)."""
        rules = self.rules(site_id, settings)
        if not rules.enabled or self.gate is None or not self.gate.available:
            return
        if not guest:
            if since is None:
                since = self._since.get(author_id)
            if since is None:
                async with self.pool.acquire() as conn:
                    since = await repo.account_since(conn, author_id)
                if since is not None:
                    if len(self._since) >= MAX_REMEMBERED:
                        self._since.clear()
                    self._since[author_id] = since
            if since is not None and not rules.new_author(
                    guest=False, account_age_seconds=(datetime.now(UTC) - since).total_seconds()):
                return
        # a guest is a new identity at every post: one address posting as ten guests is one author
        member = f"ip:{address_group(address)}" if guest and address else str(author_id)
        seen = await self.gate.call(lambda: self._count(article_id, member, rules))
        if seen is None:
            return  # Redis away: RedisGate logged it; the post goes on unchecked
        count, claimed = seen
        if not claimed:
            return  # below the threshold, or another post of the same minute moved the surge on
        async with self.pool.acquire() as conn, conn.transaction():
            started = await repo.start_or_extend(conn, article_id, rules.cooldown_minutes * 60, {
                "new_accounts": count, "window_minutes": rules.window_minutes})
        if started is not None:
            log.warning("surge of new accounts: their comments are premoderated", extra={
                "site": site_id, "article": started.external_id, "new_accounts": count})

    async def _count(self, article_id: int, author: str, rules: SurgeRules) -> tuple[int, bool]:
        """One script call (lua/surge.lua): the author counted, the article's new authors of the
        window, and whether this post is the one to move the surge on (at most once a minute)."""
        assert self.gate is not None and self._script is not None
        # one hash tag per article: both keys in one Redis Cluster slot
        keys = [f"{self.prefix}surge:{{{article_id}}}", f"{self.prefix}surge-on:{{{article_id}}}"]
        mark_ms = min(BUMP_EVERY_S * 1000, rules.cooldown_minutes * 30_000)
        count, claimed = await self._script(keys=keys, args=[author, rules.window_minutes * 60_000,
                                                             rules.new_accounts, mark_ms])
        return int(count), bool(claimed)

    # ------------------------------------------------------------ the notifier's sweep
    async def end_due(self) -> int:
        """Ends every surge whose time is up (a batch per transaction); how many."""
        total = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                ended = await repo.end_due(conn, END_BATCH)
            for t in ended:
                log.info("surge ended", extra={"site": t.site_id, "article": t.external_id})
            total += len(ended)
            if len(ended) < END_BATCH:
                return total

    # ------------------------------------------------------------ the console
    async def listed(self, staff: StaffLike, site_id: str | None) -> SurgeList:
        site = one_site(staff, site_id)
        async with self.pool.acquire() as conn:
            rows = await repo.in_surge(conn, site, MAX_LISTED)
        return SurgeList(surges=[ArticleSurge(article_id=r["external_id"], title=r["title"], url=r["url"],
                                              started_at=r["surge_started_at"], until=r["surge_until"],
                                              held=int(r["held"])) for r in rows])
