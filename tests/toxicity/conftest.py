"""Fixtures: a tiny Detoxify-format checkpoint built offline once per session."""

from __future__ import annotations

import os

# No test here may touch the network: make the Hugging Face libraries refuse to.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("detoxify")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(checkpoint, config_dir) of a tiny BERT whose scores spread across 0..1. Its
    ``arch.args.model_type`` is the hub name bert-base-uncased, like detoxify's real files."""
    from comments_service.toxicity.testing import build_tiny_checkpoint

    torch.set_num_threads(1)
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"), spread=True)


@pytest.fixture(scope="session")
def tiny_settings(tiny_model, tmp_path_factory):
    """The detoxify backend (the reference) on the tiny checkpoint; ONNX exports in a temp dir."""
    from comments_service.toxicity import ToxicitySettings

    ckpt, config_dir = tiny_model
    return ToxicitySettings(backend="detoxify", checkpoint=str(ckpt), config_dir=str(config_dir), threads=1,
                            batch_size=16, cache_dir=str(tmp_path_factory.mktemp("onnx-cache")))


@pytest.fixture(scope="session")
def detoxify_scorer(tiny_settings):
    from comments_service.toxicity import load_scorer

    scorer = load_scorer(tiny_settings)
    assert not scorer.is_fallback, scorer.fallback_reason
    return scorer
