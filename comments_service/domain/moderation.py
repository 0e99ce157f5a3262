"""Moderation rules without I/O: reason codes, what a decision does to a comment, article
auto-close, who may write what. The queue's cursor is in domain/cursor.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

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
    policy.BANNED_USER: "The author is banned",
    policy.SPAM_LINK: "A link the site's link rules refuse or hold (denied domain, shortener, IP address, "
                      "too many links, or a new account's link)",
    policy.COPY_CAMPAIGN: "Nearly the same text as other authors' recent comments (a copy-paste campaign)",
    policy.SURGE_PREMODERATION: "A new account's comment while many new accounts flood the article",
    policy.SHADOW_RESTRICTED: "The author is shadow-restricted: their comments are shown to them alone",
    policy.LANGUAGE_UNSCORED: "Written in a language no toxicity model here reads (the site's languages rule)",
}
APPROVED_REASON = "moderator_approved"
BANNED_USER_REASON = policy.BANNED_USER

DEFAULT_REPORT_THRESHOLD = 1


def awaiting(status: str, open_reports: int) -> bool:
    """Whether a comment sits in a queue waiting for a moderator."""
    return status in ("held", "pending_scoring") or (status == "published" and open_reports > 0)


def target_status(action: str) -> str:
    return "published" if action == "approve" else "rejected"


def report_threshold(site_settings: Mapping[str, Any]) -> int:
    value = site_settings.get("report_threshold", DEFAULT_REPORT_THRESHOLD)
    return value if isinstance(value, int) and value >= 1 else DEFAULT_REPORT_THRESHOLD


def auto_close_days(site_settings: Mapping[str, Any]) -> int | None:
    value = site_settings.get("auto_close_days")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def closes_at(auto_close: bool, created_at: datetime, site_settings: Mapping[str, Any],
              close_at: datetime | None = None) -> datetime | None:
    """When an article's comments close by themselves: the date a moderator set (``close_at``) or
    the site's auto-close age (unless a moderator reopened the article), whichever comes first.
    None: neither applies."""
    days = auto_close_days(site_settings)
    if days is None or not auto_close:
        return close_at
    aged = created_at + timedelta(days=days)
    return aged if close_at is None or aged < close_at else close_at


def is_open(comments_open: bool, auto_close: bool, created_at: datetime, site_settings: Mapping[str, Any],
            now: datetime, close_at: datetime | None = None) -> bool:
    """An article takes comments when open and not yet at its closing time (closes_at)."""
    if not comments_open:
        return False
    closing = closes_at(auto_close, created_at, site_settings, close_at)
    return closing is None or now < closing


# ------------------------------------------------------------------ who may write what
WriteAction = Literal["post", "edit", "delete", "vote", "report"]
# Who counts for votes and reports: "anyone" with an identity, "established" readers (signed in
# through the site's SSO, or guests with a comment published at least ``established_after_minutes``
# ago), or "sso" readers only. A guest costs one post to make, so on the default a throwaway
# guest's vote or report counts for nothing, and a guest minted now counts only after a while.
Standing = Literal["anyone", "established", "sso"]
STANDINGS: tuple[Standing, ...] = ("anyone", "established", "sso")
DEFAULT_STANDING: Standing = "established"
DEFAULT_ESTABLISHED_AFTER_MINUTES = 60
# A closed article keeps what was said: no new words or votes, but readers may still take their
# own comments down and flag abuse for the moderators.
_CLOSED_ARTICLE_BLOCKS = frozenset({"post", "edit", "vote"})


def required_standing(site_settings: Mapping[str, Any], action: WriteAction) -> Standing:
    """The standing a site asks of readers who vote (``votes_from``) or report (``reports_from``)."""
    value = site_settings.get("votes_from" if action == "vote" else "reports_from", DEFAULT_STANDING)
    return next((standing for standing in STANDINGS if standing == value), DEFAULT_STANDING)


def established_after_minutes(site_settings: Mapping[str, Any]) -> int:
    value = site_settings.get("established_after_minutes", DEFAULT_ESTABLISHED_AFTER_MINUTES)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_ESTABLISHED_AFTER_MINUTES


def banned_may_delete(site_settings: Mapping[str, Any]) -> bool:
    """Whether a banned reader may still delete their own comments (``banned_may_delete``, default
    true: taking one's words down harms no one)."""
    return site_settings.get("banned_may_delete", True) is not False


def write_refusal(action: WriteAction, *, banned: bool, article_open: bool | None,
                  site_settings: Mapping[str, Any]) -> str | None:
    """The error code that refuses a reader's write, or None. ``article_open``: None when the write
    concerns no article yet. Standing is checked apart (it needs the reader's history)."""
    if banned and (action != "delete" or not banned_may_delete(site_settings)):
        return "user_banned"
    if article_open is False and action in _CLOSED_ARTICLE_BLOCKS:
        return "article_closed"
    return None
