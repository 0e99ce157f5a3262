"""Opaque keyset cursors: the sort key of the last item seen, never an offset. One codec for every
paged list.

A thread cursor (a thread page or a comment's replies) and a moderation queue cursor are Structs
encoded as a JSON array, then as unpadded URL-safe base64. The audit log and the problem reports
page by a plain id. Clients hold cursors, so their encoding must not change.

A cursor comes back from the client: every number in it must fit the column it is compared with
(comments.id bigint, comments.score integer) and a time key must be a datetime Python can hold, so
each decoder checks the ranges before a cursor reaches a query.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec

from .structs import Struct

INT64_MAX = 2**63 - 1
_INT32 = (-(2**31), 2**31 - 1)


class CursorError(ValueError):
    """A cursor that is malformed, out of range, or made for another list or order."""


class ThreadCursor(Struct, array_like=True, frozen=True):
    kind: str  # "oldest" | "newest" | "top" | "replies"
    key: int  # created_at in microseconds since the epoch, or the score for "top"
    id: int


class QueueCursor(Struct, array_like=True, frozen=True):
    state: str  # the queue: "held" | "reported" | "approved" | "rejected"
    sort: str  # "oldest" | "score"
    key: float  # created_at in microseconds since the epoch ("oldest"), or the highest score
    id: int


_T = TypeVar("_T", bound=msgspec.Struct)
_encoder = msgspec.json.Encoder()
_thread_decoder = msgspec.json.Decoder(ThreadCursor)
_queue_decoder = msgspec.json.Decoder(QueueCursor)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


MIN_MICROS = micros(datetime.min.replace(tzinfo=UTC))
MAX_MICROS = micros(datetime.max.replace(tzinfo=UTC))


def encode(cursor: msgspec.Struct) -> str:
    """Any cursor Struct (array_like) as an opaque token: its JSON array in unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).decode().rstrip("=")


def decode(token: str, decoder: msgspec.json.Decoder[_T]) -> _T:
    """The cursor a token of ``encode`` holds, in the shape ``decoder`` reads; its ranges are the
    caller's to check."""
    try:
        return decoder.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, msgspec.DecodeError) as exc:
        raise CursorError("malformed cursor") from exc


def decode_thread(token: str, kind: str) -> ThreadCursor:
    """A thread page's cursor (``kind``: the page's sort) or a comment's replies cursor
    (``kind`` "replies")."""
    cursor = decode(token, _thread_decoder)
    if cursor.kind != kind:
        raise CursorError(f"cursor is for {cursor.kind!r}, not {kind!r}")
    low, high = _INT32 if cursor.kind == "top" else (MIN_MICROS, MAX_MICROS)
    if not (low <= cursor.key <= high and 0 <= cursor.id <= INT64_MAX):
        raise CursorError("cursor out of range")
    return cursor


def decode_queue(token: str, state: str, sort: str) -> QueueCursor:
    """A moderation queue's cursor, for the queue ``state`` in the order ``sort``."""
    cursor = decode(token, _queue_decoder)
    if (cursor.state, cursor.sort) != (state, sort):
        raise CursorError(f"cursor is for {cursor.state}/{cursor.sort}, not {state}/{sort}")
    if not 0 <= cursor.id <= INT64_MAX or (sort == "oldest" and not MIN_MICROS <= cursor.key <= MAX_MICROS):
        raise CursorError("cursor out of range")
    return cursor


def decode_id(token: str) -> int:
    """A plain id cursor (the audit log's, the problem reports'): ASCII digits within int64. Not
    ``isdigit()`` alone, which admits "²", a digit that int() refuses."""
    if not (token.isascii() and token.isdigit()) or int(token) > INT64_MAX:
        raise CursorError("malformed cursor")
    return int(token)
