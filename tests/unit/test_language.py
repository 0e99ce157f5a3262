"""Each comment's language (domain/language.detect) and the site's rule for languages no model
reads (domain/policy LanguageRules, the ``language_unscored`` rule of decide)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comments_service.domain import policy as p
from comments_service.domain.judged_by import judged_by
from comments_service.domain.language import MAX_CHARS, UNDETECTED, detect, prepare
from comments_service.domain.moderation import HOLD_REASONS
from comments_service.domain.outcomes import explain_own_comment
from comments_service.domain.policy import (
    CONFIGURED_SCORER,
    MULTILINGUAL_SCORER,
    LanguageRules,
    PolicyConfig,
    PolicyContext,
    decide,
)

# every code detect may give: two letters
ALL_CODES = tuple(chr(a) + chr(b) for a in range(97, 123) for b in range(97, 123))
EVAL = Path(__file__).resolve().parents[2] / "bench" / "language_eval.jsonl"
CLEAN = {"toxicity": 0.05, "insult": 0.02}
TOXIC = {"toxicity": 0.97, "insult": 0.95}
RUSSIAN = "Опять перебросили войска на границу, а местным никто ничего не объясняет."


@pytest.mark.parametrize(("text", "language"), [
    ("Troops moved to the border again last night, and nobody is explaining why.", "en"),
    (RUSSIAN, "ru"),
    ("Знову перекинули війська на кордон, а місцевим ніхто нічого не пояснює.", "uk"),
    ("Боз қӯшунҳоро ба сарҳад фиристоданд, вале ба мардуми маҳаллӣ ҳеҷ кас чизе намегӯяд.", "tg"),
    ("دوباره نیروها را به مرز فرستادند و هیچ کس به مردم محل توضیحی نمی‌دهد.", "fa"),
    ("أرسلوا قوات إلى الحدود مرة أخرى ولا أحد يشرح للسكان ما يحدث.", "ar"),
    ("Encore des troupes envoyées à la frontière, et personne n'explique pourquoi aux habitants.", "fr"),
    ("Yine sınıra asker gönderdiler ve kimse yerel halka bir şey açıklamıyor.", "tr"),
])
def test_a_short_comment_s_language(text: str, language: str) -> None:
    got = detect(text)
    assert got.language == language and got.confidence >= LanguageRules().min_confidence


def test_the_eval_set_is_read_as_written() -> None:
    """Every comment of bench/language_eval.jsonl but the transliterated ones: the language it is
    labelled with, confidently enough to be routed by it; no-letter texts: nothing."""
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 150
    wrong = []
    for row in rows:
        if row["kind"] == "translit":
            continue
        got = detect(row["text"])
        routed = got.language if got.confidence >= LanguageRules().min_confidence else None
        if routed != row["lang"]:
            wrong.append((row["text"], got))
    assert wrong == []


@pytest.mark.parametrize("text", [
    "", "   ", "!!!", "+1", "100%", "12:45 23.05.2026", "😡😡😡", "👍🏽" * 500, "—" * 20_000, "\x00\x01\ud800",
    "https://news.example/a/very/long/link/to/the/story", "@ahmad @bahrom", "ok", "You idiot",
])
def test_texts_saying_too_little_are_undetected(text: str) -> None:
    """No letters, emoji, a link or a mention alone, or too few letters to tell a language by: the
    configured model scores it, as every comment before."""
    assert detect(text) == UNDETECTED


def test_look_alike_letters_are_folded_to_the_text_s_script() -> None:
    latin_in_russian = "Пoгрaничники oпять ничeгo нe cдeлaли, a нaрoд cтрaдaeт."  # Latin o, a, e, c
    assert prepare(latin_in_russian) == "Пограничники опять ничего не сделали, a народ страдает."
    assert detect(latin_in_russian).language == "ru"
    cyrillic_in_english = "Тhе trооps аrе bаck аt thе bоrdеr аgаin and nobody explains why."  # Cyrillic Т е о а
    assert detect(cyrillic_in_english).language == "en"
    # a word of each script stays as written: only words mixing them are folded
    assert prepare("Опять troops на границе") == "Опять troops на границе"


def test_links_and_mentions_do_not_count() -> None:
    assert "news.example" not in prepare("Войска стоят на границе: https://news.example/border и @Ahmad a@b.example")
    assert detect("Войска стоят на границе третью неделю: https://news.example/border-troops").language == "ru"


def test_long_and_hostile_texts_are_bounded_and_never_raise() -> None:
    assert len(prepare("слово " * 10_000)) <= MAX_CHARS
    assert detect("слово " * 10_000).language in ("ru", "uk", "bg", "mk", "sr", None)
    for text in ("a" * 100_000, "a@" * 50_000, "@" * 100_000, "пpивeт " * 20_000, "x\u0301" * 50_000,
                 "\ufeff" * 10_000, "\U0001f1f9\U0001f1ef" * 10_000):
        got = detect(text)
        assert 0.0 <= got.confidence <= 1.0 and got.language in (None, *ALL_CODES)
    assert detect(None) == UNDETECTED  # type: ignore[arg-type]


def test_an_english_passage_in_another_language_is_found() -> None:
    """English abuse before or after a paragraph in another language is flagged, so that the
    English model reads it; foreign words in a sentence, or a sentence with no English word, are not."""
    abuse = "You are a worthless piece of garbage and everyone here hates you."
    paragraph = RUSSIAN + " Мой брат служил на этой заставе, там зимой вообще не проехать. "
    for text in (abuse + " " + paragraph * 3, paragraph * 3 + abuse, paragraph * 60 + abuse,
                 "Los dos gobiernos quieren el dinero de la ayuda. " + abuse + " Nadie dice nada."):
        got = detect(text)
        assert got.language in ("ru", "es") and got.english_passage, text[:60]
    for text in (RUSSIAN, "Статья про CSTO и Dushanbe хорошая, но без цифр по беженцам.",
                 "Merci pour l'article. Le cessez-le-feu ne tiendra pas jusqu'au printemps, vous verrez."):
        assert not detect(text).english_passage, text
    assert not detect("Troops moved to the border again last night, and nobody explains why.").english_passage
    # a site's "other" rule never takes a comment with an English passage past the English model
    rules = LanguageRules(other="hold")
    assert rules.route("ru", 0.99, {CONFIGURED_SCORER: 1}, english_passage=True) == CONFIGURED_SCORER
    assert rules.route("ru", 0.99, {CONFIGURED_SCORER: 1}) is None


def test_detection_is_deterministic() -> None:
    assert {detect(RUSSIAN) for _ in range(5)} == {detect(RUSSIAN)}


# ------------------------------------------------------------------ the site's rule

def test_the_rule_s_settings_are_validated() -> None:
    rules = PolicyConfig.from_site_settings(
        {"moderation": {"languages": {"multilingual": True, "other": "hold", "min_confidence": 0.7}}}).languages
    assert rules == LanguageRules(multilingual=True, other="hold", min_confidence=0.7)
    assert PolicyConfig().languages == LanguageRules(multilingual=False, other="word_lists", min_confidence=0.5)
    assert "languages" in p.POLICY_KEYS
    for bad, says in (({"other": "reject"}, "languages.other"), ({"multilingual": "yes"}, "languages.multilingual"),
                      ({"min_confidence": 1.5}, "languages.min_confidence"),
                      ({"min_confidence": True}, "languages.min_confidence"),
                      ({"langs": []}, "languages.langs"), ([], "languages")):
        with pytest.raises(ValueError, match=says):
            PolicyConfig.from_site_settings({"moderation": {"languages": bad}})


def test_routing_by_language() -> None:
    configured_only = {CONFIGURED_SCORER: object()}
    both = {CONFIGURED_SCORER: object(), MULTILINGUAL_SCORER: object()}
    default, multilingual = LanguageRules(), LanguageRules(multilingual=True)
    # English, undetected and unsure comments go to the configured model, whatever the site says
    for rules in (default, multilingual):
        assert rules.route("en", 0.99, both) == CONFIGURED_SCORER
        assert rules.route(None, 0.0, both) == CONFIGURED_SCORER
        assert rules.route("ru", 0.3, both) == CONFIGURED_SCORER
    # a language the multilingual model reads: to it where the site enables it and the worker has it
    assert multilingual.route("ru", 0.9, both) == MULTILINGUAL_SCORER
    assert multilingual.route("ru", 0.9, configured_only) is None
    assert default.route("ru", 0.9, both) is None
    # any other language: no model
    assert multilingual.route("tg", 0.9, both) is None
    assert multilingual.route("fa", 0.9, both) is None
    assert LanguageRules(min_confidence=0.95).route("ru", 0.9, configured_only) == CONFIGURED_SCORER
    # a configured model that is itself the multilingual one reads its languages for every site
    reads = p.MULTILINGUAL_LANGUAGES
    assert default.route("ru", 0.9, both, configured_reads=reads) == CONFIGURED_SCORER
    assert default.route("tg", 0.9, both, configured_reads=reads) is None


def test_an_unscored_language_is_held_where_the_site_says_hold() -> None:
    cfg = PolicyConfig.from_site_settings({"moderation": {"languages": {"other": "hold"}}})
    d = decide(CLEAN, RUSSIAN, PolicyContext(language_unscored=True), cfg)
    assert (d.outcome, d.reason) == ("held", p.LANGUAGE_UNSCORED)
    # rules before the model's still decide first: a banned word rejects, a trusted author publishes
    assert decide(None, RUSSIAN + " kys", PolicyContext(language_unscored=True), cfg).reason == p.BANNED_WORD
    assert decide(None, RUSSIAN, PolicyContext(language_unscored=True, user_trusted=True), cfg).reason == p.TRUSTED_USER


def test_word_lists_only_where_the_site_says_so() -> None:
    cfg = PolicyConfig.from_site_settings({"moderation": {"languages": {"other": "word_lists"},
                                                          "banned_words": ["дебил*"], "suspect_words": ["позор*"]}})
    ctx = PolicyContext(language_unscored=True)
    assert decide(CLEAN, RUSSIAN, ctx, cfg).reason == p.OK
    # the configured model's scores may hold it, never reject it: that model does not read the
    # language, but it does read English abuse padded with a sentence in another language
    d = decide(TOXIC, "You are a pathetic clown and everyone here laughs at you. " + RUSSIAN, ctx, cfg)
    assert (d.outcome, d.reason) == ("held", p.TOXICITY_HOLD)
    # with the model away, a service that fails closed holds it, as it holds any comment
    away = decide(None, RUSSIAN, PolicyContext(language_unscored=True, model_fallback=True), cfg)
    assert (away.outcome, away.reason) == ("held", p.MODEL_UNAVAILABLE)
    assert decide(None, "Ты дебил, " + RUSSIAN, ctx, cfg).reason == p.BANNED_WORD
    assert decide(CLEAN, "Позор! " + RUSSIAN, ctx, cfg).reason == p.SUSPECT_WORD
    held_link = decide(None, RUSSIAN + " https://bit.ly/x", PolicyContext(language_unscored=True), cfg)
    assert held_link.reason == p.SPAM_LINK
    # a scored comment is judged as before
    assert decide(TOXIC, "You are all vermin", PolicyContext(), cfg).reason == p.TOXICITY_REJECT


def test_the_reason_is_explained_everywhere_reasons_are_listed() -> None:
    assert p.LANGUAGE_UNSCORED in p.REASONS and p.LANGUAGE_UNSCORED in HOLD_REASONS
    state, _, said = explain_own_comment("held", p.LANGUAGE_UNSCORED)
    assert state == "awaiting_moderation" and "language" in said and "score" not in said
    why = judged_by("held", p.LANGUAGE_UNSCORED, "onnx-int8-detoxify-original@abc",
                    {"language": "ru", "language_confidence": 0.93, "language_unscored": True})
    # held by the site's rule for such languages: no score decided it
    assert "was not trained for" in why and "a moderator read every comment" in why and "onnx-int8" not in why
    assert "without a toxicity model" not in why
    published = judged_by("published", p.OK, "onnx-int8-detoxify-original@abc",
                          {"language": "ru", "language_unscored": True})
    # the configured model still scored it: said truthfully, it may hold such a comment, never reject it
    assert "word lists" in published and "nothing in it was flagged" in published and "never reject it" in published
