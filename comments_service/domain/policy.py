"""The moderation policy: scores + text + who/where -> published, held or rejected. Pure.

No I/O and no framework, driver or model imports: the scoring worker calls :func:`decide` with a
comment's toxicity scores (``None`` when no model could score it), its text, a
:class:`PolicyContext` (article and author facts the worker looked up) and the site's
:class:`PolicyConfig` (``PolicyConfig.from_site_settings(site.settings)``). The returned
:class:`Decision` carries the outcome, a stable reason code, what triggered it and the scores, and
is stored with the comment.

Order of the rules (first match wins):

0. a banned (or suspended) author's comment is rejected (``banned_user``), whoever they are;
1. moderators publish (``moderator``);
2. a banned word or phrase rejects (``banned_word``);
3. a score at or above a label's reject threshold rejects (``toxicity_reject``);
4. article premoderation holds everything (``premoderation``), trusted users too unless the site
   exempts them;
5. trusted users publish (``trusted_user``);
6. user rules hold: put on premoderation by a moderator (``user_premoderated``), too many recent
   rejections (``user_recent_rejections``), a new account's first N comments (``new_account``),
   guests on sites that premoderate guests (``guest_premoderated``);
7. no scores, or only the fallback model's, with ``fail_closed``: hold (``model_unavailable``);
   without ``fail_closed`` the fallback's scores are judged with ``fallback_thresholds``;
8. a score at or above a label's hold threshold holds (``toxicity_hold``);
9. a suspect word or phrase holds (``suspect_word``);
10. otherwise publish (``ok``).

Word lists match whole words, case-insensitively, through common obfuscation: accents and
look-alike letters, digit/symbol substitution ("sh1t", "$hit", "@ss"), repeated letters
("fuuuck"), one starred letter ("f*ck") and letters spaced out consistently ("f u c k",
"f.u.c.k"). A list entry may be a phrase ("know where you live") and may end in ``*`` to match any
word starting with it ("fuck*"). A match made only of digits and symbols ("455") never counts.
Matching reads the text once, so its cost is linear in the text whatever the text holds.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import unicodedata
from typing import Any, Literal, Mapping, NamedTuple

import msgspec

Outcome = Literal["published", "held", "rejected"]

# Reason codes (stable: stored with comments, shown to moderators, used by the API).
OK = "ok"
MODERATOR = "moderator"
TRUSTED_USER = "trusted_user"
BANNED_WORD = "banned_word"
SUSPECT_WORD = "suspect_word"
TOXICITY_REJECT = "toxicity_reject"
TOXICITY_HOLD = "toxicity_hold"
PREMODERATION = "premoderation"
USER_PREMODERATED = "user_premoderated"
USER_RECENT_REJECTIONS = "user_recent_rejections"
NEW_ACCOUNT = "new_account"
GUEST_PREMODERATED = "guest_premoderated"
MODEL_UNAVAILABLE = "model_unavailable"
BANNED_USER = "banned_user"

REASONS = (OK, MODERATOR, TRUSTED_USER, BANNED_WORD, SUSPECT_WORD, TOXICITY_REJECT, TOXICITY_HOLD,
           PREMODERATION, USER_PREMODERATED, USER_RECENT_REJECTIONS, NEW_ACCOUNT,
           GUEST_PREMODERATED, MODEL_UNAVAILABLE, BANNED_USER)
# Reasons that are about the text itself (what a reader can fix by editing).
CONTENT_REASONS = frozenset({BANNED_WORD, SUSPECT_WORD, TOXICITY_REJECT, TOXICITY_HOLD})

NUDGE_MESSAGE = ("Your comment may break our community guidelines and is likely to be held for "
                 "review. You can edit it or submit it for review.")


class LabelThresholds(msgspec.Struct, frozen=True, kw_only=True):
    """Scores at or above ``reject`` reject; at or above ``hold`` hold. ``None`` disables."""

    hold: float | None = None
    reject: float | None = None


# Defaults for a news site on detoxify's labels (original/unbiased/multilingual). Rare but grave
# labels (threat, identity attack, severe toxicity) act at lower scores; obscenity alone is only
# held, never auto-rejected. Labels a scorer does not produce are simply not checked.
DEFAULT_THRESHOLDS: dict[str, LabelThresholds] = {
    "toxicity": LabelThresholds(hold=0.6, reject=0.9),
    "severe_toxicity": LabelThresholds(hold=0.3, reject=0.6),
    "obscene": LabelThresholds(hold=0.7, reject=None),
    "threat": LabelThresholds(hold=0.3, reject=0.7),
    "insult": LabelThresholds(hold=0.6, reject=0.9),
    "identity_attack": LabelThresholds(hold=0.3, reject=0.7),
    "sexual_explicit": LabelThresholds(hold=0.5, reject=0.9),
}

# The fallback (alt-profanity-check) is a profanity detector: it scores violent but civil news
# talk ("killed in the bombing") around 0.5 and real profanity near 1.0.
DEFAULT_FALLBACK_THRESHOLDS: dict[str, LabelThresholds] = {
    "toxicity": LabelThresholds(hold=0.75, reject=0.98),
}

DEFAULT_BANNED_WORDS: tuple[str, ...] = (
    # slurs
    "nigger*", "nigga*", "faggot*", "kike", "kikes", "spic", "spics", "wetback*", "tranny",
    "trannies", "raghead*", "towelhead*",
    # incitement to self-harm
    "kill yourself", "kill urself", "kys", "hang yourself", "neck yourself",
)
DEFAULT_SUSPECT_WORDS: tuple[str, ...] = (
    # profanity
    "fuck*", "motherfuck*", "shit", "shits", "shitty", "bullshit", "shithead*", "cunt*",
    "bitch*", "bastard*", "asshole*", "arsehole*", "dickhead*", "prick", "twat*",
    "wanker*", "whore*", "slut*", "piss off",
    # insults
    "idiot*", "moron*", "retard*", "imbecile*", "cretin*", "scum*", "dumbass*",
    "loser*", "shut up", "subhuman*", "vermin",
    # threats and wishes of violence without a swear word
    "know where you live", "find where you live", "coming for you", "watch your back",
    "you will pay", "deserve to die", "deserves to die", "deserve to be shot",
    "deserve to be hanged", "deserve to be killed", "should be shot", "should be hanged",
    "should be killed", "should be executed", "put a bullet in", "hope you die",
    "hope you get killed", "hope you get raped", "i will kill", "i'll kill", "ill kill you",
    "gonna kill you", "go die",
    # identity attacks
    "go back to where you came from", "go back where you came from", "your kind",
)


class PolicyContext(msgspec.Struct, frozen=True, kw_only=True):
    """Facts about where and by whom a comment was written, looked up by the caller."""

    article_premoderation: bool = False
    user_banned: bool = False  # an active ban or suspension when the decision is made
    user_is_moderator: bool = False
    user_trusted: bool = False
    user_premoderated: bool = False
    user_recent_rejections: int = 0
    # published (or approved) comments the author already has; None when unknown
    user_published_count: int | None = None
    is_guest: bool = False
    # the scores come from the offline fallback scorer, not the configured model
    model_fallback: bool = False


class PolicyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A site's moderation policy. ``PolicyConfig()`` is a sensible news-site default."""

    thresholds: dict[str, LabelThresholds] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    fallback_thresholds: dict[str, LabelThresholds] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_FALLBACK_THRESHOLDS))
    banned_words: tuple[str, ...] = DEFAULT_BANNED_WORDS
    suspect_words: tuple[str, ...] = DEFAULT_SUSPECT_WORDS
    fail_closed: bool = True
    hold_after_recent_rejections: int = 2  # 0 disables
    new_account_hold_first: int = 0  # hold a new account's first N comments; 0 disables
    premoderate_guests: bool = False
    trusted_exempt_premoderation: bool = False

    @classmethod
    def from_site_settings(cls, settings: Mapping[str, Any] | None, *,
                           fail_closed: bool = True) -> "PolicyConfig":
        """Build from a site's jsonb settings (the ``moderation`` object, or the whole settings
        object holding one). Unknown keys are ignored; bad values raise ValueError naming the key.

        Keys: ``thresholds`` {label: {hold, reject}} (merged over the defaults; a label set to
        null is disabled), ``fallback_thresholds`` (same shape), ``banned_words`` and
        ``suspect_words`` (added to the defaults unless ``default_word_lists`` is false),
        ``fail_closed`` (defaults to the service-wide setting passed here),
        ``hold_after_recent_rejections``, ``new_account_hold_first``, ``premoderate_guests``,
        ``trusted_exempt_premoderation``.
        """
        data: Mapping[str, Any] = settings or {}
        if isinstance(data.get("moderation"), Mapping):
            data = data["moderation"]
        prefix = "moderation."
        kwargs: dict[str, Any] = {"fail_closed": fail_closed}
        for key, default in (("thresholds", DEFAULT_THRESHOLDS),
                             ("fallback_thresholds", DEFAULT_FALLBACK_THRESHOLDS)):
            if key in data:
                kwargs[key] = _merge_thresholds(default, data[key], prefix + key)
        use_defaults = data.get("default_word_lists", True)
        if not isinstance(use_defaults, bool):
            raise ValueError(f"{prefix}default_word_lists: expected true or false")
        for key, default in (("banned_words", DEFAULT_BANNED_WORDS),
                             ("suspect_words", DEFAULT_SUSPECT_WORDS)):
            extra = data.get(key, [])
            if not isinstance(extra, list) or not all(isinstance(w, str) and w.strip() for w in extra):
                raise ValueError(f"{prefix}{key}: expected a list of non-empty strings")
            words = (tuple(default) if use_defaults else ()) + tuple(w.strip() for w in extra)
            kwargs[key] = tuple(dict.fromkeys(words))
        for key in ("fail_closed", "premoderate_guests", "trusted_exempt_premoderation"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise ValueError(f"{prefix}{key}: expected true or false")
                kwargs[key] = data[key]
        for key in ("hold_after_recent_rejections", "new_account_hold_first"):
            if key in data:
                value = data[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{prefix}{key}: expected an integer >= 0")
                kwargs[key] = value
        return cls(**kwargs)


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What happens to a comment and why. ``label`` names the score that triggered a
    toxicity decision, ``term`` the word-list entry that matched."""

    outcome: Outcome
    reason: str
    label: str | None = None
    term: str | None = None
    scores: dict[str, float] | None = None


def decide(scores: Mapping[str, float] | None, text: str, ctx: PolicyContext,
           cfg: PolicyConfig) -> Decision:
    """Apply the policy (see the module docstring for the order of the rules)."""
    score_copy = dict(scores) if scores is not None else None

    def make(outcome: Outcome, reason: str, label: str | None = None,
             term: str | None = None) -> Decision:
        return Decision(outcome=outcome, reason=reason, label=label, term=term, scores=score_copy)

    if ctx.user_banned:
        return make("rejected", BANNED_USER)
    if ctx.user_is_moderator:
        return make("published", MODERATOR)
    if (term := find_term(text, cfg.banned_words)) is not None:
        return make("rejected", BANNED_WORD, term=term)

    degraded = score_copy is None or ctx.model_fallback
    thresholds = cfg.fallback_thresholds if ctx.model_fallback else cfg.thresholds
    if score_copy is not None:
        if (label := _over(score_copy, thresholds, "reject")) is not None:
            return make("rejected", TOXICITY_REJECT, label=label)

    if ctx.article_premoderation and not (ctx.user_trusted and cfg.trusted_exempt_premoderation):
        return make("held", PREMODERATION)
    if ctx.user_trusted:
        return make("published", TRUSTED_USER)
    if ctx.user_premoderated:
        return make("held", USER_PREMODERATED)
    if cfg.hold_after_recent_rejections and ctx.user_recent_rejections >= cfg.hold_after_recent_rejections:
        return make("held", USER_RECENT_REJECTIONS)
    if (cfg.new_account_hold_first and ctx.user_published_count is not None
            and ctx.user_published_count < cfg.new_account_hold_first):
        return make("held", NEW_ACCOUNT)
    if cfg.premoderate_guests and ctx.is_guest:
        return make("held", GUEST_PREMODERATED)

    if degraded and cfg.fail_closed:
        return make("held", MODEL_UNAVAILABLE)
    if score_copy is not None:
        if (label := _over(score_copy, thresholds, "hold")) is not None:
            return make("held", TOXICITY_HOLD, label=label)
    if (term := find_term(text, cfg.suspect_words)) is not None:
        return make("held", SUSPECT_WORD, term=term)
    return make("published", OK)


def nudge(decision: Decision) -> bool:
    """Should the reader be warned before posting? True when the text itself would be held or
    rejected (not for reasons about the user, the article or the model)."""
    return decision.outcome != "published" and decision.reason in CONTENT_REASONS


def nudge_message(decision: Decision) -> str | None:
    """The message the widget shows, or None. Never reveals scores, labels or thresholds."""
    return NUDGE_MESSAGE if nudge(decision) else None


def _over(scores: Mapping[str, float], thresholds: Mapping[str, LabelThresholds],
          kind: Literal["hold", "reject"]) -> str | None:
    """The label whose score is furthest over its threshold, or None."""
    best: tuple[float, str] | None = None
    for label, limits in thresholds.items():
        limit = getattr(limits, kind)
        score = scores.get(label)
        if limit is None or score is None:
            continue
        if score >= limit and (best is None or score - limit > best[0]):
            best = (score - limit, label)
    return None if best is None else best[1]


def _merge_thresholds(default: Mapping[str, LabelThresholds], raw: Any,
                      where: str) -> dict[str, LabelThresholds]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object of label -> {{hold, reject}}")
    merged = dict(default)
    for label, value in raw.items():
        if value is None:
            merged.pop(label, None)
            continue
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}.{label}: expected {{hold, reject}}")
        base = merged.get(label, LabelThresholds())
        limits: dict[str, float | None] = {"hold": base.hold, "reject": base.reject}
        for kind in ("hold", "reject"):
            if kind in value:
                v = value[kind]
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                      or not 0.0 <= v <= 1.0):
                    raise ValueError(f"{where}.{label}.{kind}: expected a number in 0..1 or null")
                limits[kind] = None if v is None else float(v)
        if limits["hold"] is not None and limits["reject"] is not None and limits["hold"] > limits["reject"]:
            raise ValueError(f"{where}.{label}: hold must not exceed reject")
        merged[label] = LabelThresholds(hold=limits["hold"], reject=limits["reject"])
    return merged


# ---------------------------------------------------------------- word matching with obfuscation
#
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
}
_CONFUSABLES = str.maketrans({
    # Cyrillic and Greek look-alikes
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "к": "k",
    "м": "m", "т": "t", "в": "b", "н": "h", "ο": "o", "α": "a", "ι": "i", "κ": "k", "ν": "v",
    # full-width and typographic forms are handled by NFKC
})
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060\ufeff]")
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
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.lower().translate(_CONFUSABLES)


class _Slot(NamedTuple):
    """One letter of a list entry."""

    chars: frozenset[str]  # what may stand for it: the letter and its leet forms
    last: bool  # last letter of its word
    spaceable: bool  # its word is long enough to count when spaced out


class _Entry(NamedTuple):
    slots: tuple[_Slot, ...]
    prefix: bool  # "word*": the last word may continue


def _entry(term: str) -> _Entry | None:
    raw = normalize(term.strip())
    slots = [_Slot(frozenset(_LEET.get(ch, ch)), i == len(word) - 1, len(word) >= 3)
             for word in raw.rstrip("*").split() for i, ch in enumerate(word)]
    return _Entry(tuple(slots), raw.endswith("*")) if slots else None


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
        moves, done = states.moves, states.done
        state, best = 0, _NO_MATCH
        for ch in text:
            nxt = moves[state].get(ch)
            if nxt is None:
                nxt = self._move(states, state, ch)
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


@functools.lru_cache(maxsize=64)
def _matcher(terms: tuple[str, ...]) -> _Matcher:
    return _Matcher(terms)


def find_term(text: str, terms: tuple[str, ...] | list[str]) -> str | None:
    """The first list entry found in ``text`` (see the module docstring for the matching
    rules), or None. Linear in the length of the text."""
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
