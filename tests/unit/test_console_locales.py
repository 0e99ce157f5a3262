"""The moderator console's locales: every string the console's scripts and page ask for (``t("…")``,
``tn(n, "…", "…")``, ``data-i18n*="…"``) is in every locale, and no locale holds one they do not
ask for; placeholders are the same as in English; plural entries carry every form the language's
plural rules pick (Intl.PluralRules' CLDR categories)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[2] / "comments_service" / "widget"
LOCALES = WIDGET / "console" / "locales"
CODES = ("ru", "uk", "fr", "de", "es", "tr", "ar", "fa")
# CLDR cardinal categories used for integers in each language
PLURAL_FORMS = {"ru": {"one", "few", "many", "other"}, "uk": {"one", "few", "many", "other"},
                "ar": {"zero", "one", "two", "few", "many", "other"}}
T = re.compile(r'\bt\("((?:[^"\\]|\\.)*)"')
TN = re.compile(r'\btn\([^,]+,\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')
HTML = re.compile(r'data-i18n(?:-placeholder|-aria-label|-title)?="([^"]*)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _unquote(literal: str) -> str:
    return json.loads(f'"{literal}"')


def asked() -> tuple[set[str], dict[str, str]]:
    """(plain keys, plural keys → their one-form English)."""
    plain: set[str] = set()
    plural: dict[str, str] = {}
    for script in sorted((WIDGET / "console").glob("*.js")):
        text = script.read_text(encoding="utf-8")
        plain |= {_unquote(k) for k in T.findall(text)}
        plural.update({_unquote(other): _unquote(one) for one, other in TN.findall(text)})
    plain |= {html.unescape(k) for k in HTML.findall((WIDGET / "moderation.html").read_text(encoding="utf-8"))}
    return plain, plural


def locale(code: str) -> dict:
    return json.loads((LOCALES / f"{code}.json").read_text(encoding="utf-8"))


def test_the_console_asks_for_its_words_through_the_catalogue():
    plain, plural = asked()
    # a view that stopped wrapping its strings would shrink this set: the console has hundreds
    assert len(plain) > 500 and len(plural) > 10, (len(plain), len(plural))
    assert sorted(p.stem for p in LOCALES.glob("*.json")) == sorted(CODES)


@pytest.mark.parametrize("code", CODES)
def test_every_locale_has_exactly_the_keys_the_console_asks_for(code):
    plain, plural = asked()
    words = locale(code)
    assert sorted((set(plain) | set(plural)) - set(words)) == [], "missing"
    assert sorted(set(words) - set(plain) - set(plural)) == [], "not asked for by any script"


@pytest.mark.parametrize("code", CODES)
def test_placeholders_and_plural_forms_match_english(code):
    plain, plural = asked()
    words = locale(code)
    forms = PLURAL_FORMS.get(code, {"one", "other"})
    for key in plain - set(plural):
        value = words[key]
        assert isinstance(value, str) and value.strip(), key
        assert set(PLACEHOLDER.findall(value)) == set(PLACEHOLDER.findall(key)), (key, value)
    for other, one in plural.items():
        value = words[other]
        assert isinstance(value, dict) and forms <= set(value), (other, value)
        allowed = set(PLACEHOLDER.findall(other)) | set(PLACEHOLDER.findall(one)) | {"n"}
        for form, text in value.items():
            assert set(PLACEHOLDER.findall(text)) <= allowed, (other, form, text)


# the label of a dialog's confirm or submit button, read from the lines that set one
_ACTION_LINE = re.compile(r"(?:confirmLabel|submitLabel)\s*:[^\n]*")


@pytest.mark.parametrize("code", CODES)
def test_no_confirm_button_reads_as_cancel(code):
    """Every dialog has Cancel beside its confirm button: a translation of "Reverse" or "Revoke" that
    reads as Cancel ("Annuler", "إلغاء") makes a moderator undo a decision while meaning to back out."""
    words = locale(code)
    cancel = words["Cancel"].casefold()
    labels = {"Confirm", "Save"}
    for script in sorted((WIDGET / "console").glob("*.js")):
        for line in _ACTION_LINE.findall(script.read_text(encoding="utf-8")):
            labels |= {_unquote(k) for k in T.findall(line)} | {_unquote(o) for _, o in TN.findall(line)}
    assert len(labels) > 15
    for label in labels:
        value = words[label]
        for text in value.values() if isinstance(value, dict) else [value]:
            assert text.casefold() != cancel and not text.casefold().startswith(cancel + " "), (label, text)
