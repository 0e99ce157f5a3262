"""The widget's languages: every bundled locale has exactly the strings English has, with the same
placeholders and the plural forms its language needs, and stays small (each is fetched before the
widget draws anything for a reader of that language).

English is built into the scripts (embed.js's table, dialogs.js's additions); locales/en.json is a
copy of it for translators, kept equal to the scripts' own here.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[2] / "comments_service" / "widget"
LOCALES = WIDGET / "locales"
BUNDLED = ("en", "ru", "uk", "fr", "de", "es", "tr", "ar", "fa")
# the categories Intl.PluralRules answers for each language's integers (CLDR): each must be there
PLURALS = {"en": {"one", "other"}, "de": {"one", "other"}, "es": {"one", "other"}, "fr": {"one", "other"},
           "tr": {"one", "other"}, "fa": {"one", "other"}, "ru": {"one", "few", "many", "other"},
           "uk": {"one", "few", "many", "other"}, "ar": {"zero", "one", "two", "few", "many", "other"}}
CATEGORIES = {"zero", "one", "two", "few", "many", "other"}

_TOKEN = re.compile(r"\s*(?://[^\n]*|'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*)|([{}:,]))")


def js_object(source: str, start: int) -> dict:
    """The object literal at ``source[start]`` ('{'): single-quoted strings, bare keys and nested
    objects, as the widget's string tables are written."""
    pos = start

    def token() -> tuple[str, str]:
        nonlocal pos
        while True:
            m = _TOKEN.match(source, pos)
            assert m, f"cannot read the string table at {source[pos:pos + 40]!r}"
            pos = m.end()
            if m.group(1) is not None:
                return "str", json.loads('"' + m.group(1).replace('"', '\\"').replace("\\'", "'") + '"')
            if m.group(2):
                return "name", m.group(2)
            if m.group(3):
                return "punct", m.group(3)

    def value(kind: str, text: str):
        if kind == "str":
            return text
        assert (kind, text) == ("punct", "{"), text
        out: dict = {}
        while True:
            kind, text = token()
            if text == "}":
                return out
            key = text
            assert token() == ("punct", ":")
            out[key] = value(*token())
            kind, text = token()
            if text == "}":
                return out
            assert text == ",", text

    return value(*token())


def english() -> dict:
    """The strings English readers see: embed.js's table and dialogs.js's additions to it."""
    embed = (WIDGET / "embed.js").read_text()
    dialogs = (WIDGET / "dialogs.js").read_text()
    table = js_object(embed, embed.index("{", embed.index("const S = Object.assign(")))
    more = js_object(dialogs, dialogs.index("{", dialogs.index("const S = w.strings(")))
    assert not set(table) & set(more), "dialogs.js redefines embed.js's strings"
    return {**table, **more}


def load(code: str) -> dict:
    return json.loads((LOCALES / f"{code}.json").read_text(encoding="utf-8"))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def is_plural(value) -> bool:
    return isinstance(value, dict) and "other" in value and set(value) <= CATEGORIES


def test_english_json_is_the_scripts_own_english():
    assert load("en") == english()


def test_only_the_bundled_locales_are_shipped_and_the_widget_and_server_know_the_same_list():
    assert sorted(p.stem for p in LOCALES.glob("*.json")) == sorted(BUNDLED)
    embed = (WIDGET / "embed.js").read_text()
    listed = re.search(r"const LOCALES = \[([^\]]*)\]", embed)
    assert listed and re.findall(r"'(\w+)'", listed.group(1)) == list(BUNDLED)
    from comments_service.api.pages import WIDGET_LOCALES
    assert set(WIDGET_LOCALES) == set(BUNDLED) - {"en"}


@pytest.mark.parametrize("code", BUNDLED[1:])
def test_a_locale_has_every_english_string_and_no_other(code):
    reference, locale = english(), load(code)

    def compare(ref: dict, loc: dict, where: str) -> None:
        assert set(loc) - set(ref) == set(), f"{code}: {where} keys English lacks"
        assert set(ref) - set(loc) == set(), f"{code}: {where} keys missing"
        for key, want in ref.items():
            got, path = loc[key], f"{where}{key}"
            if is_plural(want) or is_plural(got):  # a language may need forms where English has one
                want = want if is_plural(want) else {"other": want}
                assert is_plural(got), f"{code}: {path} is a plural in English"
                assert PLURALS[code] <= set(got), f"{code}: {path} lacks {PLURALS[code] - set(got)}"
                for form, text in got.items():
                    assert placeholders(text) <= placeholders(want["other"]), f"{code}: {path}.{form}"
                assert placeholders(got["other"]) == placeholders(want["other"]), f"{code}: {path}.other"
            elif isinstance(want, dict):
                assert isinstance(got, dict) and not is_plural(got), f"{code}: {path}"
                compare(want, got, path + ".")
            else:
                assert isinstance(got, str) and got.strip(), f"{code}: {path}"
                assert placeholders(got) == placeholders(want), f"{code}: {path} placeholders"

    compare(reference, locale, "")


@pytest.mark.parametrize("code", BUNDLED[1:])
def test_a_locale_is_translated(code):
    # a string left in English here and there is allowed (a brand, "OK"), a copied file is not
    reference, locale = english(), load(code)
    same = [k for k, v in reference.items() if isinstance(v, str) and locale[k] == v and re.search(r"[a-z]{3}", v)]
    assert len(same) <= 3, (code, same)


@pytest.mark.parametrize("code", BUNDLED)
def test_each_locale_file_is_small(code):
    assert len(gzip.compress((LOCALES / f"{code}.json").read_bytes(), compresslevel=9)) <= 4 * 1024
