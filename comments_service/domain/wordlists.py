"""Word lists matched through obfuscation, in time linear in the text. Pure.

Word lists match whole words, case-insensitively, through common obfuscation: accents and
look-alike letters (Cyrillic and Latin either way: "сyка", "xyй", "6ля", "nидор"), digit/symbol
substitution ("sh1t", "$hit", "@ss"), repeated letters ("fuuuck"), one starred letter ("f*ck")
and letters spaced out consistently ("f u c k", "f.u.c.k"). A list entry may be a phrase ("know
where you live") and may end in ``*`` to match any word starting with it ("fuck*"). A match made
only of digits and symbols ("455") never counts.
Matching reads the text once, with a work budget per character, so its cost is linear in the text
whatever the text and the lists hold; a text the budget cannot settle raises WordListTooCostly.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import unicodedata

from .structs import Struct

# A word list compiles into one automaton over the letters of all its entries, which reads the
# normalised text once, left to right. The sets of entry positions alive after each character are
# cached as the states of a deterministic automaton, so a warm scan costs one dict lookup per
# character and a cold one at most one step of each live position: linear in the text, whatever
# the text. Backtracking regexes cannot promise that here: leet makes neighbouring letter classes
# overlap ("1" is both "i" and "l"), so a pattern like [i1]+[l1]+[l1]+ tries every split of a
# long run of "1"s.

_LEET: dict[str, str] = {
    "a": "a@4", "b": "b8", "c": "c(", "e": "e3€", "g": "g9", "i": "i1!|", "l": "l1|",
    "o": "o0", "s": "s5$", "t": "t7+", "u": "uv", "z": "z2", "x": "x", "k": "k",
    # Cyrillic letters that _CONFUSABLES leaves alone, and the Latin letters and digits typed for
    # them: "6ля", "3асранец", "nидор", "nu3дец". The Cyrillic letters that do have a Latin twin
    # ("с", "у", "х", "о"...) are folded to it on both sides, so "сyка" and "xyй" already meet
    # their entries. Only look-alikes: a transliteration ("d" for "д") counts where it is listed.
    "б": "б6", "з": "з3", "и": "иu", "п": "пn", "г": "гr", "ш": "шw", "ь": "ьb", "я": "я9",
}
_CONFUSABLES = str.maketrans({
    # Cyrillic and Greek look-alikes
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "к": "k",
    "м": "m", "т": "t", "в": "b", "н": "h", "ο": "o", "α": "a", "ι": "i", "κ": "k", "ν": "v",
    # Arabic and Persian keyboards type the same letter differently (yeh, kaf)
    "ي": "ی", "ى": "ی", "ك": "ک",
    # Turkish dotless i, as readers on other keyboards type it
    "ı": "i",
    # typographic apostrophes, as in Ukrainian "вб’ю" and "i’ll"
    "’": "'", "ʼ": "'", "‘": "'",
    # full-width and typographic forms are handled by NFKC
})
# Tajik ӯ and ӣ are letters of their own, not у and и with an accent: folded, "хӯй" (temper)
# would read as Russian profanity. Kept apart as letters nothing else is written with.
_OWN_LETTERS = str.maketrans({"ӯ": "ʉ", "Ӯ": "ʉ", "ӣ": "ɨ", "Ӣ": "ɨ"})
# soft hyphen, zero-width characters, and the Arabic tatweel that stretches a word ("کــیر")
_INVISIBLE = re.compile("[\u00ad\u0640\u200b-\u200f\u2060\ufeff]")
# besides whitespace, what may space a word's letters out ("f.u.c.k", "f-u-c-k")
_SPACERS = frozenset(".-_·•,/\\~")
# besides letters and digits, what may follow the stem of a "word*" entry ("fuck*" -> "fuck1ng")
_TAIL_SYMBOLS = frozenset("_*@$!|")


def normalize(text: str) -> str:
    """Lowercase, fold compatibility forms, accents and look-alike letters, drop invisible
    characters. Lengths may change; used only for matching."""
    if text.isascii():  # nothing below changes ASCII but the case
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).translate(_OWN_LETTERS)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.lower().translate(_CONFUSABLES)


class _Slot(Struct, frozen=True):
    """One letter of a list entry."""

    chars: frozenset[str]  # what may stand for it: the letter and its leet forms
    last: bool  # last letter of its word
    spaceable: bool  # its word is long enough to count when spaced out


class _Entry(Struct, frozen=True):
    slots: tuple[_Slot, ...]
    prefix: bool  # "word*": the last word may continue


def _entry(term: str) -> _Entry | None:
    raw = normalize(term.strip())
    slots = [_Slot(chars=frozenset(_LEET.get(ch, ch)), last=i == len(word) - 1, spaceable=len(word) >= 3)
             for word in raw.rstrip("*").split() for i, ch in enumerate(word)]
    return _Entry(slots=tuple(slots), prefix=raw.endswith("*")) if slots else None


# A position of the automaton: (entry, slot, mode, form, stars, letter seen). The slot is the
# letter last read; the mode says what the position waits for; the form of the current word is
# fixed by how its second letter arrives (directly or after a '*': compact; after a spacer:
# spaced); stars counts '*'s in the match (at most one); "letter seen" rules out matches made
# only of digits and symbols ("455").
_Position = tuple[int, int, int, int, int, bool]
# modes: more of the letter may follow; the letter was a '*'; between spaced-out letters; between
# the words of a phrase; in the continuation of a "word*" entry
_RUN, _STAR, _SPACE, _JOINT, _TAIL = range(5)
_OPEN, _COMPACT, _SPACED = range(3)  # word forms
_START: _Position = (-1, 0, 0, 0, 0, False)  # a match may begin at the next character
_NO_MATCH = sys.maxsize
# what one list may cache (a few MB at most); past either, its cache starts afresh
_MAX_STATES, _MAX_MOVES = 2048, 32768
# The work one scan may spend building states. A cold step costs one unit per live position, and a
# list whose entries overlap themselves (runs of one letter, or of letters sharing leet forms like
# "i", "l" and "1") keeps hundreds of positions alive and makes more states than the cache holds, so
# every character of a crafted text is a cold step of that size. Past the budget the scan gives up
# (WordListTooCostly) instead of running for seconds, so a scan costs at most one dict lookup and
# _WORK_PER_CHAR units per character plus _WORK_BASE, whatever the lists hold. Ordinary text on a
# 500-entry list needs 2-6 units a character, text spaced out letter by letter under 20 (a unit is
# about a microsecond and a half).
_WORK_PER_CHAR, _WORK_BASE = 32, 16_384
# what a list entry may hold (checked where site settings are set: domain/policy.py)
MAX_ENTRIES, MAX_ENTRY_CHARS, MAX_LETTER_RUN = 500, 64, 3


class WordListTooCostly(Exception):
    """A scan ran out of its work budget: neither a match nor its absence is known."""


class _States:
    """The deterministic states met so far: sets of positions, their moves by character
    (``~next`` when the move completes a match) and the first entry each state completes when a
    non-word character or the end of the text follows."""

    def __init__(self) -> None:
        initial = frozenset({_START})
        self.ids: dict[frozenset[_Position], int] = {initial: 0}
        self.sets: list[frozenset[_Position]] = [initial]
        self.moves: list[dict[str, int]] = [{}]
        self.done: list[int] = [_NO_MATCH]
        self.size = 0  # moves cached


class _Matcher:
    """Finds the first entry of a word list (in list order) that occurs in a normalised text."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        pairs = [(term, entry) for term in terms if (entry := _entry(term)) is not None]
        self.terms = tuple(term for term, _ in pairs)
        self._entries = tuple(entry for _, entry in pairs)
        starts: dict[str, list[_Position]] = {}
        for t, entry in enumerate(self._entries):
            for ch in entry.slots[0].chars:
                starts.setdefault(ch, []).append((t, 0, _RUN, _OPEN, 0, ch.isalpha()))
        self._starts = {ch: tuple(positions) for ch, positions in starts.items()}
        self._lock = threading.Lock()
        self._states = _States()

    def first(self, text: str) -> str | None:
        states = self._states  # a reset by another thread leaves this scan's cache intact
        moves, done, sets = states.moves, states.done, states.sets
        state, best, work = 0, _NO_MATCH, 0
        budget = _WORK_BASE + _WORK_PER_CHAR * len(text)
        for ch in text:
            nxt = moves[state].get(ch)
            if nxt is None:
                nxt = self._move(states, state, ch)
                work += len(sets[state]) + len(sets[~nxt if nxt < 0 else nxt])
                if work > budget:
                    raise WordListTooCostly
            if nxt < 0:
                nxt = ~nxt
                if done[state] < best:
                    best = done[state]
                    if best == 0:
                        break
            state = nxt
        best = min(best, done[state])
        return None if best == _NO_MATCH else self.terms[best]

    def _move(self, states: _States, state: int, ch: str) -> int:
        word = ch.isalnum()
        out: set[_Position] = set()
        for position in states.sets[state]:
            if position[0] < 0:  # _START
                out.update(self._starts.get(ch, ()))
            else:
                self._step(position, ch, word, out)
        if not word:
            out.add(_START)
        key = frozenset(out)
        with self._lock:
            nxt = states.ids.get(key)
            if nxt is None:
                nxt = len(states.sets)
                states.ids[key] = nxt
                states.sets.append(key)
                states.moves.append({})
                states.done.append(self._done(key))
            move = ~nxt if not word and states.done[state] != _NO_MATCH else nxt
            states.moves[state][ch] = move
            states.size += 1
            if (len(states.sets) > _MAX_STATES or states.size > _MAX_MOVES) and self._states is states:
                self._states = _States()
        return move

    def _done(self, positions: frozenset[_Position]) -> int:
        best = _NO_MATCH
        for t, k, mode, _, _, seen in positions:
            if t >= 0 and seen and mode in (_RUN, _STAR, _TAIL) and k == len(self._entries[t].slots) - 1:
                best = min(best, t)
        return best

    def _step(self, position: _Position, ch: str, word: bool, out: set[_Position]) -> None:
        t, k, mode, form, stars, seen = position
        entry = self._entries[t]
        slots = entry.slots
        seen = seen or ch.isalpha()
        star = ch == "*"
        if mode == _TAIL:
            if (word or ch in _TAIL_SYMBOLS) and stars + star <= 1:
                out.add((t, k, _TAIL, form, stars + star, seen))
            return
        if mode == _SPACE:
            if ch.isspace() or ch in _SPACERS:
                out.add(position)
            if ch in slots[k + 1].chars:
                out.add((t, k + 1, _RUN, _SPACED, stars, seen))
            return
        if mode == _JOINT:
            if not word and stars + star <= 1:
                out.add((t, k, _JOINT, form, stars + star, seen))
            if ch in slots[k + 1].chars:
                out.add((t, k + 1, _RUN, _OPEN, stars, seen))
            return
        slot = slots[k]
        if mode == _RUN and ch in slot.chars:
            out.add((t, k, _RUN, form, stars, seen))
        if not slot.last:
            if form != _SPACED:
                if ch in slots[k + 1].chars:
                    out.add((t, k + 1, _RUN, _COMPACT, stars, seen))
                if star and not stars:
                    out.add((t, k + 1, _STAR, _COMPACT, 1, seen))
            if (form != _COMPACT and mode == _RUN and slot.spaceable
                    and (ch.isspace() or ch in _SPACERS)):
                out.add((t, k, _SPACE, _SPACED, stars, seen))
        elif k + 1 < len(slots):
            if not word and stars + star <= 1:
                out.add((t, k, _JOINT, _OPEN, stars + star, seen))
        elif entry.prefix and (word or ch in _TAIL_SYMBOLS) and stars + star <= 1:
            out.add((t, k, _TAIL, form, stars + star, seen))


def entry_problem(term: str) -> str | None:
    """Why ``term`` cannot be a list entry, or None. A run of one letter (or of its leet forms)
    longer than MAX_LETTER_RUN adds nothing, since a letter already matches its repeats ("fuck"
    matches "fuuuck"), and is what makes an entry overlap itself (see _WORK_PER_CHAR)."""
    if len(term) > MAX_ENTRY_CHARS:
        return f"longer than {MAX_ENTRY_CHARS} characters"
    entry = _entry(term)
    if entry is None or not any(ch.isalnum() for ch in term):
        return "has no letter or digit to match"
    run = 1
    for before, slot in zip(entry.slots, entry.slots[1:], strict=False):
        run = run + 1 if slot.chars == before.chars and not before.last else 1
        if run > MAX_LETTER_RUN:
            return (f"repeats a letter more than {MAX_LETTER_RUN} times in a row "
                    "(a letter already matches its repeats: \"fuck\" matches \"fuuuck\")")
    return None


@functools.lru_cache(maxsize=64)
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    return _Matcher(terms)


def find_term(text: str, terms: tuple[str, ...] | list[str]) -> str | None:
    """The first list entry found in ``text`` (see the module docstring for the matching
    rules), or None. Linear in the length of the text whatever the list (see _WORK_PER_CHAR); raises
    WordListTooCostly when that budget is not enough to tell."""
    if not terms or not text:
        return None
    return _matcher(tuple(terms)).first(normalize(text))


_SPACED_RUN = re.compile(r"(?<![^\W_])(?:[^\W_][\s.\-_·•]){2,}[^\W_](?![^\W_])")
_SPACER = re.compile(r"[\s.\-_·•]")
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
# a run of word and leet characters; one holding a Latin letter is read as leet ("sh1t")
_LEET_TOKEN = re.compile(r"[\w@$!|+€*]+")
_LATIN = re.compile("[a-z]")
_UNLEET = str.maketrans({"@": "a", "4": "a", "8": "b", "3": "e", "€": "e", "9": "g", "1": "i",
                         "!": "i", "|": "l", "0": "o", "5": "s", "$": "s", "7": "t", "+": "t"})


def _unleet(m: re.Match[str]) -> str:
    token = m.group(0)
    return token.translate(_UNLEET) if _LATIN.search(token) else token


def deobfuscate(text: str) -> str:
    """A best-effort plain spelling of obfuscated text ("f u c k" -> "fuck", "sh1t" -> "shit",
    "fuuuck" -> "fuck") for classifiers that only know plain words. Linear in the text: each
    pattern reads a character a bounded number of times."""
    norm = normalize(text)
    norm = _SPACED_RUN.sub(lambda m: _SPACER.sub("", m.group(0)), norm)
    norm = _LEET_TOKEN.sub(_unleet, norm)
    return _REPEATS.sub(r"\1", norm)
