"""Moderation rules without I/O: reason codes, what a decision does to a comment, queue cursors,
article auto-close."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from . import policy

QueueState = Literal["held", "reported", "approved", "rejected"]
QueueSort = Literal["oldest", "score"]
DecisionAction = Literal["approve", "reject", "undo"]

# Why a moderator rejects a comment (stored as the comment's status_reason and in the audit log).
REJECT_REASONS: dict[str, str] = {
    "offensive": "Offensive or abusive",
    "harassment": "Harassment or personal attack",
    "hate": "Hate speech",
    "spam": "Spam or advertising",
    "off_topic": "Off topic",
    "personal_information": "Shares personal information",
    "misinformation": "Misleading or false",
    "illegal": "Illegal content",
    "other": "Other (see note)",
}
# What readers may flag a comment for.
REPORT_REASONS: dict[str, str] = {
    "offensive": "Offensive or abusive",
    "spam": "Spam",
    "off_topic": "Off topic",
    "other": "Something else",
}
# Why the model or the policy held or rejected a comment (domain.policy's codes).
HOLD_REASONS: dict[str, str] = {
    policy.BANNED_WORD: "Contains a banned word or phrase",
    policy.SUSPECT_WORD: "Contains a suspect word or phrase",
    policy.TOXICITY_REJECT: "Model score above the reject threshold",
    policy.TOXICITY_HOLD: "Model score above the hold threshold",
    policy.PREMODERATION: "The article is premoderated",
    policy.USER_PREMODERATED: "The author is on premoderation",
    policy.USER_RECENT_REJECTIONS: "The author had several comments rejected recently",
    policy.NEW_ACCOUNT: "One of a new account's first comments",
    policy.GUEST_PREMODERATED: "Guest comments are premoderated on this site",
    policy.MODEL_UNAVAILABLE: "The toxicity model was unavailable",
}
APPROVED_REASON = "moderator_approved"
BANNED_USER_REASON = "banned_user"

DEFAULT_REPORT_THRESHOLD = 1


def awaiting(status: str, open_reports: int) -> bool:
    """Whether a comment sits in a queue waiting for a moderator."""
    return status in ("held", "pending_scoring") or (status == "published" and open_reports > 0)


def target_status(action: str) -> str:
    return "published" if action == "approve" else "rejected"


def report_threshold(site_settings: dict) -> int:
    value = site_settings.get("report_threshold", DEFAULT_REPORT_THRESHOLD)
    return value if isinstance(value, int) and value >= 1 else DEFAULT_REPORT_THRESHOLD


def auto_close_days(site_settings: dict) -> int | None:
    value = site_settings.get("auto_close_days")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def is_open(comments_open: bool, auto_close: bool, created_at: datetime, site_settings: dict,
            now: datetime) -> bool:
    """An article takes comments when open and, unless a moderator reopened it, younger than the
    site's auto-close age."""
    if not comments_open:
        return False
    days = auto_close_days(site_settings)
    if days is None or not auto_close:
        return True
    return now - created_at < timedelta(days=days)


class QueueCursor(msgspec.Struct, array_like=True, frozen=True):
    state: str
    sort: str
    key: float  # created_at in microseconds, or the score
    id: int


class CursorError(ValueError):
    pass


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(QueueCursor)


def encode_cursor(cursor: QueueCursor) -> str:
    return base64.urlsafe_b64encode(_enc.encode(cursor)).decode().rstrip("=")


def decode_cursor(token: str, state: str, sort: str) -> QueueCursor:
    try:
        cursor = _dec.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, msgspec.DecodeError) as exc:
        raise CursorError("malformed cursor") from exc
    if (cursor.state, cursor.sort) != (state, sort):
        raise CursorError(f"cursor is for {cursor.state}/{cursor.sort}, not {state}/{sort}")
    return cursor
