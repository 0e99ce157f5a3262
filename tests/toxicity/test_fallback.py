"""The offline fallback scorer (alt-profanity-check) — properties, not accuracy."""

from __future__ import annotations

import pytest

from comments_service.toxicity.fallback import FallbackScorer


@pytest.fixture(scope="module")
def scorer():
    return FallbackScorer("test: no model")


def test_identity_and_labels(scorer):
    assert scorer.is_fallback and scorer.fallback_reason == "test: no model"
    assert scorer.model_id.startswith("profanity-check-") and scorer.model_id.endswith("(fallback)")
    assert scorer.labels == ("toxicity", "obscene")
    assert scorer.describe()["is_fallback"] is True


def test_scores_in_range_and_ordered(scorer):
    texts = ["hello there", "the bombing killed three", "", "f u c k you"]
    out = scorer.score_batch(texts)
    assert len(out) == 4
    for s in out:
        assert set(s) == {"toxicity", "obscene"} and all(0.0 <= v <= 1.0 for v in s.values())
    assert scorer.score_batch([]) == []


@pytest.mark.parametrize("obfuscated,plain", [
    ("f u c k you", "fuck you"), ("this is sh1t", "this is shit"), ("fuuuuck off", "fuck off"),
])
def test_obfuscated_scores_at_least_plain(scorer, obfuscated, plain):
    [o], [p] = scorer.score_batch([obfuscated]), scorer.score_batch([plain])
    assert o["toxicity"] >= p["toxicity"] - 1e-9
