"""A thread page as the cache keeps it: the article header and the rest of the page (the tail).

The two parts age differently. Every published comment changes the header (the article's count),
but a new top-level comment at the end of the thread (an append: the common case on a story that
is breaking) cannot change an oldest-first page that ends well before the end: it lands after that
page's last comment. Such tails are "lasting": the cache keeps them across appends and refills
only the header (cache.py). Every other change retires both.

Why that is sound. Each article keeps last_root_at, the newest created_at of its top-level
comments ever published; it only grows (moved by db/comments.INSERT or, on a later status change,
by the trigger of migrations/0005_counts_at_commit.sql). A publication is an append when its comment
is no older than last_root_at minus a window W, last_root_at read by or after the statement that
published it (db/articles.is_append); a page is lasting when it has a next page and its last
comment is older than last_root_at minus W, with last_root_at read in the same snapshot as the page
(db/articles.is_lasting). Any append R committed after that snapshot is judged against a
last_root_at at least as new, so R >= last_root_at - W > the page's last comment: R sorts after
the page, whose comments and next cursor stay as they were. (Removals need no care here: they are
not appends, and retire every tail.) W covers posts that commit in a different order from their
created_at; a comment that sorts further back is simply not an append.

Headers carry the article row's version (every change to the row increments it), so that a process
can tell which of two headers is newer: the writer of an append hands its header to the cache with
the invalidation, and no reader of the hot page waits for a refill (local_cache.py).

The parts are cut from msgspec's encoding of the whole ThreadPage (``article`` is its first field),
so joining them gives exactly the bytes that encoding the page gives.
"""

from __future__ import annotations

import msgspec

from .models import ThreadPage
from .structs import Struct

_OPEN = b'{"article":'


class Header(Struct, frozen=True):
    body: bytes  # the encoded Article
    version: int  # the article row's version it was read at (0: no such article)


class PageParts(Struct, frozen=True):
    header: Header
    tail: bytes  # the encoded page after the article and its comma
    lasting: bool  # an append cannot change the tail (see the module's docstring)


def split(page: ThreadPage, encoder: msgspec.json.Encoder, *, lasting: bool, version: int) -> PageParts:
    """The cacheable parts of a page that has no reader-specific fields (``own_pending``).
    ``lasting``: what db/articles.is_lasting said of the page's last comment; ``version``: the
    article row's version read with the page."""
    body = encoder.encode(page)
    header = encoder.encode(page.article)
    cut = len(_OPEN) + len(header)
    if body[:cut] != _OPEN + header or body[cut:cut + 1] != b",":
        raise ValueError("ThreadPage must encode its article first")  # a field moved: fix _OPEN
    lasting = lasting and page.sort == "oldest" and page.next_cursor is not None and not page.own_pending
    return PageParts(header=Header(body=header, version=version), tail=body[cut + 1:], lasting=lasting)


def join(header: bytes, tail: bytes) -> bytes:
    return b"".join((_OPEN, header, b",", tail))
