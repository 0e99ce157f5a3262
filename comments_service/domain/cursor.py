"""Opaque keyset cursors: the sort key of the last item seen, never an offset."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import msgspec

from .models import SortOrder

# A cursor comes back from the client: every number in it must fit the column it is compared with
# (comments.id bigint, comments.score integer) and a time key must be a datetime Python can hold.
INT64_MAX = 2**63 - 1
_INT32 = (-(2**31), 2**31 - 1)


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
    return _EPOCH + timedelta(microseconds=value)


MIN_MICROS = micros(datetime.min.replace(tzinfo=timezone.utc))
MAX_MICROS = micros(datetime.max.replace(tzinfo=timezone.utc))


def decode_id(token: str) -> int:
    """A plain id cursor (the audit log's, the problem reports'): ASCII digits within int64. Not
    ``isdigit()`` alone, which admits "²", a digit that int() refuses."""
    if not (token.isascii() and token.isdigit()) or int(token) > INT64_MAX:
        raise CursorError("malformed cursor")
    return int(token)


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
    low, high = _INT32 if cursor.kind == "top" else (MIN_MICROS, MAX_MICROS)
    if not (low <= cursor.key <= high and 0 <= cursor.id <= INT64_MAX):
        raise CursorError("cursor out of range")
    return cursor
