"""Near-duplicate signatures (domain/fingerprint.py): what counts as the same text."""

from __future__ import annotations

from comments_service.domain.fingerprint import BANDS, MAX_CHARS, decode, signature
from comments_service.domain.policy import RepeatRules

TEXT = ("Visit the real story behind the border troops, the media hides it! Share this everywhere before "
        "they delete it, the truth about the soldiers is out.")


def test_case_punctuation_and_a_changed_word_are_the_same_text():
    sig = signature(TEXT)
    assert sig.near(signature(TEXT.upper().replace("!", "")).encode())
    assert sig.near(signature(TEXT.replace("delete", "remove")).encode())
    assert sig.near(signature("  " + TEXT + " Please!!").encode())


def test_look_alike_letters_do_not_hide_a_copy():
    cyrillic = TEXT.replace("a", "\u0430").replace("o", "\u043e")  # Cyrillic а and о
    assert signature(TEXT).near(signature(cyrillic).encode())


def test_different_comments_on_the_same_story_are_not_the_same():
    other = ("The border troops have been there since spring; the media covered it in April and the "
             "soldiers' families were interviewed about the truth of the rotation.")
    assert not signature(TEXT).near(signature(other).encode())


def test_short_texts_match_only_on_the_same_words():
    thanks = signature("Thank you for this report")
    assert thanks.short
    assert thanks.near(signature("thank you, for THIS report!").encode())
    assert not thanks.near(signature("Thank you for this update").encode())
    assert not thanks.near(signature(TEXT).encode())


def test_a_near_text_shares_a_band_and_bands_are_per_position():
    a, b = signature(TEXT), signature(TEXT.replace("delete", "remove"))
    assert len(a.bands()) == BANDS and set(a.bands()) & set(b.bands())
    assert len({band.split(":")[0] for band in a.bands()}) == BANDS


def test_stored_values_that_are_not_signatures_are_never_near():
    sig = signature(TEXT)
    for junk in ("", "not base64 !", "QUJD", sig.encode()[:-4]):
        assert decode(junk) is None or not sig.near(junk)


def test_only_the_first_characters_are_read():
    # a megabyte costs what its first MAX_CHARS characters cost
    assert signature("word " * 200_000).words == MAX_CHARS // len("word ")


def test_repeat_rules_are_bounded_and_a_campaign_takes_two_authors():
    assert RepeatRules.from_settings({"window_minutes": 0, "campaign_authors": 0}, "r").campaign_authors == 0
    for bad in ({"window_minutes": -1}, {"window_minutes": 99999}, {"campaign_authors": 1},
                {"campaign_window_minutes": 0}, {"campaign_authors": True}, {"other": 1}):
        try:
            RepeatRules.from_settings(bad, "moderation.repeats")
        except ValueError as exc:
            assert "moderation.repeats." in str(exc)
        else:
            raise AssertionError(f"accepted {bad}")


def test_characters_that_unfold_into_many_do_not_escape_the_bound():
    # NFKC turns U+FDFA into eighteen characters (four words): the cut applies after folding too
    assert signature("\ufdfa" * 10_000).words <= MAX_CHARS // 4
