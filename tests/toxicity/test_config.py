from __future__ import annotations

import pytest

from comments_service.toxicity import ToxicitySettings
from comments_service.toxicity.config import DEFAULT_BACKEND


def test_defaults():
    s = ToxicitySettings.from_env({})
    assert DEFAULT_BACKEND in ("onnx", "detoxify")
    assert s.backend == DEFAULT_BACKEND and s.variant == "original" and s.checkpoint is None
    assert s.fail_closed is True and s.batch_size >= 1 and s.long_text == "split"
    assert "comments_service" in s.cache_dir


def test_reads_all_variables(tmp_path):
    env = {
        "COMMENTS_TOXICITY_BACKEND": "onnx", "COMMENTS_TOXICITY_VARIANT": "original-small",
        "COMMENTS_TOXICITY_CHECKPOINT": str(tmp_path / "m.ckpt"),
        "COMMENTS_TOXICITY_CONFIG_DIR": str(tmp_path), "COMMENTS_TOXICITY_CACHE_DIR": str(tmp_path / "c"),
        "COMMENTS_TOXICITY_THREADS": "2", "COMMENTS_TOXICITY_BATCH_SIZE": "8",
        "COMMENTS_TOXICITY_FAIL_CLOSED": "false", "COMMENTS_TOXICITY_LONG_TEXT": "truncate",
    }
    s = ToxicitySettings.from_env(env)
    assert (s.backend, s.variant, s.threads, s.batch_size, s.fail_closed, s.long_text) == (
        "onnx", "original-small", 2, 8, False, "truncate")
    assert s.checkpoint == str(tmp_path / "m.ckpt") and s.cache_dir == str(tmp_path / "c")


@pytest.mark.parametrize("value", ["detoxify", "onnx", " ONNX "])
def test_either_backend_selectable(value):
    assert ToxicitySettings.from_env({"COMMENTS_TOXICITY_BACKEND": value}).backend == value.strip().lower()


@pytest.mark.parametrize("name,value", [
    ("BACKEND", "tensorflow"), ("VARIANT", "huge"), ("THREADS", "-1"), ("THREADS", "two"),
    ("BATCH_SIZE", "0"), ("FAIL_CLOSED", "maybe"), ("LONG_TEXT", "drop"),
])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ValueError, match=f"COMMENTS_TOXICITY_{name}"):
        ToxicitySettings.from_env({f"COMMENTS_TOXICITY_{name}": value})


def test_a_second_multilingual_model_is_read_and_checked():
    env = {"COMMENTS_TOXICITY_MULTILINGUAL_MODEL_DIR": "/models/xlmr"}
    settings = ToxicitySettings.from_env(env)
    second = settings.multilingual_settings()
    assert second is not None and second.variant == "multilingual" and second.model_dir == "/models/xlmr"
    assert second.checkpoint is None and second.multilingual_settings() is None
    # a worker whose configured model is the multilingual one needs no second
    itself = ToxicitySettings.from_env({**env, "COMMENTS_TOXICITY_VARIANT": "multilingual"})
    assert itself.multilingual_settings() is None
    assert ToxicitySettings.from_env({}).multilingual_settings() is None
    with pytest.raises(ValueError, match="MULTILINGUAL_MODEL_DIR"):
        ToxicitySettings.from_env({**env, "COMMENTS_TOXICITY_MULTILINGUAL_CHECKPOINT": "/x.ckpt"})
