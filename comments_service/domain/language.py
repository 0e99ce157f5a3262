"""Which language a comment is written in, so that the worker can send it to a model that reads
that language, or apply the site's rule for languages no model reads. Pure: no I/O but reading the
detector's bundled model file once per process.

The detector is py3langid (langid.py's naive Bayes over byte n-grams, 142 languages, Tajik and
Pashto among them; BSD, a 4.6 MB wheel, no download at run time). On short news comments it was the
most accurate of the detectors measured, the only one that knows Tajik, at ~0.1 ms a comment
(BENCHMARKS.md, "Language detection"). Its confidence is a probability over all its languages:
short or ambiguous texts get a low one, and callers treat a low confidence as "not detected".

:func:`detect` never raises: a text with no letters, emoji only, or one the detector fails on is
``Detected(None, 0.0)``. Before detecting, a text is cut to a bounded prefix, links, addresses
and @mentions are dropped (their Latin letters would pull a Cyrillic comment towards English), and
words mixing Cyrillic and Latin look-alike letters ("пpивeт" with a Latin p and e, the usual evasion)
are folded to the text's main script. A text not in English as a whole is also read sentence by
sentence (``english_passage``): English abuse with a paragraph in another language before or after
it is still read by the English model.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .structs import Struct

# The detector's work grows with the text; a comment's language shows in its first lines.
MAX_CHARS = 1000
# Fewer letters than this say too little about a language to route a comment away from the
# configured model ("ok", "+1 agreed", a name).
MIN_LETTERS = 12
# A text not in English is also read sentence by sentence, up to the longest comment the service
# takes: abuse in English before or after a paragraph in another language must not pass as that
# language, unread by the English model.
MAX_SCAN_CHARS = 10_000
# Only a sentence holding one of these words is classified (the rest cannot be English prose);
# past MAX_SENTENCES such sentences the text counts as having an English passage, which sends it
# to the configured model: the safe side, and a bound on the work.
_ENGLISH_MARKER = re.compile(
    r"\b(?:the|you|your|and|are|is|were|of|that|this|these|with|have|has|what|who|they|them|their|would|"
    r"should|could|because|just|like|get|shut|stupid|hope|kill)\b", re.IGNORECASE)
MAX_SENTENCES = 32
# the confidence at which a passage counts as English (the detector's right answers on short
# comments scored 0.57 and more, its wrong ones 0.41 and less: BENCHMARKS.md)
ENGLISH_PASSAGE_CONFIDENCE = 0.5
# the detector's labels that are dialects or scripts of a language with an ISO 639-1 code
_ALIASES = {"ary": "ar", "arz": "ar", "uzs": "uz", "wuu": "zh", "yue": "zh", "sdh": "ku", "gug": "gn"}

# Cyrillic letters and the Latin letters they look like, both ways
_CYR_LAT = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
            "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "А": "A", "В": "B", "Е": "E", "К": "K",
            "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I",
            "Ј": "J", "Ѕ": "S"}
_TO_LATIN = str.maketrans(_CYR_LAT)
_TO_CYRILLIC = str.maketrans({lat: cyr for cyr, lat in _CYR_LAT.items()})
_LOOKALIKES = frozenset(_CYR_LAT) | frozenset(_CYR_LAT.values())

# links, e-mail addresses and @mentions; linear: an address is tried only where a run of
# non-spaces starts, and its possessive run never backtracks
_NOT_PROSE = re.compile(r"(?:https?://|www\.)\S+|(?<!\S)[^\s@]++@\S+|@\w+", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile("[\u0400-\u052f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026\n])")


class Detected(Struct, frozen=True):
    """A text's language: an ISO 639-1 code, or None when nothing could be told (no letters, too
    few, a language without a two-letter code); ``confidence`` in 0..1. ``english_passage``: the
    text is not English as a whole, but a passage of it is (domain/policy LanguageRules.route sends
    it to the configured model rather than past every model)."""

    language: str | None
    confidence: float = 0.0
    english_passage: bool = False


UNDETECTED = Detected(None, 0.0)

_lock = threading.Lock()
_identifier: Any = None


def _detector() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:  # the worker's scoring and policy threads may both ask first
            if _identifier is None:
                from py3langid import langid  # type: ignore[import-untyped]

                _identifier = langid._load_identifier(norm_probs=True)
    return _identifier


def warm() -> bool:
    """Load the detector now (~1 s, ~75 MiB), not on the first comment; False when it cannot be
    loaded (then every text is undetected)."""
    try:
        _detector()
    except Exception:
        return False
    return True


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u052f"


def _is_latin(ch: str) -> bool:
    return ch.isascii() or "\u00c0" <= ch <= "\u024f"


def _fold_mixed_words(text: str) -> str:
    """Words holding both Cyrillic and Latin letters, with their look-alike letters turned into the
    script that the text's unambiguous letters (those with no look-alike) mostly use."""
    if _CYRILLIC.search(text) is None or _LATIN.search(text) is None:
        return text
    mixed = {w for w in _WORD.findall(text) if _CYRILLIC.search(w) and _LATIN.search(w)}
    if not mixed:
        return text
    cyrillic = latin = 0
    for ch in text:
        if ch.isalpha() and ch not in _LOOKALIKES:
            if _is_cyrillic(ch):
                cyrillic += 1
            elif _is_latin(ch):
                latin += 1
    table = _TO_CYRILLIC if cyrillic > latin else _TO_LATIN
    folded = {w: w.translate(table) for w in mixed}
    return _WORD.sub(lambda m: folded.get(m.group(0), m.group(0)), text)


def prepare(text: str) -> str:
    """The part of a text the detector reads (bounded, without links, look-alikes folded)."""
    prefix = text[:MAX_CHARS]
    return _fold_mixed_words(_NOT_PROSE.sub(" ", prefix))


def _has_english_passage(text: str) -> bool:
    """Whether a sentence of ``text`` in Latin letters reads as English. Only sentences with enough
    letters, mostly Latin ones, and a common English word among them are classified (~0.1 ms each)."""
    sentences = [s for s in _SENTENCE_END.split(text[:MAX_SCAN_CHARS]) if len(s) >= MIN_LETTERS]
    if len(sentences) < 2:  # one sentence: the whole text's language is its own
        return False
    identifier = _detector()
    classified = 0
    for sentence in sentences:
        if _ENGLISH_MARKER.search(sentence) is None:
            continue
        prose = _fold_mixed_words(_NOT_PROSE.sub(" ", sentence))
        letters = len(_LETTER.findall(prose))
        if letters < MIN_LETTERS or 2 * len(_LATIN.findall(prose)) < letters or _ENGLISH_MARKER.search(prose) is None:
            continue
        classified += 1
        if classified > MAX_SENTENCES:
            return True
        code, confidence = identifier.classify(prose)
        if code == "en" and confidence >= ENGLISH_PASSAGE_CONFIDENCE:
            return True
    return False


def detect(text: str) -> Detected:
    """The language of ``text``; deterministic, and never raises."""
    try:
        if not isinstance(text, str):
            return UNDETECTED
        prose = prepare(text)
        if len(_LETTER.findall(prose)) < MIN_LETTERS:
            return UNDETECTED
        code, confidence = _detector().classify(prose)
        code = _ALIASES.get(code, code)
        if len(code) != 2 or not code.isalpha():  # "zxx": no linguistic content; codes with no 639-1 form
            return UNDETECTED
        english_passage = code != "en" and _has_english_passage(text)
    except Exception:  # a detector failure must not stop a comment: it is scored as undetected
        return UNDETECTED
    return Detected(code, round(min(1.0, max(0.0, float(confidence))), 4), english_passage)
