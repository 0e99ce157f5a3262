"""The server's translations (comments_service/i18n.py): every locale has exactly English's msgids,
with the same placeholders; the .pot matches the tables it is extracted from; negotiation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from comments_service import i18n
from comments_service.domain.judged_by import judged_by
from comments_service.i18n_sources import source_messages

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_the_template_matches_the_tables_it_is_extracted_from():
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "extract_messages"), "--check"],
                           capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr
    pot = [m.id for m in _read(i18n.LOCALE_DIR / "messages.pot") if m.id]
    assert pot == source_messages()
    assert len(pot) > 200, "the extraction found too few messages: is it still reading the tables?"


@pytest.mark.parametrize("locale", i18n.LOCALES[1:])
def test_each_locale_translates_exactly_englishs_messages_with_the_same_placeholders(locale):
    english = set(source_messages())
    catalog = _read(i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    entries = {m.id: m for m in catalog if m.id}
    missing = sorted(m for m in english if m not in entries or not entries[m].string)
    assert missing == [], f"{locale} lacks translations of {missing}"
    extra = sorted(set(entries) - english)
    assert extra == [], f"{locale} has msgids English lacks: {extra}"
    assert [m.id for m in entries.values() if m.fuzzy] == []
    for msgid, message in entries.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(message.string)), (locale, msgid)
        # no field reaches into a value ("{x.__class__}", "{x[0]}"): translate fills {name} only
        assert not re.search(r"\{\w+[.\[]", message.string), (locale, msgid)
        assert message.string != msgid or msgid in {"Cookies", "Article"}, (locale, msgid)


def test_a_catalogue_field_that_is_not_a_plain_name_is_left_as_written():
    """translate fills {name} fields only: attribute or index lookups written in a catalogue must not
    reach into the values (or fail the answer they are part of)."""
    i18n._CATALOGUES["ru"]["Probe {seconds} s."] = "{seconds.__class__} {seconds.__init__.__globals__} {seconds}"
    try:
        got = i18n.translate("Probe {seconds} s.", "ru", seconds=7)
    finally:
        del i18n._CATALOGUES["ru"]["Probe {seconds} s."]
    assert got == "{seconds.__class__} {seconds.__init__.__globals__} 7"


def test_every_locale_is_loaded_at_import():
    for locale in i18n.LOCALES[1:]:
        assert i18n.has_translation("The comment is empty.", locale)
    assert i18n.translate("The comment is empty.", "ru") == "Комментарий пуст."
    assert i18n.translate("You can post again in {seconds} seconds.", "fr", seconds=7) == \
        "Vous pourrez publier à nouveau dans 7 secondes."


@pytest.mark.parametrize("lang, header, default, expected", [
    ("ru", "fr", None, "ru"),
    ("RU", None, None, "ru"),
    ("ru_RU", None, None, "ru"),
    (None, "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", None, "ru"),
    (None, "de;q=0.3, fr;q=0.8, en;q=0.5", None, "fr"),
    (None, "pt-BR,pt;q=0.9", None, "en"),
    (None, "pt-BR,pt;q=0.9,es;q=0.1", None, "es"),
    (None, "fa-AF", None, "fa"),
    ("prs", None, None, "fa"),
    (None, "ar-EG;q=0", None, "en"),
    (None, "*", "de", "de"),
    ("xx", "zz-ZZ", None, "en"),
    ("xx", None, "tr", "tr"),
    ("\u0000\n<script>", "\ud800;q=", None, "en"),
    ("x" * 10_000, "x-" * 10_000, None, "en"),
    (None, "en;q=0.9, " * 100 + "ru", None, "en"),  # read only as far as any browser's header goes
    (None, "uk;q=0.5, garbage;;;q=1, de-CH-1996;q=0.6", None, "de"),
])
def test_negotiation(lang, header, default, expected):
    assert i18n.negotiate(lang, header, default) == expected


def test_the_locale_of_a_raw_request():
    scope = {"query_string": b"site=s1&lang=uk", "headers": [(b"accept-language", b"fr")], "state": {}}
    assert i18n.scope_locale(scope) == "uk" and scope["state"]["locale"] == "uk"
    assert i18n.scope_locale({"query_string": b"lang=%ZZ%", "headers": [(b"accept-language", b"\xff\xfe")]}) == "en"


def test_a_translation_never_breaks_the_message():
    assert i18n.translate("not a msgid {x}", "ru", x=1) == "not a msgid 1"
    assert i18n.translate("The comment is empty.", "xx") == "The comment is empty."
    assert '{"confirm": "erase"}' in i18n.translate('Erasing data needs the body {"confirm": "erase"}.', "de")
    assert i18n.direction("ar") == i18n.direction("fa") == "rtl" and i18n.direction("ru") == "ltr"


def test_what_decided_a_comment_is_told_in_the_readers_language():
    detail = {"term": "casino", "label": "insult"}
    assert judged_by("held", "suspect_word", "unitary/toxic-bert", detail) == (
        "Decided by the toxicity model unitary/toxic-bert: it contains a word or phrase on the site's watch list "
        "(\u201ccasino\u201d), so a moderator will look.")
    assert judged_by("held", "suspect_word", "unitary/toxic-bert", detail, i18n.translator("fr")) == (
        "Décidé par le modèle de toxicité unitary/toxic-bert : il contient un mot ou une expression de la liste "
        "de surveillance du site (\u201ccasino\u201d), un modérateur va donc l’examiner.")
    arabic = judged_by("rejected", "toxicity_reject", "none", detail, i18n.translator("ar"))
    assert "insult" in arabic and "قوائم الكلمات وحدها" in arabic
