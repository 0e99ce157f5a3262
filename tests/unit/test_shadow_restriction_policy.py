"""Shadow restriction in the pure parts: the policy holds only where the site offers it, the site
setting is validated, and what the author is told is the truth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comments_service.domain.models import CommentRow
from comments_service.domain.outcomes import explain_own_comment
from comments_service.domain.policy import PolicyConfig, PolicyContext, decide
from comments_service.domain.thread import own_view
from comments_service.services.comments import outcome_message
from comments_service.services.sites import settings_problem

CLEAN = {"toxicity": 0.05, "severe_toxicity": 0.0, "obscene": 0.01, "threat": 0.01, "insult": 0.02,
         "identity_attack": 0.01}
ON = PolicyConfig.from_site_settings({"moderation": {"shadow_restriction": True}})
RESTRICTED = PolicyContext(user_shadow_restricted=True)


def test_the_option_is_off_by_default_and_read_from_the_moderation_settings():
    assert PolicyConfig().shadow_restriction is False
    assert ON.shadow_restriction is True
    assert settings_problem({"moderation": {"shadow_restriction": True}}) is None
    assert "shadow_restriction: expected true or false" in (
        settings_problem({"moderation": {"shadow_restriction": "yes"}}) or "")


def test_a_restricted_authors_comment_is_held_only_where_the_site_offers_it():
    d = decide(CLEAN, "A civil remark.", RESTRICTED, ON)
    assert (d.outcome, d.reason) == ("held", "shadow_restricted")
    # trusted authors too: the restriction is a moderator's word about this very reader
    trusted = PolicyContext(user_shadow_restricted=True, user_trusted=True)
    assert decide(CLEAN, "A civil remark.", trusted, ON).reason == "shadow_restricted"
    # a site that stopped offering it judges the comment as any other
    assert decide(CLEAN, "A civil remark.", RESTRICTED, PolicyConfig()).outcome == "published"


def test_rejections_still_come_first():
    d = decide({**CLEAN, "toxicity": 0.99}, "A remark.", RESTRICTED, ON)
    assert (d.outcome, d.reason) == ("rejected", "toxicity_reject")
    banned = PolicyContext(user_shadow_restricted=True, user_banned=True)
    assert decide(CLEAN, "A remark.", banned, ON).reason == "banned_user"


@pytest.mark.parametrize("status, reason, restricted", [
    ("held", "shadow_restricted", True), ("held", "toxicity_hold", False), ("published", "ok", False),
    ("pending_scoring", None, False)])
def test_the_author_view_marks_only_a_shadow_restricted_hold(status, reason, restricted):
    row = CommentRow(id=1, article_id=1, parent_id=None, root_id=None, depth=0, path=[1], author_id=2,
                     author_name="Ann", body_markdown="x", body_html="<p>x</p>", status=status,
                     status_reason=reason, reply_count=0, score=0, upvotes=0, downvotes=0,
                     created_at=datetime.now(UTC), edited_at=None, deleted_at=None)
    assert own_view(row).restricted is restricted


def test_the_author_is_never_told_it_is_published_and_is_told_the_truth_when_they_ask():
    message = outcome_message("held", "shadow_restricted")
    assert message == "Your comment is posted."
    assert "publish" not in message and "see" not in message
    state, _, explanation = explain_own_comment("held", "shadow_restricted")
    assert state == "awaiting_moderation" and "shown to you alone" in explanation
