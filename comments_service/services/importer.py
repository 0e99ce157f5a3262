"""Importing another comment system's export into one site: read, stage, then write article by
article.

1. Read: the format's reader (formats/registry.py) streams the file in a thread of its own while
   this loop copies its batches into the session's staging table, so the file is parsed while
   PostgreSQL stores the previous batch. Each thread is mapped to an article by the operator's rule,
   each comment's body sanitised as a new comment's is, its author named; comments imported by an
   earlier run are recognised by their source id before any of that work and passed over.
2. Write: the staged comments go in batches of whole articles, one transaction per batch: their
   articles and authors are made where missing, the thread's shape planned
   (domain/imported_threads.py), rows copied in, counts moved. An article's comments therefore
   appear together, and an import stopped anywhere resumes on the next run with nothing doubled:
   what committed is recognised by its source ids, what did not left no trace.

A file that cannot be read to its end (malformed, truncated, a refused XML construct) stops the
import before anything is written. A dry run reads and plans everything and writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import queue
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import asyncpg
import msgspec

from ..cache import Cache
from ..db import imports as repo
from ..db import sites as site_repo
from ..db.connection import Connection
from ..domain.import_articles import ArticleRule, ArticleSource, MappedThread, Unmapped
from ..domain.import_report import ImportReport
from ..domain.imported_threads import Anchor, StagedComment, Status, plan_article
from ..domain.judged_by import IMPORTED
from ..domain.labels import clean_label
from ..domain.structs import Struct
from ..formats import registry
from ..formats.content import BodyTooLong, EmptyBody, convert
from ..formats.records import KNOWN, Skipped, SourceComment, SourceFileError, SourceThread
from ..formats.source_file import SourceFile
from .cdn_purge import Cdn

log = logging.getLogger(__name__)

READ_BATCH = 2_000  # staged rows per COPY
WRITERS = 2
WRITE_BATCH = 4_000  # staged comments per write transaction (whole articles: one large article goes alone)
MAX_NAME = 100
MAX_SOURCE_ID = 200
IMPORTED_SCORING_PRIORITY = 1  # behind every new comment (0)
ANALYZE_AFTER = 10_000  # comments imported from which the import refreshes the table's statistics
# articles an import may purge from a CDN one by one (three calls at the default 30 keys a call); past
# it, the site's key
PURGE_EACH_MAX = 90


class ImportFailed(Exception):
    """The import cannot start (no such site, another import of it running, bad options)."""


class ImportOptions(Struct, frozen=True):
    site_id: str
    path: str
    format: str | None = None  # sniffed from the file when None
    dry_run: bool = False
    article_source: ArticleSource = "identifier"
    url_pattern: str | None = None
    # "email": a source author's comments go to the site's SSO user with that email; "subject": to the
    # SSO user the file names (our own format keeps each author's subject). Neither by default: a file
    # must not make anyone the author of what they did not write
    match_users: Literal["none", "email", "subject"] = "none"
    user_map: dict[str, str] = {}  # a source author's email (lower case) or user name -> an SSO subject
    keep_personal_data: bool = False  # emails and IP addresses; dropped otherwise
    pending: Literal["held", "rejected"] = "held"
    spam: Literal["rejected", "held"] = "rejected"
    include_pings: bool = False  # WordPress pingbacks and trackbacks
    score: bool = False  # send comments the source approved through scoring (at low priority)


class ImportProgress(Protocol):
    """What the command shows while an import runs (cli's progress bar or log lines)."""

    def reading(self, bytes_read: int, total_bytes: int, comments: int) -> None: ...

    def writing(self, articles_done: int, articles_total: int, comments: int) -> None: ...


class _Silent:
    def reading(self, bytes_read: int, total_bytes: int, comments: int) -> None:
        pass

    def writing(self, articles_done: int, articles_total: int, comments: int) -> None:
        pass


class Importer:
    """``cache``: retires the cached pages of each article an import wrote to (None: no Redis).
    ``cdn``: purges a CDN's copies of them once the import ends (None, or a Cdn without a purge
    call: they age out after s-maxage). ``pseudonym_key``: keys the hash that names an imported
    author by their email without keeping it."""

    def __init__(self, pool: asyncpg.Pool, cache: Cache | None, pseudonym_key: bytes, *, max_depth: int,
                 cdn: Cdn | None = None) -> None:
        self.pool = pool
        self.cache = cache
        self.cdn = cdn
        self.pseudonym_key = pseudonym_key
        self.max_depth = max_depth

    async def run(self, options: ImportOptions, progress: ImportProgress | None = None) -> ImportReport:
        shown = progress or _Silent()
        started = time.monotonic()
        async with self.pool.acquire() as conn:
            found = await site_repo.get(conn, options.site_id)
            if found is None:
                raise ImportFailed(f"no site {options.site_id!r} (create it first: comments-service site create)")
            site = found[0]
            counter = _Counter()
            source = SourceFile(options.path, counter.add)
            name = options.format or registry.sniff(source)
            module = registry.FORMATS.get(name)
            if module is None:
                raise ImportFailed(f"unknown format {name!r}; formats: {', '.join(registry.FORMATS)}")
            rule = ArticleRule(options.article_source, options.url_pattern, list(site.allowed_origins))
            report = ImportReport(site=site.id, format=name, file=str(Path(options.path)), dry_run=options.dry_run)
            if not options.dry_run and not await repo.lock_site(conn, site.id):
                raise ImportFailed(f"another import into site {site.id!r} is running")
            run = _Run(self, conn, options, report, site.id, module.SYSTEM, rule, site.allow_images, source, counter,
                       shown)
            try:
                await run.execute()
            finally:
                # what committed is in readers' threads, however the run ended
                self._purge_cdn(site.id, run.touched)
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await repo.drop_stage(conn, run.stage)
                if not options.dry_run:
                    with contextlib.suppress(asyncpg.PostgresError, OSError):
                        await repo.unlock_site(conn, site.id)
        report.elapsed_s = round(time.monotonic() - started, 3)
        report.comments_per_s = round(report.comments.read / report.elapsed_s, 1) if report.elapsed_s else 0.0
        report.bytes_read = counter.n
        return report

    def _purge_cdn(self, site_id: str, articles: set[str]) -> None:
        """Mark the CDN's copies of the articles written to for purging (sent by the command's
        close_cli, or the purge loop); a large import purges its site's key once instead."""
        if self.cdn is None or not articles:
            return
        if len(articles) > PURGE_EACH_MAX:
            self.cdn.purge_site(site_id)
            return
        for external_id in sorted(articles):
            self.cdn.purge(site_id, external_id)

    def author_key(self, system: str, name: str, email: str | None, username: str | None) -> str:
        """An imported author's id: the same person in one system is one user, without their email."""
        if username:
            return f"{system}:u:{username[:MAX_NAME]}"
        if email:
            digest = hmac.new(self.pseudonym_key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:24]
            return f"{system}:e:{digest}"
        return f"{system}:n:{name}"


def pseudonym_key(secret_key: str) -> bytes:
    """The key of imported authors' email hashes, from the service's secret key."""
    return hashlib.sha256(b"comments_service imported author\0" + secret_key.encode()).digest()


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def add(self, n: int) -> None:
        self.n += n


_DONE = object()


class _Run:
    """One import's state: the threads mapped so far, the staged comments, the report."""

    def __init__(self, importer: Importer, conn: Connection, options: ImportOptions, report: ImportReport,
                 site_id: str, system: str, rule: ArticleRule, allow_images: bool, source: SourceFile,
                 counter: _Counter, progress: ImportProgress) -> None:
        self.importer = importer
        self.conn = conn
        self.options = options
        self.report = report
        self.site_id = site_id
        self.system = system
        self.rule = rule
        self.allow_images = allow_images
        self.source = source
        self.counter = counter
        self.progress = progress
        self.threads: dict[str, str | Unmapped] = {}  # source thread id -> article external id, or why not
        self.articles: dict[str, MappedThread] = {}  # external id -> the first thread that named it
        self.known: array[int] = array("q")  # hashes of source ids imported before (sorted)
        self.statuses: dict[str, Status] = {
            "approved": "pending_scoring" if options.score else "published", "pending": options.pending,
            "spam": options.spam, "trash": "rejected", "deleted": "deleted"}
        self.stop = threading.Event()
        self.stage = repo.stage_name(site_id, temporary=options.dry_run)
        self.written = 0  # articles written so far, for the progress display
        self.repeated: set[int] = set()  # staged comments (by seq) whose source id another thread gave first
        self.touched: set[str] = set()  # articles (external ids) whose writes committed

    async def execute(self) -> None:
        await self._load_known()
        await repo.prepare_session(self.conn)
        await repo.create_stage(self.conn, self.stage, temporary=self.options.dry_run)
        if not await self._read():
            return
        await repo.index_stage(self.conn, self.stage)
        self.repeated = {r["seq"] for r in await repo.repeated_sources(self.conn, self.stage)}
        if not self.options.dry_run:
            await repo.ensure_staged_users(self.conn, self.stage, self.site_id,
                                           keep_emails=self.options.keep_personal_data,
                                           match_email=self.options.match_users == "email")
        await self._write()
        if not self.options.dry_run and self.report.comments.imported >= ANALYZE_AFTER:
            await repo.analyze_comments(self.conn)

    # ------------------------------------------------------------ read
    async def _load_known(self) -> None:
        hashes: list[int] = []
        async for chunk in repo.imported_ids(self.conn, self.site_id, self.system):
            # str's own hash: keyed per process (a file cannot be made to collide with what is
            # stored), consistent within it, and several times faster than a digest
            hashes.extend(map(hash, chunk))
        hashes.sort()
        self.known = array("q", hashes)

    async def _read(self) -> bool:
        """Stage the file's comments; False (with the report's error set) when it cannot be read to its end."""
        batches: queue.Queue[Any] = queue.Queue(maxsize=4)
        reader = threading.Thread(target=self._produce, args=(batches,), name="import-reader", daemon=True)
        reader.start()
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = await loop.run_in_executor(None, batches.get)
                if batch is _DONE:
                    return True
                if isinstance(batch, SourceFileError):
                    self.report.error = str(batch)
                    return False
                if isinstance(batch, BaseException):
                    raise batch
                await repo.stage(self.conn, self.stage, batch)
                self.progress.reading(self.counter.n, self.source.size, self.report.comments.read)
        finally:
            self.stop.set()
            with contextlib.suppress(queue.Empty):
                while True:  # let a reader blocked on a full queue see the stop
                    batches.get_nowait()
            await loop.run_in_executor(None, reader.join)

    def _produce(self, out: queue.Queue[Any]) -> None:
        try:
            batch: list[repo.StagedRow] = []
            for row in self._rows():
                batch.append(row)
                if len(batch) >= READ_BATCH:
                    if not self._put(out, batch):
                        return
                    batch = []
            if batch and not self._put(out, batch):
                return
            self._put(out, _DONE)
        except BaseException as exc:  # handed to the loop, which raises it there
            self._put(out, exc)

    def _put(self, out: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _rows(self) -> Iterator[repo.StagedRow]:
        module = registry.FORMATS[self.report.format]
        records = registry.records(module, self.source, include_pings=self.options.include_pings,
                                   known=self._is_known if self.known else None)
        seq = 0
        report = self.report
        for record in records:
            if self.stop.is_set():
                return
            if record is KNOWN:
                report.comments.read += 1
                report.comments.already_imported += 1
            elif isinstance(record, SourceComment):
                report.comments.read += 1
                row = self._comment(record, seq)
                if row is not None:
                    seq += 1
                    yield row
            elif isinstance(record, SourceThread):
                self._thread(record)
            elif isinstance(record, Skipped):
                # the reader could not use it: a thread's record or a comment's, it says which by reason
                report.comments.skipped.add(record.reason, record.position, record.detail)

    def _thread(self, thread: SourceThread) -> None:
        articles = self.report.articles
        articles.read += 1
        mapped = self.rule.map(thread.identifier, thread.url, thread.title, thread.closed)
        if isinstance(mapped, Unmapped):
            articles.skipped.add(mapped.reason, thread.position, mapped.detail)
            self.threads[thread.source_id] = mapped
            return
        if mapped.other_host:
            articles.other_host += 1
        if mapped.by_url_fallback:
            articles.by_url_fallback += 1
        if mapped.external_id in self.articles:
            articles.merged += 1
        else:
            self.articles[mapped.external_id] = mapped
        self.threads[thread.source_id] = mapped.external_id

    def _comment(self, c: SourceComment, seq: int) -> repo.StagedRow | None:
        comments = self.report.comments
        article = self.threads.get(c.thread_id)
        if article is None:
            comments.skipped.add("unknown_thread", c.position, f"thread {c.thread_id[:100]} is not in the file")
            return None
        if isinstance(article, Unmapped):
            comments.skipped.add("thread_skipped", c.position, f"its thread was skipped: {article.reason}")
            return None
        if len(c.source_id) > MAX_SOURCE_ID or not c.source_id or "\x00" in c.source_id:
            comments.skipped.add("invalid_source_id", c.position, "empty, longer than 200 characters or holding NUL")
            return None
        if self.known and self._is_known(c.source_id):
            comments.already_imported += 1
            return None
        status = self.statuses[c.state]
        if status == "deleted":
            markdown = html = ""  # what its author deleted is not brought back
        else:
            try:
                converted = convert(c.body, c.body_format, allow_images=self.allow_images)
            except EmptyBody:
                comments.skipped.add("empty_body", c.position)
                return None
            except BodyTooLong:
                comments.skipped.add("body_too_long", c.position, f"{len(c.body):,} characters")
                return None
            markdown, html = converted.markdown, converted.html
        author = c.author
        if _has_nul(author.email, author.username, author.sso_subject, c.parent_id):
            # PostgreSQL's text cannot hold NUL: the import would stop at this comment
            author = msgspec.structs.replace(author, email=_no_nul(author.email), username=_no_nul(author.username),
                                             sso_subject=_no_nul(author.sso_subject))
            c = msgspec.structs.replace(c, parent_id=_no_nul(c.parent_id))
        name = clean_label(author.name)
        if len(name) > MAX_NAME:
            comments.changed.add("author_name_shortened", c.position, f"{len(name)} characters")
            name = name[:MAX_NAME].strip()
        name = name or "Anonymous"
        email = author.email.strip().lower() if author.email and "@" in author.email else None
        sub = (author.sso_subject if self.options.match_users == "subject" else None) or self._mapped_subject(
            email, author.username)
        key = self.importer.author_key(self.system, name, email, author.username)
        ip = _address(author.ip) if self.options.keep_personal_data else None
        created = c.created_at if c.created_at.tzinfo is not None else c.created_at.replace(tzinfo=UTC)
        # the stage is a table on disk until the import ends: an email goes there only when it is kept or matched
        staged_email = email if self.options.keep_personal_data or self.options.match_users == "email" else None
        return (seq, article, c.source_id, c.parent_id, key, name, staged_email, sub, ip, markdown, html, status,
                created, c.position)

    def _is_known(self, source_id: str) -> bool:
        """Whether an earlier run imported this source id (by its hash: a comment whose hash
        collided with one imported would be passed over; with 64 bits, about one in 10^7 for a
        million comments run against a million)."""
        known = self.known
        h = hash(source_id)
        i = bisect_left(known, h)
        return i < len(known) and known[i] == h

    def _mapped_subject(self, email: str | None, username: str | None) -> str | None:
        mapping = self.options.user_map
        if not mapping:
            return None
        return (mapping.get(email) if email else None) or (mapping.get(username) if username else None)

    # ------------------------------------------------------------ write
    async def _write(self) -> None:
        """Whole articles, about WRITE_BATCH comments to a transaction, by WRITERS connections at once
        (PostgreSQL's index upkeep is most of an import's work: a second backend uses the second core)."""
        staged = await repo.staged_articles(self.conn, self.stage)
        with_comments = {article for article, _ in staged}
        empty = [a for a in self.articles if a not in with_comments]
        batches: list[list[str]] = []
        batch: list[str] = []
        size = 0
        for article, n in staged:
            if batch and size + n > WRITE_BATCH:
                batches.append(batch)
                batch, size = [], 0
            batch.append(article)
            size += n
        if batch:
            batches.append(batch)
        batches.extend(empty[start:start + 1000] for start in range(0, len(empty), 1000))
        total = len(staged) + len(empty)
        todo: asyncio.Queue[list[str]] = asyncio.Queue()
        for each in batches:
            todo.put_nowait(each)
        try:
            if self.options.dry_run or WRITERS == 1:
                await self._writer(self.conn, todo, total)
            else:
                async with self.importer.pool.acquire() as second:
                    await repo.prepare_session(second)
                    async with asyncio.TaskGroup() as writers:
                        writers.create_task(self._writer(self.conn, todo, total))
                        writers.create_task(self._writer(second, todo, total))
        except* repo.ReferenceGone as gone:
            raise ImportFailed(f"{gone.exceptions[0]}; the batches written before stay, and running the import "
                               "again adds the rest") from None
        self.progress.writing(self.written, total, self.report.comments.imported)

    async def _writer(self, conn: Connection, todo: asyncio.Queue[list[str]], total: int) -> None:
        per_batch = not self.options.dry_run and await repo.check_references_per_batch(conn)
        self.report.references_checked = "per batch" if per_batch else "per row"
        try:
            while not todo.empty():
                externals = todo.get_nowait()
                await self._write_batch(conn, externals)
                self.written += len(externals)
                self.progress.writing(self.written, total, self.report.comments.imported)
        finally:
            if per_batch:
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await repo.check_references_per_row(conn)

    async def _write_batch(self, conn: Connection, externals: list[str]) -> None:
        dry = self.options.dry_run
        rows = await repo.staged_batch(conn, self.stage, externals) if externals else []
        if self.repeated:
            rows = self._first_of_each_source(rows)
        written: list[str] = []
        async with conn.transaction():
            ids = await repo.article_ids(conn, self.site_id, externals)
            new = [a for a in externals if a not in ids]
            self.report.articles.existing += len(ids)
            self.report.articles.created += len(new)
            if dry:
                ids.update((a, -(i + 1)) for i, a in enumerate(new))
            elif new:
                ids.update(await repo.ensure_articles(conn, self.site_id, [
                    (m.external_id, m.url, m.title, m.closed) for m in (self.articles[a] for a in new)]))
            if rows:
                written = await self._write_comments(conn, rows, ids)
            if new and not dry:
                written.extend(a for a in new if a not in written)
        if not dry:
            self.touched.update(written)
        if not dry and self.importer.cache is not None:
            for external in dict.fromkeys(written):
                await self.importer.cache.bump(self.site_id, external)
            if self.importer.cache.gate.dirty:
                self.report.cache_retired = False

    def _first_of_each_source(self, rows: list[Any]) -> list[Any]:
        """The batch's rows without those whose source id the file gave first in another thread."""
        kept = []
        for row in rows:
            if row["seq"] in self.repeated:
                self.report.comments.skipped.add("duplicate_source_id", row["position"],
                                                 f"source id {row['source_id']} was read in another thread")
            else:
                kept.append(row)
        return kept

    async def _write_comments(self, conn: Connection, rows: list[Any], article_ids: dict[str, int]) -> list[str]:
        """Plan and (unless a dry run) insert one batch's staged rows; the articles written to."""
        dry, report = self.options.dry_run, self.report.comments
        by_article: dict[str, list[Any]] = {}
        for row in rows:
            by_article.setdefault(row["article"], []).append(row)
        local = {(row["article"], row["source_id"]) for row in rows}
        wanted = {row["parent_source"] for row in rows
                  if row["parent_source"] is not None and (row["article"], row["parent_source"]) not in local}
        anchors = {r["source_id"]: Anchor(id=r["id"], article_id=r["article_id"], path=list(r["path"]),
                                          status=r["status"])
                   for r in await repo.anchors(conn, self.site_id, self.system, list(wanted))}
        authors = {} if dry else await self._authors(conn, rows)
        ids = (await repo.new_comment_ids(conn, len(rows))) if not dry else list(range(1, len(rows) + 1))
        records: list[repo.PlannedRow] = []
        counts: list[tuple[int, int, datetime | None]] = []
        anchor_replies: dict[int, int] = {}
        scoring: list[int] = []
        used = 0
        for external, staged_rows in by_article.items():
            article_id = article_ids[external]
            staged = [StagedComment(seq=r["seq"], source_id=r["source_id"], parent_source=r["parent_source"],
                                    status=r["status"], created_at=r["created_at"], position=r["position"])
                      for r in staged_rows]
            plan = plan_article(staged, article_id, anchors, ids[used:], max_depth=self.importer.max_depth)
            used += len(plan.comments)
            for note in plan.skipped:
                report.skipped.add(note.reason, note.position, note.detail)
            for note in plan.notes:
                report.changed.add(note.reason, note.position, note.detail)
            report.flattened += plan.flattened
            report.orphaned += plan.orphaned
            report.tombstoned += plan.tombstoned
            report.imported += len(plan.comments)
            for entry in plan.comments:
                row = staged_rows[entry.staged]
                status = row["status"]
                report.by_status[status] = report.by_status.get(status, 0) + 1
                if dry:
                    report.matched_users += row["author_sub"] is not None
                    continue
                author_id, matched = authors[row["seq"]]
                report.matched_users += matched
                records.append(repo.PlannedRow(
                    seq=row["seq"], id=entry.id, article_id=article_id, parent_id=entry.parent_id, path=entry.path,
                    author_id=author_id, status_reason=_REASONS.get(status),
                    reply_count=entry.reply_count))
                if status == "pending_scoring":
                    scoring.append(entry.id)
            counts.append((article_id, plan.published, plan.last_root_at))
            for parent, n in plan.anchor_replies.items():
                anchor_replies[parent] = anchor_replies.get(parent, 0) + n
        if dry:
            return []
        await repo.hold_articles(conn, [c[0] for c in counts])
        await repo.hold_users(conn, list({r.author_id for r in records}))
        await repo.insert_comments(conn, self.stage, self.site_id, self.system, records,
                                   keep_addresses=self.options.keep_personal_data)
        await repo.count_articles(conn, [c for c in counts if c[1]])
        await repo.count_replies(conn, anchor_replies)
        await repo.queue_scoring(conn, scoring, IMPORTED_SCORING_PRIORITY)
        return list(by_article)

    async def _authors(self, conn: Connection, rows: list[Any]) -> dict[int, tuple[int, bool]]:
        """Each row's author (by the row's seq) as a user id, and whether that is one of the site's SSO
        users: by the subject staged with the row or, when the operator asked, by email; otherwise the
        imported author of the row's key. Users are made where missing."""
        keep = self.options.keep_personal_data
        by_email: dict[str, str] = {}
        if self.options.match_users == "email":
            emails = list({r["author_email"] for r in rows if r["author_email"] and r["author_sub"] is None})
            by_email = await repo.sso_subjects_by_email(conn, self.site_id, emails) if emails else {}
        subjects = {r["seq"]: r["author_sub"] or by_email.get(r["author_email"] or "") for r in rows}
        sso: dict[str, tuple[str, str | None]] = {}
        imported: dict[str, tuple[str, str | None]] = {}
        for r in rows:
            sub = subjects[r["seq"]]
            if sub is not None:
                sso.setdefault(sub, (r["author_name"], r["author_email"] if keep else None))
            else:
                imported.setdefault(r["author_key"], (r["author_name"], r["author_email"] if keep else None))
        sso_ids = await repo.ensure_users(conn, self.site_id, "sso", sso)
        imported_ids = await repo.ensure_users(conn, self.site_id, "imported", imported)
        return {r["seq"]: (sso_ids[sub], True) if (sub := subjects[r["seq"]]) is not None
                else (imported_ids[r["author_key"]], False) for r in rows}


# status -> status_reason: held and rejected imports say they were decided at their source
_REASONS: dict[str, str] = {"held": IMPORTED, "rejected": IMPORTED}


def _has_nul(*values: str | None) -> bool:
    return any(v is not None and "\x00" in v for v in values)


def _no_nul(value: str | None) -> str | None:
    return value.replace("\x00", "\ufffd") if value is not None else None


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
