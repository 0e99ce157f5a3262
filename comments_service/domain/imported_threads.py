"""The shape an article's imported comments take: parents resolved, depth kept within ours, deleted
comments kept only where replies hang under them.

Sources are not trees we can trust: a reply may come before its parent in the file, name a parent
that is not in it (or is in another thread), or close a loop. Each comment ends up under the
parent it names when that parent is here, at the top of the thread otherwise, and never deeper than
``max_depth``: a reply below the deepest level joins its parent's level (flattened, never dropped).
Pure: no storage, so that a dry run plans exactly what a real run writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from .structs import Struct

# how the import maps a source's states onto ours (the operator chooses for "pending" and "spam")
Status = Literal["published", "held", "rejected", "deleted", "pending_scoring"]


class StagedComment(Struct, frozen=True):
    """One comment read from the file, as the plan needs it."""

    seq: int  # its place in the file: the first of two with one source id is kept
    source_id: str
    parent_source: str | None
    status: Status
    created_at: datetime
    position: str


class Anchor(Struct, frozen=True):
    """A comment already stored that a new one may hang under."""

    id: int
    article_id: int
    path: list[int]
    status: str


class Planned(Struct):
    """A comment to insert: ``staged`` is its index in the article's staged list."""

    staged: int
    id: int = 0
    parent_id: int | None = None
    path: list[int] = []
    reply_count: int = 0


class Note(Struct, frozen=True):
    """A line of the report: what happened to one comment and why."""

    position: str
    reason: str
    detail: str = ""


class ArticlePlan(Struct):
    comments: list[Planned]  # parents before children
    published: int = 0
    last_root_at: datetime | None = None  # the newest published top-level comment
    anchor_replies: dict[int, int] = {}  # stored comment id -> published replies added under it
    skipped: list[Note] = []  # not inserted
    notes: list[Note] = []  # inserted, with a change: made top-level, flattened
    flattened: int = 0
    orphaned: int = 0
    tombstoned: int = 0


def plan_article(staged: Sequence[StagedComment], article_id: int, anchors: dict[str, Anchor], ids: list[int],
                 *, max_depth: int) -> ArticlePlan:
    """``staged``: the article's new comments in file order; ``anchors``: the stored comments their
    parents may be, by source id; ``ids``: at least as many fresh comment ids as there are staged
    comments (the first ones are used, in parent-before-child order)."""
    plan = ArticlePlan(comments=[])
    index: dict[str, int] = {}
    keep = [True] * len(staged)
    for i, row in enumerate(staged):
        if row.source_id in index:
            keep[i] = False
            plan.skipped.append(Note(position=row.position, reason="duplicate_source_id",
                                     detail=f"source id {row.source_id} was read before"))
        else:
            index[row.source_id] = i

    # parent: an index into staged, an anchor, or None (top level)
    parent: list[int | None] = [None] * len(staged)
    anchor_of: dict[int, Anchor] = {}
    for i, row in enumerate(staged):
        if not keep[i] or row.parent_source is None:
            continue
        p = index.get(row.parent_source)
        if p is not None and p != i:
            parent[i] = p
            continue
        anchor = anchors.get(row.parent_source)
        if anchor is not None and anchor.article_id == article_id:
            anchor_of[i] = anchor
            continue
        reason = "parent_in_other_thread" if anchor is not None else "parent_missing"
        plan.notes.append(Note(position=row.position, reason=reason,
                               detail=f"parent {row.parent_source} not in this thread: shown at the top"))
        plan.orphaned += 1
    _break_cycles(staged, parent, plan)

    children: list[list[int]] = [[] for _ in staged]
    roots: list[int] = []
    for i in range(len(staged)):
        if not keep[i]:
            continue
        p = parent[i]
        if p is None:
            roots.append(i)
        else:
            children[p].append(i)

    order = _parents_first(roots, children)
    # a deleted comment stays (as a tombstone) only where a reply that stays hangs under it
    for i in reversed(order):
        if staged[i].status == "deleted" and not any(keep[c] for c in children[i]):
            keep[i] = False
            plan.skipped.append(Note(position=staged[i].position, reason="deleted_without_replies"))

    planned: dict[int, Planned] = {}
    next_id = iter(ids)
    for i in order:
        if not keep[i]:
            continue
        row = staged[i]
        entry = Planned(staged=i, id=next(next_id))
        p = parent[i]
        above: list[int] = []
        if p is not None:
            above = planned[p].path
        elif i in anchor_of:
            above = anchor_of[i].path
        if len(above) > max_depth:
            above = above[:max_depth]
            plan.flattened += 1
            plan.notes.append(Note(position=row.position, reason="flattened",
                                   detail=f"deeper than {max_depth} levels: shown at the deepest level"))
        entry.path = [*above, entry.id]
        entry.parent_id = above[-1] if above else None
        planned[i] = entry
        plan.comments.append(entry)
        if row.status == "deleted":
            plan.tombstoned += 1
        if row.status != "published":
            continue
        plan.published += 1
        if entry.parent_id is None and (plan.last_root_at is None or row.created_at > plan.last_root_at):
            plan.last_root_at = row.created_at
    # published direct replies, counted under the parent each comment ended up with
    by_id = {entry.id: entry for entry in plan.comments}
    for entry in plan.comments:
        if entry.parent_id is None or staged[entry.staged].status != "published":
            continue
        target = by_id.get(entry.parent_id)
        if target is not None:
            target.reply_count += 1
        else:
            plan.anchor_replies[entry.parent_id] = plan.anchor_replies.get(entry.parent_id, 0) + 1
    return plan


def _break_cycles(staged: Sequence[StagedComment], parent: list[int | None], plan: ArticlePlan) -> None:
    """Comments whose parents lead back to themselves: the first of each loop met goes to the top."""
    state = [0] * len(staged)  # 0 unseen, 1 on the current walk, 2 done
    for start in range(len(staged)):
        walk: list[int] = []
        i: int | None = start
        while i is not None and state[i] == 0:
            state[i] = 1
            walk.append(i)
            i = parent[i]
        if i is not None and state[i] == 1:
            plan.notes.append(Note(position=staged[i].position, reason="parent_cycle",
                                   detail="its parents lead back to it: shown at the top"))
            plan.orphaned += 1
            parent[i] = None
        for j in walk:
            state[j] = 2


def _parents_first(roots: list[int], children: list[list[int]]) -> list[int]:
    order: list[int] = []
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children[i]))
    return order
