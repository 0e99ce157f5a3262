"""Assemble flat comment rows into the nested tree a thread page shows."""

from __future__ import annotations

from collections.abc import Iterable

from . import cursor as cursors
from .models import Author, AuthorCommentView, CommentRow, CommentView
from .policy import SHADOW_RESTRICTED

TOMBSTONE_HTML = ""


def to_view(row: CommentRow) -> CommentView:
    """A comment as readers see it; deleted comments keep their place but lose body and author."""
    if row.status == "deleted":
        return CommentView(
            id=row.id, parent_id=row.parent_id, depth=row.depth, author=None, body_html=TOMBSTONE_HTML,
            status="deleted", created_at=row.created_at, reply_count=row.reply_count, deleted=True,
        )
    return CommentView(
        id=row.id, parent_id=row.parent_id, depth=row.depth,
        author=Author(id=row.author_id, name=row.author_name), body_html=row.body_html,
        status=row.status, created_at=row.created_at, edited_at=row.edited_at, score=row.score,
        upvotes=row.upvotes, downvotes=row.downvotes, reply_count=row.reply_count,
    )


def own_view(row: CommentRow) -> AuthorCommentView:
    """A comment as its author sees it (only ever sent to them)."""
    view = to_view(row)
    return AuthorCommentView(**{f: getattr(view, f) for f in view.__struct_fields__},
                             restricted=row.status == "held" and row.status_reason == SHADOW_RESTRICTED)


def replies_cursor(last: CommentView) -> str:
    return cursors.encode(cursors.ThreadCursor(kind="replies", key=cursors.micros(last.created_at), id=last.id))


def assemble(roots: Iterable[CommentRow], replies: Iterable[CommentRow]) -> list[CommentView]:
    """Nest ``replies`` under ``roots`` (already in page order).

    Replies arrive in any order, at most N per parent, oldest first within a parent once sorted.
    A reply whose parent is not present (cut by the per-parent limit) is dropped: the widget
    reaches it through its parent's replies cursor. Where a node shows fewer replies than it has,
    it carries a cursor to fetch the rest.
    """
    nodes: dict[int, CommentView] = {}
    top: list[CommentView] = []
    for row in roots:
        view = to_view(row)
        nodes[row.id] = view
        top.append(view)
    ordered = sorted(replies, key=lambda r: (r.depth, r.created_at, r.id))
    for row in ordered:
        parent = nodes.get(row.parent_id) if row.parent_id is not None else None
        if parent is None:
            continue
        view = to_view(row)
        nodes[row.id] = view
        parent.replies.append(view)
    for view in nodes.values():
        if view.reply_count > len(view.replies):
            view.replies_cursor = replies_cursor(view.replies[-1]) if view.replies else ""
    return top
