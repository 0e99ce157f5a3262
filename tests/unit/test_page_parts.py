"""A cached page's two parts join into exactly the bytes of the whole page, and only oldest-first
pages with a next page can be marked as lasting across appends."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from comments_service.domain import page_parts
from comments_service.domain.models import Article, Author, CommentView, ThreadPage

encoder = msgspec.json.Encoder()
WHEN = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


def view(i: int, text: str) -> CommentView:
    return CommentView(id=i, parent_id=None, depth=0, author=Author(id=i, name=text[:10] or "x"),
                       body_html=f"<p>{text}</p>", status="published", created_at=WHEN)


pages = st.builds(
    lambda title, count, exists, sort, texts, cursor: ThreadPage(
        article=Article(id="a-1", title=title, url="https://news.example/a", comments_open=True, premoderation=False,
                        comment_count=count, exists=exists),
        sort=sort, comments=[view(i, t) for i, t in enumerate(texts)], next_cursor=cursor),
    st.text(max_size=40), st.integers(0, 10**6), st.booleans(), st.sampled_from(["oldest", "newest", "top"]),
    st.lists(st.text(max_size=30), max_size=5), st.none() | st.text(min_size=1, max_size=20))


@given(pages, st.booleans())
def test_the_parts_join_into_the_whole_pages_bytes(page, lasting):
    parts = page_parts.split(page, encoder, lasting=lasting, version=7)
    assert page_parts.join(parts.header.body, parts.tail) == encoder.encode(page)
    assert parts.header == page_parts.Header(body=encoder.encode(page.article), version=7)
    # only an oldest-first page with a next page can be beyond the reach of appends
    assert parts.lasting == (lasting and page.sort == "oldest" and page.next_cursor is not None)


def test_a_page_with_a_readers_own_pending_comments_is_never_lasting():
    page = ThreadPage(article=Article(id="a", title="", url="", comments_open=True, premoderation=False,
                                      comment_count=1), sort="oldest", comments=[], next_cursor="c",
                      own_pending=[view(1, "mine")])
    assert not page_parts.split(page, encoder, lasting=True, version=1).lasting
