"""The moderation queues' notifications (migrations/0010_moderation_notify.sql sends them at commit)
and moderators' presence, both over PostgreSQL NOTIFY: the channels, their payloads, and the few
reads that turn a notification into what a console shows (the decider's name: db/audit.py)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ..domain.structs import Struct
from .connection import Connection

QUEUE_CHANNEL = "moderation_queue"
PRESENCE_CHANNEL = "moderation_presence"


class QueueChange(Struct, frozen=True):
    """One row's change as the trigger reports it (short names: the payload travels to every
    listening process)."""

    s: str  # site
    c: int  # comment id
    n: str  # status after
    a: int | None = None  # article (row id)
    o: str | None = None  # status before; None for an insert
    ro: int = 0  # open reports before
    r: int = 0  # open reports after
    by: str | None = None  # the moderator whose decision this change is
    at: datetime | None = None


class PresenceNote(Struct, frozen=True):
    """A staff member looks at a comment (``c``) of site ``s``, or at nothing (``c`` None; ``s``
    None: on any site)."""

    i: str  # staff id
    n: str  # staff name
    s: str | None = None
    c: int | None = None


_queue_change = msgspec.json.Decoder(QueueChange)
_presence_note = msgspec.json.Decoder(PresenceNote)
_encoder = msgspec.json.Encoder()

SITE_OF = "SELECT site_id FROM comments WHERE id = $1"
EXTERNAL_ID = "SELECT external_id FROM articles WHERE id = $1"


def queue_change(payload: str) -> QueueChange | None:
    try:
        return _queue_change.decode(payload)
    except msgspec.DecodeError:
        return None


def presence_note(payload: str) -> PresenceNote | None:
    try:
        return _presence_note.decode(payload)
    except msgspec.DecodeError:
        return None


async def site_of(conn: Connection, comment_id: int) -> str | None:
    return await conn.fetchval(SITE_OF, comment_id)


async def external_id(conn: Connection, article_id: int) -> str | None:
    """The site's own id of an article: what a console knows it by."""
    return await conn.fetchval(EXTERNAL_ID, article_id)


async def notify_presence(conn: Connection, note: PresenceNote) -> None:
    await conn.execute("SELECT pg_notify($1, $2)", PRESENCE_CHANNEL, _encoder.encode(note).decode())
