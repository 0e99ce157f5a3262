"""The sentence that tells a demo author what decided their comment: one for every reason the
policy gives, the scorer named as the worker stored it."""

from comments_service.domain import policy
from comments_service.domain.judged_by import judged_by
from comments_service.services.scoring import SCORING_FAILED

FALLBACK_ID = "profanity-check-1.9.1 (fallback)"


def test_every_policy_reason_has_its_own_words():
    for reason in (*policy.REASONS, SCORING_FAILED):
        said = judged_by("held", reason, FALLBACK_ID, {"model_fallback": True})
        assert "matched the site's rule" not in said and "{" not in said, (reason, said)


def test_the_scorer_is_named_as_the_worker_stored_it():
    assert "offline fallback" in judged_by("published", "ok", FALLBACK_ID, {"model_fallback": True})
    model = judged_by("published", "ok", "onnx-int8-detoxify-original@abc", None)
    assert "toxicity model onnx-int8-detoxify-original@abc" in model and "fallback" not in model
    assert "word lists alone" in judged_by("published", "ok", "none (no model available)", {"model_fallback": True})
    assert "Not judged yet" in judged_by("pending_scoring", None, None, None)
    assert "scoring is off" in judged_by("published", None, None, None)


def test_the_matched_word_is_quoted_whatever_it_holds():
    said = judged_by("held", "suspect_word", FALLBACK_ID, {"model_fallback": True, "term": "{label}"})
    assert "\u201c{label}\u201d" in said
    assert "insult score" in judged_by("held", "toxicity_hold", "m", {"label": "insult"})


def test_an_imported_decision_says_it_was_made_at_the_source():
    # held or rejected by the import (status_reason "imported"), never scored here
    for status in ("held", "rejected"):
        assert judged_by(status, "imported", None, None) == ("Imported from another comment system, with the "
                                                             "decision made there.")
    assert judged_by("held", None, None, None) == "Decided by a moderator."


def test_a_comment_in_a_language_the_model_was_not_trained_for_is_told_what_its_scores_could_do():
    """The configured model scores such a comment all the same (workers/scoring.py): its scores may
    hold it for a moderator, never reject it (domain/policy.py). Nothing may say no model looked."""
    from comments_service import i18n

    detail = {"language": "ru", "language_confidence": 0.93, "language_unscored": True}
    published = judged_by("published", policy.OK, "onnx-int8-detoxify-original@abc", detail)
    assert published == ("Your comment is in a language our toxicity model was not trained for, so the model's "
                         "scores could hold it for a moderator but never reject it. Decided by the site's word "
                         "lists, its link rules and those scores: nothing in it was flagged.")
    held = judged_by("held", policy.TOXICITY_HOLD, "m", {**detail, "label": "insult"})
    assert "never reject it" in held and "insult score is over the site's limit" in held
    for locale in i18n.LOCALES[1:]:
        said = judged_by("published", policy.OK, "m", detail, i18n.translator(locale))
        assert said != published and "{" not in said, locale
    assert "не обучена" in judged_by("published", policy.OK, "m", detail, i18n.translator("ru"))
    # where the site holds such languages for a moderator, that is what decided it, not a score
    ruled = judged_by("held", policy.LANGUAGE_UNSCORED, "m", detail)
    assert "was not trained for" in ruled and "a moderator read every comment" in ruled and "score" not in ruled
