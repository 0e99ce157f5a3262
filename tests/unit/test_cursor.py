from datetime import datetime, timezone

import pytest

from comments_service.domain import cursor as cursors


def test_round_trip_keeps_microseconds():
    moment = datetime(2026, 11, 27, 8, 55, 34, 123456, tzinfo=timezone.utc)
    token = cursors.encode(cursors.Cursor("oldest", cursors.micros(moment), 42))
    decoded = cursors.decode(token, "oldest")
    assert cursors.from_micros(decoded.key) == moment and decoded.id == 42


@pytest.mark.parametrize("token", ["", "not-base64!!", "e30", "WyJvbGRlc3QiXQ"])
def test_malformed_cursors_are_refused(token):
    with pytest.raises(cursors.CursorError):
        cursors.decode(token, "oldest")


def test_a_cursor_for_another_sort_is_refused():
    token = cursors.encode(cursors.Cursor("top", 5, 1))
    with pytest.raises(cursors.CursorError):
        cursors.decode(token, "newest")
