"""Edits, deletions and removals reach an article's live readers (Server-Sent Events, against real
server processes): the new text as every reader sees it, never text that is not published."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.servers import ServiceProcess
from tests.support.sites import article_body, make_site
from tests.support.tokens import staff_token


@pytest.fixture(scope="module")
def server(storage, database) -> Iterator[str]:
    with ServiceProcess(storage.env()) as running:
        yield running.url


@pytest.fixture(scope="module")
def scoring_server(storage, database) -> Iterator[str]:
    # scoring on and no worker: an edited comment goes back to scoring and stays there
    with ServiceProcess(storage.env(COMMENTS_SCORING="on", COMMENTS_DECISION_WAIT_MS="50")) as running:
        yield running.url


def data_events(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line[5:])


def post(http: httpx.Client, site, article: str, text: str, token: str) -> dict:
    response = http.post(f"/api/v1/articles/{article}/comments", params=site.q(), json=article_body(text),
                         headers=site.auth(token))
    assert response.status_code == 201, response.text
    return response.json()


async def test_edits_deletions_and_removals_reach_open_streams(server, services, db):
    site = await make_site(services, db)
    author = site.sso_token(sub="live-author", name="Author")
    moderator = {"Authorization": f"Bearer {await staff_token(db, 'moderator', site.id)}"}
    with httpx.Client(base_url=server, timeout=10) as http, \
            http.stream("GET", "/api/v1/articles/live-edit/events", params=site.q()) as response:
        stream = data_events(response)
        assert next(stream) == {"type": "ready"}
        first = post(http, site, "live-edit", "First *take*", author)["comment"]
        second = post(http, site, "live-edit", "Second take", author)["comment"]
        assert [next(stream)["type"] for _ in range(2)] == ["comment.published"] * 2

        edited = http.patch(f"/api/v1/comments/{first['id']}", params=site.q(), json={"body": "Better **take**"},
                            headers=site.auth(author))
        assert edited.status_code == 200, edited.text
        event = next(stream)
        assert event["type"] == "comment.edited" and event["comment_id"] == first["id"]
        assert event["comment"]["body_html"] == "<p>Better <strong>take</strong></p>"
        assert event["comment"]["edited_at"] and event["comment"]["author"]["name"] == "Author"
        assert "body_markdown" not in json.dumps(event) and "**" not in json.dumps(event)

        deleted = http.delete(f"/api/v1/comments/{first['id']}", params=site.q(), headers=site.auth(author))
        assert deleted.status_code == 204
        assert next(stream) == {"type": "comment.deleted", "comment_id": first["id"], "parent_id": None}

        removed = http.post(f"/api/v1/moderation/comments/{second['id']}/decision", params=site.q(),
                            json={"action": "reject", "reason": "spam", "override": True}, headers=moderator)
        assert removed.status_code == 200, removed.text
        assert next(stream) == {"type": "comment.removed", "comment_id": second["id"], "parent_id": None}


async def test_an_edit_sent_back_to_scoring_hides_the_comment_without_its_new_text(scoring_server, services, db):
    site = await make_site(services, db)
    author = site.sso_token(sub="live-rescored", name="Author")
    with httpx.Client(base_url=scoring_server, timeout=10) as http:
        posted = post(http, site, "live-rescore", "Civil words", author)["comment"]
        # published by the scorer (arranged directly: no worker runs here)
        await db.execute("UPDATE comments SET status = 'published' WHERE id = $1", posted["id"])
        with http.stream("GET", "/api/v1/articles/live-rescore/events", params=site.q()) as response:
            stream = data_events(response)
            assert next(stream) == {"type": "ready"}
            edited = http.patch(f"/api/v1/comments/{posted['id']}", params=site.q(),
                                json={"body": "Words nobody has checked yet"}, headers=site.auth(author))
            assert edited.status_code == 200 and edited.json()["status"] == "pending_scoring", edited.text
            event = next(stream)
            assert event == {"type": "comment.edited", "comment_id": posted["id"], "parent_id": None}
