"""What a webhook receiver is sent: one JSON object per event, a stable schema.

Every delivery's body is a ``WebhookEvent``: ``type`` says what happened, ``data`` carries that
type's fields and repeats the type as its own ``type`` tag (a tagged union: a receiver can decode
``data`` alone). New fields may be added to a type; none is renamed or removed, and a new type is
only sent to endpoints that subscribe to it. ``webhook.test`` is what an admin's "send a test
event" sends and cannot be subscribed to.

Pure: no I/O. The service fills these from the outbox event (migrations/0014) and what it names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .structs import Struct

# the outbox's kinds (migrations/0014), the event types an endpoint may subscribe to
EVENT_TYPES: tuple[str, ...] = ("comment.published", "comment.held", "comment.rejected", "report.created",
                                "problem_report.created", "moderation.decision")
TEST_EVENT = "webhook.test"

CommentStatus = Literal["published", "held", "rejected"]


class _Data(Struct, frozen=True, tag_field="type"):
    """The base of every event's data: ``type`` is the tag (the event's type)."""


class _CommentData(_Data, frozen=True):
    comment_id: int
    article_id: Annotated[str, Meta(description="The site's own id of the article.")]
    parent_id: Annotated[int | None, Meta(description="The comment replied to; null for a top-level comment.")]
    status: CommentStatus
    author_name: str
    body_html: Annotated[str, Meta(description="The comment as readers see it: sanitised HTML.")]
    url: Annotated[str, Meta(description="The comment on its article's page: the article url + #comment-<id>.")]


class CommentPublished(_CommentData, frozen=True, tag="comment.published"):
    """A comment became visible to readers (posted, or approved by a moderator)."""


class CommentHeld(_CommentData, frozen=True, tag="comment.held"):
    """A comment waits for a moderator."""


class CommentRejected(_CommentData, frozen=True, tag="comment.rejected"):
    """A comment was rejected (by a moderator or the site's policy)."""


class ReportCreated(_Data, frozen=True, tag="report.created"):
    """A reader reported a comment."""

    report_id: int
    comment_id: int
    reason: Annotated[str, Meta(description="offensive, spam, off_topic or other.")]


class ProblemReportCreated(_Data, frozen=True, tag="problem_report.created"):
    """A reader sent a problem report from the troubleshooter."""

    reference: Annotated[str, Meta(description="What the reader quotes to the site.")]
    article_id: Annotated[str | None, Meta(description="The site's own id of the article, when one was named.")]


class ModerationDecision(_Data, frozen=True, tag="moderation.decision"):
    """A moderator's decision, as the audit log records it: on a comment (approve, reject, undo) or a
    reader (ban, suspend, unban, trust, untrust, premoderate, unpremoderate, shadow_restrict,
    lift_shadow_restriction; migrations/0017 and 0022)."""

    action: Annotated[str, Meta(description="approve, reject, ban, ... (the audit log's action).")]
    comment_id: int | None
    user_id: int | None
    before: Annotated[str | None, Meta(description="The comment's status before, for a decision on a comment.")]
    after: Annotated[str | None, Meta(description="The comment's status after, for a decision on a comment.")]


class WebhookTest(_Data, frozen=True, tag="webhook.test"):
    """Sent when an admin asks for a test event; nothing happened."""

    message: str


EventData = (CommentPublished | CommentHeld | CommentRejected | ReportCreated | ProblemReportCreated
             | ModerationDecision | WebhookTest)


class WebhookEvent(Struct, frozen=True):
    """The body of every webhook delivery."""

    id: Annotated[str, Meta(description=(
        "The event's id, the same for every endpoint it goes to. The webhook-id header is the "
        "delivery's id (stable across retries): dedupe by that."))]
    type: Annotated[str, Meta(description="comment.published, comment.held, comment.rejected, report.created, "
                                          "problem_report.created, moderation.decision or webhook.test.")]
    site: Annotated[str, Meta(description="The site's id.")]
    created_at: datetime
    data: EventData


def comment_url(article_url: str, comment_id: int) -> str:
    return f"{article_url}#comment-{comment_id}"


def event_id(outbox_id: int) -> str:
    return f"evt_{outbox_id}"


def make_event(*, id: str, site_id: str, created_at: datetime, data: EventData) -> WebhookEvent:
    return WebhookEvent(id=id, type=_tag(data), site=site_id, created_at=created_at, data=data)


def comment_data(kind: str, *, comment_id: int, article_id: str, parent_id: int | None, author_name: str,
                 body_html: str, article_url: str) -> EventData:
    """The data of a comment.* event (``kind``, which names the status it reached)."""
    cls: type[CommentPublished] | type[CommentHeld] | type[CommentRejected]
    status: CommentStatus
    if kind == "comment.published":
        cls, status = CommentPublished, "published"
    elif kind == "comment.held":
        cls, status = CommentHeld, "held"
    elif kind == "comment.rejected":
        cls, status = CommentRejected, "rejected"
    else:
        raise ValueError(f"not a comment event: {kind}")
    return cls(comment_id=comment_id, article_id=article_id, parent_id=parent_id, status=status,
               author_name=author_name, body_html=body_html, url=comment_url(article_url, comment_id))


def _tag(data: EventData) -> str:
    tag = type(data).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def encode(event: WebhookEvent) -> bytes:
    """The bytes a receiver gets (and that are signed)."""
    return msgspec.json.encode(event)


def from_stored(payload: object) -> WebhookEvent:
    """An event as a delivery's payload (JSON) holds it; msgspec.ValidationError when it does not fit."""
    return msgspec.convert(payload, WebhookEvent)


def examples(site_id: str = "example-site") -> list[WebhookEvent]:
    """One event of every type, as documentation (GET /api/v1/moderation/webhooks/events/schema)."""
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    article = "https://news.example/2026/01/budget"

    def comment(kind: str, comment_id: int) -> EventData:
        return comment_data(kind, comment_id=comment_id, article_id="budget-2026", parent_id=None,
                            author_name="Ann", body_html="<p>Who pays for it?</p>", article_url=article)

    data: list[EventData] = [
        comment("comment.published", 101),
        comment("comment.held", 102),
        comment("comment.rejected", 103),
        ReportCreated(report_id=7, comment_id=101, reason="spam"),
        ProblemReportCreated(reference="PR-7K3M9Q", article_id="budget-2026"),
        ModerationDecision(action="approve", comment_id=102, user_id=None, before="held", after="published"),
        WebhookTest(message="A test event sent from the moderator console."),
    ]
    return [make_event(id=event_id(n), site_id=site_id, created_at=at, data=d) for n, d in enumerate(data, 1)]
