import base64
import json
from datetime import UTC, datetime

import pytest

from comments_service.domain import cursor as cursors


def test_round_trip_keeps_microseconds():
    moment = datetime(2026, 11, 27, 8, 55, 34, 123456, tzinfo=UTC)
    token = cursors.encode(cursors.ThreadCursor(kind="oldest", key=cursors.micros(moment), id=42))
    decoded = cursors.decode_thread(token, "oldest")
    assert cursors.from_micros(decoded.key) == moment and decoded.id == 42


@pytest.mark.parametrize("token", ["", "not-base64!!", "e30", "WyJvbGRlc3QiXQ"])
def test_malformed_cursors_are_refused(token):
    with pytest.raises(cursors.CursorError):
        cursors.decode_thread(token, "oldest")


def test_a_cursor_for_another_sort_is_refused():
    token = cursors.encode(cursors.ThreadCursor(kind="top", key=5, id=1))
    with pytest.raises(cursors.CursorError):
        cursors.decode_thread(token, "newest")


def _token(*fields) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(fields)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("kind, key, id_", [
    ("oldest", cursors.MAX_MICROS + 1, 1), ("newest", cursors.MIN_MICROS - 1, 1), ("replies", 10**40, 1),
    ("top", 2**31, 1), ("top", -(2**31) - 1, 1), ("oldest", 0, 2**63), ("oldest", 0, -1), ("top", 0, 10**30),
])
def test_numbers_beyond_their_columns_are_refused(kind, key, id_):
    with pytest.raises(cursors.CursorError):
        cursors.decode_thread(_token(kind, key, id_), kind)


@pytest.mark.parametrize("kind, key", [("oldest", cursors.MIN_MICROS), ("newest", cursors.MAX_MICROS),
                                       ("top", 2**31 - 1), ("top", -(2**31)), ("replies", -1)])
def test_keys_at_the_edges_decode_to_a_datetime(kind, key):
    decoded = cursors.decode_thread(_token(kind, key, 2**63 - 1), kind)
    if kind != "top":
        assert cursors.micros(cursors.from_micros(decoded.key)) == key
