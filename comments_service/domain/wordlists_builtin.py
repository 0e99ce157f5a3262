"""Built-in word lists per language, which a site opts into. Pure but for reading package data.

The lists live in ``wordlists_data/<language>.txt`` (see its README.txt for what goes in): a
``[banned]`` part (reject) and a ``[suspect]`` part (hold), in the entry syntax of
domain/wordlists.py. A site names the languages it wants in ``moderation.word_lists``::

    {"builtin": ["ru", "uk", "en"]}    # these languages
    {"builtin": true}                  # every language shipped
    {"builtin": []} or no key          # none (the default)

and every chosen list applies to every comment, whatever language it is written in, since an
insult in Russian inside an English comment is still an insult.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

from .wordlists import entry_problem

LANGUAGES = ("en", "ru", "uk", "fr", "de", "es", "tr", "ar", "fa", "tg")
WORD_LISTS_KEYS = frozenset({"builtin"})
_TIERS = {"[banned]": "banned_words", "[suspect]": "suspect_words"}


@functools.cache
def language_lists(language: str) -> dict[str, tuple[str, ...]]:
    """One language's lists: ``{"banned_words": (...), "suspect_words": (...)}``."""
    text = resources.files(__package__).joinpath("wordlists_data", f"{language}.txt").read_text("utf-8")
    lists: dict[str, list[str]] = {tier: [] for tier in _TIERS.values()}
    tier: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line in _TIERS:
            tier = _TIERS[line]
            continue
        # a broken shipped list is a bug to fail on at once, not a list silently shorter
        if tier is None or (problem := entry_problem(line)) is not None:
            raise ValueError(f"wordlists_data/{language}.txt:{number}: {line!r} "
                             f"{'is outside [banned] / [suspect]' if tier is None else problem}")
        lists[tier].append(line)
    return {tier: tuple(words) for tier, words in lists.items()}


def builtin_word_lists(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    """The banned and suspect entries a site's ``word_lists`` setting (``raw``; None when absent)
    opts into, in the order of LANGUAGES. Raises ValueError naming ``where`` on a bad value."""
    chosen: tuple[str, ...] = ()
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected an object like {{\"builtin\": [\"ru\", \"en\"]}}")
        if unknown := sorted(set(raw) - WORD_LISTS_KEYS):
            raise ValueError(f"{where}.{unknown[0]}: not a word_lists setting (known: builtin)")
        builtin = raw.get("builtin", [])
        expected = (f"{where}.builtin: expected true, false or a list of language codes "
                    f"({', '.join(LANGUAGES)})")
        if isinstance(builtin, bool):
            chosen = LANGUAGES if builtin else ()
        elif isinstance(builtin, list) and all(isinstance(code, str) for code in builtin):
            if unknown := [code for code in builtin if code not in LANGUAGES]:
                raise ValueError(f"{where}.builtin: no built-in list for {unknown[0][:20]!r} "
                                 f"(there are: {', '.join(LANGUAGES)})")
            chosen = tuple(code for code in LANGUAGES if code in builtin)
        else:
            raise ValueError(expected)
    out: dict[str, tuple[str, ...]] = {"banned_words": (), "suspect_words": ()}
    for code in chosen:
        for tier, words in language_lists(code).items():
            out[tier] += words
    return out
