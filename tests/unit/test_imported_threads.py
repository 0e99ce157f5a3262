"""The shape imported comments take: parents found in any order, orphans and loops at the top, depth
flattened to the deepest level, deleted comments kept only above replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from comments_service.domain.imported_threads import Anchor, StagedComment, plan_article

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def staged(source: str, parent: str | None = None, status: str = "published", minute: int = 0,
           seq: int = 0) -> StagedComment:
    return StagedComment(seq=seq, source_id=source, parent_source=parent, status=status,  # type: ignore[arg-type]
                         created_at=T0 + timedelta(minutes=minute), position=f"line {seq}")


def shape(plan, rows) -> dict[str, str | None]:
    """source id -> parent source id, as planned."""
    by_id = {entry.id: rows[entry.staged].source_id for entry in plan.comments}
    return {rows[e.staged].source_id: by_id.get(e.parent_id) if e.parent_id else None for e in plan.comments}


def test_a_reply_before_its_parent_in_the_file_still_hangs_under_it() -> None:
    rows = [staged("b", "a", seq=0), staged("a", None, seq=1), staged("c", "b", seq=2)]
    plan = plan_article(rows, 1, {}, list(range(100, 200)), max_depth=6)
    assert shape(plan, rows) == {"a": None, "b": "a", "c": "b"}
    order = [rows[e.staged].source_id for e in plan.comments]
    assert order.index("a") < order.index("b") < order.index("c")  # parents are inserted first
    a = next(e for e in plan.comments if rows[e.staged].source_id == "a")
    c = next(e for e in plan.comments if rows[e.staged].source_id == "c")
    assert c.path[0] == a.id and len(c.path) == 3
    assert a.reply_count == 1 and plan.published == 3


def test_a_missing_parent_makes_the_reply_top_level_with_a_note() -> None:
    rows = [staged("a"), staged("b", "nowhere", seq=1)]
    plan = plan_article(rows, 1, {}, list(range(1, 10)), max_depth=6)
    assert shape(plan, rows) == {"a": None, "b": None}
    assert plan.orphaned == 1 and [n.reason for n in plan.notes] == ["parent_missing"]


def test_a_parent_in_another_thread_is_not_followed() -> None:
    rows = [staged("b", "x")]
    anchors = {"x": Anchor(id=7, article_id=2, path=[7], status="published")}
    plan = plan_article(rows, 1, anchors, [50], max_depth=6)
    assert plan.comments[0].parent_id is None and plan.notes[0].reason == "parent_in_other_thread"


def test_a_stored_parent_of_the_same_thread_takes_the_reply_and_counts_it() -> None:
    rows = [staged("b", "x")]
    anchors = {"x": Anchor(id=7, article_id=1, path=[3, 7], status="published")}
    plan = plan_article(rows, 1, anchors, [50], max_depth=6)
    assert plan.comments[0].parent_id == 7 and plan.comments[0].path == [3, 7, 50]
    assert plan.anchor_replies == {7: 1}


def test_ten_levels_are_flattened_to_the_deepest_never_dropped() -> None:
    rows = [staged(f"c{i}", f"c{i - 1}" if i else None, seq=i) for i in range(10)]
    plan = plan_article(rows, 1, {}, list(range(1, 20)), max_depth=6)
    assert len(plan.comments) == 10
    depths = {rows[e.staged].source_id: len(e.path) - 1 for e in plan.comments}
    assert [depths[f"c{i}"] for i in range(10)] == [0, 1, 2, 3, 4, 5, 6, 6, 6, 6]
    assert plan.flattened == 3
    # c7..c9 join c6's level: all three hang under c5
    c5 = next(e for e in plan.comments if rows[e.staged].source_id == "c5")
    assert all(e.parent_id == c5.id for e in plan.comments if rows[e.staged].source_id in ("c7", "c8", "c9"))


def test_a_loop_is_broken_at_the_top() -> None:
    rows = [staged("a", "b"), staged("b", "a", seq=1)]
    plan = plan_article(rows, 1, {}, [1, 2], max_depth=6)
    assert len(plan.comments) == 2 and plan.orphaned == 1
    assert sorted(v is None for v in shape(plan, rows).values()) == [False, True]


def test_deleted_comments_stay_only_as_tombstones_above_replies() -> None:
    rows = [staged("a", status="deleted"), staged("b", "a", seq=1), staged("c", status="deleted", seq=2),
            staged("d", status="deleted", seq=3), staged("e", "d", status="deleted", seq=4)]
    plan = plan_article(rows, 1, {}, list(range(1, 10)), max_depth=6)
    assert set(shape(plan, rows)) == {"a", "b"}
    assert plan.tombstoned == 1
    assert sorted(n.reason for n in plan.skipped) == ["deleted_without_replies"] * 3
    assert plan.comments[0].reply_count == 1  # the tombstone shows: a published reply hangs under it


def test_a_source_id_twice_keeps_the_first() -> None:
    rows = [staged("a", seq=0), staged("a", seq=1)]
    plan = plan_article(rows, 1, {}, [1, 2], max_depth=6)
    assert len(plan.comments) == 1 and plan.skipped[0].reason == "duplicate_source_id"


def test_held_replies_are_not_counted_and_the_newest_published_root_is_kept() -> None:
    rows = [staged("a", minute=1), staged("b", minute=5, seq=1), staged("c", "a", status="held", seq=2),
            staged("d", minute=9, status="rejected", seq=3)]
    plan = plan_article(rows, 1, {}, list(range(1, 10)), max_depth=6)
    assert plan.published == 2 and plan.last_root_at == T0 + timedelta(minutes=5)
    assert all(e.reply_count == 0 for e in plan.comments)
