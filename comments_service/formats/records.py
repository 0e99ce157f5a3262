"""What a source file's reader yields: the records of one import, in file order.

Readers know their format and nothing of ours: they yield a thread before the comments that name
it, keep the source's own ids as text, and say where in the file each record was found (``position``:
"line 1234", "record 17", "row 5"), so that every line of the import's report can be traced back to
the file. A record a reader cannot use is yielded as ``Skipped`` with its reason; a file it cannot
go on reading raises ``SourceFileError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from ..domain.structs import Struct

# The moderation state a comment had in its source. The import maps it onto ours: "approved" is
# published, "pending" held and "spam" rejected unless the operator chooses otherwise, "trash"
# rejected, "deleted" a tombstone when replies hang under it (and skipped otherwise).
SourceState = Literal["approved", "pending", "spam", "trash", "deleted"]
# Our own statuses as a source state: what this service's exports (native, and WXR's commentmeta)
# bring back; a rejected comment comes back rejected whatever --spam says.
OUR_STATES: dict[str, SourceState] = {"published": "approved", "held": "pending", "pending_scoring": "pending",
                                      "rejected": "trash", "deleted": "deleted"}
# "html": sanitised and rendered as text; "markdown": kept as our source, rendered as a new
# comment is; "text": plain text, shown as written.
BodyFormat = Literal["html", "markdown", "text"]


class SourceFileError(Exception):
    """The file cannot be read on: malformed, truncated, a refused XML construct, a wrong format."""

    def __init__(self, message: str, position: str | None = None) -> None:
        super().__init__(f"{position}: {message}" if position else message)
        self.message = message
        self.position = position


class SourceAuthor(Struct, frozen=True):
    name: str  # as the source shows it; may be empty (the import names such authors)
    email: str | None = None
    # the source's account id or user name, where it has one (Disqus username, Remark42 user id)
    username: str | None = None
    url: str | None = None
    ip: str | None = None
    anonymous: bool = False
    # only our own format: the author is the site's SSO user with this subject
    sso_subject: str | None = None


class SourceThread(Struct, frozen=True):
    source_id: str  # the thread's id in the source: comments name their thread by it
    position: str
    identifier: str | None = None  # the site's own id for the article, where the source kept one
    url: str | None = None
    title: str | None = None
    closed: bool = False
    created_at: datetime | None = None


class SourceComment(Struct, frozen=True):
    source_id: str
    thread_id: str  # a SourceThread.source_id yielded before
    position: str
    author: SourceAuthor
    body: str
    body_format: BodyFormat
    created_at: datetime  # timezone-aware
    state: SourceState = "approved"
    parent_id: str | None = None  # a SourceComment.source_id, before or after this one in the file


class Skipped(Struct, frozen=True):
    """A record the reader could not use; the import goes on and reports it."""

    position: str
    # a short, stable name the report counts by: "invalid_date", "pingback", "no_body", ...
    reason: str
    detail: str = ""


class Known(Struct, frozen=True):
    """A comment the import said it already has (a reader given ``known`` yields this instead of
    building the comment): a run again over the same file spends its time reading, nothing more."""


KNOWN = Known()

# which source ids the import already has: a reader that can tell a comment's id before reading
# the rest of it takes one, and yields KNOWN for each such comment
KnownIds = Callable[[str], bool]

Record = SourceThread | SourceComment | Skipped | Known
