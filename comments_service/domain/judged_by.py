"""What decided a comment, in words its author can read. Pure.

Shown only on sites whose settings say ``explain_decisions`` (the demo site does), so that someone
trying the service sees in their first minute whether the toxicity model, the offline fallback or
a rule of the site published or held their comment, and why. Real sites keep their answers coarse
(domain/outcomes.py): the scorer and the matched word are not every site's business to tell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import policy

# the model id a worker stores when even the offline fallback could not load (toxicity/loader.py)
NO_MODEL_PREFIX = "none"
# the reason of a held or rejected comment an import brought in (services/importer.py)
IMPORTED = "imported"
# a job whose scoring failed max_attempts times (services/scoring.py SCORING_FAILED)
_SCORING_FAILED = "scoring_failed"

# ``tr(msgid, **params)``: the caller's translation (comments_service/i18n.py); English by default
Translate = Callable[..., str]


def english(msgid: str, **params: Any) -> str:
    return msgid.format(**params) if params else msgid


_WHY: dict[str, str] = {
    policy.OK: "nothing in it was flagged",
    policy.MODERATOR: "its author is a moderator",
    policy.TRUSTED_USER: "the site trusts its author",
    policy.BANNED_WORD: "it contains a banned word or phrase{term}",
    policy.SUSPECT_WORD: "it contains a word or phrase on the site's watch list{term}, so a moderator will look",
    policy.TOXICITY_REJECT: "its {label} score is far over the site's limit",
    policy.TOXICITY_HOLD: "its {label} score is over the site's limit, so a moderator will look",
    policy.PREMODERATION: "every comment on this article waits for a moderator",
    policy.USER_PREMODERATED: "a moderator reviews its author's comments first",
    policy.USER_RECENT_REJECTIONS: "its author had comments rejected recently, so a moderator will look",
    policy.NEW_ACCOUNT: "a new account's first comments wait for a moderator",
    policy.GUEST_PREMODERATED: "guests' comments wait for a moderator on this site",
    policy.MODEL_UNAVAILABLE: "without a toxicity model this site holds every comment for a moderator",
    policy.BANNED_USER: "its author is banned",
    policy.WORD_LISTS_UNCHECKED: "it could not be checked against the site's word lists in time, so a moderator"
                                 " will look",
    policy.SPAM_LINK: "it has a link{term} that the site's link rules refuse, or hold for a moderator",
    policy.COPY_CAMPAIGN: "other accounts posted nearly the same text just before, so a moderator will look",
    policy.SURGE_PREMODERATION: "many new accounts are commenting on this article at once, so comments from new "
                                "accounts wait for a moderator for now",
    policy.SHADOW_RESTRICTED: "a moderator restricted its author's comments: only its author sees them",
    policy.LANGUAGE_UNSCORED: "the site has a moderator read comments in languages its toxicity model does not read",
    _SCORING_FAILED: "scoring it failed again and again, so a moderator will look",
}
# a reason this table does not know yet
_OTHER_RULE = "it matched the site's rule {reason}"


def scorer_name(model_id: str, model_fallback: bool, tr: Translate = english) -> str:
    """The scorer a worker used, as its ``model_id`` and the fallback flag it stored describe it."""
    if model_id.startswith(NO_MODEL_PREFIX):
        return tr("the word lists alone (neither a toxicity model nor the offline fallback could be loaded)")
    if model_fallback:
        return tr("the offline fallback scorer, profanity-check with the word lists "
                  "(no toxicity model could be loaded)")
    return tr("the toxicity model {model_id}", model_id=model_id)


def judged_by(status: str, reason: str | None, model_id: str | None,
              detail: Mapping[str, Any] | None, tr: Translate = english) -> str:
    """One sentence: what decided the comment (status, status_reason, toxicity_model and
    decision_detail as stored) and why, in the language ``tr`` translates to."""
    if status == "pending_scoring":
        return tr("Not judged yet: it waits for the scoring worker.")
    if reason == IMPORTED:
        return tr("Imported from another comment system, with the decision made there.")
    if model_id is None:
        if status == "published" and reason is None:
            return tr("Published without scoring: scoring is off on this service.")
        return tr("Decided by a moderator.")
    detail = detail or {}
    term, label = detail.get("term"), detail.get("label")
    why = tr(_WHY.get(reason or "", _OTHER_RULE),
             term=f" (\u201c{term}\u201d)" if term else "", label=label or "toxicity", reason=reason)
    if detail.get("language_unscored"):
        if reason == policy.LANGUAGE_UNSCORED:  # the site's languages.other "hold": held before any score counts
            return tr("Your comment is in a language our toxicity model was not trained for, and this site has a "
                      "moderator read every comment in such a language first.")
        # no model here reads its language (domain/policy LanguageRules), yet the configured model
        # scored it all the same: those scores may hold it (rule 8), never reject it (rule 3 skipped)
        return tr("Your comment is in a language our toxicity model was not trained for, so the model's scores "
                  "could hold it for a moderator but never reject it. Decided by the site's word lists, its link "
                  "rules and those scores: {why}.", why=why)
    scorer = scorer_name(model_id, bool(detail.get("model_fallback")), tr)
    return tr("Decided by {scorer}: {why}.", scorer=scorer, why=why)
