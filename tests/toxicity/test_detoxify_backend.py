"""The real detoxify loading and predict path, on a tiny checkpoint built offline."""

from __future__ import annotations

import json
import shutil

import msgspec
import pytest

from comments_service.toxicity import ToxicitySettings, load_scorer
from comments_service.toxicity.base import WINDOW_TOKENS, file_sha256
from comments_service.toxicity.testing import sample_comments

LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


def reference(**kwargs) -> ToxicitySettings:
    """The detoxify backend (onnx is the default)."""
    return ToxicitySettings(backend="detoxify", **kwargs)


def test_loads_offline_from_checkpoint_and_config_dir(detoxify_scorer, tiny_model):
    ckpt, _ = tiny_model
    s = detoxify_scorer
    assert s.backend == "detoxify" and s.source == "local" and not s.is_fallback
    assert s.fallback_reason is None
    assert s.labels == LABELS  # detoxify's renaming of toxic/severe_toxic/identity_hate
    assert s.model_id == f"detoxify-original@{file_sha256(ckpt)[:12]}"
    info = s.describe()
    assert info["checkpoint_sha256"] == file_sha256(ckpt)
    assert info["versions"]["detoxify"] and info["versions"]["torch"]
    assert info["max_length"] == 512
    msgspec.json.encode(info)  # diagnostics can serialise it


def test_score_batch_shapes(detoxify_scorer):
    texts = sample_comments(40)
    scores = detoxify_scorer.score_batch(texts)
    assert len(scores) == len(texts)
    for s in scores:
        assert set(s) == set(LABELS)
        assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in s.values())
    assert detoxify_scorer.score_batch([]) == []
    one = detoxify_scorer.score_batch([texts[0]])  # detoxify squeezes a batch of one to floats
    assert one[0] == pytest.approx(scores[0], abs=1e-5)


def test_scores_match_detoxify_predict(detoxify_scorer):
    texts = [t for t in sample_comments(30) if len(t) < 400]
    ours = detoxify_scorer.score_batch(texts)
    ref = detoxify_scorer.detox.predict(texts)
    for i, s in enumerate(ours):
        for label in LABELS:
            assert s[label] == pytest.approx(ref[label][i], abs=1e-5)


def test_long_comment_split_takes_max_over_windows(detoxify_scorer):
    long_text = " ".join(sample_comments(200))  # thousands of tokens
    ids = detoxify_scorer.detox.tokenizer(long_text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 3 * WINDOW_TOKENS
    [scores] = detoxify_scorer.score_batch([long_text])
    offsets = detoxify_scorer._offsets([long_text])[0]
    windows = [long_text[offsets[i][0]:offsets[min(i + WINDOW_TOKENS, len(offsets)) - 1][1]]
               for i in range(0, len(offsets), WINDOW_TOKENS)][:detoxify_scorer.settings.max_chunks]
    per_window = detoxify_scorer.score_batch(windows)
    for label in LABELS:
        assert scores[label] == pytest.approx(max(w[label] for w in per_window), abs=1e-5)


def test_long_comment_truncated_without_crash(tiny_settings):
    scorer = load_scorer(msgspec.structs.replace(tiny_settings, long_text="truncate"))
    out = scorer.score_batch(["word " * 5000, "short one", "x" * 20000])
    assert len(out) == 3 and all(set(s) == set(LABELS) for s in out)


def test_tokenizer_without_model_max_length_still_truncates(tiny_model, tmp_path):
    ckpt, config_dir = tiny_model
    bare = tmp_path / "config"
    shutil.copytree(config_dir, bare)
    tok_cfg = json.loads((bare / "tokenizer_config.json").read_text())
    tok_cfg.pop("model_max_length", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    scorer = load_scorer(reference(checkpoint=str(ckpt), config_dir=str(bare),
                                          long_text="truncate", threads=1))
    assert not scorer.is_fallback, scorer.fallback_reason
    assert scorer.describe()["max_length"] == 512
    assert len(scorer.score_batch(["long " * 3000])) == 1


def test_missing_checkpoint_gives_fallback_with_reason(tmp_path):
    scorer = load_scorer(reference(checkpoint=str(tmp_path / "nope.ckpt"),
                                          config_dir=str(tmp_path)))
    assert scorer.is_fallback and scorer.backend == "fallback"
    assert "nope.ckpt" in scorer.fallback_reason
    assert scorer.model_id.endswith("(fallback)")
    assert len(scorer.score_batch(["hello"])) == 1


def test_corrupt_checkpoint_gives_fallback(tmp_path, tiny_model):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    scorer = load_scorer(reference(checkpoint=str(bad), config_dir=str(tiny_model[1])))
    assert scorer.is_fallback and "bad.ckpt" in scorer.fallback_reason


def test_config_dir_without_config_json_gives_fallback(tmp_path, tiny_model):
    scorer = load_scorer(reference(checkpoint=str(tiny_model[0]), config_dir=str(tmp_path)))
    assert scorer.is_fallback and "config.json" in scorer.fallback_reason
