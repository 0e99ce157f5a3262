"""Opaque keyset cursors: the sort key of the last item seen, never an offset."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import msgspec

from .models import SortOrder


class CursorError(ValueError):
    pass


class Cursor(msgspec.Struct, array_like=True, frozen=True):
    kind: str  # "oldest" | "newest" | "top" | "replies"
    key: int  # created_at in microseconds since the epoch, or the score for "top"
    id: int


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Cursor)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, tz=timezone.utc).replace(microsecond=value % 1_000_000)


def encode(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(cursor)).decode().rstrip("=")


def decode(token: str, expected_kind: SortOrder | str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = _decoder.decode(raw)
    except (ValueError, msgspec.DecodeError) as exc:
        raise CursorError("malformed cursor") from exc
    if cursor.kind != expected_kind:
        raise CursorError(f"cursor is for {cursor.kind!r}, not {expected_kind!r}")
    return cursor
