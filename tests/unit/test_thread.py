from datetime import UTC, datetime, timedelta

from comments_service.domain.models import CommentRow
from comments_service.domain.thread import assemble

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def row(id, parent=None, depth=0, status="published", replies=0, minute=0):
    return CommentRow(id=id, article_id=1, parent_id=parent, root_id=None, depth=depth, path=[], author_id=id,
                      author_name=f"u{id}", body_markdown="b", body_html="<p>b</p>", status=status,
                      status_reason=None, reply_count=replies, score=0, upvotes=0, downvotes=0,
                      created_at=T0 + timedelta(minutes=minute), edited_at=None, deleted_at=None)


def test_replies_nest_under_their_parents_oldest_first():
    roots = [row(1, replies=2), row(2)]
    replies = [row(4, parent=1, depth=1, minute=5), row(3, parent=1, depth=1, replies=1, minute=3),
               row(5, parent=3, depth=2, minute=6)]
    tree = assemble(roots, replies)
    assert [c.id for c in tree] == [1, 2]
    assert [c.id for c in tree[0].replies] == [3, 4]
    assert [c.id for c in tree[0].replies[0].replies] == [5]
    assert tree[0].replies_cursor is None


def test_a_cut_reply_list_carries_a_cursor_and_orphans_are_dropped():
    roots = [row(1, replies=7)]
    replies = [row(2, parent=1, depth=1, minute=1), row(9, parent=8, depth=2)]
    tree = assemble(roots, replies)
    assert [c.id for c in tree[0].replies] == [2]
    assert tree[0].replies_cursor


def test_a_comment_with_unloaded_replies_has_an_empty_cursor_meaning_from_the_start():
    tree = assemble([row(1, replies=3)], [])
    assert tree[0].replies_cursor == ""


def test_deleted_comments_become_tombstones_without_author_or_body():
    tree = assemble([row(1, status="deleted", replies=1)], [row(2, parent=1, depth=1)])
    tomb = tree[0]
    assert tomb.deleted and tomb.author is None and tomb.body_html == ""
    assert [c.id for c in tomb.replies] == [2]
