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
2. a banned word or phrase rejects (``banned_word``); then a link to a domain on the site's
   ``links.deny_domains`` (or a look-alike of one) rejects (``spam_link``), trusted authors' too;
3. a score at or above a label's reject threshold rejects (``toxicity_reject``);
3a. a shadow-restricted author's comment is held (``shadow_restricted``; only on a site whose
   ``shadow_restriction`` setting is on), then a comment of a
   copy-paste campaign (``copy_campaign``), trusted authors' too;
4. article premoderation holds everything (``premoderation``), trusted users too unless the site
   exempts them;
5. trusted users publish (``trusted_user``);
5a. a new account's comment written (posted or edited) on an article during a surge of new accounts
   is held (``surge_premoderation``; the ``surge`` rule: SurgeRules);
6. user rules hold: put on premoderation by a moderator (``user_premoderated``), too many recent
   rejections (``user_recent_rejections``), a new account's first N comments (``new_account``),
   guests on sites that premoderate guests (``guest_premoderated``);
6a. link rules hold (``spam_link``): a link to a URL shortener, a raw IP address or a look-alike of
   an allowed domain; more than ``links.max_links`` links (links to ``links.allow_domains`` and to
   the site's own origins do not count); with ``links.hold_new_authors``, any such counted link
   from a new account (no published comment yet, or fewer than ``new_account_hold_first``);
6b. a comment in a language no model of the worker reads for this site (``languages``: LanguageRules;
   the worker detects it, domain/language.py, and passes ``language_unscored``) is held
   (``language_unscored``) where the site's ``languages.other`` is "hold"; where it is "word_lists"
   (the default) the configured model's scores may still hold it (rules 7 and 8: it may read an
   English passage that the detector missed, and a comment padded with another language must not
   pass unread), but never reject it (rule 3 is skipped: a model that does not read the language
   must not take a comment down); word lists and link rules apply as to any comment;
7. no scores, or only the fallback model's, with ``fail_closed``: hold (``model_unavailable``);
   without ``fail_closed`` the fallback's scores are judged with ``fallback_thresholds``;
8. a score at or above a label's hold threshold holds (``toxicity_hold``);
9. a suspect word or phrase holds (``suspect_word``);
10. otherwise publish (``ok``).

Links are read from the text by domain/links.extract_links (hosts IDNA-decoded and folded to an
ASCII skeleton, so a Cyrillic "gооgle.com" is google.com to the deny list); ``term`` names the host
that triggered ``spam_link``. Word lists are matched by domain/wordlists.find_term (through
obfuscation, in linear time). A text that a list cannot be checked against within the matcher's
work budget is held (``word_lists_unchecked``) where that list is checked: neither published nor
rejected unread.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

import msgspec

from .links import (
    MAX_LINKS,
    Link,
    domain_problem,
    extract_links,
    host_of,
    in_domains,
    normalise_domain,
    normalise_host,
    skeleton,
)
from .structs import Struct
from .wordlists import MAX_ENTRIES, WordListTooCostly, entry_problem, find_term
from .wordlists_builtin import builtin_word_lists

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
# the word lists could not be checked in time (the matcher's work budget, or the worker's time budget)
WORD_LISTS_UNCHECKED = "word_lists_unchecked"
# a link the site's link rules refuse (a denied domain) or hold (shortener, raw IP, too many, new author)
SPAM_LINK = "spam_link"
# nearly the same text as comments of several other authors within a window (a copy-paste campaign)
COPY_CAMPAIGN = "copy_campaign"
# a new account's comment on an article that many new accounts are flooding (services/surge.py)
SURGE_PREMODERATION = "surge_premoderation"
# a moderator restricted the author: their comments are held, and shown to them alone
SHADOW_RESTRICTED = "shadow_restricted"
# written in a language no model of the worker reads for the site, which holds such comments
LANGUAGE_UNSCORED = "language_unscored"

REASONS = (OK, MODERATOR, TRUSTED_USER, BANNED_WORD, SUSPECT_WORD, TOXICITY_REJECT, TOXICITY_HOLD,
           PREMODERATION, USER_PREMODERATED, USER_RECENT_REJECTIONS, NEW_ACCOUNT,
           GUEST_PREMODERATED, MODEL_UNAVAILABLE, BANNED_USER, WORD_LISTS_UNCHECKED, SPAM_LINK,
           COPY_CAMPAIGN, SURGE_PREMODERATION, SHADOW_RESTRICTED, LANGUAGE_UNSCORED)
# Reasons that are about the text itself (what a reader can fix by editing).
CONTENT_REASONS = frozenset({BANNED_WORD, SUSPECT_WORD, TOXICITY_REJECT, TOXICITY_HOLD})

NUDGE_MESSAGE = ("Your comment may break our community guidelines and is likely to be held for "
                 "review. You can edit it or submit it for review.")
# what the nudge says when the text would be rejected outright: offering review would be untrue
NUDGE_REJECT_MESSAGE = ("Your comment breaks our community guidelines and will not be published as "
                        "written. Edit it to post it.")


class LabelThresholds(Struct, frozen=True):
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
# the labels a threshold may name: those detoxify's models score (the fallback scores "toxicity")
LABELS = frozenset(DEFAULT_THRESHOLDS)

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


class PolicyContext(Struct, frozen=True):
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
    # the hosts of the site's own origins: links to them are not counted by the link rules
    site_hosts: tuple[str, ...] = ()
    # the post path found the text in a copy-paste campaign (services/repeats.py)
    copy_campaign: bool = False
    # the article is in a surge of new accounts (services/surge.py) and the author is one of them
    surge_new_author: bool = False
    # a moderator shadow-restricted the author (services/user_moderation.py)
    user_shadow_restricted: bool = False
    # the comment's language (domain/language.py) is one no model of the worker reads for this site
    # (LanguageRules.route gave None): the site's ``languages.other`` rule decides, scores are not used
    language_unscored: bool = False


# the keys PolicyConfig.from_site_settings reads: a key it does not know (a typo) is refused where
# settings are set (services/sites.settings_problem), since the policy would silently ignore it
POLICY_KEYS = frozenset({"thresholds", "fallback_thresholds", "banned_words", "suspect_words", "default_word_lists",
                         "word_lists", "fail_closed", "hold_after_recent_rejections", "new_account_hold_first",
                         "premoderate_guests", "trusted_exempt_premoderation", "links",
                         "shadow_restriction", "surge", "repeats", "languages"})


# the most hold_after_recent_rejections and new_account_hold_first may say
MAX_COUNT_SETTING = 10_000
# the most entries links.deny_domains and links.allow_domains may hold each
MAX_DOMAINS = 500
LINK_KEYS = frozenset({"deny_domains", "allow_domains", "max_links", "hold_new_authors"})


def _settings_object(raw: Any, where: str, keys: frozenset[str], noun: str) -> None:
    """Refuses (ValueError) a setting that is not an object of ``keys``."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object of {', '.join(sorted(keys))}")
    if (extra := sorted(str(k)[:40] for k in raw if k not in keys)):
        raise ValueError(f"{where}.{extra[0]}: not a {noun} setting (known: {', '.join(sorted(keys))})")


class LinkRules(Struct, frozen=True):
    """The site's link rules. Denied domains are stored as look-alike skeletons (domain/links.py), so
    that any spelling of one is denied; allowed ones as written (normalised) and as skeletons, so
    that only the real domain is allowed and a look-alike of it is caught."""

    deny_domains: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()
    allow_skeletons: tuple[str, ...] = ()
    max_links: int = 2  # more links than this (not counting allowed ones) hold; 0: any counted link holds
    hold_new_authors: bool = True

    @classmethod
    def from_settings(cls, raw: Any, where: str) -> LinkRules:
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected an object of deny_domains, allow_domains, max_links, "
                             "hold_new_authors")
        if (extra := sorted(str(k)[:40] for k in raw if k not in LINK_KEYS)):
            raise ValueError(f"{where}.{extra[0]}: not a link setting (known: {', '.join(sorted(LINK_KEYS))})")
        kwargs: dict[str, Any] = {}
        for key in ("deny_domains", "allow_domains"):
            if key not in raw:
                continue
            entries = raw[key]
            if not isinstance(entries, list) or not all(isinstance(d, str) for d in entries):
                raise ValueError(f"{where}.{key}: expected a list of domain names")
            if len(entries) > MAX_DOMAINS:
                raise ValueError(f"{where}.{key}: more than {MAX_DOMAINS} entries")
            for d in entries:
                if (problem := domain_problem(d)) is not None:
                    raise ValueError(f"{where}.{key}: {d.strip()[:70]!r} {problem}")
            hosts = tuple(dict.fromkeys(normalise_host(d.strip()) for d in entries))
            if key == "deny_domains":
                kwargs[key] = tuple(dict.fromkeys(skeleton(h) for h in hosts))
            else:
                kwargs[key] = hosts
                kwargs["allow_skeletons"] = tuple(dict.fromkeys(skeleton(h) for h in hosts))
        if "max_links" in raw:
            value = raw["max_links"]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_LINKS:
                raise ValueError(f"{where}.max_links: expected an integer in 0..{MAX_LINKS}")
            kwargs["max_links"] = value
        if "hold_new_authors" in raw:
            if not isinstance(raw["hold_new_authors"], bool):
                raise ValueError(f"{where}.hold_new_authors: expected true or false")
            kwargs["hold_new_authors"] = raw["hold_new_authors"]
        return cls(**kwargs)


SURGE_KEYS = frozenset({"enabled", "new_accounts", "window_minutes", "new_account_hours", "cooldown_minutes"})
# (least, most) of each numeric surge setting: a threshold of 1 would premoderate an article for its
# first new commenter; an article's Redis counter holds at most ``new_accounts`` entries
_SURGE_BOUNDS = {"new_accounts": (2, 1000), "window_minutes": (1, 1440), "new_account_hours": (1, 8760),
                 "cooldown_minutes": (1, 1440)}


class SurgeRules(Struct, frozen=True):
    """The site's surge rule (services/surge.py): when ``new_accounts`` distinct new authors (guests,
    or accounts younger than ``new_account_hours``) comment on one article within ``window_minutes``,
    new authors' comments on it are held (``surge_premoderation``) until the surge has been quiet
    for ``cooldown_minutes``."""

    enabled: bool = True
    new_accounts: int = 10
    window_minutes: int = 10
    new_account_hours: int = 24
    cooldown_minutes: int = 30

    @classmethod
    def from_settings(cls, raw: Any, where: str) -> SurgeRules:
        _settings_object(raw, where, SURGE_KEYS, "surge")
        kwargs: dict[str, Any] = {}
        if "enabled" in raw:
            if not isinstance(raw["enabled"], bool):
                raise ValueError(f"{where}.enabled: expected true or false")
            kwargs["enabled"] = raw["enabled"]
        for key, (least, most) in _SURGE_BOUNDS.items():
            if key in raw:
                value = raw[key]
                if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
                    raise ValueError(f"{where}.{key}: expected an integer in {least}..{most}")
                kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def of_site(cls, settings: Mapping[str, Any] | None) -> SurgeRules:
        """The rule in a site's settings (the whole object): the defaults where it sets none, or an
        invalid one (refused when set: services/sites.check_settings)."""
        moderation = (settings or {}).get("moderation")
        raw = moderation.get("surge") if isinstance(moderation, Mapping) else None
        if raw is None:
            return cls()
        try:
            return cls.from_settings(raw, "moderation.surge")
        except ValueError:
            return cls()

    def new_author(self, *, guest: bool, account_age_seconds: float) -> bool:
        """Whether an author counts as new for this rule: every guest, and young accounts."""
        return guest or account_age_seconds < self.new_account_hours * 3600


REPEAT_KEYS = frozenset({"window_minutes", "campaign_authors", "campaign_window_minutes"})
# (least, most) of each repeat setting; 0 switches the check off where allowed (window_minutes: the
# same author's repeats; campaign_authors: copy campaigns)
_REPEAT_BOUNDS = {"window_minutes": (0, 1440), "campaign_authors": (0, 100), "campaign_window_minutes": (1, 1440)}


class RepeatRules(Struct, frozen=True):
    """The site's repeat rules (services/repeats.py): the same author's same or nearly the same
    text within ``window_minutes`` is refused; the same text from ``campaign_authors`` authors (the
    poster among them) within ``campaign_window_minutes`` is a copy campaign, held and grouped."""

    window_minutes: int = 10
    campaign_authors: int = 3
    campaign_window_minutes: int = 60

    @classmethod
    def from_settings(cls, raw: Any, where: str) -> RepeatRules:
        _settings_object(raw, where, REPEAT_KEYS, "repeat")
        kwargs: dict[str, int] = {}
        for key, (least, most) in _REPEAT_BOUNDS.items():
            if key in raw:
                value = raw[key]
                if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
                    raise ValueError(f"{where}.{key}: expected an integer in {least}..{most}")
                kwargs[key] = value
        if kwargs.get("campaign_authors") == 1:
            raise ValueError(f"{where}.campaign_authors: a campaign takes at least 2 authors (0 switches it off)")
        return cls(**kwargs)


LANGUAGE_KEYS = frozenset({"multilingual", "other", "min_confidence"})
# the languages detoxify's multilingual model reads
MULTILINGUAL_LANGUAGES = frozenset({"en", "fr", "es", "it", "pt", "tr", "ru"})
# the names under which a worker holds its scorers: the configured model (the one every comment
# went to before languages were told apart), and a multilingual one where it has one
CONFIGURED_SCORER = "configured"
MULTILINGUAL_SCORER = "multilingual"
LANGUAGE_OTHER_RULES = ("word_lists", "hold")


class LanguageRules(Struct, frozen=True):
    """The site's rule for comments by language. English, a text whose language is not detected or
    detected with a confidence under ``min_confidence``, go to the configured model; a language
    the multilingual model reads (MULTILINGUAL_LANGUAGES) goes to it where ``multilingual`` is on
    and the worker has one; any other comment follows ``other``: "word_lists" (published unless
    the word lists, the link rules or the configured model's hold thresholds say otherwise; never
    rejected by a model that does not read it) or "hold" (``language_unscored``)."""

    multilingual: bool = False
    other: Literal["word_lists", "hold"] = "word_lists"
    # the detector's confidence (0..1) at or above which a comment is routed by its language;
    # on short news comments right answers scored 0.57 and more, wrong ones 0.41 and less (BENCHMARKS.md)
    min_confidence: float = 0.5

    @classmethod
    def from_settings(cls, raw: Any, where: str) -> LanguageRules:
        _settings_object(raw, where, LANGUAGE_KEYS, "language")
        kwargs: dict[str, Any] = {}
        if "multilingual" in raw:
            if not isinstance(raw["multilingual"], bool):
                raise ValueError(f"{where}.multilingual: expected true or false")
            kwargs["multilingual"] = raw["multilingual"]
        if "other" in raw:
            if raw["other"] not in LANGUAGE_OTHER_RULES:
                raise ValueError(f"{where}.other: expected \"word_lists\" or \"hold\"")
            kwargs["other"] = raw["other"]
        if "min_confidence" in raw:
            value = raw["min_confidence"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{where}.min_confidence: expected a number in 0..1")
            kwargs["min_confidence"] = float(value)
        return cls(**kwargs)

    def route(self, language: str | None, confidence: float, scorers: Collection[str], *,
              english_passage: bool = False, configured_reads: Collection[str] = ("en",)) -> str | None:
        """The scorer (CONFIGURED_SCORER, MULTILINGUAL_SCORER) a comment in ``language`` goes to,
        given the scorers the worker holds; None: none reads it, the ``other`` rule decides (the
        worker still scores it with the configured model, whose scores may then only hold it).
        ``english_passage`` (domain/language.Detected): a passage of it reads as English, so the
        configured model reads it rather than none. ``configured_reads``: the languages the
        configured model reads (all of MULTILINGUAL_LANGUAGES when it is the multilingual model,
        whatever the site's ``multilingual`` says)."""
        if language is None or language in configured_reads or confidence < self.min_confidence:
            return CONFIGURED_SCORER
        if self.multilingual and language in MULTILINGUAL_LANGUAGES and MULTILINGUAL_SCORER in scorers:
            return MULTILINGUAL_SCORER
        return CONFIGURED_SCORER if english_passage else None


class PolicyConfig(Struct, frozen=True):
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
    links: LinkRules = msgspec.field(default_factory=LinkRules)
    repeats: RepeatRules = msgspec.field(default_factory=RepeatRules)
    surge: SurgeRules = msgspec.field(default_factory=SurgeRules)
    # moderators may shadow-restrict readers (services/user_moderation.py; SECURITY.md "Shadow restriction")
    shadow_restriction: bool = False
    languages: LanguageRules = msgspec.field(default_factory=LanguageRules)

    @classmethod
    def from_site_settings(cls, settings: Mapping[str, Any] | None, *,
                           fail_closed: bool = True) -> PolicyConfig:
        """Build from a site's jsonb settings (the ``moderation`` object, or the whole settings
        object holding one). Unknown keys are ignored; bad values raise ValueError naming the key.

        Keys: ``thresholds`` {label: {hold, reject}} (merged over the defaults; a label set to
        null is disabled), ``fallback_thresholds`` (same shape), ``banned_words`` and
        ``suspect_words`` (added to the defaults unless ``default_word_lists`` is false),
        ``word_lists`` {builtin: true or language codes} (domain/wordlists_builtin.py: built-in lists
        per language, added to both tiers and applied to every comment whatever its language),
        ``fail_closed`` (defaults to the service-wide setting passed here),
        ``hold_after_recent_rejections``, ``new_account_hold_first``, ``premoderate_guests``,
        ``trusted_exempt_premoderation``, ``links`` {deny_domains, allow_domains (at most
        500 host names each, matching their subdomains too), max_links (0..50, default 2),
        hold_new_authors (default true)}, ``surge`` {enabled (default true), new_accounts (2..1000,
        default 10), window_minutes (1..1440, default 10), new_account_hours (1..8760, default 24),
        cooldown_minutes (1..1440, default 30)}: that many distinct new authors on one article within
        the window start a surge (services/surge.py), ``shadow_restriction`` (default false: moderators may
        restrict a reader so that their new comments are held and shown to them alone; while it is
        off, no restriction set earlier holds anything), ``languages`` {multilingual (default false),
        other ("word_lists", the default, or "hold"), min_confidence (0..1, default 0.5)}: LanguageRules.
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
        builtin = builtin_word_lists(data.get("word_lists"), prefix + "word_lists")
        for key, default_words in (("banned_words", DEFAULT_BANNED_WORDS),
                                   ("suspect_words", DEFAULT_SUSPECT_WORDS)):
            extra = data.get(key, [])
            if not isinstance(extra, list) or not all(isinstance(w, str) and w.strip() for w in extra):
                raise ValueError(f"{prefix}{key}: expected a list of non-empty strings")
            # bounded so that compiling and matching a list stay cheap (domain/wordlists.py)
            if len(extra) > MAX_ENTRIES:
                raise ValueError(f"{prefix}{key}: more than {MAX_ENTRIES} entries")
            for w in extra:
                # an entry of symbols only ("*", "!!") compiles to nothing and would be dropped silently
                if (problem := entry_problem(w.strip())) is not None:
                    raise ValueError(f"{prefix}{key}: {w.strip()[:70]!r} {problem}")
            words = (default_words if use_defaults else ()) + builtin[key] + tuple(w.strip() for w in extra)
            kwargs[key] = tuple(dict.fromkeys(words))
        for key in ("fail_closed", "premoderate_guests", "trusted_exempt_premoderation", "shadow_restriction"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise ValueError(f"{prefix}{key}: expected true or false")
                kwargs[key] = data[key]
        for key in ("hold_after_recent_rejections", "new_account_hold_first"):
            if key in data:
                value = data[key]
                # bounded: a count of comments, and a 30-digit number would be stored and exported as is
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT_SETTING:
                    raise ValueError(f"{prefix}{key}: expected an integer in 0..{MAX_COUNT_SETTING}")
                kwargs[key] = value
        if "links" in data:
            kwargs["links"] = LinkRules.from_settings(data["links"], prefix + "links")
        if "repeats" in data:
            kwargs["repeats"] = RepeatRules.from_settings(data["repeats"], prefix + "repeats")
        if "surge" in data:
            kwargs["surge"] = SurgeRules.from_settings(data["surge"], prefix + "surge")
        if "languages" in data:
            kwargs["languages"] = LanguageRules.from_settings(data["languages"], prefix + "languages")
        return cls(**kwargs)


class Decision(Struct, frozen=True):
    """What happens to a comment and why. ``label`` names the score that triggered a
    toxicity decision, ``term`` the word-list entry that matched (for ``spam_link``, the host)."""

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
    try:
        term = find_term(text, cfg.banned_words)
    except WordListTooCostly:
        return make("held", WORD_LISTS_UNCHECKED)
    if term is not None:
        return make("rejected", BANNED_WORD, term=term)
    links = extract_links(text)
    if (denied := _denied(links, cfg.links)) is not None:
        return make("rejected", SPAM_LINK, term=denied.host)

    degraded = score_copy is None or ctx.model_fallback
    thresholds = cfg.fallback_thresholds if ctx.model_fallback else cfg.thresholds
    # a model that does not read the comment's language may hold it (below), never reject it
    if (score_copy is not None and not ctx.language_unscored
            and (label := _over(score_copy, thresholds, "reject")) is not None):
        return make("rejected", TOXICITY_REJECT, label=label)

    if ctx.user_shadow_restricted and cfg.shadow_restriction:
        return make("held", SHADOW_RESTRICTED)
    if ctx.copy_campaign:
        return make("held", COPY_CAMPAIGN)
    if ctx.article_premoderation and not (ctx.user_trusted and cfg.trusted_exempt_premoderation):
        return make("held", PREMODERATION)
    if ctx.user_trusted:
        return make("published", TRUSTED_USER)
    if ctx.surge_new_author:
        return make("held", SURGE_PREMODERATION)
    if ctx.user_premoderated:
        return make("held", USER_PREMODERATED)
    if cfg.hold_after_recent_rejections and ctx.user_recent_rejections >= cfg.hold_after_recent_rejections:
        return make("held", USER_RECENT_REJECTIONS)
    if (cfg.new_account_hold_first and ctx.user_published_count is not None
            and ctx.user_published_count < cfg.new_account_hold_first):
        return make("held", NEW_ACCOUNT)
    if cfg.premoderate_guests and ctx.is_guest:
        return make("held", GUEST_PREMODERATED)
    if (held := _held_link(links, ctx, cfg)) is not None:
        return make("held", SPAM_LINK, term=held.host)

    if ctx.language_unscored and cfg.languages.other == "hold":
        return make("held", LANGUAGE_UNSCORED)
    if degraded and cfg.fail_closed:
        return make("held", MODEL_UNAVAILABLE)
    if score_copy is not None and (label := _over(score_copy, thresholds, "hold")) is not None:
        return make("held", TOXICITY_HOLD, label=label)
    try:
        term = find_term(text, cfg.suspect_words)
    except WordListTooCostly:
        return make("held", WORD_LISTS_UNCHECKED)
    if term is not None:
        return make("held", SUSPECT_WORD, term=term)
    return make("published", OK)


def nudge(decision: Decision) -> bool:
    """Should the reader be warned before posting? True when the text itself would be held or
    rejected (not for reasons about the user, the article or the model)."""
    return decision.outcome != "published" and decision.reason in CONTENT_REASONS


def nudge_message(decision: Decision) -> str | None:
    """The message the widget shows, or None: that the text will not be published when it would be
    rejected, that it is likely to be held only when it would be held. Never reveals scores, labels
    or thresholds."""
    if not nudge(decision):
        return None
    return NUDGE_REJECT_MESSAGE if decision.outcome == "rejected" else NUDGE_MESSAGE


def _denied(links: list[Link], rules: LinkRules) -> Link | None:
    """The first link to a denied domain or a look-alike of one (skeletons compared)."""
    if not rules.deny_domains:
        return None
    return next((link for link in links if in_domains(link.skeleton, rules.deny_domains)), None)


def _held_link(links: list[Link], ctx: PolicyContext, cfg: PolicyConfig) -> Link | None:
    """The link an untrusted author's comment is held for, or None."""
    if not links:
        return None
    rules = cfg.links
    counted: list[Link] = []
    for link in links:
        if link.shortener or link.ip:
            return link
        if in_domains(link.host, rules.allow_domains):
            continue
        if in_domains(link.skeleton, rules.allow_skeletons):
            # a look-alike of an allowed domain ("gооgle.com" for google.com) is no allowed link
            return link
        if in_domains(link.host, ctx.site_hosts):
            continue
        counted.append(link)
    if len(counted) > rules.max_links:
        return counted[rules.max_links]
    new_author = (ctx.user_published_count is not None
                  and ctx.user_published_count < max(1, cfg.new_account_hold_first))
    if counted and rules.hold_new_authors and new_author:
        return counted[0]
    return None


def site_hosts(origins: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The hosts of a site's allowed origins ("https://www.example.com" -> "example.com", so that
    the bare domain and its subdomains count as the site's own)."""
    hosts = []
    for origin in origins:
        host = normalise_domain(host_of(origin))
        if host.startswith("www."):
            host = host[4:]
        if host:
            hosts.append(host)
    return tuple(dict.fromkeys(hosts))


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
        # a label no model scores would be stored and never checked (and a name is shown back in
        # messages: cut it short)
        if label not in LABELS:
            raise ValueError(f"{where}: {str(label)[:40]!r} is not a label the models score "
                             f"(known: {', '.join(sorted(LABELS))})")
        if value is None:
            merged.pop(label, None)
            continue
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}.{label}: expected {{hold, reject}}")
        if (extra := sorted(str(k)[:40] for k in value if k not in ("hold", "reject"))):
            raise ValueError(f"{where}.{label}: {extra[0]!r} is not hold or reject")
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
