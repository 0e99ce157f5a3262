"""The articles list's and thread's cursors, and when an article's comments close by themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from comments_service.domain import moderation as rules
from comments_service.domain.article_models import (
    ListCursor,
    ThreadPosition,
    decode_list,
    decode_thread,
    encode,
)
from comments_service.domain.cursor import CursorError

NOW = datetime(2030, 1, 10, tzinfo=UTC)
CREATED = datetime(2030, 1, 1, tzinfo=UTC)


def test_cursors_round_trip_and_refuse_what_they_were_not_made_for():
    token = encode(ListCursor(sort="held", key=12, id=7))
    assert decode_list(token, "held") == ListCursor(sort="held", key=12, id=7)
    with pytest.raises(CursorError):
        decode_list(token, "activity")
    position = ThreadPosition(root_key=1_000_000, root_id=5, path=[5, 9])
    assert decode_thread(encode(position)) == position
    for bad in ("", "!!", "bm90IGpzb24",  # "not json"
                encode(ListCursor(sort="held", key=-1, id=1)), encode(ListCursor(sort="held", key=1, id=-1)),
                encode(ListCursor(sort="held", key=2**31, id=1))):
        with pytest.raises(CursorError):
            decode_list(bad, "held")
    for bad in ("", "!!", token, encode(ThreadPosition(root_key=0, root_id=1, path=[])),
                encode(ThreadPosition(root_key=0, root_id=1, path=[2**63])),
                encode(ThreadPosition(root_key=0, root_id=1, path=[1] * 65))):
        with pytest.raises(CursorError):
            decode_thread(bad)

def test_a_closing_date_and_the_sites_auto_close_the_earlier_wins():
    days = {"auto_close_days": 30}
    soon = CREATED + timedelta(days=5)
    late = CREATED + timedelta(days=60)
    assert rules.closes_at(True, CREATED, {}, None) is None
    assert rules.closes_at(True, CREATED, {}, soon) == soon
    assert rules.closes_at(True, CREATED, days, soon) == soon
    assert rules.closes_at(True, CREATED, days, late) == CREATED + timedelta(days=30)
    # reopened by a moderator: the site's age no longer applies, a date still does
    assert rules.closes_at(False, CREATED, days, late) == late
    assert rules.is_open(True, True, CREATED, {}, NOW, soon) is False
    assert rules.is_open(True, True, CREATED, {}, NOW, late) is True
    assert rules.is_open(False, True, CREATED, {}, NOW, late) is False
    assert rules.is_open(True, True, CREATED, {}, NOW) is True
