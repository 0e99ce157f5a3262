"""The moderation queues, live, for moderators' consoles: what entered or left a queue, the waiting
counts, and who else looks at which comment.

Where the events come from: a trigger on comments (migrations/0010_moderation_notify.sql) sends a
NOTIFY at commit for every change that moves a comment into or out of the held or reported queue,
whatever path made it (a decision, a bulk decision, a ban's reject-all, the scoring worker, an
author's edit or delete, a report, an undo), so no path can forget to tell the consoles. Presence
("I look at comment X") is a NOTIFY too, sent by the process a moderator's console asks: every
process keeps the same small table of who looks at what, one entry per staff member and site, each
expiring unless refreshed (the console refreshes it while the comment stays in view).

Each API process LISTENs on one connection of its own (opened by the first console that connects)
and one dispatcher task fans the notifications out to the process's streams, each filtered by its
staff member's sites: a moderator of site A never hears of site B. The waiting counts follow each
change at most once a second per scope, one count query per scope for all streams that share it.

When the LISTEN connection drops, every stream ends, so that consoles reconnect and reload what
they may have missed; a stream that falls far behind is ended for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

import asyncpg
import msgspec

from ..db import audit as audit_repo
from ..db import featured as featured_repo
from ..db import moderation_events as events_repo
from ..db.connection import Connection
from ..domain import moderation as rules
from ..domain.moderation_live_models import (
    FeaturedChanged,
    PresenceResult,
    PresenceViewers,
    QueueDecided,
    QueueNew,
    QueueState,
)
from ..domain.moderation_models import QueueCounts
from ..errors import DomainError, RateLimited, ServiceUnavailable
from ..shutdown import CLOSE_S, step, stop_task
from .moderation_queue import ModerationQueue
from .sites import SiteDirectory
from .staff_scope import StaffLike, require_site, scope_of

log = logging.getLogger("comments_service.moderation_live")

_encoder = msgspec.json.Encoder()

QUEUE_SIZE = 256  # events a stream may fall behind by before it is ended (the console reloads)
COUNTS_EVERY_S = 1.0  # the counts of one scope follow changes at most this often
PRESENCE_TTL_S = 30.0  # a look not refreshed for this long is over
PRESENCE_REFRESH_S = 10.0  # a repeated look within this is not sent again (the console repeats every 15 s)
# a staff member's changes of what they look at: a burst of this many, then this many a second
PRESENCE_BURST = 10
PRESENCE_PER_S = 5.0
SWEEP_S = 5.0  # expired looks are dropped this often
RECONNECT_S = 2.0  # after a failed LISTEN connection, the next try waits this long
_NAMES_MAX = 1024
NAME_MAX = 200  # a staff member's name as others see it (a NOTIFY payload stays far below its 8000 bytes)
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

Event = tuple[str, str]  # (SSE event name, JSON data)


class Subscription:
    """One console's stream: its staff member, the site it watches (None: every site, for an admin
    of every site) and the events waiting to be sent."""

    def __init__(self, staff: StaffLike, scope: str | None) -> None:
        self.staff = staff
        self.scope = scope
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_SIZE)

    def covers(self, site_id: str | None) -> bool:
        return self.scope is None or self.scope == site_id

    def end(self) -> None:
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()


class _Look(msgspec.Struct):
    comment_id: int
    name: str
    expires: float


class ModerationEvents:
    def __init__(self, pool: asyncpg.Pool, database_url: str, sites: SiteDirectory, queue: ModerationQueue, *,
                 heartbeat_seconds: float = 15.0, max_stream_seconds: float = 3600.0) -> None:
        self.pool = pool
        self.url = database_url
        self.sites = sites
        self.queue = queue
        self.heartbeat_seconds = heartbeat_seconds
        self.max_stream_seconds = max_stream_seconds
        self.closing = False
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._dispatcher: asyncio.Task[None] | None = None
        self._inbox: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        self._subs: set[Subscription] = set()
        self._counts_due: dict[str | None, float] = {}
        self._counts_sent: dict[str | None, float] = {}
        self._names: dict[str, str] = {}  # moderator id -> name, as the audit log has it
        self._articles: dict[int, str] = {}  # article row id -> the site's id of it (ids never change)
        # site -> staff id -> what they look at; one entry per staff member and site
        self._looks: dict[str, dict[str, _Look]] = {}
        # staff id -> the last note sent (site, comment, when) and the changes they may still make now
        self._sent_look: dict[str, tuple[str | None, int | None, float, float]] = {}

    # ------------------------------------------------------------------ streams
    @property
    def streams(self) -> int:
        return len(self._subs)

    def lifetime(self) -> float:
        """Seconds a new stream may last, spread so that streams opened together do not all
        reconnect together."""
        return self.max_stream_seconds * random.uniform(0.8, 1.0)

    @staticmethod
    def scope(staff: StaffLike, site_id: str | None) -> str | None:
        """The site a stream watches (403 for a site the staff member may not moderate)."""
        return scope_of(staff, site_id)

    async def ready(self) -> None:
        """Before a stream is answered: the LISTEN connection is up (503 otherwise)."""
        if self.closing:
            raise ServiceUnavailable("The server is restarting; reconnect shortly.")
        if not await self._ensure():
            raise ServiceUnavailable("Live queue updates are unavailable right now; reload to see the queue.")

    @asynccontextmanager
    async def subscribe(self, staff: StaffLike, scope: str | None) -> AsyncIterator[Subscription]:
        sub = Subscription(staff, scope)
        self._subs.add(sub)
        if not self.listening:
            sub.end()  # the connection dropped in between: end at once, the console reconnects
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            if not self.closing and not any(s.staff.id == staff.id for s in self._subs):
                # their last console here closed: they look at nothing any more
                self._post(("left", _encoder.encode([staff.id, staff.name[:NAME_MAX], scope]).decode()))

    async def counts(self, sub: Subscription) -> QueueCounts:
        return await self.queue.counts(sub.staff, sub.scope)

    def presence_now(self, sub: Subscription) -> list[PresenceViewers]:
        """Who else looks at what, on the stream's sites, as this process knows it now."""
        now = time.monotonic()
        out = []
        for site_id, looks in self._looks.items():
            if sub.covers(site_id):
                for comment_id in {look.comment_id for look in looks.values()}:
                    viewers = self._viewers(site_id, comment_id, now, but=sub.staff.id)
                    if viewers:
                        out.append(PresenceViewers(comment_id=comment_id, site_id=site_id, viewers=viewers))
        return out

    # ------------------------------------------------------------------ presence
    async def look(self, staff: StaffLike, site_id: str | None, comment_id: int | None) -> PresenceResult:
        """``staff`` looks at ``comment_id`` (None: at nothing, on ``site_id`` or on every site)."""
        if comment_id is not None:
            async with self.pool.acquire() as conn:
                found = await events_repo.site_of(conn, comment_id)
            if found is None:
                raise DomainError("comment_not_found")
            require_site(staff, found)
            site_id = found
        else:
            site_id = scope_of(staff, site_id)
        now = time.monotonic()
        name = staff.name[:NAME_MAX]
        last = self._sent_look.get(staff.id)
        if last is not None and last[:2] == (site_id, comment_id) and now - last[2] < PRESENCE_REFRESH_S:
            self._apply_look(staff.id, name, site_id, comment_id, now)
        else:
            allowance = PRESENCE_BURST if last is None else min(
                PRESENCE_BURST, last[3] + (now - last[2]) * PRESENCE_PER_S)
            if allowance < 1:
                raise RateLimited((1 - allowance) / PRESENCE_PER_S, "presence")
            self._remember_sent(staff.id, (site_id, comment_id, now, allowance - 1))
            # this process's consoles hear it now; the others when the note reaches them
            self._fan_presence(self._apply_look(staff.id, name, site_id, comment_id, now), now)
            await self._ensure()  # this process hears the others' looks from now on
            async with self.pool.acquire() as conn:
                await events_repo.notify_presence(conn, events_repo.PresenceNote(
                    i=staff.id, n=name, s=site_id, c=comment_id))
        viewers = self._viewers(site_id, comment_id, now, but=staff.id) if site_id and comment_id else []
        return PresenceResult(comment_id=comment_id, site_id=site_id, viewers=viewers)

    def _remember_sent(self, staff_id: str, sent: tuple[str | None, int | None, float, float]) -> None:
        if len(self._sent_look) >= 4096:  # staff members who stopped looking long ago go first
            cutoff = sent[2] - PRESENCE_TTL_S
            self._sent_look = {k: v for k, v in self._sent_look.items() if v[2] > cutoff}
        self._sent_look[staff_id] = sent

    def _viewers(self, site_id: str, comment_id: int, now: float, but: str | None = None) -> list[str]:
        looks = self._looks.get(site_id, {})
        return sorted({look.name for staff_id, look in looks.items()
                       if look.comment_id == comment_id and look.expires > now and staff_id != but})

    def _apply_look(self, staff_id: str, name: str, site_id: str | None, comment_id: int | None,
                    now: float) -> set[tuple[str, int]]:
        """Record a look; returns the (site, comment) pairs whose viewers changed."""
        changed: set[tuple[str, int]] = set()
        sites = [site_id] if site_id is not None else list(self._looks)
        for site in sites:
            looks = self._looks.get(site, {})
            before = looks.get(staff_id)
            if before is not None and before.comment_id != comment_id:
                changed.add((site, before.comment_id))
            if comment_id is None or site != site_id:
                if looks.pop(staff_id, None) is not None and not looks:
                    self._looks.pop(site, None)
                continue
            if before is None or before.comment_id != comment_id:
                changed.add((site, comment_id))
            self._looks.setdefault(site, {})[staff_id] = _Look(comment_id=comment_id, name=name,
                                                                expires=now + PRESENCE_TTL_S)
        return changed

    def _sweep(self, now: float) -> set[tuple[str, int]]:
        changed: set[tuple[str, int]] = set()
        for site in list(self._looks):
            looks = self._looks[site]
            for staff_id, look in list(looks.items()):
                if look.expires <= now:
                    del looks[staff_id]
                    changed.add((site, look.comment_id))
            if not looks:
                del self._looks[site]
        return changed

    # ------------------------------------------------------------------ the listener
    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _ensure(self) -> bool:
        if self.listening:
            self._start_dispatcher()
            return True
        if self.closing or time.monotonic() < self._retry_at:
            return False
        async with self._lock:
            if self.listening:
                return True
            try:
                conn = await asyncpg.connect(self.url, timeout=2.0,
                                             server_settings={"application_name": "comments_service_moderation"})
                try:
                    await conn.add_listener(events_repo.QUEUE_CHANNEL, self._on_notify)
                    await conn.add_listener(events_repo.PRESENCE_CHANNEL, self._on_notify)
                    await conn.add_listener(featured_repo.FEATURED_CHANNEL, self._on_notify)
                except BaseException:
                    conn.terminate()
                    raise
                conn.add_termination_listener(self._on_lost)
                self._conn = conn
            except _DB_ERRORS as exc:
                self._retry_at = time.monotonic() + RECONNECT_S
                log.warning("moderation listener unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
                return False
            self._start_dispatcher()
        return True

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="moderation-events-dispatcher")

    def _on_lost(self, _conn: object) -> None:
        self._conn = None
        log.warning("moderation listener lost; consoles reconnect")
        for sub in list(self._subs):
            sub.end()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        self._post((channel, str(payload)))

    def _post(self, item: tuple[str, str]) -> None:
        if len(self._inbox) >= 100_000:  # a stalled dispatcher: drop rather than grow without end
            return
        self._inbox.append(item)
        self._wake.set()

    async def _dispatch(self) -> None:
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            now = time.monotonic()
            due = min([next_sweep, *self._counts_due.values()])
            if not self._inbox:
                self._wake.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.0, due - now))
            batch, self._inbox = self._inbox, []
            try:
                await self._handle(batch)
                now = time.monotonic()
                if now >= next_sweep:
                    next_sweep = now + SWEEP_S
                    self._fan_presence(self._sweep(now), now)
                    watched = {sub.scope for sub in self._subs}
                    self._counts_sent = {k: v for k, v in self._counts_sent.items() if k in watched}
                await self._send_counts(now)
            except (*_DB_ERRORS, DomainError) as exc:
                log.warning("moderation events: a read failed", extra={"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(0.5)
            except Exception:
                # a bug must not silence every console of the process: log it, carry on
                log.exception("moderation events: dispatch failed")
                await asyncio.sleep(0.5)

    async def _handle(self, batch: list[tuple[str, str]]) -> None:
        changes = []
        now = time.monotonic()
        presence: set[tuple[str, int]] = set()
        for channel, payload in batch:
            if channel == events_repo.QUEUE_CHANNEL:
                change = events_repo.queue_change(payload)
                if change is not None:
                    changes.append(change)
            elif channel == featured_repo.FEATURED_CHANNEL:
                picked = featured_repo.featured_note(payload)
                if picked is not None:
                    self._fan_featured(picked)
            elif channel == events_repo.PRESENCE_CHANNEL:
                note = events_repo.presence_note(payload)
                if note is not None:
                    presence |= self._apply_look(note.i, note.n, note.s, note.c, now)
            elif channel == "left":
                staff_id, name, scope = msgspec.json.decode(payload)
                if staff_id not in {s.staff.id for s in self._subs}:
                    self._remember_sent(staff_id, (scope, None, now, PRESENCE_BURST))
                    presence |= self._apply_look(staff_id, name, scope, None, now)
                    async with self.pool.acquire() as conn:
                        await events_repo.notify_presence(conn, events_repo.PresenceNote(i=staff_id, n=name, s=scope))
        self._fan_presence(presence, now)
        if changes:
            await self._fan_changes(changes)

    def _fan_featured(self, note: featured_repo.FeaturedNote) -> None:
        body = FeaturedChanged(site_id=note.s, article_id=note.a, comment_id=note.c, featured=note.f, pinned=note.p)
        for sub in list(self._subs):
            if sub.covers(note.s):
                self._send(sub, "featured", body)

    def _fan_presence(self, changed: Iterable[tuple[str, int]], now: float) -> None:
        for site_id, comment_id in changed:
            for sub in list(self._subs):
                if sub.covers(site_id):
                    viewers = self._viewers(site_id, comment_id, now, but=sub.staff.id)
                    self._send(sub, "presence", PresenceViewers(comment_id=comment_id, site_id=site_id,
                                                                viewers=viewers))

    async def _fan_changes(self, changes: list[events_repo.QueueChange]) -> None:
        events: list[tuple[str, str, QueueNew | QueueDecided]] = []
        for change in changes:
            if not any(sub.covers(change.s) for sub in self._subs):
                continue
            threshold = await self._threshold(change.s)
            held_before, held_after = change.o == "held", change.n == "held"
            reported_before = change.o == "published" and change.ro >= threshold
            reported_after = change.n == "published" and change.r >= threshold
            moves: tuple[tuple[QueueState, bool, bool], ...] = (("held", held_before, held_after),
                                                                ("reported", reported_before, reported_after))
            for state, before, after in moves:
                if after and not before:
                    events.append(("queue:new", change.s, QueueNew(comment_id=change.c, site_id=change.s,
                                                                   state=state,
                                                                   article_id=await self._article(change.a))))
                elif before and not after:
                    events.append(("queue:decided", change.s, await self._decided(change, state)))
        for event, site_id, body in events:
            for sub in list(self._subs):
                if sub.covers(site_id):
                    self._send(sub, event, body)
        now = time.monotonic()
        for site_id in {site_id for _, site_id, _ in events}:
            for scope in (site_id, None):
                if any(sub.scope == scope for sub in self._subs) and scope not in self._counts_due:
                    self._counts_due[scope] = max(now, self._counts_sent.get(scope, 0.0) + COUNTS_EVERY_S)

    async def _threshold(self, site_id: str) -> int:
        try:
            return rules.report_threshold((await self.sites.get(site_id)).site.settings)
        except DomainError:  # the site was deleted meanwhile
            return rules.report_threshold({})

    async def _article(self, article_id: int | None) -> str | None:
        if article_id is None:
            return None
        external = self._articles.get(article_id)
        if external is None:
            async with self.pool.acquire() as conn:
                external = await events_repo.external_id(conn, article_id)
            if external is not None:
                if len(self._articles) >= _NAMES_MAX:
                    self._articles.clear()
                self._articles[article_id] = external
        return external

    async def _decided(self, change: events_repo.QueueChange, state: QueueState) -> QueueDecided:
        name = None
        if change.by is not None:
            name = self._names.get(change.by)
            if name is None:
                async with self.pool.acquire() as conn:
                    name = await audit_repo.decider_name(conn, change.c, change.by)
                if name is not None:
                    if len(self._names) >= _NAMES_MAX:
                        self._names.clear()
                    self._names[change.by] = name
        return QueueDecided(comment_id=change.c, site_id=change.s, state=state,
                            outcome=_outcome(change.n, change.by is not None), status=change.n,
                            decided_by=name, decided_by_id=change.by, decided_at=change.at)

    async def _send_counts(self, now: float) -> None:
        for scope, due in list(self._counts_due.items()):
            if due > now:
                continue
            del self._counts_due[scope]
            subs = [sub for sub in self._subs if sub.scope == scope]
            if not subs:
                continue
            self._counts_sent[scope] = now
            counts = await self.queue.counts(subs[0].staff, scope)
            for sub in subs:
                self._send(sub, "counts", counts)

    @staticmethod
    def _send(sub: Subscription, event: str, body: object) -> None:
        try:
            sub.queue.put_nowait((event, _encoder.encode(body).decode()))
        except asyncio.QueueFull:
            sub.end()  # this far behind, the console reconnects and reloads rather than stall others

    # ------------------------------------------------------------------ shutdown
    def shutdown_soon(self) -> None:
        """Streams end now (a SIGTERM: the server waits for open connections before it stops)."""
        self.closing = True
        for sub in list(self._subs):
            sub.end()

    async def close(self) -> None:
        self.shutdown_soon()
        await stop_task("moderation events: dispatcher", self._dispatcher)
        conn, self._conn = self._conn, None
        if (conn is not None and not conn.is_closed()
                and not await step("moderation events: its LISTEN connection", conn.close(), CLOSE_S)):
            conn.terminate()


def _outcome(status: str, by_moderator: bool) -> str:
    if status == "published":
        return "approved" if by_moderator else "published"
    if status == "pending_scoring":
        return "edited"
    return status  # rejected, deleted, held
