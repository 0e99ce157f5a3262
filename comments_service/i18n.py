"""The languages the service answers readers in: one mechanism for every server message.

Messages are written in English where they are defined (errors.CATALOGUE, domain/outcomes.py,
domain/judged_by.py, the troubleshooter) and translated where they are sent, through gettext
catalogues (``locales/<lang>/LC_MESSAGES/messages.po``, read with Babel once, at import: no build
step). The msgid is the English text itself, placeholders included (``{seconds}``), so English needs
no catalogue and a message a catalogue lacks is sent in English, never as an error.

The locale is negotiated per request: the ``lang`` query parameter the widget sends, else the
``Accept-Language`` header (q-values, ``pt-BR`` -> ``pt``), else a default the caller gives (sites
have no language setting yet, so none does), else English.
Error codes and every other machine-readable field stay the same in every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from babel.dates import format_datetime as _babel_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_decimal

DEFAULT = "en"
# English first; the rest have catalogues under locales/
LOCALES: tuple[str, ...] = ("en", "ru", "uk", "fr", "de", "es", "tr", "ar", "fa")
RIGHT_TO_LEFT = frozenset({"ar", "fa"})
LANG_PARAM = "lang"
# other names readers' browsers use for a language we have: Dari and Iranian Persian are Persian
_ALIASES = {"prs": "fa", "pes": "fa", "ua": "uk"}
# a header longer than any browser sends is read only this far: parsing stays cheap whatever arrives
_MAX_HEADER = 512
_MAX_RANGES = 16
_TAG = re.compile(r"[a-z]{1,8}(?:-[a-z0-9]{1,8})*")

# Error codes only staff meet (the console, the admin API, the metrics scraper): their messages stay
# English, as the operator's documentation and logs are.
STAFF_CODES = frozenset({
    "metrics_token_required", "campaign_not_found", "csrf_failed", "already_decided", "not_decidable",
    "nothing_to_undo", "user_not_found", "not_featurable", "featured_limit", "already_banned",
    "shadow_restriction_off", "too_many_notes", "invalid_site_settings", "site_exists", "site_has_comments",
    "token_not_found", "problem_report_not_found", "invalid_webhook_url", "unknown_event_type",
    "too_many_webhooks", "webhook_not_found", "webhook_disabled", "notice_already_decided",
    "appeal_already_decided", "appeal_same_decider",
})

LOCALE_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"

Translate = Callable[..., str]


def _load() -> dict[str, dict[str, str]]:
    catalogues: dict[str, dict[str, str]] = {}
    for locale in LOCALES[1:]:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.exists():
            continue
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        catalogues[locale] = {m.id: m.string for m in catalog
                              if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
                              and not m.fuzzy}
    return catalogues


_CATALOGUES = _load()


def supported(tag: str | None) -> str | None:
    """Our locale for a language tag (``ru``, ``ru-RU``, ``pt_BR``, ``fa-AF``), or None."""
    if not tag or len(tag) > 35:
        return None
    tag = tag.strip().lower().replace("_", "-")
    if not _TAG.fullmatch(tag):
        return None
    while tag:
        primary = _ALIASES.get(tag, tag)
        if primary in LOCALES:
            return primary
        tag = tag.rpartition("-")[0]
    return None


def accepted(header: str | None) -> list[str]:
    """Our locales an ``Accept-Language`` header asks for, most wanted first (``*`` and q=0 skipped)."""
    if not header:
        return []
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        locale = supported(tag)
        if locale is not None and 0.0 < q <= 1.0:
            ranges.append((-q, index, locale))
    found: list[str] = []
    for _, _, locale in sorted(ranges):
        if locale not in found:
            found.append(locale)
    return found


def negotiate(lang: str | None = None, accept_language: str | None = None, default: str | None = None) -> str:
    """The locale to answer in: ``lang`` (the widget's), else the browser's, else the site's, else English."""
    chosen = supported(lang)
    if chosen is not None:
        return chosen
    wanted = accepted(accept_language)
    if wanted:
        return wanted[0]
    return supported(default) or DEFAULT


def asked(lang: str | None = None, accept_language: str | None = None) -> str | None:
    """The locale a request names (its ``lang``, else its ``Accept-Language``), or None when it names
    none of ours: what is worth storing as a reader's language, where English by default is not."""
    chosen = supported(lang)
    if chosen is not None:
        return chosen
    wanted = accepted(accept_language)
    return wanted[0] if wanted else None


def _scope_inputs(scope: Mapping[str, Any]) -> tuple[str | None, str | None]:
    lang = None
    query = scope.get("query_string", b"")
    if query and b"lang=" in query:
        for name, value in parse_qsl(query.decode("latin-1")[:2048], errors="replace"):
            if name == LANG_PARAM:
                lang = value
                break
    header = None
    for key, value in scope.get("headers", ()):
        if key == b"accept-language":
            header = value.decode("latin-1")
            break
    return lang, header


def scope_asked(scope: Mapping[str, Any]) -> str | None:
    """:func:`asked` for an ASGI request."""
    return asked(*_scope_inputs(scope))


def scope_locale(scope: Mapping[str, Any], default: str | None = None) -> str:
    """The locale of an ASGI request (its query's ``lang``, its ``Accept-Language``); cached in its state."""
    state = scope.get("state")
    if isinstance(state, dict) and isinstance(state.get("locale"), str) and default is None:
        return str(state["locale"])
    lang, header = _scope_inputs(scope)
    locale = negotiate(lang, header, default)
    if isinstance(state, dict) and default is None:
        state["locale"] = locale
    return locale


_FIELD = re.compile(r"\{(\w+)\}")


def translate(msgid: str, locale: str = DEFAULT, **params: Any) -> str:
    """``msgid`` (English) in ``locale``, its ``{placeholders}`` filled; English where untranslated."""
    text = msgid if locale == DEFAULT else _CATALOGUES.get(locale, {}).get(msgid, msgid)
    if not params:
        return text
    # plain {name} fields only: str.format would also follow "{x.attr}" and "{x[0]}" written in a
    # catalogue, and an unknown field is left as written rather than failing the answer
    return _FIELD.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def N_(msgid: str) -> str:
    """Marks ``msgid`` for scripts/extract_messages where it is defined; translated where it is sent."""
    return msgid


def translator(locale: str) -> Translate:
    """``translate`` bound to one locale: ``tr(msgid, **params)``."""
    def tr(msgid: str, **params: Any) -> str:
        return translate(msgid, locale, **params)
    return tr


def has_translation(msgid: str, locale: str) -> bool:
    return locale == DEFAULT or msgid in _CATALOGUES.get(locale, {})


def problem_language(code: str, message: str, locale: str) -> str:
    """The language :func:`problem_text` writes the problem ``code`` (catalogue ``message``) in, for
    ``Content-Language``: ``locale`` where it translated it, English for staff codes and messages
    not translated yet."""
    return locale if code not in STAFF_CODES and has_translation(message, locale) else DEFAULT


def problem_text(code: str, message: str, detail: str | None, locale: str) -> tuple[str, str]:
    """(title, detail) of a problem body in ``locale``, from the catalogue's ``message`` for ``code``.

    A detail composed with specifics (a limit, a field, an origin) that no catalogue holds becomes
    the translated title: the specifics stay in the body's own fields (limit, retry_after, errors),
    and the code is the same in every language."""
    if locale == DEFAULT or code in STAFF_CODES:
        return message, detail or message
    title = translate(message, locale)
    if detail and detail != message and has_translation(detail, locale):
        return title, translate(detail, locale)
    return title, title


def direction(locale: str) -> str:
    return "rtl" if locale in RIGHT_TO_LEFT else "ltr"


def format_number(value: int, locale: str) -> str:
    """A count as readers of ``locale`` write it (Persian digits in fa, grouping everywhere)."""
    return _babel_decimal(value, locale=locale if locale in LOCALES else DEFAULT)


def format_datetime(value: datetime, locale: str) -> str:
    """A date and time (UTC) in the long form of ``locale``: "8 декабря 2026 г., 10:00:00 UTC"."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _babel_datetime(value, "long", tzinfo=UTC, locale=locale if locale in LOCALES else DEFAULT)
