"""Every msgid the service sends, read from where the English is defined: the error catalogue's
reader-facing rows, the outcome and judged-by tables, and the literal first argument of each
``tr(...)`` / ``translate(...)`` / ``N_(...)`` call in the modules that compose messages (readers'
emails and the pages their links open among them), and the reason codes' words a statement of
reasons shows its author. ``scripts/extract_messages``
writes them to ``locales/messages.pot``; tests/unit/test_i18n_catalogues.py keeps every locale in step.

Apart from i18n.py so that the modules it reads may import i18n without a cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from .domain import judged_by, moderation, outcomes, policy
from .errors import CATALOGUE
from .i18n import STAFF_CODES
from .services import comments, troubleshoot

PACKAGE = Path(__file__).resolve().parent
# modules whose ``tr("...")`` / ``translate("...")`` calls carry literal msgids
MARKED = ("services/troubleshoot.py", "domain/judged_by.py", "api/troubleshoot.py", "api/problems.py",
          "services/comments.py", "domain/notification_mail.py", "api/notifications.py", "services/dsa.py",
          "domain/dsa_models.py")
# calls whose literal first argument is a msgid: translating ones, and N_ (gettext's mark for a msgid
# defined in one place and translated where it is sent)
_MARKERS = ("tr", "translate", "N_")


def marked(paths: Iterable[Path]) -> list[str]:
    found: list[str] = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if name in _MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


def source_messages() -> list[str]:
    """Every msgid the service emits, in a stable order, without repeats."""
    found: list[str] = []
    for code, info in CATALOGUE.items():
        if code not in STAFF_CODES:
            found += [info.message, info.help]
    # every reason a comment can carry, and those the outcome table names
    reasons = [None, "spam", "deleted_by_author",
               *(v for k, v in vars(policy).items() if k.isupper() and isinstance(v, str)),
               *outcomes._HELD]
    for status in ("published", "pending_scoring", "held", "rejected", "deleted"):
        for reason in reasons:
            found.append(outcomes.explain_own_comment(status, reason)[2])
    found += [*comments._OUTCOME_MESSAGES.values(), comments._RESTRICTED_MESSAGE]
    found += [policy.NUDGE_MESSAGE, policy.NUDGE_REJECT_MESSAGE]
    found += [*judged_by._WHY.values(), judged_by._OTHER_RULE]
    found += [*troubleshoot.CLIENT_CHECK_KEYS.values(), *(title for _, _, title in troubleshoot._PARTICIPATION_CHECKS)]
    found += marked(PACKAGE / p for p in MARKED)
    # a statement of reasons names its reason in these words, to its author (services/dsa.py, its email)
    found += [*moderation.REJECT_REASONS.values(), *moderation.HOLD_REASONS.values()]
    return list(dict.fromkeys(found))
