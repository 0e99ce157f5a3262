"""What a reader may be told about their own comment: a coarse state and category, never the
scores, thresholds, word lists or moderator notes behind it."""

from __future__ import annotations

from .policy import (
    CONTENT_REASONS,
    COPY_CAMPAIGN,
    LANGUAGE_UNSCORED,
    SHADOW_RESTRICTED,
    SPAM_LINK,
    SURGE_PREMODERATION,
)

# What an author is told of a held comment, by reason. Which sites, how many links, how similar,
# how many authors and what makes an account new are the site's business; a shadow restriction
# hides nothing from its author when asked (SECURITY.md, "Shadow restriction").
_HELD = {
    SPAM_LINK: "Awaiting moderation: comments with links from new accounts, or to some sites, wait for a "
               "moderator. Until then only you can see it.",
    COPY_CAMPAIGN: "Awaiting moderation: other accounts posted nearly the same text, so a moderator checks it is "
                   "not a copy-paste campaign. Until then only you can see it.",
    SURGE_PREMODERATION: "Awaiting moderation: this article is getting an unusual number of comments from new "
                         "accounts, so for now a moderator reviews those first. Until then only you can see it.",
    SHADOW_RESTRICTED: "Restricted: a moderator limited this account, so its comments are shown to you alone "
                       "until a moderator approves them.",
    LANGUAGE_UNSCORED: "Awaiting moderation: our automatic check does not read the language it is written in, so "
                       "a moderator reads it first. Until then only you can see it.",
}
_HELD_DEFAULT = "Awaiting moderation: a moderator will review it. Until then only you can see it."


def explain_own_comment(status: str, reason: str | None) -> tuple[str, str, str]:
    """(state, category, explanation) of the reader's own comment; coarse on purpose."""
    reason = reason or ""
    if status == "published":
        return "published", "published", "Published: everyone can see it."
    if status == "pending_scoring":
        return "being_checked", "being_checked", "Being checked: it usually appears within a few seconds."
    if status == "held":
        return "awaiting_moderation", "awaiting_moderation", _HELD.get(reason, _HELD_DEFAULT)
    if status == "rejected":
        if "spam" in reason.lower():
            return "not_published", "rejected_spam", "Not published: it looked like spam or advertising."
        if reason in CONTENT_REASONS:
            return ("not_published", "rejected_language",
                    "Not published: its language breaks the community guidelines. You can post a reworded comment.")
        return "not_published", "rejected_guidelines", "Not published: it breaks the community guidelines."
    if reason == "deleted_by_author":
        return "deleted", "deleted_by_you", "Deleted by you."
    return "deleted", "removed", "Removed by a moderator."
