"""What an import did, counted by reason, with the first few places in the file for each reason (a
file with a million bad records must not make a million-line report)."""

from __future__ import annotations

from typing import Literal

from msgspec import field

from .structs import Struct

EXAMPLES_PER_REASON = 20
SLOW_WRITES_AT = 100_000  # imported comments from which the report says how writes could go faster


class Example(Struct, frozen=True):
    position: str
    detail: str = ""


class Reasons(Struct):
    """Counts by reason, and where the first ones were."""

    counts: dict[str, int] = {}
    examples: dict[str, list[Example]] = {}

    def add(self, reason: str, position: str, detail: str = "") -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(Example(position=position, detail=detail[:300]))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class ArticleCounts(Struct):
    read: int = 0  # threads in the file
    created: int = 0  # articles the import made
    existing: int = 0  # threads that went to articles the site already had
    merged: int = 0  # threads that went to an article another thread of the file named first
    other_host: int = 0  # threads whose URL was on a host other than the site's
    by_url_fallback: int = 0  # threads without an identifier, named by their URL's path
    skipped: Reasons = field(default_factory=Reasons)


class CommentCounts(Struct):
    read: int = 0
    imported: int = 0
    already_imported: int = 0  # imported by an earlier run: left as they are
    skipped: Reasons = field(default_factory=Reasons)
    changed: Reasons = field(default_factory=Reasons)  # imported with a change: made top-level, flattened
    flattened: int = 0
    orphaned: int = 0  # replies whose parent was not there: shown at the top of their thread
    tombstoned: int = 0  # deleted comments kept for the replies under them
    by_status: dict[str, int] = {}
    matched_users: int = 0  # comments given to one of the site's SSO users


class ImportReport(Struct):
    site: str
    format: str
    file: str
    dry_run: bool
    bytes_read: int = 0
    articles: ArticleCounts = field(default_factory=ArticleCounts)
    comments: CommentCounts = field(default_factory=CommentCounts)
    elapsed_s: float = 0.0
    comments_per_s: float = 0.0
    cache_retired: bool = True  # False: Redis was not reached, cached pages expire on their own
    # "per batch": the import vouched for each batch's references (db/imports.check_references_per_batch);
    # "per row": the foreign keys' triggers checked each row, as its database role allowed no other way
    references_checked: Literal["per batch", "per row"] = "per row"
    error: str | None = None  # the file could not be read on: nothing was imported

    def lines(self) -> list[str]:
        """The report as an operator reads it at the end of the command."""
        a, c = self.articles, self.comments
        mode = " (dry run: nothing written)" if self.dry_run else ""
        out = [f"import of {self.file} ({self.format}) into site {self.site}{mode}"]
        if self.error:
            out.append(f"  stopped: {self.error}; nothing was imported")
        out.append(f"  articles: {a.read} read, {a.created} new, {a.existing} existing, {a.merged} merged, "
                   f"{a.skipped.total} skipped, {a.other_host} on another host, "
                   f"{a.by_url_fallback} named by URL for lack of an identifier")
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(c.by_status.items())) or "none"
        out.append(f"  comments: {c.read} read, {c.imported} imported ({statuses}), {c.already_imported} already "
                   f"imported, {c.skipped.total} skipped")
        out.append(f"  threads: {c.orphaned} made top-level, {c.flattened} flattened, {c.tombstoned} tombstones, "
                   f"{c.matched_users} by the site's SSO users")
        for title, reasons in (("articles skipped", a.skipped), ("comments skipped", c.skipped),
                               ("comments changed", c.changed)):
            for reason, n in sorted(reasons.counts.items()):
                where = ", ".join(e.position for e in reasons.examples.get(reason, [])[:5])
                out.append(f"  {title}: {reason}: {n} (first at {where})")
        out.append(f"  {self.elapsed_s:.1f} s, {self.comments_per_s:,.0f} comments/s, {self.bytes_read:,} bytes")
        if not self.dry_run and self.references_checked == "per row" and c.imported >= SLOW_WRITES_AT:
            out.append("  each row's references were checked by its foreign keys' triggers; an import writes about "
                       "1.5-2x as fast when its database role may skip them "
                       "(GRANT SET ON PARAMETER session_replication_role TO the service's role)")
        if not self.cache_retired:
            out.append("  Redis was not reached: cached pages of these articles expire on their own")
        return out
